using DuckDB.NET.Data;
using Microsoft.Extensions.Time.Testing;
using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Ingestion;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.TestSupport;

namespace MLOps.FeatureStore.Tests.Ingestion;

[Parallelizable(ParallelScope.All)]
public sealed class IngestionSemanticsTests
{
    private static readonly DateTimeOffset Now = new(2024, 6, 11, 8, 0, 0, TimeSpan.Zero);

    private static FeatureSet Define(FeatureStoreCatalog fs, PartitionGranularity partitioning = PartitionGranularity.Day)
        => fs.FeatureSet("flights").Entity("origin").Timestamp("date").PartitionBy(partitioning)
            .Aggregate("delay", AggregationOp.Sum | AggregationOp.Count, "1d")
            .Build();

    private static string[] TempFiles(FeatureStoreCatalog fs)
        => Directory.Exists(fs.OfflineRoot) ? Directory.GetFiles(fs.OfflineRoot, "*.tmp", SearchOption.AllDirectories) : [];

    [Test]
    public async Task IngestAsync_Flights_ReportsWhatItDid()
    {
        using var folder = new TempFolder();
        var time = new FakeTimeProvider(Now);
        await using var project = await TestProjects.OpenAsync(folder, time: time);
        var fs = project.FeatureStore;

        var report = await fs.IngestAsync(Define(fs), DataSource.Json(TestProjects.FlightsJson), new() { ChunkSize = 3000 });
        var second = await fs.IngestAsync(Define(fs), DataSource.Batches([FlightData.ToBatch(FlightData.All.Take(10).ToArray())]));

        var origins = FlightData.All.Select(f => f.Origin).Distinct().Count();
        Assert.Multiple(() =>
        {
            Assert.That(report.FeatureSet, Is.EqualTo("flights"));
            Assert.That(report.Version, Is.EqualTo(1));
            Assert.That(report.Sequence, Is.EqualTo(1));
            Assert.That(second.Sequence, Is.EqualTo(2));
            Assert.That(report.Source, Is.EqualTo($"json {TestProjects.FlightsJson}"));
            Assert.That(report.RowsRead, Is.EqualTo(20000));
            Assert.That(report.RowsWritten, Is.EqualTo(20000));
            Assert.That(report.RowsDropped, Is.Zero);
            Assert.That(report.OnlineEntities, Is.EqualTo(origins), "every origin once, though it appears in many chunks");
            Assert.That(second.OnlineEntities, Is.EqualTo(FlightData.All.Take(10).Select(f => f.Origin).Distinct().Count()));
            Assert.That(report.OfflineFiles, Is.EquivalentTo(OfflineRows.Files(fs, "flights").Except(second.OfflineFiles)));
            Assert.That(report.Started, Is.EqualTo(Now));
            Assert.That(report.AlreadyIngested, Is.False);
            Assert.That(report.Statistics!.RowCount, Is.EqualTo(20000));
        });
        var status = (await fs.GetInfoAsync("flights")).Status;
        Assert.That(status.Ingestions, Is.EqualTo(2));
        Assert.That(status.RowsIngested, Is.EqualTo(20010));
        Assert.That(status.Completed.Keys, Is.EquivalentTo(new[] { report.IngestId, second.IngestId }));
    }

    [Test]
    public async Task IngestAsync_ConcurrentIngestionsIntoOneSet_AreSerialized()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var parts = Enumerable.Range(0, 4).Select(p => FlightData.All.Skip(p * 5000).Take(5000).ToArray()).ToArray();

        var reports = await Task.WhenAll(parts.Select(p => Task.Run(() => fs.IngestAsync(Define(fs), DataSource.Batches([FlightData.ToBatch(p)]), new() { ChunkSize = 2000 }))));

        Assert.That(reports.Select(r => r.Sequence).Order(), Is.EqualTo(new long[] { 1, 2, 3, 4 }));
        Assert.That(await OfflineRows.ReadAsync(fs, "flights"), Has.Count.EqualTo(20000));
        var status = (await fs.GetInfoAsync("flights")).Status;
        Assert.That(status.Ingestions, Is.EqualTo(4));
        Assert.That(status.RowsIngested, Is.EqualTo(20000));
    }

    [Test]
    public async Task IngestAsync_WithProgress_ReportsEveryChunk()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var progress = new List<IngestProgress>();

        await fs.IngestAsync(Define(fs), DataSource.Json(TestProjects.FlightsJson), new() { ChunkSize = 5000, Progress = new SyncProgress<IngestProgress>(progress.Add) });

        Assert.That(progress.Select(p => p.Chunks), Is.EqualTo(new[] { 1, 2, 3, 4 }));
        Assert.That(progress.Select(p => p.RowsRead), Is.EqualTo(new long[] { 5000, 10000, 15000, 20000 }));
        Assert.That(progress.Select(p => p.RowsWritten), Is.EqualTo(new long[] { 5000, 10000, 15000, 20000 }));
        Assert.That(progress.All(p => p.RowsDropped == 0), Is.True);
        Assert.That(progress.Select(p => p.Elapsed), Is.Ordered);
    }

    [Test]
    public async Task IngestAsync_SameIngestIdTwice_SecondReturnsTheFirstReportAndWritesNothing()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var options = new IngestOptions { IngestId = "flights-2001-q1" };

        var first = await fs.IngestAsync(Define(fs), DataSource.Json(TestProjects.FlightsJson), options);
        var files = OfflineRows.Files(fs, "flights").Select(f => (f, File.GetLastWriteTimeUtc(f))).ToArray();
        var second = await fs.IngestAsync(Define(fs), DataSource.Json(TestProjects.FlightsJson), options);

        Assert.That(first.AlreadyIngested, Is.False);
        Assert.That(second.AlreadyIngested, Is.True);
        Assert.That(second.IngestId, Is.EqualTo("flights-2001-q1"));
        Assert.That(second.RowsWritten, Is.EqualTo(first.RowsWritten));
        Assert.That(second.Sequence, Is.EqualTo(first.Sequence));
        Assert.That(OfflineRows.Files(fs, "flights").Select(f => (f, File.GetLastWriteTimeUtc(f))), Is.EqualTo(files));
        Assert.That(await OfflineRows.ReadAsync(fs, "flights"), Has.Count.EqualTo(20000));
        Assert.That((await fs.GetInfoAsync("flights")).Status.Ingestions, Is.EqualTo(1));
    }

    [Test]
    public async Task IngestAsync_SameIngestIdAfterANewVersion_IsStillAlreadyIngested()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var options = new IngestOptions { IngestId = "daily-2001-01-01" };
        var flights = DataSource.Batches([FlightData.ToBatch(FlightData.All.Take(300).ToArray())]);
        await fs.IngestAsync(Define(fs), flights, options);

        // the definition changes (a new version, without ingestion status yet), then the same batch is retried
        var v2 = await fs.FeatureSet("flights").Entity("origin").Timestamp("date").Aggregate("delay", AggregationOp.Sum | AggregationOp.Count, "1d")
            .Feature("gate", FeatureType.String).SaveAsync();
        var retry = await fs.IngestAsync(v2, flights, options);

        Assert.That(v2.Version, Is.EqualTo(2));
        Assert.That(retry.AlreadyIngested, Is.True);
        Assert.That(await OfflineRows.ReadAsync(fs, "flights"), Has.Count.EqualTo(300));
        Assert.That((await fs.GetStatisticsAsync("flights"))?.RowCount, Is.EqualTo(300), "the statistics of the last ingestion, though the latest version has none yet");

        // the next ingestion on the new version carries the completed ingestions over
        await fs.IngestAsync(v2, DataSource.Batches([FlightData.ToBatch(FlightData.All.Skip(300).Take(10).ToArray())]), new() { IngestId = "daily-2001-01-02" });
        var status = (await fs.GetInfoAsync("flights")).Status;
        Assert.That(status.Ingestions, Is.EqualTo(2));
        Assert.That(status.Completed.Keys, Is.EquivalentTo(new[] { "daily-2001-01-01", "daily-2001-01-02" }));
        Assert.That((await fs.IngestAsync(v2, flights, options)).AlreadyIngested, Is.True);
    }

    [Test]
    public async Task IngestAsync_Targets_WriteOnlyTheChosenStores()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var flights = FlightData.All.Take(300).ToArray();

        var offlineOnly = await fs.IngestAsync(fs.FeatureSet("offline_only").Entity("origin").Timestamp("date").Targets(online: false).Build(), DataSource.Batches([FlightData.ToBatch(flights)]));
        var onlineOnly = await fs.IngestAsync(fs.FeatureSet("online_only").Entity("origin").Timestamp("date").Build(), DataSource.Batches([FlightData.ToBatch(flights)]), new() { Offline = false });

        Assert.That(offlineOnly.OnlineEntities, Is.Zero);
        Assert.That(OfflineRows.Files(fs, "offline_only"), Is.Not.Empty);
        Assert.That(onlineOnly.OfflineFiles, Is.Empty);
        Assert.That(OfflineRows.Files(fs, "online_only"), Is.Empty);
        var vector = await fs.Vector("v").Select("online_only.delay").SaveAsync();
        await using var online = await fs.GetOnlineServiceAsync(vector);
        Assert.That((await online.GetAsync(new Dictionary<string, object> { ["origin"] = flights[^1].Origin })).Found, Is.True);
    }

    [Test]
    public async Task PushAsync_OfflineOnlySet_WritesTheOnlineRow()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date").Targets(online: false).Build();
        await fs.IngestAsync(set, DataSource.Batches([FlightData.ToBatch(FlightData.All.Take(100).ToArray())]));

        var push = await fs.PushAsync(set, [new Dictionary<string, object?> { ["date"] = "2001/04/01 10:00", ["delay"] = 7L, ["distance"] = 300L, ["origin"] = "ZZZ", ["destination"] = "LAS" }]);

        Assert.That(push.Rows.Length, Is.EqualTo(1));
        var vector = await fs.Vector("v").Select("flights.delay").SaveAsync();
        await using var online = await fs.GetOnlineServiceAsync(vector);
        Assert.That((await online.GetAsync(new Dictionary<string, object> { ["origin"] = "ZZZ" }))["delay"], Is.EqualTo(7L));
        Assert.That((await online.GetAsync(new Dictionary<string, object> { ["origin"] = FlightData.All[0].Origin })).Found, Is.False, "the batch was not written online");
    }

    [Test]
    public async Task IngestAsync_CancelledAfterTheFirstChunk_LeavesNoFileAndTheRetryWritesEverything()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var earlier = FlightData.All.Take(500).ToArray();
        await fs.IngestAsync(Define(fs), DataSource.Batches([FlightData.ToBatch(earlier)]));
        var filesBefore = OfflineRows.Files(fs, "flights");
        using var cts = new CancellationTokenSource();
        var chunks = 0;
        var options = new IngestOptions
        {
            IngestId = "later",
            ChunkSize = 1000,
            Progress = new SyncProgress<IngestProgress>(p =>
            {
                chunks = p.Chunks;
                if (p.Chunks == 1) cts.Cancel();
            }),
        };

        Assert.That(async () => await fs.IngestAsync(Define(fs), DataSource.Json(TestProjects.FlightsJson), options, cts.Token), Throws.InstanceOf<OperationCanceledException>());

        Assert.That(chunks, Is.EqualTo(1));
        Assert.That(OfflineRows.Files(fs, "flights"), Is.EqualTo(filesBefore));
        Assert.That(TempFiles(fs), Is.Empty);
        Assert.That(await OfflineRows.ReadAsync(fs, "flights"), Has.Count.EqualTo(500));
        var status = (await fs.GetInfoAsync("flights")).Status;
        Assert.That(status.Ingestions, Is.EqualTo(1));
        Assert.That(status.Completed.ContainsKey("later"), Is.False);

        // the retry with the same id runs in full
        var retry = await fs.IngestAsync(Define(fs), DataSource.Json(TestProjects.FlightsJson), options with { Progress = null });
        Assert.That(retry.AlreadyIngested, Is.False);
        Assert.That(retry.RowsWritten, Is.EqualTo(20000));
        Assert.That(await OfflineRows.ReadAsync(fs, "flights"), Has.Count.EqualTo(20500));
        Assert.That(TempFiles(fs), Is.Empty);
    }

    [Test]
    public async Task IngestAsync_CancelledAfterTheFirstChunk_WindowStateIsNotAdvanced()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var flights = FlightData.All.Take(4000).ToArray();
        using var cts = new CancellationTokenSource();
        var options = new IngestOptions { ChunkSize = 1000, Progress = new SyncProgress<IngestProgress>(_ => cts.Cancel()) };
        Assert.That(async () => await fs.IngestAsync(Define(fs), DataSource.Batches([FlightData.ToBatch(flights)]), options, cts.Token), Throws.InstanceOf<OperationCanceledException>());

        // a new ingestion of the same rows counts each once: the cancelled one left no window state
        await fs.IngestAsync(Define(fs), DataSource.Batches([FlightData.ToBatch(flights)]), new() { ChunkSize = 1000 });
        var rows = await OfflineRows.ReadAsync(fs, "flights");
        var last = flights.Select((f, i) => (f, i)).Last(x => x.f.Origin == "DTW");
        var expected = flights.Take(last.i + 1).Count(f => f.Origin == "DTW" && f.Micros > last.f.Micros - 86_400_000_000L);
        Assert.That(rows[last.i]["delay_count_1d"], Is.EqualTo((double)expected));
    }

    [TestCase(PartitionGranularity.Day)]
    [TestCase(PartitionGranularity.Hour)]
    [TestCase(PartitionGranularity.Month)]
    [TestCase(PartitionGranularity.None)]
    public async Task IngestAsync_Partitioning_WritesHiveStyleFolders(PartitionGranularity partitioning)
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var flights = FlightData.All.Take(3000).ToArray();

        var report = await fs.IngestAsync(Define(fs, partitioning), DataSource.Batches([FlightData.ToBatch(flights)]), new() { ChunkSize = 1000 });

        var root = fs.SetRoot("flights");
        var folders = report.OfflineFiles.Select(f => Path.GetRelativePath(root, Path.GetDirectoryName(f)!).Replace('\\', '/')).ToArray();
        string Expected(DateTime t) => partitioning switch
        {
            PartitionGranularity.Day => $"year={t:yyyy}/month={t:MM}/day={t:dd}",
            PartitionGranularity.Hour => $"year={t:yyyy}/month={t:MM}/day={t:dd}/hour={t:HH}",
            PartitionGranularity.Month => $"year={t:yyyy}/month={t:MM}",
            _ => ".",
        };
        Assert.That(folders, Is.EquivalentTo(flights.Select(f => Expected(f.Time)).Distinct()));
        Assert.That(report.OfflineFiles.Select(Path.GetFileName).Distinct(), Is.EqualTo(new[] { "part-0000000001-0.parquet" }), "one file per ingestion and partition");
        Assert.That(await OfflineRows.ReadAsync(fs, "flights"), Has.Count.EqualTo(3000));
        foreach (var file in report.OfflineFiles)
        {
            var rows = new List<DateTime>();
            await foreach (var b in MLOps.Data.DatasetReader.ReadAsync(file, MLOps.Data.DatasetFormat.Parquet))
                using (b)
                    rows.AddRange(((TimestampArray)b.Column("date")).Values.ToArray().Select(us => FlightData.FromMicros(us).UtcDateTime));
            Assert.That(rows.Select(Expected).Distinct().Single(), Is.EqualTo(Path.GetRelativePath(root, Path.GetDirectoryName(file)!).Replace('\\', '/')), file);
        }
    }

    [Test]
    public async Task IngestAsync_SetWithoutTimestamp_WritesNoPartitionFolders()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;

        var report = await fs.IngestAsync(fs.FeatureSet("airports").Entity("iata").PartitionBy(PartitionGranularity.Hour).Build(), DataSource.Csv(TestProjects.AirportsCsv));

        Assert.That(report.OfflineFiles.Select(Path.GetDirectoryName), Is.EqualTo(new[] { fs.SetRoot("airports") }));
    }

    [Test]
    public async Task IngestAsync_OfflineFiles_AreReadableByDuckDb()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.IngestAsync(Define(fs), DataSource.Json(TestProjects.FlightsJson), new() { ChunkSize = 7000 });
        await fs.IngestAsync(Define(fs), DataSource.Batches([FlightData.ToBatch(FlightData.All.Take(100).ToArray())]));

        await using var duck = new DuckDBConnection("Data Source=:memory:");
        await duck.OpenAsync();
        await using var command = duck.CreateCommand();
        command.CommandText = $"SELECT count(*), CAST(sum(delay) AS BIGINT), count(DISTINCT origin), CAST(max(delay_count_1d) AS BIGINT) FROM read_parquet('{fs.SetRoot("flights").Replace('\\', '/')}/**/*.parquet')";
        await using var reader = await command.ExecuteReaderAsync();
        Assert.That(await reader.ReadAsync(), Is.True);

        Assert.That(reader.GetInt64(0), Is.EqualTo(20100));
        Assert.That(reader.GetInt64(1), Is.EqualTo(FlightData.All.Sum(f => f.Delay) + FlightData.All.Take(100).Sum(f => f.Delay)));
        Assert.That(reader.GetInt64(2), Is.EqualTo(FlightData.All.Select(f => f.Origin).Distinct().Count()));
        Assert.That(reader.GetInt64(3), Is.GreaterThan(1));
    }

    [Test]
    public async Task GetStatisticsAsync_AfterIngestion_DescribesDelayAndOrigin()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        Assert.ThrowsAsync<NotFoundException>(() => fs.GetStatisticsAsync("flights"));
        await fs.FeatureSet("flights").Entity("origin").Timestamp("date").SaveAsync();
        Assert.That(await fs.GetStatisticsAsync("flights"), Is.Null, "no statistics before the first ingestion");

        await fs.IngestAsync(Define(fs), DataSource.Json(TestProjects.FlightsJson), new() { ChunkSize = 6000 });
        var stats = (await fs.GetStatisticsAsync("flights"))!;

        var delays = FlightData.All.Select(f => (double)f.Delay).Order().ToArray();
        double Quantile(double q)
        {
            var position = q * (delays.Length - 1);
            var lower = (int)Math.Floor(position);
            var fraction = position - lower;
            return fraction == 0 ? delays[lower] : delays[lower] + (delays[lower + 1] - delays[lower]) * fraction;
        }

        var delay = stats.Statistics.Single(s => s.Name == "delay");
        Assert.That(stats.RowCount, Is.EqualTo(20000));
        Assert.That(delay.Count, Is.EqualTo(20000));
        Assert.That(delay.NullCount, Is.Zero);
        Assert.That(delay.Mean, Is.EqualTo(delays.Average()).Within(1e-9));
        Assert.That(delay.Min, Is.EqualTo(-59));
        Assert.That(delay.Max, Is.EqualTo(522));
        Assert.That(delay.P25, Is.EqualTo(Quantile(0.25)));
        Assert.That(delay.P50, Is.EqualTo(Quantile(0.5)));
        Assert.That(delay.P75, Is.EqualTo(Quantile(0.75)));
        Assert.That(delay.Histogram!.Counts.Sum(), Is.EqualTo(20000));
        Assert.That(delay.Histogram.Edges[0], Is.EqualTo(-59));
        Assert.That(delay.Histogram.Edges[^1], Is.EqualTo(522));
        var origin = stats.Statistics.Single(s => s.Name == "origin");
        var top = FlightData.All.GroupBy(f => f.Origin).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Take(10)
            .Select(g => new ValueCount(g.Key, g.Count())).ToArray();
        Assert.That(origin.TopValues, Is.EqualTo(top));
        Assert.That(origin.Unique, Is.EqualTo(FlightData.All.Select(f => f.Origin).Distinct().Count()));
        Assert.That(stats.Statistics.Select(s => s.Name), Does.Contain("delay_sum_1d").And.Not.Contain("_ingest_order").And.Not.Contain("__row"));
    }

    [Test]
    public async Task GetStatisticsAsync_StatisticsMaxRows_ProfilesTheFirstRowsOnly()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;

        await fs.IngestAsync(Define(fs), DataSource.Json(TestProjects.FlightsJson), new() { ChunkSize = 3000, StatisticsMaxRows = 4500 });
        var stats = (await fs.GetStatisticsAsync("flights"))!;

        Assert.That(stats.RowCount, Is.EqualTo(4500));
        Assert.That(stats.Statistics.Single(s => s.Name == "delay").Mean, Is.EqualTo(FlightData.All.Take(4500).Average(f => (double)f.Delay)).Within(1e-9));
    }
}
