using Apache.Arrow;
using Apache.Arrow.Types;
using BenchmarkDotNet.Attributes;
using DuckDB.NET.Data;
using MLOps.Artifacts;
using MLOps.FeatureStore.Retrieval;

namespace MLOps.Benchmarks;

/// <summary>
/// Feature store point-in-time join: 100k entity rows (a key and an instant) as-of joined, backward, against 1M feature
/// rows (300 string keys "E0".."E299", random microsecond timestamps over a year in random order, 2 double features),
/// both read from Parquet files. Baseline: DuckDB in process, <c>ASOF LEFT JOIN read_parquet(...)</c>, the result
/// iterated (row count and the sums of both features). Ours: both files read with <see cref="DatasetReader.ReadAsync"/>,
/// then <see cref="EntityKeyIndex"/>, <see cref="AsOfJoin.Match"/> and <see cref="ArrowTake"/> into the two result
/// columns, summed the same way.
/// </summary>
/// <remarks>
/// DuckDB runs its join on every core (2 on the shared machines); ours on one. The <c>*_InMemory</c> rows leave the
/// Parquet decoding out: DuckDB over tables loaded in setup, ours over the Arrow batches read in setup.
/// 10% of the entity rows use keys that have no feature row ("X0".."X29"), and the instants span a week more than the
/// features on each side, so some rows match nothing.
/// </remarks>
[IterationCount(6)]
public class PointInTimeJoinBenchmarks
{
    public const int FeatureRows = 1_000_000;
    public const int EntityRows = 100_000;
    public const int Keys = 300;
    private const int RowGroup = 65_536;
    private const long Start = 1_704_067_200_000_000; // 2024-01-01T00:00:00Z in microseconds
    private const long Year = 366L * 24 * 3600 * 1_000_000;
    private const long Week = 7L * 24 * 3600 * 1_000_000;
    private static readonly TimestampType Micros = new(TimeUnit.Microsecond, "UTC");

    private string? _dir;
    private string _features = "";
    private string _entities = "";
    private DuckDBConnection? _duck;
    private List<RecordBatch> _featureBatches = [];
    private List<RecordBatch> _entityBatches = [];

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _dir = BenchFiles.NewDirectory("pit-join");
        _features = Path.Combine(_dir, "features.parquet");
        _entities = Path.Combine(_dir, "entities.parquet");
        var random = new Random(20240611);
        await WriteAsync(_features, FeatureBatches(random)).ConfigureAwait(false);
        await WriteAsync(_entities, EntityBatches(random)).ConfigureAwait(false);

        _duck = new DuckDBConnection("Data Source=:memory:");
        _duck.Open();
        using (var load = _duck.CreateCommand())
        {
            load.CommandText = $"""
                CREATE TABLE features AS SELECT * FROM read_parquet('{_features}');
                CREATE TABLE entities AS SELECT * FROM read_parquet('{_entities}');
                """;
            load.ExecuteNonQuery();
        }

        _featureBatches = await ReadAllAsync(_features).ConfigureAwait(false);
        _entityBatches = await ReadAllAsync(_entities).ConfigureAwait(false);

        // The same work on every side: the same matched rows and the same sums (timestamps are random microseconds, so
        // a key has no two feature rows at one instant and no tie can be broken differently).
        var duck = DuckDb_AsofLeftJoin_Parquet();
        var results = new[] { DuckDb_AsofLeftJoin_InMemory(), await MLOps_AsOfJoin_Parquet().ConfigureAwait(false), MLOps_AsOfJoin_InMemory() };
        if (duck.Rows != EntityRows || duck.Matched < EntityRows / 2 || duck.Matched == EntityRows)
            throw new InvalidOperationException($"DuckDB returned {duck.Rows} rows, {duck.Matched} matched; the data should give {EntityRows} rows, most but not all matched.");
        foreach (var r in results)
        {
            if (r.Rows != duck.Rows || r.Matched != duck.Matched || Math.Abs(r.Sum1 - duck.Sum1) > 1e-6 * Math.Abs(duck.Sum1) || Math.Abs(r.Sum2 - duck.Sum2) > 1e-6 * Math.Abs(duck.Sum2))
                throw new InvalidOperationException($"The joins disagree: DuckDB {duck}, other {r}.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _duck?.Dispose();
        foreach (var b in _featureBatches.Concat(_entityBatches)) b.Dispose();
        BenchFiles.Delete(_dir);
    }

    /// <summary>The baseline: DuckDB's as-of join of the two Parquet files, the result iterated.</summary>
    [Benchmark(Baseline = true)]
    public JoinResult DuckDb_AsofLeftJoin_Parquet() => DuckDbJoin($"read_parquet('{_entities}')", $"read_parquet('{_features}')");

    /// <summary>DuckDB over tables loaded in setup: the join alone.</summary>
    [Benchmark]
    public JoinResult DuckDb_AsofLeftJoin_InMemory() => DuckDbJoin("entities", "features");

    /// <summary>Ours: both Parquet files read as Arrow, then key index, as-of match and take.</summary>
    [Benchmark]
    public async Task<JoinResult> MLOps_AsOfJoin_Parquet()
    {
        var features = await ReadAllAsync(_features).ConfigureAwait(false);
        var entities = await ReadAllAsync(_entities).ConfigureAwait(false);
        try
        {
            return Join(features, entities);
        }
        finally
        {
            foreach (var b in features.Concat(entities)) b.Dispose();
        }
    }

    /// <summary>Ours over the Arrow batches read in setup: the join alone.</summary>
    [Benchmark]
    public JoinResult MLOps_AsOfJoin_InMemory() => Join(_featureBatches, _entityBatches);

    private JoinResult DuckDbJoin(string entities, string features)
    {
        using var command = _duck!.CreateCommand();
        command.CommandText = $"""
            SELECT f.f1, f.f2
            FROM {entities} e ASOF LEFT JOIN {features} f ON e.key = f.key AND e.ts >= f.ts
            """;
        using var reader = command.ExecuteReader();
        long rows = 0, matched = 0;
        double sum1 = 0, sum2 = 0;
        while (reader.Read())
        {
            rows++;
            if (reader.IsDBNull(0)) continue;
            matched++;
            sum1 += reader.GetDouble(0);
            sum2 += reader.GetDouble(1);
        }

        return new JoinResult(rows, matched, sum1, sum2);
    }

    private static JoinResult Join(List<RecordBatch> features, List<RecordBatch> entities)
    {
        var index = new EntityKeyIndex();
        var rightCount = features.Sum(b => b.Length);
        var rightIds = new int[rightCount];
        var rightTs = new long[rightCount];
        var at = 0;
        foreach (var b in features)
        {
            index.GetIds([b.Column(0)], rightIds.AsSpan(at, b.Length));
            ((TimestampArray)b.Column(1)).Values.CopyTo(rightTs.AsSpan(at));
            at += b.Length;
        }

        var leftCount = entities.Sum(b => b.Length);
        var leftIds = new int[leftCount];
        var leftTs = new long[leftCount];
        at = 0;
        foreach (var b in entities)
        {
            index.GetIds([b.Column(0)], leftIds.AsSpan(at, b.Length));
            ((TimestampArray)b.Column(1)).Values.CopyTo(leftTs.AsSpan(at));
            at += b.Length;
        }

        var matches = AsOfJoin.Match(leftIds, leftTs, rightIds, rightTs, [], toleranceMicros: null);
        var f1 = (DoubleArray)ArrowTake.Take(features.Select(b => b.Column(2)).ToList(), matches);
        var f2 = (DoubleArray)ArrowTake.Take(features.Select(b => b.Column(3)).ToList(), matches);

        double sum1 = 0, sum2 = 0;
        var v1 = f1.Values;
        var v2 = f2.Values;
        for (var i = 0; i < v1.Length; i++)
        {
            sum1 += v1[i]; // nulls hold 0
            sum2 += v2[i];
        }

        return new JoinResult(f1.Length, f1.Length - f1.NullCount, sum1, sum2);
    }

    private static async Task<List<RecordBatch>> ReadAllAsync(string path)
    {
        var batches = new List<RecordBatch>();
        await foreach (var b in DatasetReader.ReadAsync(path, DatasetFormat.Parquet).ConfigureAwait(false)) batches.Add(b);
        return batches;
    }

    private static async Task WriteAsync(string path, List<RecordBatch> batches)
    {
        var stream = File.Create(path);
        await using (stream.ConfigureAwait(false))
            await DatasetReader.WriteParquetAsync(batches, stream, CancellationToken.None).ConfigureAwait(false);
        foreach (var b in batches) b.Dispose();
    }

    private static List<RecordBatch> FeatureBatches(Random random)
    {
        var batches = new List<RecordBatch>();
        for (var from = 0; from < FeatureRows; from += RowGroup)
        {
            var n = Math.Min(RowGroup, FeatureRows - from);
            var key = new StringArray.Builder();
            var ts = new TimestampArray.Builder(Micros).Reserve(n);
            var f1 = new DoubleArray.Builder().Reserve(n);
            var f2 = new DoubleArray.Builder().Reserve(n);
            for (var i = 0; i < n; i++)
            {
                key.Append($"E{random.Next(Keys)}");
                ts.Append(DateTimeOffset.UnixEpoch.AddTicks((Start + random.NextInt64(Year)) * 10));
                f1.Append(random.NextDouble());
                f2.Append(random.NextDouble() * 100);
            }

            batches.Add(new RecordBatch.Builder()
                .Append("key", false, key.Build())
                .Append("ts", false, ts.Build())
                .Append("f1", false, f1.Build())
                .Append("f2", false, f2.Build())
                .Build());
        }

        return batches;
    }

    private static List<RecordBatch> EntityBatches(Random random)
    {
        var key = new StringArray.Builder();
        var ts = new TimestampArray.Builder(Micros).Reserve(EntityRows);
        for (var i = 0; i < EntityRows; i++)
        {
            key.Append(random.Next(10) == 0 ? $"X{random.Next(30)}" : $"E{random.Next(Keys)}");
            ts.Append(DateTimeOffset.UnixEpoch.AddTicks((Start - Week + random.NextInt64(Year + (2 * Week))) * 10));
        }

        return [new RecordBatch.Builder().Append("key", false, key.Build()).Append("ts", false, ts.Build()).Build()];
    }
}

/// <summary>What a join benchmark returns: the result's row count, matched rows and the sums of the two features.</summary>
public sealed record JoinResult(long Rows, long Matched, double Sum1, double Sum2);
