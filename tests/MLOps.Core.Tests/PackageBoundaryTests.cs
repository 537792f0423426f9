using System.Reflection;
using System.Runtime.CompilerServices;

namespace MLOps.Core.Tests;

/// <summary>Core's package boundary: the satellite packages (FeatureStore, Serving, Monitoring) use only its public API,
/// so no shipped package is a friend assembly; and the data layer is public.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class PackageBoundaryTests
{
    [Test]
    public void Assembly_InternalsVisibleTo_OnlyTestsAndBenchmarks()
    {
        var friends = typeof(MLOpsProject).Assembly.GetCustomAttributes<InternalsVisibleToAttribute>().Select(a => a.AssemblyName).Order();
        Assert.That(friends, Is.EqualTo(new[] { "MLOps.Benchmarks", "MLOps.Core.Tests" }));
    }

    [TestCase(typeof(DatasetReader))]
    [TestCase(typeof(DatasetWriter))]
    [TestCase(typeof(ParquetBatchWriter))]
    [TestCase(typeof(DatasetProfiler))]
    [TestCase(typeof(DatasetProfileBuilder))]
    [TestCase(typeof(ArrowDataView))]
    [TestCase(typeof(CsvReadOptions))]
    [TestCase(typeof(ParquetReadOptions))]
    [TestCase(typeof(DatasetProfile))]
    public void DataLayerType_IsPublicInMLOpsData(Type type)
    {
        Assert.That(type.IsPublic, Is.True);
        Assert.That(type.Namespace, Is.EqualTo("MLOps.Data"));
    }

    [Test]
    public void Core_HasNoFeatureStoreOrServingException()
        => Assert.That(typeof(MLOpsProject).Assembly.GetTypes().Select(t => t.Name), Has.None.EqualTo("FeatureStoreException").And.None.EqualTo("ServingException"));
}
