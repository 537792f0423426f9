using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.TestSupport;

namespace MLOps.FeatureStore.Tests.Vectors;

[Parallelizable(ParallelScope.All)]
public sealed class VectorDefinitionTests
{
    private static async Task IngestAsync(FeatureStoreCatalog fs)
    {
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date")
            .Compute("is_delayed", r => r.GetDouble("delay") > 15).Label("is_delayed")
            .Aggregate("delay", AggregationOp.Max, "1h")
            .Build();
        await fs.IngestAsync(set, DataSource.Batches([FlightData.ToBatch(FlightData.All.Take(2000).ToArray())]));
    }

    [Test]
    public async Task SaveAsync_SameVectorTwice_KeepsTheVersionAndGetVectorAsyncLoadsEachVersion()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await IngestAsync(fs);

        var v1 = await fs.Vector("model").Select("flights.delay").Describe("first").SaveAsync();
        var again = await fs.Vector("model").Select("flights.delay").Describe("first").SaveAsync();
        var v2 = await fs.Vector("model").Select("flights.delay", "flights.delay_max_1h as worst").Label("flights.is_delayed").SaveAsync();
        var loaded1 = await fs.GetVectorAsync("model", "1");
        var latest = await fs.GetVectorAsync("model");

        Assert.That(new[] { v1.Version, again.Version, v2.Version }, Is.EqualTo(new int?[] { 1, 1, 2 }));
        Assert.That(loaded1.Features.Select(f => f.ToString()), Is.EqualTo(new[] { "flights.delay" }));
        Assert.That(loaded1.Description, Is.EqualTo("first"));
        Assert.That(latest.Version, Is.EqualTo(2));
        Assert.That(latest.Features.Select(f => f.ToString()), Is.EqualTo(new[] { "flights.delay", "flights.delay_max_1h as worst" }));
        Assert.That(latest.Label?.ToString(), Is.EqualTo("flights.is_delayed"));
        Assert.That(latest.PrimarySet, Is.EqualTo("flights"));
        var e = Assert.ThrowsAsync<NotFoundException>(() => fs.GetVectorAsync("nope"))!;
        Assert.That(e.Message, Does.Contain("Known vectors: model"));
    }

    [Test]
    public async Task Select_AllFeaturesOfASet_ExpandsToItsFeaturesWithoutKeysTimeOrLabel()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await IngestAsync(fs);
        var vector = await fs.Vector("all").Select("flights.*").Label("flights.is_delayed").SaveAsync();

        using var training = await fs.GetOfflineFeaturesAsync(vector);
        await using var online = await fs.GetOnlineServiceAsync(vector);

        Assert.That(training.FeatureNames, Is.EqualTo(new[] { "delay", "distance", "destination", "delay_max_1h" }));
        Assert.That(training.LabelColumn, Is.EqualTo("is_delayed"));
        Assert.That(online.Columns.Select(c => c.Name), Is.EqualTo(training.FeatureNames));
    }
}
