using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.TestSupport;
using MLOps.FeatureStore.Transformations;

namespace MLOps.FeatureStore.Tests.FeatureSets;

[Parallelizable(ParallelScope.All)]
public sealed class FeatureSetDefinitionTests
{
    private static IReadOnlyList<Flight> Sample(int n = 2000) => FlightData.All.Take(n).ToArray();

    [Test]
    public async Task Build_SeveralProblems_ListsEveryOneAtOnce()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);

        var e = Assert.Throws<ValidationException>(() => project.FeatureStore.FeatureSet("bad")
            .Aggregate("delay", AggregationOp.Avg, "1h", "1x")
            .Build())!;

        Assert.That(e.Errors, Has.Count.EqualTo(3), e.Message);
        Assert.That(e.Errors, Has.Some.Contains("at least one entity"));
        Assert.That(e.Errors, Has.Some.Contains("'1x'").And.Contains("<n><s|m|h|d>"));
        Assert.That(e.Errors, Has.Some.Contains("needs a timestamp column"));
        Assert.That(e.Message, Does.Contain("'1x'").And.Contain("at least one entity").And.Contain("timestamp"));
    }

    [Test]
    public async Task Build_DuplicateEntity_IsAProblem()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);

        var e = Assert.Throws<ValidationException>(() => project.FeatureStore.FeatureSet("dup").Entity("origin", "origin").Timestamp("date").Build())!;

        Assert.That(e.Errors, Has.Count.EqualTo(1));
        Assert.That(e.Errors[0], Does.Contain("'origin'").And.Contain("twice"));
    }

    [Test]
    public async Task SaveAsync_SameDefinitionTwice_KeepsTheVersion()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        FeatureSetBuilder Define() => fs.FeatureSet("flights").Entity("origin").Timestamp("date").Impute("delay", ImputeStrategy.Mean);

        var first = await Define().SaveAsync();
        var second = await Define().SaveAsync();
        await fs.IngestAsync(Define().Build(), DataSource.Batches([FlightData.ToBatch(Sample())]));
        var afterIngest = await fs.GetFeatureSetAsync("flights");
        var third = await Define().SaveAsync();

        Assert.That(first.Version, Is.EqualTo(1));
        Assert.That(second.Version, Is.EqualTo(1));
        Assert.That(afterIngest.Version, Is.EqualTo(2), "the first ingestion stores the schema (and fitted values)");
        Assert.That(third.Version, Is.EqualTo(afterIngest.Version), "saving the same definition again keeps the ingested version");
        Assert.That(third.Schema, Is.EqualTo(afterIngest.Schema));
    }

    [Test]
    public async Task SaveAsync_ChangedSteps_CreatesANewVersion()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;

        var v1 = await fs.FeatureSet("flights").Entity("origin").Timestamp("date").SaveAsync();
        var v2 = await fs.FeatureSet("flights").Entity("origin").Timestamp("date").Drop("destination").SaveAsync();
        var v3 = await fs.FeatureSet("flights").Entity("origin").Timestamp("date").Drop("destination").DateParts("date", DateParts.Hour).SaveAsync();

        Assert.That(new[] { v1.Version, v2.Version, v3.Version }, Is.EqualTo(new int?[] { 1, 2, 3 }));
        Assert.That((await fs.GetFeatureSetAsync("flights", "2")).Steps.Select(s => s.Kind), Is.EqualTo(new[] { "drop" }));
        Assert.That((await fs.GetFeatureSetAsync("flights", "1")).Steps, Is.Empty);
        var latest = await fs.GetFeatureSetAsync("flights");
        Assert.That(latest.Version, Is.EqualTo(3));
        Assert.That(latest.Steps.Select(s => s.Kind), Is.EqualTo(new[] { "drop", "date-parts" }));
        Assert.That(((DatePartsStep)latest.Steps[1]).Parts, Is.EqualTo(DateParts.Hour));
    }

    [Test]
    public async Task GetFeatureSetAsync_UnknownVersion_ThrowsNotFoundNamingTheKnownSets()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.FeatureSet("flights").Entity("origin").Timestamp("date").SaveAsync();

        var e = Assert.ThrowsAsync<NotFoundException>(() => fs.GetFeatureSetAsync("flights", "7"))!;
        var e2 = Assert.ThrowsAsync<NotFoundException>(() => fs.GetFeatureSetAsync("nope"))!;

        Assert.That(e.Message, Does.Contain("'7'").And.Contain("flights"));
        Assert.That(e2.Message, Does.Contain("'nope'").And.Contain("Known feature sets: flights"));
    }

    [Test]
    public async Task SaveAsync_StoredSet_HasAStoreUri()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder, name: "uris");
        var fs = project.FeatureStore;

        var saved = await fs.FeatureSet("flights").Entity("origin").Timestamp("date").Describe("flights by origin").WithLabel("team", "ops").SaveAsync();
        var info = await fs.GetInfoAsync("flights");

        Assert.That(saved.Uri(project.Name), Is.EqualTo("store://feature-sets/uris/flights:1"));
        Assert.That(info.Uri, Is.EqualTo("store://feature-sets/uris/flights:1"));
        Assert.That(info.Description, Is.EqualTo("flights by origin"));
        Assert.That(info.Labels["team"], Is.EqualTo("ops"));
        Assert.That(fs.FeatureSet("flights").Entity("origin").Build().Uri("uris"), Is.EqualTo("store://feature-sets/uris/flights:latest"));
    }

    [Test]
    public async Task SaveAsync_DeclaredFeatureOfAnotherType_ThrowsNamingColumnAndBothTypes()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.IngestAsync(fs.FeatureSet("flights").Entity("origin").Timestamp("date").Build(), DataSource.Batches([FlightData.ToBatch(Sample())]));

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.FeatureSet("flights").Entity("origin").Timestamp("date").Feature("delay", FeatureType.String).SaveAsync())!;

        Assert.That(e.Message, Does.Contain("'delay'").And.Contain("Int64").And.Contain("String"));
        Assert.That((await fs.GetFeatureSetAsync("flights")).Version, Is.EqualTo(1), "nothing was saved");
    }

    [Test]
    public async Task SaveAsync_NewDeclaredColumn_CreatesAVersionWithTheMergedSchema()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.IngestAsync(fs.FeatureSet("flights").Entity("origin").Timestamp("date").Build(), DataSource.Batches([FlightData.ToBatch(Sample())]));

        var v2 = await fs.FeatureSet("flights").Entity("origin").Timestamp("date").Feature("delay", FeatureType.Int64).Feature("load_factor", FeatureType.Double).SaveAsync();

        Assert.That(v2.Version, Is.EqualTo(2));
        Assert.That(v2.Schema!.Select(c => $"{c.Name}:{c.Type}"), Is.EqualTo(new[]
        {
            "date:Timestamp", "delay:Int64", "distance:Int64", "origin:String", "destination:String", "load_factor:Double",
        }));
        Assert.That((await fs.GetInfoAsync("flights")).Schema, Is.EqualTo(v2.Schema));

        // a later ingestion without the new column fills it with nulls
        var report = await fs.IngestAsync(v2, DataSource.Batches([FlightData.ToBatch(FlightData.All.Skip(2000).Take(10).ToArray())]));
        Assert.That(report.RowsWritten, Is.EqualTo(10));
        var rows = await OfflineRows.ReadAsync(fs, "flights");
        Assert.That(rows, Has.Count.EqualTo(2010));
        Assert.That(rows.All(r => r.TryGetValue("load_factor", out var v) ? v is null : true), Is.True);
    }

    [Test]
    public async Task IngestAsync_NewStepAddsAColumn_EarlierRowsReadItAsNullOfflineAndOnline()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var first = FlightData.All.Take(1000).ToArray();
        var second = FlightData.All.Skip(1000).Take(1000).ToArray();
        await fs.IngestAsync(fs.FeatureSet("flights").Entity("origin").Timestamp("date").Build(), DataSource.Batches([FlightData.ToBatch(first)]));

        var report = await fs.IngestAsync(fs.FeatureSet("flights").Entity("origin").Timestamp("date").Compute("delay_hours", r => r.GetDouble("delay") / 60).Build(),
            DataSource.Batches([FlightData.ToBatch(second)]));
        var vector = await fs.Vector("v").Select("flights.delay", "flights.delay_hours").SaveAsync();
        using var training = await fs.GetOfflineFeaturesAsync(vector);
        await using var online = await fs.GetOnlineServiceAsync(vector);

        Assert.That(report.Version, Is.EqualTo(2));
        Assert.That((await fs.GetFeatureSetAsync("flights")).Schema!.Select(c => c.Name), Is.EqualTo(new[] { "date", "delay", "distance", "origin", "destination", "delay_hours" }));
        Assert.That(training.RowCount, Is.EqualTo(2000));
        var hours = (DoubleArray)training.Batch.Column("delay_hours");
        var dates = (TimestampArray)training.Batch.Column("date");
        var boundary = second[0].Micros;
        for (var i = 0; i < training.RowCount; i++)
            Assert.That(hours.IsNull(i), Is.EqualTo(dates.Values[i] < boundary), $"row {i}");
        var onlyInFirst = first.Select(f => f.Origin).Except(second.Select(f => f.Origin)).First();
        var inSecond = second[^1];
        var old = await online.GetAsync(new Dictionary<string, object> { ["origin"] = onlyInFirst });
        var fresh = await online.GetAsync(new Dictionary<string, object> { ["origin"] = inSecond.Origin });
        Assert.That(old.Found, Is.True);
        Assert.That(old["delay_hours"], Is.Null);
        Assert.That(fresh["delay_hours"], Is.EqualTo(inSecond.Delay / 60.0));
    }

    [Test]
    public async Task ListFeatureSetsAsync_SeveralSets_ListsTheLatestVersionOfEach()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.FeatureSet("flights").Entity("origin").Timestamp("date").SaveAsync();
        await fs.FeatureSet("flights").Entity("origin").Timestamp("date").Drop("destination").SaveAsync();
        await fs.IngestAsync(fs.FeatureSet("airports").Entity("iata").Build(), DataSource.Csv(TestProjects.AirportsCsv));

        var list = await fs.ListFeatureSetsAsync();

        Assert.That(list.Select(i => $"{i.Name}:{i.Version}"), Is.EqualTo(new[] { "airports:1", "flights:2" }));
        var airports = list[0];
        Assert.That(airports.Status.Ingestions, Is.EqualTo(1));
        Assert.That(airports.Status.RowsIngested, Is.GreaterThan(3000));
        Assert.That(airports.Schema!.Select(c => c.Name), Does.Contain("state"));
        Assert.That(list[1].Status.Ingestions, Is.Zero);
        Assert.That(list[1].Schema, Is.Null);
    }

    /// <summary>Another process: opens the project in <paramref name="folder"/>, ingests 100 flights into "flights" with
    /// a computed column (user code), runs <paramref name="then"/> on its store and closes the project.</summary>
    private static async Task IngestSetWithUserCodeAsync(TempFolder folder, Func<FeatureStoreCatalog, Task>? then = null)
    {
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.IngestAsync(fs.FeatureSet("flights").Entity("origin").Timestamp("date").Compute("delay_hours", r => r.GetDouble("delay") / 60).Build(),
            DataSource.Batches([FlightData.ToBatch(Sample(100))]));
        if (then is not null) await then(fs);
    }

    [Test]
    public async Task SaveAsync_ChangedDefinitionOfASetWithUserCodeOfAnotherProcess_CreatesANewVersion()
    {
        using var folder = new TempFolder();
        await IngestSetWithUserCodeAsync(folder);

        await using var reopened = await TestProjects.OpenAsync(folder);
        var store = reopened.FeatureStore;
        var v2 = await store.FeatureSet("flights").Entity("origin").Timestamp("date").Compute("delay_minutes", r => r.GetDouble("delay")).SaveAsync();
        var report = await store.IngestAsync(store.FeatureSet("flights").Entity("origin").Timestamp("date").Compute("delay_minutes", r => r.GetDouble("delay")).Build(),
            DataSource.Batches([FlightData.ToBatch(FlightData.All.Skip(100).Take(10).ToArray())]));

        Assert.That(v2.Version, Is.EqualTo(2));
        Assert.That(v2.Schema!.Select(c => c.Name), Does.Contain("delay_hours"), "the stored columns are kept");
        Assert.That(report.Version, Is.EqualTo(3), "the ingestion adds the computed column to the schema");
        Assert.That((await store.GetFeatureSetAsync("flights")).Schema!.Select(c => c.Name), Does.Contain("delay_hours").And.Contain("delay_minutes"));
        Assert.That(await OfflineRows.ReadAsync(store, "flights"), Has.Count.EqualTo(110));
    }

    [Test]
    public async Task GetOnlineServiceAsync_SetWithUserCodeOfAnotherProcess_ServesItsFeatures()
    {
        using var folder = new TempFolder();
        await IngestSetWithUserCodeAsync(folder, fs => fs.Vector("serving").Select("flights.delay_hours").SaveAsync());

        // a serving process: it never defines the set, it only reads it
        await using var serving = await TestProjects.OpenAsync(folder);
        var store = serving.FeatureStore;
        var vector = await store.GetVectorAsync("serving");
        await using var online = await store.GetOnlineServiceAsync(vector);
        using var training = await store.GetOfflineFeaturesAsync(vector);

        var last = Sample(100)[99];
        Assert.That((await online.GetAsync(new Dictionary<string, object> { ["origin"] = last.Origin }))["delay_hours"], Is.EqualTo(last.Delay / 60.0));
        Assert.That(training.RowCount, Is.EqualTo(100));
    }

    [Test]
    public async Task DeleteFeatureSetAsync_SetWithUserCodeOfAnotherProcess_IsDeleted()
    {
        using var folder = new TempFolder();
        await IngestSetWithUserCodeAsync(folder);

        await using var reopened = await TestProjects.OpenAsync(folder);
        var store = reopened.FeatureStore;
        var deleted = await store.DeleteFeatureSetAsync("flights");

        Assert.That(deleted, Is.True);
        Assert.That(OfflineRows.Files(store, "flights"), Is.Empty);
        await store.IngestAsync(store.FeatureSet("flights").Entity("origin").Timestamp("date").Build(), DataSource.Batches([FlightData.ToBatch(FlightData.All.Skip(5000).Take(10).ToArray())]));
        var vector = await store.Vector("v").Select("flights.delay").SaveAsync();
        await using var online = await store.GetOnlineServiceAsync(vector);
        Assert.That((await online.GetAsync(new Dictionary<string, object> { ["origin"] = FlightData.All[0].Origin })).Found, Is.EqualTo(FlightData.All.Skip(5000).Take(10).Any(f => f.Origin == FlightData.All[0].Origin)), "the old online rows are gone");
    }

    [Test]
    public async Task DeleteFeatureSetAsync_AfterACancelledFirstIngestion_RemovesItsOnlineRows()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        using var cts = new CancellationTokenSource();
        var options = new MLOps.FeatureStore.Ingestion.IngestOptions { ChunkSize = 100, Progress = new SyncProgress<MLOps.FeatureStore.Ingestion.IngestProgress>(_ => cts.Cancel()) };
        var flights = Sample(1000);
        Assert.That(async () => await fs.IngestAsync(fs.FeatureSet("flights").Entity("origin").Timestamp("date").Build(), DataSource.Batches([FlightData.ToBatch(flights)]), options, cts.Token),
            Throws.InstanceOf<OperationCanceledException>());

        await fs.DeleteFeatureSetAsync("flights");
        await fs.IngestAsync(fs.FeatureSet("flights").Entity("origin").Timestamp("date").Build(), DataSource.Batches([FlightData.ToBatch(FlightData.All.Skip(5000).Take(10).ToArray())]));

        var vector = await fs.Vector("v").Select("flights.delay").SaveAsync();
        await using var online = await fs.GetOnlineServiceAsync(vector);
        var onlyInFirstChunk = flights.Take(100).Select(f => f.Origin).Except(FlightData.All.Skip(5000).Take(10).Select(f => f.Origin)).First();
        Assert.That((await online.GetAsync(new Dictionary<string, object> { ["origin"] = onlyInFirstChunk })).Found, Is.False);
    }

    [Test]
    public async Task DeleteFeatureSetAsync_IngestedSet_RemovesOfflineFilesOnlineRowsAndWindowState()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        FeatureSet Define() => fs.FeatureSet("flights").Entity("origin").Timestamp("date").Aggregate("delay", AggregationOp.Count, "30d").Build();
        await fs.IngestAsync(Define(), DataSource.Batches([FlightData.ToBatch(Sample())]));
        Assert.That(OfflineRows.Files(fs, "flights"), Is.Not.Empty);

        var deleted = await fs.DeleteFeatureSetAsync("flights");
        var again = await fs.DeleteFeatureSetAsync("flights");

        Assert.That(deleted, Is.True);
        Assert.That(again, Is.False);
        Assert.That(Directory.Exists(fs.SetRoot("flights")), Is.False);
        Assert.ThrowsAsync<NotFoundException>(() => fs.GetFeatureSetAsync("flights"));
        Assert.That(await fs.ListFeatureSetsAsync(), Is.Empty);

        // the same name starts from scratch: old online rows and window state are gone
        var las = FlightData.All.Where(f => f.Origin == "LAS").Take(3).ToArray();
        await fs.IngestAsync(Define(), DataSource.Batches([FlightData.ToBatch(las)]));
        var vector = await fs.Vector("v").Select("flights.delay", "flights.delay_count_30d").SaveAsync();
        await using var online = await fs.GetOnlineServiceAsync(vector);
        var dtw = await online.GetAsync(new Dictionary<string, object> { ["origin"] = "DTW" });
        var lasRow = await online.GetAsync(new Dictionary<string, object> { ["origin"] = "LAS" });
        Assert.That(dtw.Found, Is.False);
        Assert.That(lasRow.Found, Is.True);
        Assert.That(lasRow.GetDouble("delay_count_30d"), Is.EqualTo(3), "the window state of the deleted set is not reused");
        Assert.That(await OfflineRows.ReadAsync(fs, "flights"), Has.Count.EqualTo(3));
    }
}
