using System.Globalization;
using Apache.Arrow.Types;
using MLOps.FeatureStore.Retrieval;
using MLOps.FeatureStore.Tests.TestSupport;

namespace MLOps.FeatureStore.Tests.Retrieval;

/// <summary>
/// The pandas oracle's as-of join fixtures (tests/oracles/asof_oracle.py, data/asof/*.csv) as Arrow columns, and the
/// join run over them by <see cref="EntityKeyIndex"/>, <see cref="AsOfJoin"/> and <see cref="ArrowTake"/>.
/// </summary>
internal static class AsOfData
{
    public static readonly TimestampType Micros = new(TimeUnit.Microsecond, "UTC");

    /// <summary>2 hours in microseconds: the tolerance of expected_ttl.csv.</summary>
    public const long TwoHours = 2L * 3600 * 1_000_000;

    private static readonly Lazy<Features> LazyFeatures = new(() => LoadFeatures(TestProjects.Data("asof/features.csv")));
    private static readonly Lazy<Entities> LazyEntities = new(() => LoadEntities(TestProjects.Data("asof/entities.csv")));
    private static readonly Lazy<Expected[]> LazyExpected = new(() => LoadExpected(TestProjects.Data("asof/expected.csv")));
    private static readonly Lazy<Expected[]> LazyExpectedTtl = new(() => LoadExpected(TestProjects.Data("asof/expected_ttl.csv")));

    public static Features FeatureRows => LazyFeatures.Value;

    public static Entities EntityRows => LazyEntities.Value;

    public static Expected[] ExpectedRows => LazyExpected.Value;

    public static Expected[] ExpectedTtlRows => LazyExpectedTtl.Value;

    /// <summary>features.csv: origin, ts, delay, distance, in file (ingestion) order.</summary>
    public sealed record Features(string[] Origin, long[] Ts, long[] Delay, long[] Distance)
    {
        public int Count => Origin.Length;

        /// <summary>The rows as record batches cut at <paramref name="cuts"/> (row positions), with a microsecond UTC timestamp column.</summary>
        public List<RecordBatch> ToBatches(params int[] cuts)
        {
            var bounds = cuts.Prepend(0).Append(Count).ToArray();
            var batches = new List<RecordBatch>();
            for (var b = 0; b + 1 < bounds.Length; b++)
            {
                var (from, to) = (bounds[b], bounds[b + 1]);
                batches.Add(new RecordBatch.Builder()
                    .Append("origin", false, Strings(Origin.AsSpan(from, to - from)))
                    .Append("ts", false, Timestamps(Ts.AsSpan(from, to - from)))
                    .Append("delay", false, new Int64Array.Builder().Append(Delay.AsSpan(from, to - from)).Build())
                    .Append("distance", false, new Int64Array.Builder().Append(Distance.AsSpan(from, to - from)).Build())
                    .Build());
            }

            return batches;
        }
    }

    /// <summary>entities.csv: row, origin, ts, in the oracle's (unsorted) order.</summary>
    public sealed record Entities(long[] Row, string[] Origin, long[] Ts)
    {
        public int Count => Origin.Length;

        public RecordBatch ToBatch() => new RecordBatch.Builder()
            .Append("row", false, new Int64Array.Builder().Append(Row).Build())
            .Append("origin", false, Strings(Origin))
            .Append("ts", false, Timestamps(Ts))
            .Build();
    }

    /// <summary>One row of expected.csv or expected_ttl.csv; delay and distance are null when nothing matched.</summary>
    public sealed record Expected(long Row, string Origin, long Ts, long? Delay, long? Distance);

    /// <summary>The result of a join: the delay and distance taken for each entity row.</summary>
    public sealed record Joined(Int64Array Delay, Int64Array Distance, int[] Matches);

    /// <summary>
    /// Runs the point-in-time join of the entity rows against the feature batches: one key index for both sides, the
    /// right ids and timestamps concatenated over the batches, the matched rows taken from the batches' chunks.
    /// </summary>
    public static Joined Join(IReadOnlyList<RecordBatch> features, RecordBatch entities, long? toleranceMicros)
    {
        var index = new EntityKeyIndex();
        var rightIds = new List<int>();
        var rightTs = new List<long>();
        foreach (var batch in features)
        {
            rightIds.AddRange(index.GetIds(batch.Column("origin")));
            rightTs.AddRange(((TimestampArray)batch.Column("ts")).Values.ToArray());
        }

        var leftIds = index.GetIds(entities.Column("origin"));
        var leftTs = ((TimestampArray)entities.Column("ts")).Values;
        var matches = AsOfJoin.Match(leftIds, leftTs, rightIds.ToArray(), rightTs.ToArray(), [], toleranceMicros);
        var delay = (Int64Array)ArrowTake.Take(features.Select(b => b.Column("delay")).ToList(), matches);
        var distance = (Int64Array)ArrowTake.Take(features.Select(b => b.Column("distance")).ToList(), matches);
        return new Joined(delay, distance, matches);
    }

    public static long Micro(string iso)
    {
        var t = DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
        return (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
    }

    public static StringArray Strings(ReadOnlySpan<string> values)
    {
        var b = new StringArray.Builder();
        foreach (var v in values) b.Append(v);
        return b.Build();
    }

    public static TimestampArray Timestamps(ReadOnlySpan<long> micros)
    {
        var b = new TimestampArray.Builder(Micros);
        foreach (var m in micros) b.Append(DateTimeOffset.UnixEpoch.AddTicks(m * 10));
        return b.Build();
    }

    private static string[][] Rows(string path, string header)
    {
        var lines = File.ReadAllLines(path);
        Assert.That(lines[0], Is.EqualTo(header), path);
        return lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')).ToArray();
    }

    private static Features LoadFeatures(string path)
    {
        var rows = Rows(path, "origin,ts,delay,distance");
        return new Features(
            rows.Select(r => r[0]).ToArray(),
            rows.Select(r => Micro(r[1])).ToArray(),
            rows.Select(r => long.Parse(r[2], CultureInfo.InvariantCulture)).ToArray(),
            rows.Select(r => long.Parse(r[3], CultureInfo.InvariantCulture)).ToArray());
    }

    private static Entities LoadEntities(string path)
    {
        var rows = Rows(path, "row,origin,ts");
        return new Entities(
            rows.Select(r => long.Parse(r[0], CultureInfo.InvariantCulture)).ToArray(),
            rows.Select(r => r[1]).ToArray(),
            rows.Select(r => Micro(r[2])).ToArray());
    }

    private static Expected[] LoadExpected(string path) => Rows(path, "row,origin,ts,delay,distance")
        .Select(r => new Expected(
            long.Parse(r[0], CultureInfo.InvariantCulture),
            r[1],
            Micro(r[2]),
            r[3].Length == 0 ? null : long.Parse(r[3], CultureInfo.InvariantCulture),
            r[4].Length == 0 ? null : long.Parse(r[4], CultureInfo.InvariantCulture)))
        .ToArray();
}
