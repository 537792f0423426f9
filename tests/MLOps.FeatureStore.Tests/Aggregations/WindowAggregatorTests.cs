using System.Globalization;
using System.Text.Json;
using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.Tests.TestSupport;

namespace MLOps.FeatureStore.Tests.Aggregations;

[Parallelizable(ParallelScope.All)]
public sealed class WindowAggregatorTests
{
    private const AggregationOp AllOps = AggregationOp.Count | AggregationOp.Sum | AggregationOp.Sqr | AggregationOp.Min | AggregationOp.Max
        | AggregationOp.First | AggregationOp.Last | AggregationOp.Avg | AggregationOp.StdVar | AggregationOp.StdDev;

    private const long Minute = 60_000_000L;
    private const long Hour = 60 * Minute;

    private static readonly FeatureWindow[] FlightWindows = [FeatureWindow.Parse("30m"), FeatureWindow.Parse("1h"), FeatureWindow.Parse("1d")];

    private static readonly AggregationSpec[] FlightSpecs =
    [
        new("delay", AllOps, FlightWindows),
        new("distance", AllOps, FlightWindows),
    ];

    private static readonly Lazy<Source> Flights = new(LoadFlights);
    private static readonly Lazy<double[][]> FlightsOneChunk = new(() => Run(new WindowAggregator(FlightSpecs), Flights.Value));

    // ---------------------------------------------------------------- flights against the brute-force oracle

    [Test]
    public void Process_FlightsOneChunk_MatchesBruteForce()
    {
        var flights = Flights.Value;
        var aggregator = new WindowAggregator(FlightSpecs);
        Assert.That(aggregator.OutputNames, Has.Count.EqualTo(60));
        AssertClose(BruteForce(FlightSpecs, flights), FlightsOneChunk.Value, aggregator.OutputNames);
    }

    [Test]
    public void Process_FlightsWithNulls_MatchesBruteForce()
    {
        var flights = Flights.Value;
        var delay = (double[])flights.Inputs[0].Clone();
        var distance = (double[])flights.Inputs[1].Clone();
        for (var r = 0; r < delay.Length; r += 3) delay[r] = double.NaN;
        for (var r = 0; r < distance.Length; r += 7) distance[r] = double.NaN;
        var source = flights with { Inputs = [delay, distance] };
        var aggregator = new WindowAggregator(FlightSpecs);
        AssertClose(BruteForce(FlightSpecs, source), Run(aggregator, source), aggregator.OutputNames);
    }

    [Test]
    public void Process_FlightsInChunks_SameAsOneChunk()
    {
        var flights = Flights.Value;
        var aggregator = new WindowAggregator(FlightSpecs);
        var actual = RunChunks(aggregator, flights, Chunks(flights, 997));
        AssertSame(FlightsOneChunk.Value, actual, aggregator.OutputNames);
    }

    [Test]
    public void Process_FlightsShuffledWithinChunks_SameAsOneChunk()
    {
        var flights = Flights.Value;
        var random = new Random(7);
        var order = Enumerable.Range(0, flights.Rows).ToArray();
        foreach (var (from, to) in Chunks(flights, 1500))
        {
            var chunk = order.AsSpan(from, to - from);
            random.Shuffle(chunk);
            // rows of one entity with equal timestamps keep their relative order: it breaks the ties of first and last
            var positions = new Dictionary<(string, long), List<int>>();
            for (var k = 0; k < chunk.Length; k++)
            {
                var key = (flights.Keys[chunk[k]], flights.Ts[chunk[k]]);
                if (!positions.TryGetValue(key, out var list)) positions[key] = list = [];
                list.Add(k);
            }
            foreach (var list in positions.Values)
            {
                var rowsInGroup = new int[list.Count];
                for (var k = 0; k < list.Count; k++) rowsInGroup[k] = chunk[list[k]];
                rowsInGroup.AsSpan().Sort();
                for (var k = 0; k < list.Count; k++) chunk[list[k]] = rowsInGroup[k];
            }
        }
        var shuffled = flights.Select(order);
        var aggregator = new WindowAggregator(FlightSpecs);
        var actual = RunChunks(aggregator, shuffled, Chunks(flights, 1500));
        AssertSame(Permute(FlightsOneChunk.Value, order), actual, aggregator.OutputNames);
    }

    [Test]
    public void SaveState_LoadIntoNewAggregatorAndContinue_SameAsOneChunk()
    {
        var flights = Flights.Value;
        var split = Chunks(flights, 12_000).First().To;
        var first = new WindowAggregator(FlightSpecs);
        Run(first, flights, 0, split);
        var saved = first.TouchedEntities.ToDictionary(k => k, first.SaveState);
        Assert.That(saved, Has.Count.GreaterThan(100));

        var second = new WindowAggregator(FlightSpecs);
        foreach (var (key, state) in saved)
        {
            Assert.That(state[0], Is.EqualTo(WindowAggregator.StateVersion));
            second.LoadState(key, state);
        }
        Assert.That(second.TouchedEntities, Is.Empty);
        var rest = Run(second, flights, split, flights.Rows);
        AssertSame(Slice(FlightsOneChunk.Value, split, flights.Rows), rest, second.OutputNames);
    }

    [Test]
    public void Process_SingleEventPushesAfterBatch_SameAsOneChunk()
    {
        var flights = Flights.Value;
        var aggregator = new WindowAggregator(FlightSpecs);
        var batch = Chunks(flights, 16_000).First().To;
        Run(aggregator, flights, 0, batch);
        var outputs = NewOutputs(aggregator.OutputNames.Count, 1);
        var expected = FlightsOneChunk.Value;
        var counts = aggregator.OutputNames.Select((name, index) => (name, index)).Where(x => x.name.Contains("_count_")).Select(x => x.index).ToArray();
        var split = 0;
        for (var r = batch; r < flights.Rows; r++)
        {
            aggregator.Process([new string(flights.Keys[r])], [flights.Ts[r]], [[flights.Inputs[0][r]], [flights.Inputs[1][r]]], outputs);
            // a row does not see the rows of its entity at the same time that are pushed after it (values are not revised)
            var unseen = 0;
            for (var later = r + 1; later < flights.Rows && flights.Ts[later] == flights.Ts[r]; later++)
                if (flights.Keys[later] == flights.Keys[r]) unseen++;
            if (unseen == 0)
            {
                for (var o = 0; o < outputs.Length; o++)
                    if (!outputs[o][0].Equals(expected[o][r])) Assert.Fail($"{aggregator.OutputNames[o]} row {r}: {outputs[o][0]:R} vs {expected[o][r]:R}");
            }
            else
            {
                split++;
                foreach (var o in counts) Assert.That(outputs[o][0], Is.EqualTo(expected[o][r] - unseen), $"{aggregator.OutputNames[o]} row {r}");
            }
        }
        Assert.That(split, Is.GreaterThan(0), "the data has pushes of equal timestamps");
    }

    [Test]
    public void Process_RandomDecimalsInChunksAndPushes_MatchesBruteForceAndOneChunk()
    {
        var random = new Random(42);
        const int rows = 6000;
        var keys = new string[rows];
        var ts = new long[rows];
        var values = new double[rows];
        var time = 1_000_000_000_000L;
        for (var r = 0; r < rows; r++)
        {
            time += random.Next(4) == 0 ? 0 : random.Next(1, 20) * Minute / 7; // ties and irregular gaps
            ts[r] = time;
            keys[r] = "e" + random.Next(5).ToString(CultureInfo.InvariantCulture);
            values[r] = random.Next(10) == 0 ? double.NaN : 1e6 + Math.Round(random.NextDouble() * 1000, 2) / 7;
        }
        var source = new Source(keys, ts, [values]);
        AggregationSpec[] specs = [new("x", AllOps, [FeatureWindow.Parse("30m"), FeatureWindow.Parse("2h")])];
        var expected = Run(new WindowAggregator(specs), source);
        var aggregator = new WindowAggregator(specs);
        AssertClose(BruteForce(specs, source), expected, aggregator.OutputNames);

        // chunks, then one push per timestamp (pushes never split the rows of one time)
        var chunked = RunChunks(aggregator, source, Chunks(source, 333).Where(c => c.To <= 5000));
        var boundary = Chunks(source, 333).Where(c => c.To <= 5000).Max(c => c.To);
        foreach (var (from, to) in Chunks(source, 1).Where(c => c.From >= boundary))
        {
            var outputs = Run(aggregator, source, from, to);
            for (var o = 0; o < outputs.Length; o++) outputs[o].CopyTo(chunked[o], from);
        }
        // identical, except that the variance of non-integer data may differ in the last bit: the double-double
        // running sums of squares are not exact, and their rounding depends on where the history started
        for (var o = 0; o < expected.Length; o++)
        {
            var statistic = aggregator.OutputNames[o].Contains("_std");
            for (var r = 0; r < rows; r++)
            {
                var same = statistic
                    ? Close(expected[o][r], chunked[o][r], 0, 1e-15)
                    : expected[o][r].Equals(chunked[o][r]);
                if (!same) Assert.Fail($"{aggregator.OutputNames[o]} row {r}: {expected[o][r]:R} vs {chunked[o][r]:R}");
            }
        }
    }

    [Test]
    public void Process_LongHistoryWithLargeThenSmallValues_NoDriftAgainstBruteForce()
    {
        var random = new Random(3);
        const int rows = 60_000;
        var ts = new long[rows];
        var values = new double[rows];
        for (var r = 0; r < rows; r++)
        {
            ts[r] = r * Minute;
            values[r] = r < rows / 2 ? 1e9 + random.NextDouble() * 1e6 : 0.001 + random.NextDouble() / 1000;
        }
        var keys = Enumerable.Repeat("k", rows).ToArray();
        AggregationSpec[] specs = [new("x", AllOps, [FeatureWindow.Parse("2h")])];
        var aggregator = new WindowAggregator(specs);
        var actual = Run(aggregator, new Source(keys, ts, [values]));
        // every row against a two-pass computation over its window (the last 120 events), strictly relative
        for (var r = 1; r < rows; r++)
        {
            var window = values[Math.Max(0, r - 119)..(r + 1)];
            var sum = window.Sum();
            var mean = sum / window.Length;
            var variance = window.Sum(v => (v - mean) * (v - mean)) / (window.Length - 1);
            if (!Close(actual[1][r], sum, 0)) Assert.Fail($"sum row {r}: {actual[1][r]:R} vs {sum:R}");
            if (!Close(actual[2][r], window.Sum(v => v * v), 0)) Assert.Fail($"sqr row {r}: {actual[2][r]:R}");
            if (!Close(actual[7][r], mean, 0)) Assert.Fail($"avg row {r}: {actual[7][r]:R} vs {mean:R}");
            if (!Close(actual[8][r], variance, 0)) Assert.Fail($"stdvar row {r}: {actual[8][r]:R} vs {variance:R}");
        }
    }

    // ---------------------------------------------------------------- semantics on small inputs

    [Test]
    public void Process_EqualTimestamps_AllGetTheSameValues()
    {
        var a = new WindowAggregator([new("x", AllOps, [FeatureWindow.Parse("1h")])]);
        var o = Process(a, ["k", "k", "k", "k"], [Hour, 2 * Hour, 2 * Hour, 2 * Hour], [5, 1, 2, 3]);
        Assert.That(Column(a, o, "x_count_1h"), Is.EqualTo(new double[] { 1, 3, 3, 3 }));
        Assert.That(Column(a, o, "x_first_1h"), Is.EqualTo(new double[] { 5, 1, 1, 1 }));
        Assert.That(Column(a, o, "x_last_1h"), Is.EqualTo(new double[] { 5, 3, 3, 3 }));
        Assert.That(Column(a, o, "x_sum_1h"), Is.EqualTo(new double[] { 5, 6, 6, 6 }));
        Assert.That(Column(a, o, "x_stdvar_1h"), Is.EqualTo(new[] { double.NaN, 1, 1, 1 }));
    }

    [Test]
    public void Process_WindowBoundary_StartExcludedEndIncluded()
    {
        var a = new WindowAggregator([new("x", AggregationOp.Count | AggregationOp.Sum | AggregationOp.First, [FeatureWindow.Parse("1h")])]);
        long t0 = 1_600_000_000_000_000;
        var o = Process(a, ["k", "k", "k", "k"], [t0, t0 + 1, t0 + Hour, t0 + Hour + 1], [1, 10, 100, 1000]);
        Assert.That(Column(a, o, "x_count_1h"), Is.EqualTo(new double[] { 1, 2, 2, 2 }));
        Assert.That(Column(a, o, "x_sum_1h"), Is.EqualTo(new double[] { 1, 11, 110, 1100 }));
        Assert.That(Column(a, o, "x_first_1h"), Is.EqualTo(new double[] { 1, 1, 10, 100 }));
    }

    [Test]
    public void Process_Nulls_IgnoredByEveryOp()
    {
        var a = new WindowAggregator([new("x", AllOps, [FeatureWindow.Parse("1d")])]);
        var o = Process(a, ["k", "k", "k", "k", "k"], [1, 2, 3, 4, 5], [double.NaN, 2, double.NaN, 4, double.NaN]);
        Assert.That(Column(a, o, "x_count_1d"), Is.EqualTo(new double[] { 0, 1, 1, 2, 2 }));
        Assert.That(Column(a, o, "x_sum_1d"), Is.EqualTo(new double[] { 0, 2, 2, 6, 6 }));
        Assert.That(Column(a, o, "x_sqr_1d"), Is.EqualTo(new double[] { 0, 4, 4, 20, 20 }));
        Assert.That(Column(a, o, "x_min_1d"), Is.EqualTo(new[] { double.NaN, 2, 2, 2, 2 }));
        Assert.That(Column(a, o, "x_max_1d"), Is.EqualTo(new[] { double.NaN, 2, 2, 4, 4 }));
        Assert.That(Column(a, o, "x_first_1d"), Is.EqualTo(new[] { double.NaN, 2, 2, 2, 2 }));
        Assert.That(Column(a, o, "x_last_1d"), Is.EqualTo(new[] { double.NaN, 2, 2, 4, 4 }));
        Assert.That(Column(a, o, "x_avg_1d"), Is.EqualTo(new[] { double.NaN, 2, 2, 3, 3 }));
        Assert.That(Column(a, o, "x_stdvar_1d"), Is.EqualTo(new[] { double.NaN, double.NaN, double.NaN, 2, 2 }));
        Assert.That(Column(a, o, "x_stddev_1d"), Is.EqualTo(new[] { double.NaN, double.NaN, double.NaN, Math.Sqrt(2), Math.Sqrt(2) }));
    }

    [Test]
    public void Process_WindowEmptiedByTime_ZeroCountsAndNulls()
    {
        var a = new WindowAggregator([new("x", AllOps, [FeatureWindow.Parse("10m")])]);
        // the third event is null and alone in its window; the fourth restarts after the gap
        var o = Process(a, ["k", "k", "k", "k"], [0, Minute, Hour, 2 * Hour], [3, 5, double.NaN, 7]);
        Assert.That(Column(a, o, "x_count_10m"), Is.EqualTo(new double[] { 1, 2, 0, 1 }));
        Assert.That(Column(a, o, "x_sum_10m"), Is.EqualTo(new double[] { 3, 8, 0, 7 }));
        Assert.That(Column(a, o, "x_sqr_10m"), Is.EqualTo(new double[] { 9, 34, 0, 49 }));
        Assert.That(Column(a, o, "x_min_10m"), Is.EqualTo(new[] { 3, 3, double.NaN, 7 }));
        Assert.That(Column(a, o, "x_avg_10m"), Is.EqualTo(new[] { 3, 4, double.NaN, 7 }));
        Assert.That(Column(a, o, "x_stdvar_10m"), Is.EqualTo(new[] { double.NaN, 2, double.NaN, double.NaN }));
    }

    [Test]
    public void Process_ShuffledEntitiesInOneChunk_SortedPerEntityStably()
    {
        var a = new WindowAggregator([new("x", AggregationOp.Count | AggregationOp.First | AggregationOp.Last | AggregationOp.Max, [FeatureWindow.Parse("1h")])]);
        var o = Process(a, ["b", "a", "a", "b", "a", "a"], [30 * Minute, 20 * Minute, 10 * Minute, 0, 20 * Minute, 90 * Minute], [1, 2, 3, 4, 5, 6]);
        // a: 10m=3, 20m=2, 20m=5 (input order), 90m=6; b: 0=4, 30m=1
        Assert.That(Column(a, o, "x_count_1h"), Is.EqualTo(new double[] { 2, 3, 1, 1, 3, 1 }));
        Assert.That(Column(a, o, "x_first_1h"), Is.EqualTo(new double[] { 4, 3, 3, 4, 3, 6 }));
        Assert.That(Column(a, o, "x_last_1h"), Is.EqualTo(new double[] { 1, 5, 3, 4, 5, 6 }));
        Assert.That(Column(a, o, "x_max_1h"), Is.EqualTo(new double[] { 4, 5, 3, 4, 5, 6 }));
    }

    [Test]
    public void Process_EqualTimestampAcrossChunks_RetainedEventComesFirst()
    {
        var a = new WindowAggregator([new("x", AggregationOp.Count | AggregationOp.First | AggregationOp.Last, [FeatureWindow.Parse("1h")])]);
        var first = Process(a, ["k"], [Hour], [1]);
        var second = Process(a, ["k", "k"], [Hour, Hour], [2, 3]);
        Assert.That(Column(a, first, "x_count_1h"), Is.EqualTo(new double[] { 1 }), "emitted values are not revised");
        Assert.That(Column(a, second, "x_count_1h"), Is.EqualTo(new double[] { 3, 3 }));
        Assert.That(Column(a, second, "x_first_1h"), Is.EqualTo(new double[] { 1, 1 }));
        Assert.That(Column(a, second, "x_last_1h"), Is.EqualTo(new double[] { 3, 3 }));
    }

    [Test]
    public void Process_LateEvent_AggregatedWithRetainedEventsOnly()
    {
        var a = new WindowAggregator([new("x", AggregationOp.Count | AggregationOp.Sum, [FeatureWindow.Parse("1h")])]);
        Process(a, ["k", "k", "k", "k"], [0, 30 * Minute, 2 * Hour, 2 * Hour + 10 * Minute], [1, 2, 4, 8]);
        Assert.That(a.RetainedEventCount("k"), Is.EqualTo(2));
        // 2h05 sees 1h50 of its chunk and the retained 2h; 20m does not see 0, which was dropped
        var late = Process(a, ["k", "k", "k"], [2 * Hour + 5 * Minute, Hour + 50 * Minute, 20 * Minute], [16, 32, 64]);
        Assert.That(Column(a, late, "x_count_1h"), Is.EqualTo(new double[] { 3, 1, 1 }));
        Assert.That(Column(a, late, "x_sum_1h"), Is.EqualTo(new double[] { 52, 32, 64 }));
        // the late events older than the retention are dropped again
        Assert.That(a.RetainedEventCount("k"), Is.EqualTo(4));
        var next = Process(a, ["k"], [2 * Hour + 20 * Minute], [0]);
        Assert.That(Column(a, next, "x_sum_1h"), Is.EqualTo(new double[] { 4 + 8 + 16 + 32 }));
    }

    [Test]
    public void Process_MultipleEntitiesAndSpecs_IndependentPerEntityAndShareColumns()
    {
        var a = new WindowAggregator(
        [
            new("x", AggregationOp.Sum, [FeatureWindow.Parse("1h"), FeatureWindow.Parse("10m")]),
            new("y", AggregationOp.Max, [FeatureWindow.Parse("1h")]),
            new("x", AggregationOp.Count, [FeatureWindow.Parse("60m")]),
        ]);
        Assert.That(a.InputColumns, Is.EqualTo(new[] { "x", "y" }));
        Assert.That(a.OutputNames, Is.EqualTo(new[] { "x_sum_1h", "x_sum_10m", "y_max_1h", "x_count_60m" }));
        var outputs = NewOutputs(4, 4);
        a.Process(["a", "b", "a", "b"], [0, 0, 20 * Minute, 20 * Minute], [[1, 10, 2, 20], [5, 6, 7, 3]], outputs);
        Assert.That(outputs[0], Is.EqualTo(new double[] { 1, 10, 3, 30 }));
        Assert.That(outputs[1], Is.EqualTo(new double[] { 1, 10, 2, 20 }));
        Assert.That(outputs[2], Is.EqualTo(new double[] { 5, 6, 7, 6 }));
        Assert.That(outputs[3], Is.EqualTo(new double[] { 1, 1, 2, 2 }));
    }

    [Test]
    public void Process_Infinities_PropagateWithoutPoisoningLaterWindows()
    {
        var a = new WindowAggregator([new("x", AggregationOp.Sum | AggregationOp.Max | AggregationOp.StdVar, [FeatureWindow.Parse("10m")])]);
        var o = Process(a, ["k", "k", "k", "k", "k"], [0, 5 * Minute, 6 * Minute, 11 * Minute, 17 * Minute],
            [double.PositiveInfinity, 1, double.NegativeInfinity, 3, 5]);
        Assert.That(Column(a, o, "x_sum_10m"), Is.EqualTo(new[] { double.PositiveInfinity, double.PositiveInfinity, double.NaN, double.NegativeInfinity, 8 }));
        Assert.That(Column(a, o, "x_max_10m"), Is.EqualTo(new[] { double.PositiveInfinity, double.PositiveInfinity, double.PositiveInfinity, 3, 5 }));
        Assert.That(Column(a, o, "x_stdvar_10m"), Is.EqualTo(new[] { double.NaN, double.NaN, double.NaN, double.NaN, 2 }));
    }

    // ---------------------------------------------------------------- state, touched entities, validation

    [Test]
    public void StateRetention_AfterChunk_KeepsEventsInsideLargestWindow()
    {
        var a = new WindowAggregator([new("x", AggregationOp.Count, [FeatureWindow.Parse("10m"), FeatureWindow.Parse("1h")])]);
        Assert.That(a.RetentionMicroseconds, Is.EqualTo(Hour));
        Process(a, ["k", "k", "k", "k", "k"], [0, 10 * Minute, 30 * Minute, 70 * Minute, 80 * Minute], [1, 2, 3, 4, 5]);
        Assert.That(a.RetainedEventCount("k"), Is.EqualTo(3), "80m - 1h = 20m: 30m, 70m and 80m are kept");
        Assert.That(a.RetainedEventCount("missing"), Is.Zero);
    }

    [Test]
    public void SaveState_UnknownEntity_EmptyStateThatLoads()
    {
        var a = new WindowAggregator([new("x", AggregationOp.Count, [FeatureWindow.Parse("1h")])]);
        var state = a.SaveState("nobody");
        Assert.That(state[0], Is.EqualTo(WindowAggregator.StateVersion));
        Assert.That(a.HasState("nobody"), Is.False);
        a.LoadState("nobody", state);
        Assert.That(a.HasState("nobody"), Is.True);
        Assert.That(a.RetainedEventCount("nobody"), Is.Zero);
        a.LoadState("other", []);
        Assert.That(a.HasState("other"), Is.True);
    }

    [Test]
    public void LoadState_ExistingState_Overwrites()
    {
        var spec = new AggregationSpec("x", AggregationOp.Sum, [FeatureWindow.Parse("1h")]);
        var a = new WindowAggregator([spec]);
        Process(a, ["k"], [0], [1]);
        var b = new WindowAggregator([spec]);
        Process(b, ["k"], [0], [100]);
        a.LoadState("k", b.SaveState("k"));
        Assert.That(Column(a, Process(a, ["k"], [Minute], [1]), "x_sum_1h"), Is.EqualTo(new double[] { 101 }));
    }

    [Test]
    public void LoadState_OtherColumns_MatchedByNameMissingAreNull()
    {
        var before = new WindowAggregator([new("x", AggregationOp.Sum, [FeatureWindow.Parse("1h")]), new("y", AggregationOp.Sum, [FeatureWindow.Parse("1h")])]);
        var outputs = NewOutputs(2, 1);
        before.Process(["k"], [0], [[1], [2]], outputs);
        var after = new WindowAggregator([new("z", AggregationOp.Count, [FeatureWindow.Parse("1h")]), new("y", AggregationOp.Sum, [FeatureWindow.Parse("1h")])]);
        after.LoadState("k", before.SaveState("k"));
        outputs = NewOutputs(2, 1);
        after.Process(["k"], [Minute], [[5], [3]], outputs);
        Assert.That(outputs[0], Is.EqualTo(new double[] { 1 }), "z is null in the saved event");
        Assert.That(outputs[1], Is.EqualTo(new double[] { 5 }));
    }

    [Test]
    public void LoadState_LargerSavedState_TrimmedToLargestWindow()
    {
        var wide = new WindowAggregator([new("x", AggregationOp.Count, [FeatureWindow.Parse("1d")])]);
        Process(wide, ["k", "k", "k"], [0, 2 * Hour, 3 * Hour], [1, 2, 3]);
        var narrow = new WindowAggregator([new("x", AggregationOp.Count, [FeatureWindow.Parse("1h")])]);
        narrow.LoadState("k", wide.SaveState("k"));
        Assert.That(narrow.RetainedEventCount("k"), Is.EqualTo(1));
    }

    [Test]
    public void LoadState_CorruptOrUnknownVersion_ValidationExceptionNamesEntity()
    {
        var a = new WindowAggregator([new("x", AggregationOp.Count, [FeatureWindow.Parse("1h")])]);
        Process(a, ["k", "k"], [0, Minute], [1, 2]);
        var state = a.SaveState("k");
        var truncated = state[..^3];
        var version = (byte[])state.Clone();
        version[0] = 99;
        var e = Assert.Throws<ValidationException>(() => a.LoadState("k2", truncated));
        Assert.That(e!.Message, Does.Contain("'k2'"));
        e = Assert.Throws<ValidationException>(() => a.LoadState("k3", version));
        Assert.That(e!.Message, Does.Contain("version 99"));
        Assert.That(a.HasState("k2") || a.HasState("k3"), Is.False);
    }

    [Test]
    public void TouchedEntities_ProcessClearForget_Tracked()
    {
        var a = new WindowAggregator([new("x", AggregationOp.Count, [FeatureWindow.Parse("1h")])]);
        Process(a, ["a", "b", "a"], [0, 0, 1], [1, 1, 1]);
        Assert.That(a.TouchedEntities, Is.EquivalentTo(new[] { "a", "b" }));
        a.ClearTouched();
        Assert.That(a.TouchedEntities, Is.Empty);
        Process(a, ["b"], [2], [1]);
        Assert.That(a.TouchedEntities, Is.EquivalentTo(new[] { "b" }));
        Assert.That(a.HasState("a"), Is.True);
        a.Forget("a");
        Assert.That(a.HasState("a"), Is.False);
        Assert.That(a.EntityCount, Is.EqualTo(1));
    }

    [Test]
    public void Constructor_DuplicateOutput_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => new WindowAggregator(
        [
            new("x", AggregationOp.Sum, [FeatureWindow.Parse("1h")]),
            new("x", AggregationOp.Sum | AggregationOp.Count, [FeatureWindow.Parse("1h")]),
        ]));
        Assert.That(e!.Message, Does.Contain("x_sum_1h"));
    }

    [Test]
    public void Process_MismatchedArrays_Throws()
    {
        var a = new WindowAggregator([new("x", AggregationOp.Sum, [FeatureWindow.Parse("1h")])]);
        Assert.Throws<ArgumentException>(() => a.Process(["k"], [0, 1], [[1, 2]], NewOutputs(1, 2)));
        Assert.Throws<ArgumentException>(() => a.Process(["k", "k"], [0, 1], [[1]], NewOutputs(1, 2)));
        Assert.Throws<ArgumentException>(() => a.Process(["k", "k"], [0, 1], [[1, 2]], NewOutputs(1, 1)));
        Assert.Throws<ArgumentException>(() => a.Process(["k", "k"], [0, 1], [[1, 2], [1, 2]], NewOutputs(1, 2)));
        Assert.Throws<ArgumentException>(() => a.Process(["k", null!], [0, 1], [[1, 2]], NewOutputs(1, 2)));
        Assert.That(a.EntityCount, Is.LessThanOrEqualTo(1));
    }

    [Test]
    public void Process_EmptyChunk_NoEffect()
    {
        var a = new WindowAggregator([new("x", AggregationOp.Sum, [FeatureWindow.Parse("1h")])]);
        a.Process([], [], [[]], NewOutputs(1, 0));
        Assert.That(a.TouchedEntities, Is.Empty);
    }

    // ---------------------------------------------------------------- helpers

    private sealed record Source(string[] Keys, long[] Ts, double[][] Inputs)
    {
        public int Rows => Keys.Length;

        public Source Select(int[] order) =>
            new(order.Select(r => Keys[r]).ToArray(), order.Select(r => Ts[r]).ToArray(), Inputs.Select(c => order.Select(r => c[r]).ToArray()).ToArray());
    }

    private sealed record Flight(string Date, double Delay, double Distance, string Origin, string Destination);

    private static Source LoadFlights()
    {
        var flights = JsonSerializer.Deserialize<Flight[]>(File.ReadAllText(TestProjects.FlightsJson), new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        var ts = flights.Select(f =>
        {
            var date = DateTime.ParseExact(f.Date, "yyyy/MM/dd HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
            return (date.Ticks - DateTime.UnixEpoch.Ticks) / 10;
        }).ToArray();
        return new Source(flights.Select(f => f.Origin).ToArray(), ts, [flights.Select(f => f.Delay).ToArray(), flights.Select(f => f.Distance).ToArray()]);
    }

    // chunks of about `size` rows of a time-sorted source, never splitting rows with equal timestamps (emitted values
    // are not revised, so a split group of equal timestamps would legitimately differ from one chunk)
    private static IEnumerable<(int From, int To)> Chunks(Source source, int size)
    {
        var from = 0;
        while (from < source.Rows)
        {
            var to = Math.Min(source.Rows, from + size);
            while (to < source.Rows && source.Ts[to] == source.Ts[to - 1]) to++;
            yield return (from, to);
            from = to;
        }
    }

    private static double[][] NewOutputs(int outputs, int rows) => Enumerable.Range(0, outputs).Select(_ => new double[rows]).ToArray();

    private static double[][] Run(WindowAggregator aggregator, Source source) => Run(aggregator, source, 0, source.Rows);

    private static double[][] Run(WindowAggregator aggregator, Source source, int from, int to)
    {
        var outputs = NewOutputs(aggregator.OutputNames.Count, to - from);
        aggregator.Process(new ArraySegment<string>(source.Keys, from, to - from), source.Ts.AsSpan(from, to - from),
            source.Inputs.Select(c => c[from..to]).ToArray(), outputs);
        return outputs;
    }

    private static double[][] RunChunks(WindowAggregator aggregator, Source source, IEnumerable<(int From, int To)> chunks)
    {
        var all = NewOutputs(aggregator.OutputNames.Count, source.Rows);
        foreach (var (from, to) in chunks)
        {
            var outputs = Run(aggregator, source, from, to);
            for (var o = 0; o < outputs.Length; o++) outputs[o].CopyTo(all[o], from);
        }
        return all;
    }

    private static double[][] Slice(double[][] outputs, int from, int to) => outputs.Select(o => o[from..to]).ToArray();

    private static double[][] Permute(double[][] outputs, int[] order) => outputs.Select(o => order.Select(r => o[r]).ToArray()).ToArray();

    private static double[][] Process(WindowAggregator aggregator, string[] keys, long[] ts, double[] values)
    {
        var outputs = NewOutputs(aggregator.OutputNames.Count, keys.Length);
        aggregator.Process(keys, ts, [values], outputs);
        return outputs;
    }

    private static double[] Column(WindowAggregator aggregator, double[][] outputs, string name)
    {
        var index = aggregator.OutputNames.ToList().IndexOf(name);
        Assert.That(index, Is.GreaterThanOrEqualTo(0), name);
        return outputs[index];
    }

    // 1e-9 relative (NaN equals NaN), with an absolute floor for statistics that are zero up to rounding
    private static bool Close(double expected, double actual, double floor = 1e-12, double relative = 1e-9)
    {
        if (double.IsNaN(expected) || double.IsNaN(actual)) return double.IsNaN(expected) && double.IsNaN(actual);
        if (expected == actual) return true;
        return Math.Abs(expected - actual) <= relative * Math.Max(Math.Abs(expected), Math.Abs(actual)) + floor;
    }

    private static void AssertClose(double[][] expected, double[][] actual, IReadOnlyList<string> names)
    {
        for (var o = 0; o < expected.Length; o++)
            for (var r = 0; r < expected[o].Length; r++)
                if (!Close(expected[o][r], actual[o][r]))
                    Assert.Fail($"{names[o]} row {r}: expected {expected[o][r]:R}, got {actual[o][r]:R}");
    }

    private static void AssertSame(double[][] expected, double[][] actual, IReadOnlyList<string> names)
    {
        for (var o = 0; o < expected.Length; o++)
            for (var r = 0; r < expected[o].Length; r++)
                if (!expected[o][r].Equals(actual[o][r]))
                    Assert.Fail($"{names[o]} row {r}: expected {expected[o][r]:R}, got {actual[o][r]:R}");
    }

    // The oracle: for each row, the literal definition over the entity's rows (O(n^2) per entity), two-pass variance.
    private static double[][] BruteForce(IReadOnlyList<AggregationSpec> specs, Source source)
    {
        var columns = specs.Select(s => s.Column).Distinct().ToList();
        var outputs = specs.SelectMany(s => s.Outputs().Select(o => (Column: columns.IndexOf(s.Column), o.Op, Micros: o.Window.Microseconds))).ToArray();
        var result = NewOutputs(outputs.Length, source.Rows);
        var entities = Enumerable.Range(0, source.Rows).GroupBy(r => source.Keys[r]).Select(g => g.ToArray()).ToArray();
        var window = new List<(long Ts, int Row, double Value)>();
        foreach (var group in outputs.Select((o, i) => (o, i)).GroupBy(x => (x.o.Column, x.o.Micros)))
        {
            var values = source.Inputs[group.Key.Column];
            foreach (var rows in entities)
            {
                foreach (var r in rows)
                {
                    window.Clear();
                    foreach (var j in rows)
                        if (source.Ts[j] > source.Ts[r] - group.Key.Micros && source.Ts[j] <= source.Ts[r] && !double.IsNaN(values[j]))
                            window.Add((source.Ts[j], j, values[j]));
                    window.Sort((a, b) => a.Ts != b.Ts ? a.Ts.CompareTo(b.Ts) : a.Row.CompareTo(b.Row));
                    foreach (var (output, index) in group) result[index][r] = Oracle(output.Op, window);
                }
            }
        }
        return result;
    }

    private static double Oracle(AggregationOp op, List<(long Ts, int Row, double Value)> window)
    {
        var n = window.Count;
        var sum = 0.0;
        foreach (var e in window) sum += e.Value;
        double Variance()
        {
            var mean = sum / n;
            var squares = 0.0;
            foreach (var e in window) squares += (e.Value - mean) * (e.Value - mean);
            return squares / (n - 1);
        }
        return op switch
        {
            AggregationOp.Count => n,
            AggregationOp.Sum => sum,
            AggregationOp.Sqr => window.Sum(e => e.Value * e.Value),
            AggregationOp.Min => n == 0 ? double.NaN : window.Min(e => e.Value),
            AggregationOp.Max => n == 0 ? double.NaN : window.Max(e => e.Value),
            AggregationOp.First => n == 0 ? double.NaN : window[0].Value,
            AggregationOp.Last => n == 0 ? double.NaN : window[^1].Value,
            AggregationOp.Avg => n == 0 ? double.NaN : sum / n,
            AggregationOp.StdVar => n < 2 ? double.NaN : Variance(),
            AggregationOp.StdDev => n < 2 ? double.NaN : Math.Sqrt(Variance()),
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
    }
}
