using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.TestSupport;

namespace MLOps.FeatureStore.Tests.Aggregations;

[Parallelizable(ParallelScope.All)]
public sealed class AggregationEndToEndTests
{
    internal const AggregationOp Ops = AggregationOp.Count | AggregationOp.Sum | AggregationOp.Min | AggregationOp.Max | AggregationOp.Avg
        | AggregationOp.First | AggregationOp.Last | AggregationOp.StdDev;

    internal static readonly string[] Windows = ["1h", "6h", "1d"];

    internal static FeatureSet Define(FeatureStoreCatalog fs)
        => fs.FeatureSet("flights").Entity("origin").Timestamp("date").Aggregate("delay", Ops, Windows).Build();

    internal static string[] AggregationNames => new AggregationSpec("delay", Ops, Windows.Select(FeatureWindow.Parse).ToArray()).Outputs().Select(o => o.Name).ToArray();

    private static readonly Lazy<Dictionary<string, Flight[]>> FlightsByOrigin = new(() => FlightData.All.GroupBy(f => f.Origin).ToDictionary(g => g.Key, g => g.ToArray()));

    /// <summary>
    /// The brute-force values of every operation for the flight at <paramref name="index"/> over one window: its origin's
    /// flights with t - w &lt; ts &lt;= t.
    /// </summary>
    internal static Dictionary<string, double?> BruteForce(IReadOnlyList<Flight> flights, int index, long windowMicros)
    {
        var me = flights[index];
        var byOrigin = ReferenceEquals(flights, FlightData.All) ? FlightsByOrigin.Value[me.Origin] : flights.Where(f => f.Origin == me.Origin).ToArray();
        var inWindow = byOrigin.Where(f => f.Micros > me.Micros - windowMicros && f.Micros <= me.Micros).ToArray();
        var values = inWindow.Select(f => (double)f.Delay).ToArray();
        var byTime = inWindow.Select((f, i) => (f, i)).OrderBy(x => x.f.Micros).ThenBy(x => x.i).Select(x => (double)x.f.Delay).ToArray();
        var mean = values.Average();
        return new Dictionary<string, double?>
        {
            ["count"] = values.Length,
            ["sum"] = values.Sum(),
            ["min"] = values.Min(),
            ["max"] = values.Max(),
            ["avg"] = mean,
            ["first"] = byTime[0],
            ["last"] = byTime[^1],
            ["stddev"] = values.Length < 2 ? null : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1)),
        };
    }

    internal static void AssertEqualsBruteForce(IReadOnlyList<Flight> flights, IReadOnlyList<int> indices, Func<int, string, object?> actual)
    {
        foreach (var w in Windows)
        {
            var window = FeatureWindow.Parse(w).Microseconds;
            foreach (var i in indices)
            {
                foreach (var (op, expected) in BruteForce(flights, i, window))
                {
                    var name = $"delay_{op}_{w}";
                    var value = actual(i, name);
                    if (expected is null) Assert.That(value, Is.Null, $"{name} row {i}");
                    else if (value is not double d || Math.Abs(d - expected.Value) > 1e-9 * Math.Max(1, Math.Abs(expected.Value)))
                        Assert.Fail($"{name} row {i} ({flights[i]}): {value} != {expected}");
                }
            }
        }
    }

    [Test]
    public async Task IngestAsync_FlightAggregations_EqualABruteForceComputation()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var flights = FlightData.All;

        await fs.IngestAsync(Define(fs), DataSource.Json(TestProjects.FlightsJson));
        var rows = await OfflineRows.ReadAsync(fs, "flights");

        var indices = Enumerable.Range(0, flights.Count).Where(i => flights[i].Origin is "LAS" or "ABQ" or "SHV").ToArray();
        Assert.That(indices, Has.Length.GreaterThan(500));
        AssertEqualsBruteForce(flights, indices, (i, name) => rows[i][name]);
        Assert.That(indices.Any(i => rows[i]["delay_stddev_1h"] is null), Is.True, "some flights are alone in their hour");
    }

    [Test]
    public async Task IngestAsync_TiesInOneChunk_GetTheSameValues()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var flights = FlightData.All;
        var ties = Enumerable.Range(0, flights.Count).GroupBy(i => (flights[i].Origin, flights[i].Date)).Where(g => g.Count() > 1).ToArray();
        Assert.That(ties, Is.Not.Empty, "the flights have several departures of one origin at one minute");

        await fs.IngestAsync(Define(fs), DataSource.Json(TestProjects.FlightsJson));
        var rows = await OfflineRows.ReadAsync(fs, "flights");

        foreach (var g in ties)
            Assert.That(g.Select(i => rows[i]["delay_count_1h"]).Distinct().Count(), Is.EqualTo(1), $"{g.Key}");
        AssertEqualsBruteForce(flights, ties.SelectMany(g => g).ToArray(), (i, name) => rows[i][name]);
    }

    /// <summary>Cuts the flights from <paramref name="from"/> on into pushes of about <paramref name="size"/> events, never between equal timestamps.</summary>
    private static List<Flight[]> Pushes(IReadOnlyList<Flight> flights, int from, int size)
    {
        var pushes = new List<Flight[]>();
        var current = new List<Flight>();
        for (var i = from; i < flights.Count; i++)
        {
            if (current.Count >= size && flights[i].Date != current[^1].Date)
            {
                pushes.Add([.. current]);
                current.Clear();
            }

            current.Add(flights[i]);
        }

        if (current.Count > 0) pushes.Add([.. current]);
        return pushes;
    }

    [Test]
    public async Task PushAsync_EventsAfterAnIngestion_GiveTheSameValuesAsOneIngestion()
    {
        using var pushFolder = new TempFolder();
        using var batchFolder = new TempFolder();
        await using var pushed = await TestProjects.OpenAsync(pushFolder);
        await using var batched = await TestProjects.OpenAsync(batchFolder);
        var flights = FlightData.All;
        const int Ingested = 18_500;

        await batched.FeatureStore.IngestAsync(Define(batched.FeatureStore), DataSource.Json(TestProjects.FlightsJson));
        var expected = await OfflineRows.ReadAsync(batched.FeatureStore, "flights");

        var fs = pushed.FeatureStore;
        await fs.IngestAsync(Define(fs), DataSource.Batches([FlightData.ToBatch(flights.Take(Ingested).ToArray())]), new() { ChunkSize = 4000 });
        var results = new List<RecordBatch>();
        var pushes = Pushes(flights, Ingested, 40);
        for (var p = 0; p < pushes.Count; p++)
        {
            // alternate the two push overloads: maps and typed objects
            var result = p % 2 == 0
                ? await fs.PushAsync(Define(fs), pushes[p].Select(f => f.ToEvent()))
                : await fs.PushAsync(Define(fs), pushes[p].Select(FlightRow.From));
            Assert.That(result.Rows.Length, Is.EqualTo(pushes[p].Length));
            results.Add(result.Rows);
        }

        var pushedRows = results.SelectMany(b => Enumerable.Range(0, b.Length).Select(i => AggregationNames.ToDictionary(n => n, n => Arrays.ValueAt(b.Column(n), i).ToObject()))).ToArray();
        Assert.That(pushedRows, Has.Length.EqualTo(flights.Count - Ingested));
        for (var i = 0; i < pushedRows.Length; i++)
            foreach (var name in AggregationNames)
            {
                var e = expected[Ingested + i][name];
                var a = pushedRows[i][name];
                if (e is null) Assert.That(a, Is.Null, $"{name} pushed row {i}");
                else Assert.That((double)a!, Is.EqualTo((double)e).Within(1e-9 * Math.Max(1, Math.Abs((double)e))), $"{name} pushed row {i}");
            }

        // online: the latest pushed row of each origin
        var vector = await fs.Vector("aggs").Select(AggregationNames.Select(n => $"flights.{n}").Prepend("flights.delay").ToArray()).SaveAsync();
        await using var online = await fs.GetOnlineServiceAsync(vector);
        var pushedFlights = pushes.SelectMany(p => p).ToArray();
        foreach (var origin in pushedFlights.Select(f => f.Origin).Distinct())
        {
            var last = System.Array.FindLastIndex(pushedFlights, f => f.Origin == origin);
            var row = await online.GetAsync(new Dictionary<string, object> { ["origin"] = origin });
            Assert.That(row.Found, Is.True, origin);
            Assert.That(row["delay"], Is.EqualTo(pushedFlights[last].Delay), origin);
            foreach (var name in AggregationNames)
                Assert.That(row[name], Is.EqualTo(pushedRows[last][name]), $"{origin} {name}");
        }
    }

    [Test]
    public async Task PushAsync_BeforeAnyIngestion_ThrowsInvalidState()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;

        var e = Assert.ThrowsAsync<InvalidStateException>(() => fs.PushAsync(Define(fs), [FlightData.All[0].ToEvent()]))!;

        Assert.That(e.Message, Does.Contain("Ingest a batch first"));
    }

    [Test]
    public async Task IngestAsync_SecondIngestionOfLaterFlights_ContinuesTheWindows()
    {
        using var oneFolder = new TempFolder();
        using var twoFolder = new TempFolder();
        await using var one = await TestProjects.OpenAsync(oneFolder);
        await using var two = await TestProjects.OpenAsync(twoFolder);
        var flights = FlightData.All;

        await one.FeatureStore.IngestAsync(Define(one.FeatureStore), DataSource.Batches([FlightData.ToBatch(flights)]));
        var half = flights.Select((f, i) => (f, i)).First(x => x.i >= 10_000 && x.f.Date != flights[x.i - 1].Date).i;
        await two.FeatureStore.IngestAsync(Define(two.FeatureStore), DataSource.Batches([FlightData.ToBatch(flights.Take(half).ToArray())]));
        await two.FeatureStore.IngestAsync(Define(two.FeatureStore), DataSource.Batches([FlightData.ToBatch(flights.Skip(half).ToArray())]));
        var a = await OfflineRows.ReadAsync(one.FeatureStore, "flights");
        var b = await OfflineRows.ReadAsync(two.FeatureStore, "flights");

        Assert.That(b, Has.Count.EqualTo(a.Count));
        foreach (var name in AggregationNames)
            Assert.That(b.Select(r => r[name] is double d ? Math.Round(d, 9) : r[name]), Is.EqualTo(a.Select(r => r[name] is double d ? Math.Round(d, 9) : r[name])), name);
    }
}
