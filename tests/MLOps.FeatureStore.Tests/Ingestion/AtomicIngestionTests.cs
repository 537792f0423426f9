using MLOps.FeatureStore.Ingestion;
using MLOps.FeatureStore.Online;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.Aggregations;
using MLOps.FeatureStore.Tests.TestSupport;

namespace MLOps.FeatureStore.Tests.Ingestion;

/// <summary>A failed or cancelled ingestion changes nothing: online rows, window state, offline files, versions and status.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class AtomicIngestionTests
{
    private static readonly IReadOnlyList<Flight> Earlier = FlightData.All.Take(1000).ToArray();
    private static readonly IReadOnlyList<Flight> Later = FlightData.All.Skip(1000).Take(3000).ToArray();

    private sealed record Snapshot(
        SortedDictionary<string, IReadOnlyDictionary<string, object?>> Online, SortedDictionary<string, string> State,
        SortedDictionary<string, string> Files, string[] Versions);

    private static async Task<Snapshot> SnapshotAsync(FeatureStoreCatalog fs)
    {
        var origins = FlightData.All.Select(f => f.Origin).Distinct().ToArray();
        return new Snapshot(await StoreSnapshot.OnlineAsync(fs, "flights", origins), await StoreSnapshot.WindowStateAsync(fs, "flights", origins),
            StoreSnapshot.Files(fs, "flights"), await StoreSnapshot.VersionsAsync(fs, "flights"));
    }

    private static void AssertUnchanged(Snapshot before, Snapshot after)
    {
        Assert.That(after.Online, Is.EqualTo(before.Online), "online rows");
        Assert.That(after.State, Is.EqualTo(before.State), "window state");
        Assert.That(after.Files, Is.EqualTo(before.Files), "offline files");
        Assert.That(after.Versions, Is.EqualTo(before.Versions), "versions and status");
    }

    private static string Json(Flight f, string? origin, string date)
        => $"{{\"date\":\"{date}\",\"delay\":{f.Delay},\"distance\":{f.Distance},\"origin\":{(origin is null ? "null" : $"\"{origin}\"")},\"destination\":\"{f.Destination}\"}}";

    [TestCase("null entity")]
    [TestCase("bad timestamp")]
    public async Task IngestAsync_BadRowInTheLastChunk_ChangesNothing(string problem)
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Batches([FlightData.ToBatch(Earlier)]));
        var before = await SnapshotAsync(fs);
        var lines = Later.Select(f => Json(f, f.Origin, f.Date)).ToList();
        var bad = Later[^1];
        lines[^1] = problem == "null entity" ? Json(bad, null, bad.Date) : Json(bad, bad.Origin, "yesterday noon");
        var path = folder.File("later.jsonl");
        File.WriteAllText(path, string.Join("\n", lines) + "\n");

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Json(path), new IngestOptions { ChunkSize = 250 }))!;

        Assert.That(e.Message, Does.Contain(problem == "null entity" ? "origin" : "date"));
        Assert.That(e.Message, Does.Contain("3000"), "the message names the row");
        AssertUnchanged(before, await SnapshotAsync(fs));
    }

    [Test]
    public async Task IngestAsync_AfterAFailedIngestion_GetsTheNumberAndFilesOfANeverFailedOne()
    {
        // the failed ingestion's claim on the next ingestion number is given back: the numbers, and with them the offline
        // file names and _ingest_order values, are those of a history without the failure
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var first = await fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Batches([FlightData.ToBatch(Earlier)]));
        var lines = Later.Select(f => Json(f, f.Origin, f.Date)).ToList();
        lines[^1] = Json(Later[^1], null, Later[^1].Date);
        var path = folder.File("bad.jsonl");
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Json(path), new IngestOptions { ChunkSize = 250 }));

        var next = await fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Batches([FlightData.ToBatch(Later)]));

        Assert.That(next.Sequence, Is.EqualTo(first.Sequence + 1));
        Assert.That(next.OfflineFiles.Select(Path.GetFileName), Has.All.StartWith($"part-{first.Sequence + 1:D10}-"));
    }

    [Test]
    public async Task IngestAsync_CancelledMidway_ChangesNothing()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Batches([FlightData.ToBatch(Earlier)]));
        var before = await SnapshotAsync(fs);
        using var cts = new CancellationTokenSource();
        var options = new IngestOptions { ChunkSize = 250, Progress = new SyncProgress<IngestProgress>(p => { if (p.Chunks == 6) cts.Cancel(); }) };

        Assert.That(async () => await fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Batches(FlightData.ToBatches(Later, 250)), options, cts.Token),
            Throws.InstanceOf<OperationCanceledException>());

        AssertUnchanged(before, await SnapshotAsync(fs));
    }

    [Test]
    public async Task IngestAsync_RandomFailurePointOrderAndChunkSize_ChangesNothing()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Batches([FlightData.ToBatch(Earlier)]));
        var before = await SnapshotAsync(fs);
        for (var seed = 1; seed <= 6; seed++)
        {
            var random = new Random(seed);
            var rows = Later.ToArray();
            if (seed % 2 == 0) random.Shuffle(rows); // the sorting path too
            var chunk = random.Next(50, 1500);
            var failAt = random.Next(rows.Length / 2, rows.Length);
            var lines = rows.Select(f => Json(f, f.Origin, f.Date)).ToList();
            var cancel = seed % 3 == 0;
            if (!cancel) lines[failAt] = random.Next(2) == 0 ? Json(rows[failAt], null, rows[failAt].Date) : Json(rows[failAt], rows[failAt].Origin, "not a time");
            var path = folder.File($"later-{seed}.jsonl");
            File.WriteAllText(path, string.Join("\n", lines) + "\n");
            using var cts = new CancellationTokenSource();
            var options = new IngestOptions
            {
                IngestId = $"attempt-{seed}",
                ChunkSize = chunk,
                Progress = new SyncProgress<IngestProgress>(p => { if (cancel && p.RowsRead > failAt) cts.Cancel(); }),
            };

            var failure = Assert.CatchAsync(() => fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Json(path), options, cts.Token))!;

            Assert.That(failure, cancel ? Is.InstanceOf<OperationCanceledException>() : Is.InstanceOf<ValidationException>(), $"seed {seed}");
            AssertUnchanged(before, await SnapshotAsync(fs));
        }
    }

    [Test]
    public async Task IngestAsync_OfflineWriteFailsMidway_ThrowsFeatureStoreExceptionAndChangesNothing()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Batches([FlightData.ToBatch(Earlier)]));
        // a file where the folder of a day in the middle of the new rows goes: the offline writer fails there, while
        // later chunks are being read and computed
        var earlierDays = Earlier.Select(f => f.Time.Date).ToHashSet();
        var newDays = Later.Select(f => f.Time.Date).Where(d => !earlierDays.Contains(d)).Distinct().Order().ToArray();
        var day = newDays[newDays.Length / 2];
        var blocker = Path.Combine(fs.SetRoot("flights"), $"year={day:yyyy}", $"month={day:MM}", $"day={day:dd}");
        Directory.CreateDirectory(Path.GetDirectoryName(blocker)!);
        File.WriteAllText(blocker, "not a folder");
        var before = await SnapshotAsync(fs);
        var path = folder.File("later.jsonl");
        File.WriteAllLines(path, Later.OrderBy(f => f.Micros).Select(f => Json(f, f.Origin, f.Date)));

        var e = Assert.ThrowsAsync<FeatureStoreException>(() => fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Json(path), new IngestOptions { ChunkSize = 100 }));

        Assert.That(e!.Message, Does.Contain("offline Parquet files"));
        AssertUnchanged(before, await SnapshotAsync(fs));
        Assert.That(Directory.GetFiles(fs.SetRoot("flights"), "*.tmp", SearchOption.AllDirectories), Is.Empty, "no temporary file left");
    }

    [Test]
    public async Task IngestAsync_OnlineCommitFails_TheOfflineFilesAreRolledBack()
    {
        using var folder = new TempFolder();
        await using var inner = new SqliteOnlineStore(folder.File("online.db"));
        var failing = new FailingOnlineStore(inner);
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.UseFeatureStore(new FeatureStoreOptions { OnlineStore = failing });
        await fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Batches([FlightData.ToBatch(Earlier)]));
        var before = await SnapshotAsync(fs);
        failing.Fail = true;

        Assert.ThrowsAsync<FeatureStoreException>(() => fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Batches(FlightData.ToBatches(Later, 250)), new IngestOptions { IngestId = "later", ChunkSize = 250 }));

        failing.Fail = false;
        AssertUnchanged(before, await SnapshotAsync(fs));
        // the retry with the same id then writes everything
        var retry = await fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Batches(FlightData.ToBatches(Later, 250)), new IngestOptions { IngestId = "later", ChunkSize = 250 });
        Assert.That(retry.AlreadyIngested, Is.False);
        Assert.That(await OfflineRows.ReadAsync(fs, "flights"), Has.Count.EqualTo(Earlier.Count + Later.Count));
    }

    /// <summary>An online store whose writes fail on demand (a disk full or a lock held too long).</summary>
    private sealed class FailingOnlineStore(IOnlineStore inner) : IOnlineStore
    {
        public volatile bool Fail;

        public Task PrepareAsync(OnlineTable table, CancellationToken cancellationToken = default) => inner.PrepareAsync(table, cancellationToken);

        public Task WriteAsync(OnlineTable table, RecordBatch rows, IReadOnlyDictionary<string, byte[]> windowState, CancellationToken cancellationToken = default)
            => Fail ? throw new FeatureStoreException("The online store is full (simulated).") : inner.WriteAsync(table, rows, windowState, cancellationToken);

        public Task<IReadOnlyDictionary<string, byte[]>> LoadWindowStateAsync(OnlineTable table, IReadOnlyCollection<string> entityKeys, CancellationToken cancellationToken = default)
            => inner.LoadWindowStateAsync(table, entityKeys, cancellationToken);

        public IOnlineReader OpenReader(OnlineTable table, IReadOnlyList<string> features) => inner.OpenReader(table, features);

        public Task DropAsync(OnlineTable table, CancellationToken cancellationToken = default) => inner.DropAsync(table, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
