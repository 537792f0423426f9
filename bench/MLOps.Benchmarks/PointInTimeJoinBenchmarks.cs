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
    public const int FeatureRows = PointInTimeData.FeatureRows;
    public const int EntityRows = PointInTimeData.EntityRows;

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
        await WriteAsync(_features, PointInTimeData.FeatureBatches(() => PointInTimeData.RandomRow(random))).ConfigureAwait(false);
        await WriteAsync(_entities, [PointInTimeData.EntityBatch(random)]).ConfigureAwait(false);

        _duck = PointInTimeData.OpenDuckDb($"""
            CREATE TABLE features AS SELECT * FROM read_parquet('{_features}');
            CREATE TABLE entities AS SELECT * FROM read_parquet('{_entities}');
            """);

        _featureBatches = await ReadAllAsync(_features).ConfigureAwait(false);
        _entityBatches = await ReadAllAsync(_entities).ConfigureAwait(false);

        // The same work on every side: the same matched rows and the same sums (timestamps are random microseconds, so
        // a key has no two feature rows at one instant and no tie can be broken differently).
        var duck = DuckDb_AsofLeftJoin_Parquet();
        PointInTimeData.CheckSameResults(duck, [DuckDb_AsofLeftJoin_InMemory(), await MLOps_AsOfJoin_Parquet().ConfigureAwait(false), MLOps_AsOfJoin_InMemory()]);
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
        await PointInTimeData.WriteParquetAsync(path, batches).ConfigureAwait(false);
        foreach (var b in batches) b.Dispose();
    }
}

/// <summary>What a join benchmark returns: the result's row count, matched rows and the sums of the two features.</summary>
public sealed record JoinResult(long Rows, long Matched, double Sum1, double Sum2);
