using System.Reflection;
using System.Runtime.CompilerServices;
using MLOps.FeatureStore.Sources;

namespace MLOps.FeatureStore.Tests;

/// <summary>The feature store's package boundary: no shipped package sees its internals, its exception lives in it, and
/// its text arguments are checked in the one style of every package (a <see cref="ValidationException"/>).</summary>
[Parallelizable(ParallelScope.All)]
public sealed class PackageBoundaryTests
{
    [Test]
    public void Assembly_InternalsVisibleTo_OnlyTestsAndBenchmarks()
    {
        var friends = typeof(FeatureStoreCatalog).Assembly.GetCustomAttributes<InternalsVisibleToAttribute>().Select(a => a.AssemblyName).Order();
        Assert.That(friends, Is.EqualTo(new[] { "MLOps.Benchmarks", "MLOps.FeatureStore.Tests" }));
    }

    [Test]
    public void FeatureStoreException_LivesInTheFeatureStorePackage()
    {
        Assert.That(typeof(FeatureStoreException).Assembly, Is.SameAs(typeof(FeatureStoreCatalog).Assembly));
        Assert.That(typeof(FeatureStoreException).Namespace, Is.EqualTo("MLOps.FeatureStore"));
        Assert.That(new FeatureStoreException("x"), Is.InstanceOf<MLOpsException>());
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("   ")]
    public void DataSourceFile_EmptyPath_ThrowsValidationExceptionNamingArgumentValueAndFix(string? path)
    {
        var e = Assert.Throws<ValidationException>(() => DataSource.File(path!));
        Assert.That(e!.Message, Does.Contain("'path'").And.Contain(path is null ? "missing (null)" : path.Length == 0 ? "empty ('')" : "only white space").And.Contain("Pass a non-empty 'path'"));
    }
}
