using Microsoft.Extensions.DependencyInjection;
using MLOps.FeatureStore.Ingestion;
using MLOps.FeatureStore.Online;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.Aggregations;
using MLOps.FeatureStore.Tests.TestSupport;
using MLOps.FeatureStore.Vectors;

namespace MLOps.FeatureStore.Tests;

/// <summary>Every options type of the feature store lists all its problems at once (<c>Validate()</c>), each naming the
/// property, the value and the fix; the boundary that takes the options throws one <see cref="ValidationException"/> with them.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class OptionsValidationTests
{
    [Test]
    public void FeatureStoreOptionsValidate_SeveralProblems_ListsEveryOne()
    {
        var errors = new FeatureStoreOptions { OfflineRoot = " ", PushFlushRows = -1, PushFlushInterval = TimeSpan.FromSeconds(-5) }.Validate();

        Assert.That(errors, Has.Count.EqualTo(3));
        Assert.That(errors, Has.One.Contain("FeatureStoreOptions.OfflineRoot is blank"));
        Assert.That(errors, Has.One.Contain("FeatureStoreOptions.PushFlushRows is -1").And.Contain("default 10,000"));
        Assert.That(errors, Has.One.Contain("FeatureStoreOptions.PushFlushInterval is -00:00:05").And.Contain("positive"));
    }

    [Test]
    public void IngestOptionsValidate_SeveralProblems_ListsEveryOne()
    {
        var errors = new IngestOptions { ChunkSize = 0, SortMemoryBudget = -1, StatisticsMaxRows = -1, IngestId = new string('x', 201) }.Validate();

        Assert.That(errors, Has.Count.EqualTo(4));
        Assert.That(errors, Has.One.Contain("IngestOptions.ChunkSize is 0").And.Contain($"default {IngestOptions.DefaultChunkSize}"));
        Assert.That(errors, Has.One.Contain("IngestOptions.SortMemoryBudget is -1"));
        Assert.That(errors, Has.One.Contain("IngestOptions.StatisticsMaxRows is -1"));
        Assert.That(errors, Has.One.Contain("IngestOptions.IngestId is 'xxx").And.Contain("1 to 200 characters"));
    }

    [Test]
    public async Task IngestAsync_SeveralBadOptions_ThrowsOneValidationExceptionListingThem()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var options = new IngestOptions { ChunkSize = -3, StatisticsMaxRows = -1 };

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(AggregationEndToEndTests.Define(fs),
            DataSource.Batches([FlightData.ToBatch(FlightData.All.Take(10).ToArray())]), options))!;

        Assert.That(e.Errors, Is.EqualTo(options.Validate()));
        Assert.That(e.Errors, Has.Count.EqualTo(2));
    }

    [Test]
    public void OnlineServiceOptionsValidate_UndefinedPolicies_ListsEveryOne()
    {
        var errors = new OnlineServiceOptions
        {
            Missing = (MissingPolicy)42,
            MissingByFeature = new Dictionary<string, MissingPolicy> { ["delay_mean_1h"] = (MissingPolicy)7, ["ok"] = MissingPolicy.Mean },
        }.Validate();

        Assert.That(errors, Has.Count.EqualTo(2));
        Assert.That(errors, Has.One.Contain("OnlineServiceOptions.Missing is 42").And.Contain("Null, "));
        Assert.That(errors, Has.One.Contain("OnlineServiceOptions.MissingByFeature['delay_mean_1h'] is 7"));
    }

    [Test]
    public void OfflineFeaturesOptionsValidate_SeveralProblems_ListsEveryOne()
    {
        var start = new DateTimeOffset(2001, 1, 2, 0, 0, 0, TimeSpan.Zero);
        var errors = new OfflineFeaturesOptions { TimestampColumn = "", Ttl = TimeSpan.FromHours(-1), Start = start, End = start.AddDays(-1) }.Validate();

        Assert.That(errors, Has.Count.EqualTo(3));
        Assert.That(errors, Has.One.Contain("OfflineFeaturesOptions.TimestampColumn is blank"));
        Assert.That(errors, Has.One.Contain("OfflineFeaturesOptions.Ttl is -01:00:00"));
        Assert.That(errors, Has.One.Contain("OfflineFeaturesOptions.End (2001-01-01").And.Contain("is before Start"));
    }

    [Test]
    public void SqliteOnlineStoreOptionsValidate_SeveralProblems_ListsEveryOne()
    {
        var errors = new SqliteOnlineStoreOptions { MaxWriteRetries = -1, Synchronous = "SOMETIMES", MaxIdleReadConnections = -2 }.Validate();

        Assert.That(errors, Has.Count.EqualTo(3));
        Assert.That(errors, Has.One.Contain("Synchronous is 'SOMETIMES'"));
    }

    [Test]
    public void DataSourceOptionsValidate_NullZone_ListsIt()
    {
        Assert.That(new DataSourceOptions { TimeZone = null! }.Validate(), Has.One.Contain("DataSourceOptions.TimeZone is null"));
        Assert.That(DataSourceOptions.Default.Validate(), Is.Empty);
    }

    [Test]
    public void Validate_Defaults_AreEmpty()
    {
        Assert.That(new FeatureStoreOptions().Validate(), Is.Empty);
        Assert.That(new IngestOptions().Validate(), Is.Empty);
        Assert.That(new OnlineServiceOptions().Validate(), Is.Empty);
        Assert.That(new OfflineFeaturesOptions().Validate(), Is.Empty);
        Assert.That(new SqliteOnlineStoreOptions().Validate(), Is.Empty);
    }

    [TestCase("")]
    [TestCase(" ")]
    public void AddFeatureStoreOnlineStore_BlankName_ThrowsValidationExceptionNamingIt(string name)
    {
        var e = Assert.Throws<ValidationException>(() => new ServiceCollection().AddHealthChecks().AddFeatureStoreOnlineStore(name: name));

        Assert.That(e!.Message, Does.Contain("'name'").And.Contain("Pass a non-empty 'name'"));
    }

    [TestCase(0)]
    [TestCase(-1)]
    public async Task PreviewAsync_NonPositiveRows_ThrowsValidationExceptionNamingTheValue(int rows)
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.PreviewAsync(AggregationEndToEndTests.Define(fs),
            DataSource.Batches([FlightData.ToBatch(FlightData.All.Take(10).ToArray())]), rows))!;

        Assert.That(e.Message, Does.Contain($"'rows' argument of PreviewAsync is {rows}").And.Contain("positive"));
    }
}
