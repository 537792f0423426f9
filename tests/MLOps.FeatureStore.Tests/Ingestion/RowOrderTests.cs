using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Ingestion;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.Aggregations;
using MLOps.FeatureStore.Tests.TestSupport;

namespace MLOps.FeatureStore.Tests.Ingestion;

/// <summary>
/// Any row order and any chunk size give the values of a time-sorted one-shot ingestion (ties at one time broken by
/// source order): offline rows compared by source row, online values exactly, and windows against the brute force.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class RowOrderTests
{
    private const int Rows = 1500;

    private static IReadOnlyList<Flight> Flights => FlightData.All.Take(Rows).ToArray();

    private sealed record Ingested(List<Dictionary<string, object?>> Offline, SortedDictionary<string, IReadOnlyDictionary<string, object?>> Online, bool Spilled);

    /// <summary>Ingests the flights in the given order (one source row each, in that order) and reads both targets back.</summary>
    private static async Task<Ingested> IngestAsync(IReadOnlyList<Flight> flights, int chunkSize, Func<FeatureStoreCatalog, FeatureSet>? define = null, IngestOptions? options = null)
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var set = (define ?? AggregationEndToEndTests.Define)(fs);
        var spilled = false;
        var root = fs.SetRoot(set.Name);
        options = (options ?? new IngestOptions()) with
        {
            ChunkSize = chunkSize,
            Progress = new SyncProgress<IngestProgress>(_ => spilled |= Directory.Exists(root) && Directory.EnumerateDirectories(root, ".sort-*").Any()),
        };
        await fs.IngestAsync(set, DataSource.Batches(FlightData.ToBatches(flights, chunkSize)), options);
        Assert.That(Directory.Exists(root) ? Directory.EnumerateDirectories(root, ".sort-*").ToArray() : [], Is.Empty, "sorted runs are deleted");
        var offline = options.Offline == false ? [] : await OfflineRows.ReadAsync(fs, set.Name);
        var online = await StoreSnapshot.OnlineAsync(fs, set.Name, flights.Select(f => f.Origin));
        return new Ingested(offline, online, spilled);
    }

    /// <summary>The flights sorted by time, ties in their order in <paramref name="flights"/>, and where each came from.</summary>
    private static (Flight[] Sorted, int[] From) TimeSorted(IReadOnlyList<Flight> flights)
    {
        var from = Enumerable.Range(0, flights.Count).OrderBy(i => flights[i].Micros).ToArray(); // OrderBy is stable
        return (from.Select(i => flights[i]).ToArray(), from);
    }

    private static void AssertSameOffline(Ingested actual, Ingested sorted, int[] from, string what)
    {
        Assert.That(actual.Offline, Has.Count.EqualTo(sorted.Offline.Count), what);
        // offline rows are keyed by source row: row j of the sorted ingestion is row from[j] of the other
        for (var j = 0; j < from.Length; j++)
        {
            var a = actual.Offline[from[j]];
            var e = sorted.Offline[j];
            foreach (var (name, value) in e)
                if (!Equals(a[name], value))
                    Assert.Fail($"{what}: offline {name} of source row {from[j]} ({a["origin"]} {a["date"]}) is {a[name] ?? "null"}, the time-sorted ingestion has {value ?? "null"}");
        }
    }

    private static void AssertSameOnline(Ingested actual, Ingested sorted, string what)
    {
        Assert.That(actual.Online.Keys, Is.EqualTo(sorted.Online.Keys), what);
        foreach (var (key, row) in sorted.Online)
            foreach (var (name, value) in row)
                if (!Equals(actual.Online[key][name], value))
                    Assert.Fail($"{what}: online {name} of {key} is {actual.Online[key][name] ?? "null"}, the time-sorted ingestion has {value ?? "null"}");
    }

    [Test]
    public async Task IngestAsync_ShuffledRowsAnyChunkSize_EqualTheTimeSortedIngestionAndTheBruteForce()
    {
        const int Sample = 1000;
        for (var seed = 1; seed <= 8; seed++)
        {
            var random = new Random(seed);
            var shuffled = Flights.Take(Sample).ToArray();
            random.Shuffle(shuffled);
            // chunk sizes from 1 to all rows, log-uniform
            var chunk = Math.Clamp((int)Math.Round(Math.Exp(random.NextDouble() * Math.Log(Sample))), 1, Sample);
            var (sorted, from) = TimeSorted(shuffled);

            var actual = await IngestAsync(shuffled, chunk);
            var expected = await IngestAsync(sorted, Sample);

            var what = $"seed {seed}, chunk size {chunk}";
            AssertSameOffline(actual, expected, from, what);
            AssertSameOnline(actual, expected, what);
            var sample = Enumerable.Range(0, shuffled.Length).Where(i => i % 7 == seed % 7).ToArray();
            AggregationEndToEndTests.AssertEqualsBruteForce(shuffled, sample, (i, name) => actual.Offline[i][name]);
        }
    }

    // chunk sizes at which a boundary falls inside a tie of one origin (not at the chunk's latest time) in these flights
    [TestCase(38)]
    [TestCase(57)]
    [TestCase(142)]
    public async Task IngestAsync_RowsSortedByEntityThenTime_EqualTheTimeSortedIngestion(int chunk)
    {
        var byEntity = Flights.OrderBy(f => f.Origin, StringComparer.Ordinal).ThenBy(f => f.Micros).ToArray();
        var (sorted, from) = TimeSorted(byEntity);

        var actual = await IngestAsync(byEntity, chunk);
        var expected = await IngestAsync(sorted, Rows);

        AssertSameOffline(actual, expected, from, $"chunk size {chunk}");
        AssertSameOnline(actual, expected, $"chunk size {chunk}");
    }

    [Test]
    public async Task IngestAsync_ShuffledRowsWithATinyMemoryBudget_SpillsSortedRunsAndGivesTheSameValues()
    {
        var shuffled = Flights.ToArray();
        new Random(42).Shuffle(shuffled);
        var (sorted, from) = TimeSorted(shuffled);

        var actual = await IngestAsync(shuffled, 97, options: new IngestOptions { SortMemoryBudget = 16 << 10 });
        var expected = await IngestAsync(sorted, Rows);

        Assert.That(actual.Spilled, Is.True, "a 16 KiB budget spills runs to disk");
        AssertSameOffline(actual, expected, from, "spilled");
        AssertSameOnline(actual, expected, "spilled");
    }

    [Test]
    public async Task IngestAsync_ShuffledRowsOnlineOnly_EqualTheTimeSortedIngestionOnline()
    {
        var shuffled = Flights.ToArray();
        new Random(7).Shuffle(shuffled);
        var (sorted, _) = TimeSorted(shuffled);

        var actual = await IngestAsync(shuffled, 128, options: new IngestOptions { Offline = false });
        var expected = await IngestAsync(sorted, Rows);

        AssertSameOnline(actual, expected, "online only");
    }

    [Test]
    public async Task IngestAsync_ShuffledRowsWithoutAggregations_OnlineKeepsTheLatestRowPerEntity()
    {
        static FeatureSet Plain(FeatureStoreCatalog fs) => fs.FeatureSet("plain").Entity("origin").Timestamp("date").Build();
        for (var seed = 1; seed <= 4; seed++)
        {
            var shuffled = Flights.ToArray();
            new Random(seed).Shuffle(shuffled);
            var (sorted, from) = TimeSorted(shuffled);

            var actual = await IngestAsync(shuffled, 50 * seed, Plain);
            var expected = await IngestAsync(sorted, Rows, Plain);

            AssertSameOffline(actual, expected, from, $"seed {seed}");
            AssertSameOnline(actual, expected, $"seed {seed}");
            // the oracle: the latest flight of each origin, ties to the later source row
            foreach (var (origin, row) in actual.Online)
            {
                var latest = shuffled.Select((f, i) => (f, i)).Where(x => x.f.Origin == origin).OrderBy(x => x.f.Micros).ThenBy(x => x.i).Last().f;
                Assert.That(row["delay"], Is.EqualTo(latest.Delay), $"seed {seed} {origin}");
            }
        }
    }
}
