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

    /// <summary>Runs a scenario of pushes (and batches) in one project and plain batch ingestions in another, then compares both stores.</summary>
    private static async Task AssertSameAsOneBatchAsync(Func<FeatureStoreCatalog, Task> pushed, Func<FeatureStoreCatalog, Task> batched)
    {
        using var pushFolder = new TempFolder();
        using var batchFolder = new TempFolder();
        await using var pushProject = await TestProjects.OpenAsync(pushFolder);
        await using var batchProject = await TestProjects.OpenAsync(batchFolder);
        var fs = pushProject.UseFeatureStore(Options());
        await pushed(fs);
        await batched(batchProject.FeatureStore);
        await AssertSameStoresAsync(fs, batchProject.FeatureStore);
    }

    [Test]
    public async Task PushAsync_SecondHalfAfterABatchOfTheFirstHalf_EqualsOneBatchOfAllOfflineAndOnline()
    {
        var half = Cut(Flights, Flights.Count / 2);
        await AssertSameAsOneBatchAsync(async fs =>
        {
            await IngestAsync(fs, Flights.Take(half).ToArray());
            await PushAllAsync(fs, Flights.Skip(half).ToArray());
            await fs.FlushPushesAsync();
            // a training set over the set's time range holds every row, the pushed ones included
            var vector = await fs.Vector("all").Select("flights.delay", "flights.delay_count_1h").SaveAsync();
            using var training = await fs.GetOfflineFeaturesAsync(vector, (DataSource?)null, new OfflineFeaturesOptions { Start = Flights[0].Time, End = Flights[^1].Time });
            Assert.That(training.Batch.Length, Is.EqualTo(Flights.Count));
        }, fs => IngestAsync(fs, Flights));
    }

    [Test]
    public async Task PushAsync_WindowStateSavedBeforePushedEventsWereMarked_StillReads()
    {
        var half = Cut(Flights, Flights.Count / 2);
        await AssertSameAsOneBatchAsync(async fs =>
        {
            await IngestAsync(fs, Flights.Take(half).ToArray());
            // rewrite the saved state in the earlier format: [ingestion number][length][state before][state after], plain states
            var table = fs.OnlineTableOf(await fs.GetFeatureSetAsync("flights"));
            var keys = Flights.Select(f => MLOps.FeatureStore.Online.EntityKey.Encode(f.Origin)).Distinct().ToArray();
            var old = new Dictionary<string, byte[]>();
            foreach (var (key, blob) in await fs.OnlineStore.LoadWindowStateAsync(table, keys))
            {
                Assert.That(BitConverter.ToInt64(blob, 0), Is.EqualTo(long.MinValue), "the current format starts with its marker");
                var previousLength = BitConverter.ToInt32(blob, 16);
                byte[] Plain(int at, int length) => length == 0 ? [] : blob.AsSpan(at + 4, BitConverter.ToInt32(blob, at)).ToArray();
                var previous = Plain(20, previousLength);
                var current = Plain(20 + previousLength, blob.Length - 20 - previousLength);
                old[key] = [.. blob.AsSpan(8, 8), .. BitConverter.GetBytes(previous.Length), .. previous, .. current];
            }

            await fs.OnlineStore.WriteAsync(table, FlightData.ToBatch([]), old);
            await PushAllAsync(fs, Flights.Skip(half).ToArray());
            await fs.FlushPushesAsync();
        }, fs => IngestAsync(fs, Flights));
    }

    [Test]
    public async Task IngestAsync_BackfillOfAPushedPeriod_EqualsOneBatchOfThatPeriod()
    {
        // a first day ingested, then the next days (longer than the largest window) pushed and backfilled: the backfill's
        // first windows reach back into the first day, whose events the pushes trimmed from the window state
        var firstDay = Flights.Where(f => f.Time < new DateTime(2001, 1, 2, 0, 0, 0, DateTimeKind.Utc)).ToArray();
        var period = Flights.Where(f => f.Time >= new DateTime(2001, 1, 2, 0, 0, 0, DateTimeKind.Utc)).ToArray();
        Assert.That(period[^1].Time - period[0].Time, Is.GreaterThan(TimeSpan.FromDays(2)));
        Assert.That(period, Has.Length.GreaterThan(500));
        await AssertSameAsOneBatchAsync(async fs =>
        {
            await IngestAsync(fs, firstDay);
            await PushAllAsync(fs, period);
            // not flushed explicitly: the ingestion flushes the buffered pushes first, then supersedes them
            await IngestAsync(fs, period);
            Assert.That(OfflineRows.Files(fs, "flights").Where(f => Path.GetFileName(f).Contains("-p")), Is.Empty, "every pushed row was superseded");
        }, async fs =>
        {
            await IngestAsync(fs, firstDay);
            await IngestAsync(fs, period);
        });
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
    public async Task UseFeatureStore_NonPositivePushThresholds_ThrowsValidationNamingThem()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);

        var e = Assert.Throws<ValidationException>(() => project.UseFeatureStore(new FeatureStoreOptions { PushFlushRows = 0, PushFlushInterval = TimeSpan.Zero }))!;

        Assert.That(e.Message, Does.Contain("PushFlushRows is 0").And.Contain("PushFlushInterval is 00:00:00"));
    }

    [Test]
    public async Task IngestAsync_NonPositiveSortMemoryBudget_ThrowsValidation()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Batches([FlightData.ToBatch(Flights.Take(10).ToArray())]), new() { SortMemoryBudget = 0 }))!;

        Assert.That(e.Message, Does.Contain("IngestOptions.SortMemoryBudget is 0"));
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

/// <summary>Randomized pushes and backfills against the one-batch ingestion and the brute force.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class PushOfflinePropertyTests
{
    private static readonly IReadOnlyList<Flight> Flights = FlightData.All.Take(2000).ToArray();

    [Test]
    public async Task PushAsync_RandomCutAndPushSizes_EqualOneBatchAndTheBruteForce()
    {
        for (var seed = 1; seed <= 5; seed++)
        {
            var random = new Random(seed);
            using var pushFolder = new TempFolder();
            using var batchFolder = new TempFolder();
            await using var pushed = await TestProjects.OpenAsync(pushFolder);
            await using var batched = await TestProjects.OpenAsync(batchFolder);
            var fs = pushed.UseFeatureStore(new FeatureStoreOptions { PushFlushRows = random.Next(20, 400) });
            var cut = random.Next(200, Flights.Count - 200);
            while (Flights[cut].Date == Flights[cut - 1].Date) cut++;

            await fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Batches([FlightData.ToBatch(Flights.Take(cut).ToArray())]), new() { ChunkSize = random.Next(50, 1000) });
            for (var i = cut; i < Flights.Count;)
            {
                var end = Math.Min(Flights.Count, i + random.Next(1, 60));
                while (end < Flights.Count && Flights[end].Date == Flights[end - 1].Date) end++; // a push cannot see later ties
                await fs.PushAsync(AggregationEndToEndTests.Define(fs), Flights.Skip(i).Take(end - i).Select(f => f.ToEvent()));
                i = end;
            }

            await fs.FlushPushesAsync();
            await batched.FeatureStore.IngestAsync(AggregationEndToEndTests.Define(batched.FeatureStore), DataSource.Batches([FlightData.ToBatch(Flights)]));

            var actual = await OfflineRows.ReadAsync(fs, "flights");
            var expected = await OfflineRows.ReadAsync(batched.FeatureStore, "flights");
            Assert.That(actual, Is.EqualTo(expected), $"seed {seed}: offline rows");
            var origins = Flights.Select(f => f.Origin).ToArray();
            Assert.That(await StoreSnapshot.OnlineAsync(fs, "flights", origins), Is.EqualTo(await StoreSnapshot.OnlineAsync(batched.FeatureStore, "flights", origins)), $"seed {seed}: online");
            var sample = Enumerable.Range(cut, Flights.Count - cut).Where(i => i % 5 == seed % 5).ToArray();
            AggregationEndToEndTests.AssertEqualsBruteForce(Flights, sample, (i, name) => actual[i][name]);
        }
    }

    [Test]
    public async Task IngestAsync_RandomBackfillsOfPushedEvents_EqualOneBatchAndTheBruteForce()
    {
        // a pushed period shorter than the largest window (1 day), so that no pushed event that the backfill keeps is
        // trimmed from the window state by a later push
        var before = Flights.Where(f => f.Time < new DateTime(2001, 1, 2, 13, 0, 0, DateTimeKind.Utc)).ToArray();
        var day = Flights.Where(f => f.Time >= new DateTime(2001, 1, 2, 13, 0, 0, DateTimeKind.Utc) && f.Time < new DateTime(2001, 1, 3, 9, 0, 0, DateTimeKind.Utc)).ToArray();
        for (var seed = 1; seed <= 5; seed++)
        {
            var random = new Random(seed);
            using var folder = new TempFolder();
            await using var project = await TestProjects.OpenAsync(folder);
            var fs = project.UseFeatureStore(new FeatureStoreOptions { PushFlushRows = random.Next(20, 400) });
            await fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Batches([FlightData.ToBatch(before)]));
            // push the period in time order, then backfill a random part of it (in random order, random chunks)
            for (var i = 0; i < day.Length;)
            {
                var end = Math.Min(day.Length, i + random.Next(1, 40));
                while (end < day.Length && day[end].Date == day[end - 1].Date) end++;
                await fs.PushAsync(AggregationEndToEndTests.Define(fs), day.Skip(i).Take(end - i).Select(f => f.ToEvent()));
                i = end;
            }

            var inBackfill = day.Select(_ => random.NextDouble() < 0.7).ToArray();
            var backfill = day.Where((_, i) => inBackfill[i]).ToArray();
            var shuffled = backfill.ToArray();
            random.Shuffle(shuffled);
            var chunk = random.Next(1, backfill.Length + 1);
            await fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Batches(FlightData.ToBatches(shuffled, chunk)), new() { ChunkSize = chunk });

            // the oracle: the backfill is authoritative for its (origin, time) keys; pushed events at other keys stay
            var keys = backfill.Select(f => (f.Origin, f.Micros)).ToHashSet();
            var events = before.Concat(day.Where((f, i) => inBackfill[i] || !keys.Contains((f.Origin, f.Micros)))).ToArray();
            var rows = await OfflineRows.ReadAsync(fs, "flights");
            Assert.That(rows, Has.Count.EqualTo(events.Length), $"seed {seed}: each event once");
            var byKey = rows.GroupBy(r => ((string)r["origin"]!, FlightData.Micros((DateTimeOffset)r["date"]!))).ToDictionary(g => g.Key, g => g.First());
            for (var i = before.Length; i < events.Length; i++)
            {
                var f = events[i];
                if (!keys.Contains((f.Origin, f.Micros))) continue; // pushed values are not revised by later backfills
                var row = byKey[(f.Origin, f.Micros)];
                foreach (var w in AggregationEndToEndTests.Windows)
                {
                    var expected = AggregationEndToEndTests.BruteForce(events, i, MLOps.FeatureStore.Aggregations.FeatureWindow.Parse(w).Microseconds);
                    Assert.That(row[$"delay_count_{w}"], Is.EqualTo(expected["count"]), $"seed {seed} {f} {w}");
                    Assert.That(row[$"delay_sum_{w}"], Is.EqualTo(expected["sum"]), $"seed {seed} {f} {w}");
                    Assert.That(row[$"delay_max_{w}"], Is.EqualTo(expected["max"]), $"seed {seed} {f} {w}");
                }
            }
        }
    }
}
