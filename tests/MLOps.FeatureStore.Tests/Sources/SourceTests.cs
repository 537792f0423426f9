using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Ingestion;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.TestSupport;

namespace MLOps.FeatureStore.Tests.Sources;

[Parallelizable(ParallelScope.All)]
public sealed class SourceTests
{
    private static FeatureSet Define(FeatureStoreCatalog fs)
        => fs.FeatureSet("flights").Entity("origin").Timestamp("date")
            .Aggregate("delay", AggregationOp.Avg | AggregationOp.Max | AggregationOp.Count, "1h", "1d")
            .Build();

    private static async Task<DataSource> CreateAsync(string kind, TempFolder folder, IReadOnlyList<Flight> flights) => kind switch
    {
        "csv" => DataSource.File(FlightData.WriteCsv(folder.File("f.csv"), flights)),
        "json" => DataSource.File(FlightData.WriteJsonArray(folder.File("f.json"), flights)),
        "jsonl" => DataSource.File(FlightData.WriteJsonLines(folder.File("f.jsonl"), flights)),
        "parquet" => DataSource.File(await FlightData.WriteParquetAsync(folder.File("f.parquet"), flights)),
        "arrow" => DataSource.File(await FlightData.WriteArrowAsync(folder.File("f.arrow"), flights)),
        "batches" => DataSource.Batches(FlightData.ToBatches(flights, 7000).ToArray()),
        "async-batches" => DataSource.Batches(AsyncBatches(flights)),
        "objects" => DataSource.Objects(flights.Select(FlightRow.From)),
        "dictionaries" => DataSource.Objects(flights.Select(f => new Dictionary<string, object?>(f.ToEvent()))),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static async IAsyncEnumerable<RecordBatch> AsyncBatches(IReadOnlyList<Flight> flights)
    {
        foreach (var b in FlightData.ToBatches(flights, 3000))
        {
            await Task.Yield();
            yield return b;
        }
    }

    private sealed record Result(IReadOnlyList<FeatureColumn> Schema, List<Dictionary<string, object?>> Offline, List<IReadOnlyDictionary<string, object?>> Online, IngestReport Report);

    private static async Task<Result> IngestAsync(TempFolder folder, Func<TempFolder, Task<DataSource>> source, int chunkSize = IngestOptions.DefaultChunkSize)
    {
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var report = await fs.IngestAsync(Define(fs), await source(folder), new() { ChunkSize = chunkSize });
        var set = await fs.GetFeatureSetAsync("flights");
        var vector = await fs.Vector("all").Select("flights.*").SaveAsync();
        await using var online = await fs.GetOnlineServiceAsync(vector);
        var origins = FlightData.All.Select(f => f.Origin).Distinct().Order(StringComparer.Ordinal).ToArray();
        var rows = await online.GetManyAsync(origins.Select(o => (IReadOnlyDictionary<string, object>)new Dictionary<string, object> { ["origin"] = o }).ToArray());
        return new Result(set.Schema!, await OfflineRows.ReadAsync(fs, "flights"), rows.Select(r => r.ToDictionary()).ToList(), report);
    }

    /// <summary>Compares rows value by value with exact types (NUnit would take 1L and 1.0 as equal).</summary>
    private static void AssertSameRows(IReadOnlyList<IReadOnlyDictionary<string, object?>> actual, IReadOnlyList<IReadOnlyDictionary<string, object?>> expected, string what)
    {
        Assert.That(actual, Has.Count.EqualTo(expected.Count), what);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.That(actual[i].Keys, Is.EquivalentTo(expected[i].Keys), $"{what} row {i}");
            foreach (var (k, v) in expected[i])
            {
                var a = actual[i][k];
                if (!Equals(a, v))
                    Assert.Fail($"{what} row {i} column {k}: {a} ({a?.GetType().Name}) != {v} ({v?.GetType().Name})");
            }
        }
    }

    [TestCase("csv")]
    [TestCase("json")]
    [TestCase("jsonl")]
    [TestCase("parquet")]
    [TestCase("arrow")]
    [TestCase("async-batches")]
    [TestCase("objects")]
    [TestCase("dictionaries")]
    public async Task IngestAsync_SameFlightsFromAnySource_GiveTheSameOfflineAndOnlineRows(string kind)
    {
        var flights = FlightData.All;
        using var baselineFolder = new TempFolder();
        using var folder = new TempFolder();
        var baseline = await IngestAsync(baselineFolder, f => CreateAsync("batches", f, flights));

        var result = await IngestAsync(folder, f => CreateAsync(kind, f, flights));

        Assert.That(result.Report.RowsRead, Is.EqualTo(20000));
        Assert.That(result.Schema, Is.EqualTo(baseline.Schema));
        Assert.That(baseline.Schema.Select(c => $"{c.Name}:{c.Type}").Take(5), Is.EqualTo(new[] { "date:Timestamp", "delay:Int64", "distance:Int64", "origin:String", "destination:String" }));
        AssertSameRows(result.Offline, baseline.Offline, $"{kind} offline");
        AssertSameRows(result.Online, baseline.Online, $"{kind} online");
        Assert.That(baseline.Offline.Select(r => ((DateTimeOffset)r["date"]!).UtcTicks), Is.EqualTo(flights.Select(f => f.Time.Ticks)));
        Assert.That(baseline.Offline.Select(r => r["delay"]), Is.EqualTo(flights.Select(f => (object)f.Delay)));
    }

    [Test]
    public async Task IngestAsync_SmallChunks_GiveTheSameRowsAndAggregationsAsOneChunk()
    {
        using var big = new TempFolder();
        using var small = new TempFolder();

        var one = await IngestAsync(big, _ => Task.FromResult(DataSource.Json(TestProjects.FlightsJson)), chunkSize: 100_000);
        var many = await IngestAsync(small, _ => Task.FromResult(DataSource.Json(TestProjects.FlightsJson)), chunkSize: 1000);

        Assert.That(one.Report.RowsRead, Is.EqualTo(20000));
        Assert.That(many.Schema, Is.EqualTo(one.Schema));
        AssertSameRows(many.Offline, one.Offline, "offline");
        AssertSameRows(many.Online, one.Online, "online");
    }

    [Test]
    public async Task IngestAsync_BatchesLargerThanTheChunk_AreSliced()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var chunks = new List<long>();

        using var batch = FlightData.ToBatch(FlightData.All);

        var report = await fs.IngestAsync(Define(fs), DataSource.Batches([batch]),
            new() { ChunkSize = 6000, Progress = new SyncProgress<IngestProgress>(p => chunks.Add(p.RowsRead)) });

        Assert.That(report.RowsWritten, Is.EqualTo(20000));
        Assert.That(chunks, Is.EqualTo(new long[] { 6000, 12000, 18000, 20000 }));
        Assert.That(((Int64Array)batch.Column("delay")).Values.ToArray().Sum(), Is.EqualTo(FlightData.All.Sum(f => f.Delay)), "the caller's batch is still usable");
        var again = await fs.IngestAsync(fs.FeatureSet("copy").Entity("origin").Timestamp("date").Build(), DataSource.Batches([batch]), new() { ChunkSize = 7000 });
        Assert.That(again.RowsWritten, Is.EqualTo(20000));
    }

    [Test]
    public void File_UnknownExtension_ThrowsNamingIt()
    {
        var e = Assert.Throws<ValidationException>(() => DataSource.File("/data/flights.xlsx"))!;

        Assert.That(e.Message, Does.Contain("'.xlsx'"));
    }

    [Test]
    public async Task Json_MissingFile_ThrowsNotFound()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);

        var e = Assert.ThrowsAsync<NotFoundException>(() => project.FeatureStore.IngestAsync(Define(project.FeatureStore), DataSource.Json(folder.File("missing.json"))))!;

        Assert.That(e.Message, Does.Contain("missing.json"));
    }
}
