using Microsoft.Extensions.Time.Testing;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.Aggregations;
using MLOps.FeatureStore.Tests.TestSupport;
using MLOps.FeatureStore.Vectors;

namespace MLOps.FeatureStore.Tests.Ingestion;

/// <summary>Real-time pushes reach the offline store, and a batch supersedes pushed events of its (entity, time) keys.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class PushOfflineTests
{
    private static readonly IReadOnlyList<Flight> Flights = FlightData.All.Take(3000).ToArray();

    /// <summary>The first index at or after <paramref name="from"/> whose time differs from the previous flight's.</summary>
    private static int Cut(IReadOnlyList<Flight> flights, int from)
    {
        while (from < flights.Count && flights[from].Date == flights[from - 1].Date) from++;
        return from;
    }

    /// <summary>The flights in pushes of about <paramref name="size"/> events, never cut between equal times (a push cannot see later ties).</summary>
    private static List<Flight[]> Pushes(IReadOnlyList<Flight> flights, int size)
    {
        var pushes = new List<Flight[]>();
        for (var i = 0; i < flights.Count;)
        {
            var end = Cut(flights, Math.Min(i + size, flights.Count));
            pushes.Add(flights.Skip(i).Take(end - i).ToArray());
            i = end;
        }

        return pushes;
    }

    private static async Task PushAllAsync(FeatureStoreCatalog fs, IReadOnlyList<Flight> flights, int size = 40)
    {
        foreach (var push in Pushes(flights, size))
            await fs.PushAsync(AggregationEndToEndTests.Define(fs), push.Select(f => f.ToEvent()));
    }

    private static Task IngestAsync(FeatureStoreCatalog fs, IReadOnlyList<Flight> flights)
        => fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Batches([FlightData.ToBatch(flights)]), new() { ChunkSize = 700 });

    private static async Task AssertSameStoresAsync(FeatureStoreCatalog actual, FeatureStoreCatalog expected)
    {
        var a = await OfflineRows.ReadAsync(actual, "flights");
        var e = await OfflineRows.ReadAsync(expected, "flights");
        Assert.That(a, Has.Count.EqualTo(e.Count), "offline rows");
        for (var i = 0; i < e.Count; i++)
            foreach (var (name, value) in e[i])
                if (!Equals(a[i][name], value))
                    Assert.Fail($"offline row {i} ({e[i]["origin"]} {e[i]["date"]}): {name} is {a[i][name] ?? "null"}, one batch gives {value ?? "null"}");
        var origins = Flights.Select(f => f.Origin).ToArray();
        Assert.That(await StoreSnapshot.OnlineAsync(actual, "flights", origins), Is.EqualTo(await StoreSnapshot.OnlineAsync(expected, "flights", origins)), "online rows");
    }

    private static FeatureStoreOptions Options(int rows = 1_000_000) => new() { PushFlushRows = rows };

    [Test]
    public async Task PushAsync_SecondHalfAfterABatchOfTheFirstHalf_EqualsOneBatchOfAllOfflineAndOnline()
    {
        using var pushFolder = new TempFolder();
        using var batchFolder = new TempFolder();
        await using var pushed = await TestProjects.OpenAsync(pushFolder);
        await using var batched = await TestProjects.OpenAsync(batchFolder);
        var half = Cut(Flights, Flights.Count / 2);
        var fs = pushed.UseFeatureStore(Options());

        await IngestAsync(fs, Flights.Take(half).ToArray());
        await PushAllAsync(fs, Flights.Skip(half).ToArray());
        await fs.FlushPushesAsync();
        await IngestAsync(batched.FeatureStore, Flights);

        await AssertSameStoresAsync(fs, batched.FeatureStore);
        // and a training set over the set's time range holds every row, the pushed ones included
        var vector = await fs.Vector("all").Select("flights.delay", "flights.delay_count_1h").SaveAsync();
        using var training = await fs.GetOfflineFeaturesAsync(vector, (DataSource?)null, new OfflineFeaturesOptions { Start = Flights[0].Time, End = Flights[^1].Time });
        Assert.That(training.Batch.Length, Is.EqualTo(Flights.Count));
    }

    [Test]
    public async Task IngestAsync_BackfillOfAPushedPeriod_EqualsOneBatchOfThatPeriod()
    {
        using var pushFolder = new TempFolder();
        using var batchFolder = new TempFolder();
        await using var pushed = await TestProjects.OpenAsync(pushFolder);
        await using var batched = await TestProjects.OpenAsync(batchFolder);
        // a first day ingested (it fixes the schema), then a later period more than the largest window (1 day) after it
        var firstDay = Flights.Where(f => f.Time < new DateTime(2001, 1, 1, 12, 0, 0, DateTimeKind.Utc)).ToArray();
        var period = Flights.Where(f => f.Time >= new DateTime(2001, 1, 2, 13, 0, 0, DateTimeKind.Utc)).ToArray();
        Assert.That(period, Has.Length.GreaterThan(500));
        var fs = pushed.UseFeatureStore(Options());

        await IngestAsync(fs, firstDay);
        await PushAllAsync(fs, period);
        // not flushed explicitly: the ingestion flushes the buffered pushes first, then supersedes them
        await IngestAsync(fs, period);
        await IngestAsync(batched.FeatureStore, firstDay);
        await IngestAsync(batched.FeatureStore, period);

        await AssertSameStoresAsync(fs, batched.FeatureStore);
        Assert.That(OfflineRows.Files(fs, "flights").Where(f => Path.GetFileName(f).Contains("-p")), Is.Empty, "every pushed row was superseded");
    }

    [Test]
    public async Task IngestAsync_BackfillOfPartOfAPushedPeriod_KeepsThePushedRowsItDoesNotHold()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.UseFeatureStore(Options());
        var first = Flights.Take(1000).ToArray();
        // pushes within less than the largest window (1 day): none is trimmed from the window state by a later push
        var pushedFlights = Flights.Skip(1000).TakeWhile(f => f.Time < new DateTime(2001, 1, 6, 0, 0, 0, DateTimeKind.Utc)).ToArray();
        // every other ORD flight is left out of the backfill: those pushed events stay (offline and in the windows)
        var ord = 0;
        var backfill = pushedFlights.Where(f => f.Origin != "ORD" || ord++ % 2 == 0).ToArray();
        Assert.That(pushedFlights.Length - backfill.Length, Is.GreaterThan(3));

        await IngestAsync(fs, first);
        await PushAllAsync(fs, pushedFlights);
        await IngestAsync(fs, backfill);

        var rows = await OfflineRows.ReadAsync(fs, "flights");
        Assert.That(rows, Has.Count.EqualTo(first.Length + pushedFlights.Length), "each pushed event once: superseded by the batch, or kept");
        Assert.That(rows.Count(r => (string)r["origin"]! == "ORD"), Is.EqualTo(first.Concat(pushedFlights).Count(f => f.Origin == "ORD")));
        // the backfilled ORD rows see the pushed ORD events that were kept
        var lastBackfilled = backfill.Last(f => f.Origin == "ORD");
        var inOrder = first.Concat(pushedFlights).ToArray();
        Assert.That(rows.Last(r => (string)r["origin"]! == "ORD" && (DateTimeOffset)r["date"]! == lastBackfilled.Time)["delay_count_1d"],
            Is.EqualTo(AggregationEndToEndTests.BruteForce(inOrder, System.Array.IndexOf(inOrder, lastBackfilled), 86_400_000_000L)["count"]));
        // the window state holds each event once: a later push of each origin counts its day like the brute force
        var next = Flights.Skip(1400).Where(f => f.Origin is "ORD" or "LAX").GroupBy(f => f.Origin).Select(g => g.First()).ToArray();
        var all = first.Concat(pushedFlights).Concat(next).ToArray();
        foreach (var f in next)
        {
            var result = await fs.PushAsync(AggregationEndToEndTests.Define(fs), [f.ToEvent()]);
            var expected = AggregationEndToEndTests.BruteForce(all, System.Array.LastIndexOf(all, f), 86_400_000_000L);
            Assert.That(((DoubleArray)result.Rows.Column("delay_count_1d")).GetValue(0), Is.EqualTo(expected["count"]), f.Origin);
            Assert.That(((DoubleArray)result.Rows.Column("delay_sum_1d")).GetValue(0), Is.EqualTo(expected["sum"]), f.Origin);
        }
    }

    [Test]
    public async Task PushAsync_BufferReachesPushFlushRows_WritesAPushFile()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.UseFeatureStore(Options(rows: 100));
        await IngestAsync(fs, Flights.Take(1000).ToArray());
        var later = Flights.Skip(1000).Take(250).ToArray();

        foreach (var push in later.Chunk(25))
            await fs.PushAsync(AggregationEndToEndTests.Define(fs), push.Select(f => f.ToEvent()));

        Assert.That(await OfflineRows.ReadAsync(fs, "flights"), Has.Count.EqualTo(1000 + 200), "two flushes of 100 rows; 50 rows still buffered");
        await fs.FlushPushesAsync();
        Assert.That(await OfflineRows.ReadAsync(fs, "flights"), Has.Count.EqualTo(1250));
    }

    [Test]
    public async Task PushAsync_OldestBufferedEventWaitsPushFlushInterval_IsFlushedByTheTimer()
    {
        using var folder = new TempFolder();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var project = await TestProjects.OpenAsync(folder, time: time);
        var fs = project.UseFeatureStore(new FeatureStoreOptions { PushFlushInterval = TimeSpan.FromMinutes(1) });
        await IngestAsync(fs, Flights.Take(1000).ToArray());

        await fs.PushAsync(AggregationEndToEndTests.Define(fs), Flights.Skip(1000).Take(5).Select(f => f.ToEvent()));
        time.Advance(TimeSpan.FromSeconds(59));
        await fs.TimerFlushes;
        Assert.That(await OfflineRows.ReadAsync(fs, "flights"), Has.Count.EqualTo(1000), "not due yet");

        time.Advance(TimeSpan.FromSeconds(1));
        await fs.TimerFlushes;
        Assert.That(await OfflineRows.ReadAsync(fs, "flights"), Has.Count.EqualTo(1005));
    }

    [Test]
    public async Task DisposeAsync_WithBufferedPushes_FlushesThemToTheOfflineStore()
    {
        using var folder = new TempFolder();
        await using (var project = await TestProjects.OpenAsync(folder))
        {
            var fs = project.FeatureStore;
            await IngestAsync(fs, Flights.Take(1000).ToArray());
            await fs.PushAsync(AggregationEndToEndTests.Define(fs), Flights.Skip(1000).Take(7).Select(f => f.ToEvent()));
            Assert.That(await OfflineRows.ReadAsync(fs, "flights"), Has.Count.EqualTo(1000));
        }

        await using var reopened = await TestProjects.OpenAsync(folder);
        Assert.That(await OfflineRows.ReadAsync(reopened.FeatureStore, "flights"), Has.Count.EqualTo(1007));
    }

    [Test]
    public async Task GetOfflineFeaturesAsync_AfterAFlushedPush_SeesThePushedRowAsOfItsTime()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await IngestAsync(fs, Flights.Take(1000).ToArray());
        var at = new DateTime(2001, 1, 9, 10, 0, 0, DateTimeKind.Utc);
        await fs.PushAsync(AggregationEndToEndTests.Define(fs), [new Dictionary<string, object?>
        {
            ["date"] = "2001/01/09 10:00", ["delay"] = 42L, ["distance"] = 100L, ["origin"] = "ZZZ", ["destination"] = "LAS",
        }]);
        await fs.FlushPushesAsync();
        var vector = await fs.Vector("v").Select("flights.delay", "flights.delay_count_1h").SaveAsync();
        var entityRows = DataSource.Objects(new[]
        {
            new { origin = "ZZZ", at = at.AddMinutes(-1) },
            new { origin = "ZZZ", at },
            new { origin = "ZZZ", at = at.AddHours(5) },
        });

        using var training = await fs.GetOfflineFeaturesAsync(vector, entityRows, new OfflineFeaturesOptions { TimestampColumn = "at" });

        var delay = (Int64Array)training.Batch.Column("delay");
        Assert.That(delay.IsNull(0), Is.True, "before the pushed event");
        Assert.That(delay.GetValue(1), Is.EqualTo(42L));
        Assert.That(delay.GetValue(2), Is.EqualTo(42L));
    }
}
