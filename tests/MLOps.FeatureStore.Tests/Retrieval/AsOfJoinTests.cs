using Apache.Arrow.Types;
using MLOps.FeatureStore.Retrieval;
using static MLOps.FeatureStore.Tests.Retrieval.AsOfData;

namespace MLOps.FeatureStore.Tests.Retrieval;

[Parallelizable(ParallelScope.All)]
public sealed class AsOfJoinTests
{
    // ---- the pandas oracle over the 20k real flights ----

    [Test]
    public void Match_FlightsAgainstPandas_EqualsMergeAsof()
        => AssertEqualsOracle(Join(FeatureRows.ToBatches(), EntityRows.ToBatch(), null), ExpectedRows);

    [Test]
    public void Match_FlightsAgainstPandasWithTolerance_EqualsMergeAsofWithTolerance()
        => AssertEqualsOracle(Join(FeatureRows.ToBatches(), EntityRows.ToBatch(), TwoHours), ExpectedTtlRows);

    [Test]
    public void Match_FlightsInSeveralBatches_EqualsMergeAsof()
    {
        // uneven batches, cut inside runs of equal (origin, ts): the tie-break must hold across batches
        var cuts = TieCuts().Concat([1, 7000, 7001, 15000]).Distinct().Order().ToArray();
        AssertEqualsOracle(Join(FeatureRows.ToBatches(cuts), EntityRows.ToBatch(), null), ExpectedRows);
        AssertEqualsOracle(Join(FeatureRows.ToBatches(cuts), EntityRows.ToBatch(), TwoHours), ExpectedTtlRows);
    }

    [Test]
    public void Match_FlightsShuffled_EqualsMergeAsofWithIngestionOrder()
    {
        // The feature rows in a random order (so the radix sort runs), the original row position passed as the order.
        var f = FeatureRows;
        var perm = Enumerable.Range(0, f.Count).ToArray();
        new Random(7).Shuffle(perm);
        var index = new EntityKeyIndex();
        var rightIds = index.GetIds(Strings(perm.Select(i => f.Origin[i]).ToArray()));
        var rightTs = perm.Select(i => f.Ts[i]).ToArray();
        var order = perm.Select(i => (long)i).ToArray();
        var leftIds = index.GetIds(Strings(EntityRows.Origin));

        var matches = AsOfJoin.Match(leftIds, EntityRows.Ts, rightIds, rightTs, order, null);

        var expected = ExpectedRows;
        for (var i = 0; i < expected.Length; i++)
        {
            var m = matches[i];
            Assert.That(m < 0 ? (long?)null : f.Delay[perm[m]], Is.EqualTo(expected[i].Delay), $"entity row {i}");
            Assert.That(m < 0 ? (long?)null : f.Distance[perm[m]], Is.EqualTo(expected[i].Distance), $"entity row {i}");
        }
    }

    [Test]
    public void Match_FlightsOracle_CoversTiesMissesAndUnknownOrigins()
    {
        // The fixture exercises what it claims to: ties resolved to the last row, no-matches, unknown origins.
        var joined = Join(FeatureRows.ToBatches(), EntityRows.ToBatch(), null);
        var f = FeatureRows;
        var duplicated = Enumerable.Range(0, f.Count).GroupBy(i => (f.Origin[i], f.Ts[i])).Where(g => g.Count() > 1).ToDictionary(g => g.Key, g => g.ToArray());
        var tieHits = joined.Matches.Count(m => m >= 0 && duplicated.ContainsKey((f.Origin[m], f.Ts[m])));
        Assert.That(tieHits, Is.GreaterThan(75));
        Assert.That(joined.Matches.Where(m => m >= 0).All(m => !duplicated.TryGetValue((f.Origin[m], f.Ts[m]), out var rows) || rows[^1] == m), Is.True);
        Assert.That(joined.Matches.Count(m => m < 0), Is.GreaterThan(300));
        Assert.That(EntityRows.Origin.Count(o => o == "ZZZ"), Is.GreaterThan(0));
    }

    // ---- hand-made cases ----

    [Test]
    public void Match_EqualTimestamps_GreatestOrderWins()
    {
        int[] ids = [0, 0, 0, 0];
        long[] ts = [10, 10, 10, 5];
        long[] order = [5, 9, 7, 100];

        Assert.That(AsOfJoin.Match([0, 0, 0], [10, 11, 9], ids, ts, order, null), Is.EqualTo(new[] { 1, 1, 3 }));
        Assert.That(AsOfJoin.Match([0], [10], ids, ts, [], null), Is.EqualTo(new[] { 2 }), "no order: the last row");
        Assert.That(AsOfJoin.Match([0], [10], ids, ts, [3, 3, 3, 3], null), Is.EqualTo(new[] { 2 }), "equal orders: the last row");
    }

    [Test]
    public void Match_ExactTimestamp_Matches()
        => Assert.That(AsOfJoin.Match([0, 0, 0], [99, 100, 101], [0, 0], [50, 100], [], null), Is.EqualTo(new[] { 0, 1, 1 }));

    [Test]
    public void Match_ToleranceBoundary_IsInclusive()
    {
        int[] ids = [0];
        long[] ts = [90];
        Assert.That(AsOfJoin.Match([0, 0, 0], [100, 101, 90], ids, ts, [], 10), Is.EqualTo(new[] { 0, -1, 0 }));
        Assert.That(AsOfJoin.Match([0], [100], ids, ts, [], 9), Is.EqualTo(new[] { -1 }));
        Assert.That(AsOfJoin.Match([0, 0], [90, 91], ids, ts, [], 0), Is.EqualTo(new[] { 0, -1 }), "zero tolerance: exact matches only");
    }

    [Test]
    public void Match_ToleranceOnLatestRow_DoesNotFallBackToOlderRows()
    {
        // as pandas: the latest row is the candidate; if it is too old, so are the older ones
        Assert.That(AsOfJoin.Match([0], [100], [0, 0], [10, 20], [], 50), Is.EqualTo(new[] { -1 }));
    }

    [Test]
    public void Match_BeforeFirstRow_IsNoMatch()
        => Assert.That(AsOfJoin.Match([0, 1], [4, 4], [0, 1, 1], [5, 4, 6], [], null), Is.EqualTo(new[] { -1, 1 }));

    [Test]
    public void Match_NullAndUnknownKeys_AreNoMatch()
    {
        var index = new EntityKeyIndex();
        var right = index.GetIds(StringsWithNulls("a", null, "b"));
        var left = index.GetIds(StringsWithNulls(null, "a", "c", "b"));

        Assert.That(right, Is.EqualTo(new[] { 0, -1, 1 }));
        Assert.That(left, Is.EqualTo(new[] { -1, 0, 2, 1 }));
        Assert.That(AsOfJoin.Match(left, [10, 10, 10, 10], right, [1, 1, 1], [], null), Is.EqualTo(new[] { -1, 0, -1, 2 }));
    }

    [Test]
    public void Match_EmptyRightSide_AllNoMatch()
    {
        var matches = AsOfJoin.Match([0, -1, 3], [1, 2, 3], [], [], [], null);
        Assert.That(matches, Is.EqualTo(new[] { -1, -1, -1 }));

        var empty = new DoubleArray.Builder().Build();
        var taken = (DoubleArray)ArrowTake.Take(empty, matches);
        Assert.That(taken.Length, Is.EqualTo(3));
        Assert.That(taken.NullCount, Is.EqualTo(3));
    }

    [Test]
    public void Match_EmptyLeftSide_ReturnsEmpty()
        => Assert.That(AsOfJoin.Match([], [], [0, 1], [1, 2], [], null), Is.Empty);

    [Test]
    public void Match_RightRowsWithNullKeys_AreIgnored()
        => Assert.That(AsOfJoin.Match([0], [100], [0, -1, 0, -1], [10, 50, 20, 99], [], null), Is.EqualTo(new[] { 2 }));

    [Test]
    public void Match_ExtremeTimestamps_SortAndCompareWithoutOverflow()
    {
        int[] ids = [0, 0, 0, 0];
        long[] ts = [long.MaxValue, long.MinValue, 0, -5];
        Assert.That(AsOfJoin.Match([0, 0, 0, 0], [long.MaxValue, -1, long.MinValue, 3], ids, ts, [], null), Is.EqualTo(new[] { 0, 3, 1, 2 }));
        Assert.That(AsOfJoin.Match([0], [long.MaxValue], ids, ts, [], long.MaxValue), Is.EqualTo(new[] { 0 }));
        Assert.That(AsOfJoin.Match([0], [long.MaxValue - 1], ids, ts, [], long.MaxValue), Is.EqualTo(new[] { 2 }));
    }

    [Test]
    public void Match_RandomUnsortedData_EqualsBruteForce([Values(1, 2, 3)] int seed)
    {
        // seed 1: 40 entities (radix-sorted buckets); 2: 3 entities (large buckets, long gallops); 3: 400 entities (insertion-sorted buckets)
        var random = new Random(seed);
        var entities = seed switch { 1 => 40, 2 => 3, _ => 400 };
        var n = 3000;
        var rightIds = new int[n];
        var rightTs = new long[n];
        var order = new long[n];
        for (var i = 0; i < n; i++)
        {
            rightIds[i] = random.Next(-1, entities);
            rightTs[i] = (seed == 3 ? random.NextInt64(-1L << 50, 1L << 50) : random.Next(0, 2000)) * (seed == 2 ? 1_000_000L : 1);
            order[i] = random.Next(0, 100); // many equal orders: the later row must win among them
        }

        var m = 1500;
        var leftIds = new int[m];
        var leftTs = new long[m];
        for (var i = 0; i < m; i++)
        {
            leftIds[i] = random.Next(-1, entities + 5);
            leftTs[i] = i % 3 == 0 ? rightTs[random.Next(n)] : rightTs[random.Next(n)] + random.Next(-5, 5);
        }

        foreach (var tolerance in new long?[] { null, 0, 3, 1_000_000 })
        {
            var got = AsOfJoin.Match(leftIds, leftTs, rightIds, rightTs, order, tolerance);
            for (var i = 0; i < m; i++)
            {
                var best = -1;
                for (var r = 0; r < n; r++)
                {
                    if (rightIds[r] != leftIds[i] || leftIds[i] < 0 || rightTs[r] > leftTs[i]) continue;
                    if (best < 0 || rightTs[r] > rightTs[best] || (rightTs[r] == rightTs[best] && order[r] >= order[best])) best = r;
                }

                if (best >= 0 && tolerance is { } t && leftTs[i] - rightTs[best] > t) best = -1;
                Assert.That(got[i], Is.EqualTo(best), $"left row {i}, tolerance {tolerance}");
            }
        }
    }

    [Test]
    public void Match_MismatchedLengths_Throws()
    {
        Assert.Throws<ArgumentException>(() => AsOfJoin.Match([0, 0], [1], [], [], [], null));
        Assert.Throws<ArgumentException>(() => AsOfJoin.Match([], [], [0], [], [], null));
        Assert.Throws<ArgumentException>(() => AsOfJoin.Match([], [], [0], [1], [1, 2], null));
        Assert.Throws<ArgumentOutOfRangeException>(() => AsOfJoin.Match([], [], [], [], [], -1));
    }

    // ---- EntityKeyIndex ----

    [Test]
    public void GetIds_SameKeysInTwoArrays_GetSameIds()
    {
        var index = new EntityKeyIndex();
        Assert.That(index.GetIds(StringsWithNulls("DTW", "LAS", "DTW", "")), Is.EqualTo(new[] { 0, 1, 0, 2 }));
        Assert.That(index.GetIds(StringsWithNulls("LAS", "SFO", "", "DTW")), Is.EqualTo(new[] { 1, 3, 2, 0 }));
        Assert.That(index.Count, Is.EqualTo(4));
    }

    [Test]
    public void GetIds_ManyDistinctStrings_DenseAndConsistent()
    {
        // long and short keys, more than the table's initial size, with repeats: ids in order of first sight
        var keys = Enumerable.Range(0, 20000)
            .Select(i => i * 7919 % 5003)
            .Select(k => k % 3 == 0 ? $"k{k}" : $"a-much-longer-entity-key-é-{k}-{new string('x', k % 17)}")
            .ToArray();
        var index = new EntityKeyIndex();
        var ids = index.GetIds(Strings(keys));
        var expected = new Dictionary<string, int>();
        for (var i = 0; i < keys.Length; i++)
        {
            if (!expected.TryGetValue(keys[i], out var id)) expected[keys[i]] = id = expected.Count;
            Assert.That(ids[i], Is.EqualTo(id), keys[i]);
        }

        Assert.That(index.Count, Is.EqualTo(expected.Count));
        Assert.That(index.GetIds(Strings(keys.Reverse().ToArray())), Is.EqualTo(ids.Reverse().ToArray()));
    }

    [Test]
    public void GetIds_KeysDifferingOnlyInLengthOrTrailingNul_AreDifferent()
    {
        // short keys are compared as 8 packed bytes: the length must take part
        var index = new EntityKeyIndex();
        string[] keys = ["A", "A\0", "A\0\0", "", "\0", "12345678", "123456789", "12345678\0"];
        Assert.That(index.GetIds(Strings(keys)), Is.EqualTo(Enumerable.Range(0, keys.Length).ToArray()));
        Assert.That(index.GetIds(Strings(keys.Reverse().ToArray())), Is.EqualTo(Enumerable.Range(0, keys.Length).Reverse().ToArray()));
    }

    [Test]
    public void GetIds_SlicedStringArray_UsesTheSlice()
    {
        var index = new EntityKeyIndex();
        var all = StringsWithNulls("x", null, "y", "z", "x");
        var slice = all.Slice(1, 3);
        Assert.That(index.GetIds(slice), Is.EqualTo(new[] { -1, 0, 1 }));
        Assert.That(index.GetIds(all), Is.EqualTo(new[] { 2, -1, 0, 1, 2 }));
    }

    [Test]
    public void GetIds_CompoundKeys_OneIdPerCombination()
    {
        var index = new EntityKeyIndex(2);
        var a = index.GetIds([StringsWithNulls("a", "a", "b", "b", null), new Int64Array.Builder().Append(1).Append(2).Append(1).Append(1).Append(1).Build()]);
        Assert.That(a, Is.EqualTo(new[] { 0, 1, 2, 2, -1 }));

        // int32 and int64 values are the same keys; a null in either column matches nothing
        var b = index.GetIds([StringsWithNulls("b", "a", "a", "c"), new Int32Array.Builder().Append(1).Append(2).AppendNull().Append(1).Build()]);
        Assert.That(b, Is.EqualTo(new[] { 2, 1, -1, 3 }));
        Assert.That(index.Count, Is.EqualTo(4));
        Assert.That(index.KeyColumnCount, Is.EqualTo(2));
    }

    [Test]
    public void GetIds_CompoundKeysJoin_MatchesOnBothColumns()
    {
        var index = new EntityKeyIndex(2);
        var right = index.GetIds([Strings(["u1", "u1", "u2"]), new BooleanArray.Builder().Append(true).Append(false).Append(true).Build()]);
        var left = index.GetIds([Strings(["u1", "u2", "u2"]), new BooleanArray.Builder().Append(false).Append(true).Append(false).Build()]);
        Assert.That(AsOfJoin.Match(left, [5, 5, 5], right, [1, 2, 3], [], null), Is.EqualTo(new[] { 1, 2, -1 }));
    }

    [Test]
    public void GetIds_IntegerKeysWithNulls_NullIsMinusOne()
    {
        var index = new EntityKeyIndex();
        Assert.That(index.GetIds(new Int64Array.Builder().Append(42).AppendNull().Append(-7).Append(42).Build()), Is.EqualTo(new[] { 0, -1, 1, 0 }));
        Assert.That(index.GetIds(new Int32Array.Builder().Append(-7).Build()), Is.EqualTo(new[] { 1 }));
    }

    [Test]
    public void GetIds_StringAndIntegerOfSameText_AreDifferentKeys()
    {
        var index = new EntityKeyIndex();
        Assert.That(index.GetIds(Strings(["7"])), Is.EqualTo(new[] { 0 }));
        Assert.That(index.GetIds(new Int64Array.Builder().Append(7).Build()), Is.EqualTo(new[] { 1 }));
    }

    [Test]
    public void GetIds_EmptyArrayWithEmptyBuffers_ReturnsNoIds()
    {
        var empty = new StringArray(new ArrayData(StringType.Default, 0, 0, 0, [ArrowBuffer.Empty, ArrowBuffer.Empty, ArrowBuffer.Empty]));
        Assert.That(new EntityKeyIndex().GetIds(empty), Is.Empty);
        Assert.Throws<NotSupportedException>(() => new EntityKeyIndex().GetIds(new DoubleArray.Builder().Build()));
    }

    [Test]
    public void GetIds_UnsupportedTypeOrWrongColumnCount_Throws()
    {
        var index = new EntityKeyIndex();
        Assert.Throws<NotSupportedException>(() => index.GetIds(new DoubleArray.Builder().Append(1).Build()));
        Assert.Throws<ArgumentException>(() => index.GetIds([Strings(["a"]), Strings(["b"])]));
        Assert.Throws<ArgumentException>(() => new EntityKeyIndex(2).GetIds([Strings(["a"]), Strings(["b", "c"])]));
    }

    // ---- ArrowTake ----

    [Test]
    public void Take_SeveralChunks_GathersAcrossChunksWithNulls()
    {
        // chunk 0: 3 rows, chunk 1: empty, chunk 2: 2 rows (a slice), chunk 3: 1 row
        var strings = new IArrowArray[]
        {
            StringsWithNulls("a", null, "ccc"),
            StringsWithNulls(),
            StringsWithNulls("skip", "dé", "", "skip").Slice(1, 2),
            StringsWithNulls("f"),
        };
        int[] take = [5, 0, -1, 1, 3, 4, 2, 0, -1];

        var s = (StringArray)ArrowTake.Take(strings, take);
        Assert.That(Enumerable.Range(0, s.Length).Select(i => s.GetString(i)), Is.EqualTo(new[] { "f", "a", null, null, "dé", "", "ccc", "a", null }));
        Assert.That(s.NullCount, Is.EqualTo(3));

        var doubles = new IArrowArray[]
        {
            new DoubleArray.Builder().Append(0.5).AppendNull().Append(2.5).Build(),
            new DoubleArray.Builder().Build(),
            new DoubleArray.Builder().Append(-1).Append(3.5).Append(4.5).Append(-1).Build().Slice(1, 2),
            new DoubleArray.Builder().Append(5.5).Build(),
        };
        var d = (DoubleArray)ArrowTake.Take(doubles, take);
        Assert.That(Enumerable.Range(0, d.Length).Select(i => d.GetValue(i)), Is.EqualTo(new double?[] { 5.5, 0.5, null, null, 3.5, 4.5, 2.5, 0.5, null }));

        var bools = new IArrowArray[]
        {
            new BooleanArray.Builder().Append(true).Append(false).AppendNull().Build(),
            new BooleanArray.Builder().Build(),
            new BooleanArray.Builder().Append(false).Append(true).Append(false).Build().Slice(1, 2),
            new BooleanArray.Builder().Append(true).Build(),
        };
        var b = (BooleanArray)ArrowTake.Take(bools, take);
        Assert.That(Enumerable.Range(0, b.Length).Select(i => b.GetValue(i)), Is.EqualTo(new bool?[] { true, true, null, false, true, false, null, true, null }));
    }

    [Test]
    public void Take_EveryFixedWidthType_KeepsTypeAndValues()
    {
        int[] take = [2, -1, 0, 2];
        var ts = (TimestampArray)ArrowTake.Take(Timestamps([1_000_000, 2, 3_000_000]), take);
        Assert.That(ts.Data.DataType, Is.TypeOf<TimestampType>());
        Assert.That(((TimestampType)ts.Data.DataType).Unit, Is.EqualTo(TimeUnit.Microsecond));
        Assert.That(((TimestampType)ts.Data.DataType).Timezone, Is.EqualTo("UTC"));
        Assert.That(Enumerable.Range(0, 4).Select(i => ts.IsNull(i) ? (long?)null : ts.Values[i]), Is.EqualTo(new long?[] { 3_000_000, null, 1_000_000, 3_000_000 }));

        var i64 = (Int64Array)ArrowTake.Take(new Int64Array.Builder().Append(long.MinValue).Append(1).Append(long.MaxValue).Build(), take);
        Assert.That(Enumerable.Range(0, 4).Select(i => i64.GetValue(i)), Is.EqualTo(new long?[] { long.MaxValue, null, long.MinValue, long.MaxValue }));

        var i32 = (Int32Array)ArrowTake.Take(new Int32Array.Builder().Append(-1).AppendNull().Append(7).Build(), [1, 2, -1, 0]);
        Assert.That(Enumerable.Range(0, 4).Select(i => i32.GetValue(i)), Is.EqualTo(new int?[] { null, 7, null, -1 }));

        var f32 = (FloatArray)ArrowTake.Take(new FloatArray.Builder().Append(1.5f).Append(float.NaN).Build(), [1, 0]);
        Assert.That(f32.GetValue(0), Is.NaN);
        Assert.That(f32.GetValue(1), Is.EqualTo(1.5f));

        var i16 = (Int16Array)ArrowTake.Take(new Int16Array.Builder().Append(3).Append(-4).Build(), [1, 1, 0]);
        Assert.That(i16.Values.ToArray(), Is.EqualTo(new short[] { -4, -4, 3 }));

        var u8 = (UInt8Array)ArrowTake.Take(new UInt8Array.Builder().Append(200).Append(1).Build(), [0, -1]);
        Assert.That(u8.GetValue(0), Is.EqualTo((byte)200));
        Assert.That(u8.GetValue(1), Is.Null);
    }

    [Test]
    public void Take_ManyRows_MatchesPerRowGather()
    {
        // more rows than a bitmap word, several chunks, random indices with nulls: the bulk result equals a row-by-row one
        var random = new Random(11);
        var chunks = new List<IArrowArray>();
        var all = new List<double?>();
        foreach (var size in new[] { 1000, 0, 37, 2048, 5 })
        {
            var b = new DoubleArray.Builder();
            for (var i = 0; i < size; i++)
            {
                double? v = random.Next(10) == 0 ? null : random.NextDouble();
                if (v is { } x) b.Append(x); else b.AppendNull();
                all.Add(v);
            }

            chunks.Add(b.Build());
        }

        var take = Enumerable.Range(0, 10_001).Select(_ => random.Next(-1, all.Count)).ToArray();
        var got = (DoubleArray)ArrowTake.Take(chunks, take);
        Assert.That(got.Length, Is.EqualTo(take.Length));
        Assert.That(Enumerable.Range(0, got.Length).Select(i => got.GetValue(i)), Is.EqualTo(take.Select(t => t < 0 ? null : all[t])));
        Assert.That(got.NullCount, Is.EqualTo(take.Count(t => t < 0 || all[t] is null)));
    }

    [Test]
    public void Take_NoNulls_HasNoValidityBitmap()
    {
        var got = ArrowTake.Take(new Int64Array.Builder().Append(1).Append(2).Build(), [1, 0, 1]);
        Assert.That(got.NullCount, Is.EqualTo(0));
        Assert.That(got.Data.Buffers[0].IsEmpty, Is.True);
    }

    [Test]
    public void Take_BadArguments_Throw()
    {
        var a = new Int64Array.Builder().Append(1).Build();
        Assert.Throws<ArgumentOutOfRangeException>(() => ArrowTake.Take(a, [1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ArrowTake.Take(a, [-2]));
        Assert.Throws<ArgumentException>(() => ArrowTake.Take(System.Array.Empty<IArrowArray>(), [0]));
        Assert.Throws<ArgumentException>(() => ArrowTake.Take([a, new Int32Array.Builder().Append(1).Build()], [0]));
        Assert.Throws<ArgumentException>(() => ArrowTake.Take([Timestamps([1]), new TimestampArray.Builder(new TimestampType(TimeUnit.Millisecond, "UTC")).Build()], [0]));
        Assert.Throws<NotSupportedException>(() => ArrowTake.Take(new Decimal128Array.Builder(new Decimal128Type(10, 2)).Append(1m).Build(), [0]));
    }

    // ---- helpers ----

    private static void AssertEqualsOracle(Joined joined, Expected[] expected)
    {
        var entities = EntityRows;
        Assert.That(joined.Delay.Length, Is.EqualTo(expected.Length));
        var mismatches = new List<string>();
        for (var i = 0; i < expected.Length; i++)
        {
            var e = expected[i];
            Assert.That((e.Row, e.Origin, e.Ts), Is.EqualTo((entities.Row[i], entities.Origin[i], entities.Ts[i])), "the expected rows are in entity order");
            if (joined.Delay.GetValue(i) != e.Delay || joined.Distance.GetValue(i) != e.Distance)
                mismatches.Add($"row {e.Row} ({e.Origin} @ {e.Ts}): got {joined.Delay.GetValue(i)}/{joined.Distance.GetValue(i)}, expected {e.Delay}/{e.Distance}");
        }

        Assert.That(mismatches, Is.Empty);
        Assert.That(joined.Delay.NullCount, Is.EqualTo(expected.Count(e => e.Delay is null)));
    }

    /// <summary>Row positions that cut a run of equal (origin, ts) in two.</summary>
    private static IEnumerable<int> TieCuts()
    {
        var f = FeatureRows;
        var seen = new Dictionary<(string, long), int>();
        for (var i = 0; i < f.Count; i++)
        {
            if (!seen.TryAdd((f.Origin[i], f.Ts[i]), i)) yield return i;
        }
    }

    private static StringArray StringsWithNulls(params string?[] values)
    {
        var b = new StringArray.Builder();
        foreach (var v in values)
        {
            if (v is null) b.AppendNull(); else b.Append(v);
        }

        return b.Build();
    }
}
