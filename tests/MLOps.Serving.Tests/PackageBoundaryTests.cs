using System.Reflection;
using System.Runtime.CompilerServices;
using MLOps.Serving.Graphs;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Tests;

/// <summary>The serving package's boundary: its exception lives in it, and its text arguments are checked in the one
/// style of every package (a <see cref="ValidationException"/> naming the argument, the value and the fix).</summary>
[Parallelizable(ParallelScope.All)]
public sealed class PackageBoundaryTests
{
    [Test]
    public void Assembly_InternalsVisibleTo_OnlyTestsAndBenchmarks()
    {
        var friends = typeof(ServingException).Assembly.GetCustomAttributes<InternalsVisibleToAttribute>().Select(a => a.AssemblyName).Order();
        Assert.That(friends, Is.EqualTo(new[] { "MLOps.Benchmarks", "MLOps.Serving.Tests" }));
    }

    [Test]
    public void ServingException_LivesInTheServingPackage()
    {
        Assert.That(typeof(ServingException).Assembly, Is.SameAs(typeof(ServingGraph).Assembly));
        Assert.That(typeof(ServingException).Namespace, Is.EqualTo("MLOps.Serving"));
        Assert.That(new ServingException(404, "x"), Is.InstanceOf<MLOpsException>());
    }

    [TestCase("")]
    [TestCase("  ")]
    public void InferenceTensor_EmptyName_ThrowsValidationExceptionNamingArgumentAndFix(string name)
    {
        var e = Assert.Throws<ValidationException>(() => _ = new InferenceTensor(name, null, TensorData.FromSingles([1f])));
        Assert.That(e!.Message, Does.Contain("'name'").And.Contain("Pass a non-empty 'name'"));
    }

    [Test]
    public void ServingStepRegistryRegister_NullKind_ThrowsValidationException()
    {
        var e = Assert.Throws<ValidationException>(() => new ServingStepRegistry().Register(null!, _ => throw new NotSupportedException()));
        Assert.That(e!.Message, Does.Contain("'kind'").And.Contain("missing (null)"));
    }
}
