using System.Diagnostics;
using Apache.Arrow;
using Apache.Arrow.Types;
using BenchmarkDotNet.Attributes;
using DuckDB.NET.Data;
using MLOps.Artifacts;
using MLOps.FeatureStore;
using MLOps.FeatureStore.Offline;
using MLOps.FeatureStore.Retrieval;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Vectors;

namespace MLOps.Benchmarks;

/// <summary>
/// Point-in-time retrieval through the public API: a feature set of 1M rows (300 string keys "E0".."E299", random
/// microsecond timestamps over a year, 2 double features) ingested once in setup with <c>IngestAsync</c> into the
/// day-partitioned offline Parquet store, and 100k entity rows (a key and an instant) held as one in-memory Arrow
/// record batch. Ours: <see cref="FeatureStoreCatalog.GetOfflineFeaturesAsync(FeatureVector, RecordBatch, OfflineFeaturesOptions?, CancellationToken)"/>,
/// which lists the set's committed files, reads them, and as-of joins them to the entity rows into one Arrow batch
/// (key, ts, f1, f2). Baseline: DuckDB in process, <c>ASOF LEFT JOIN</c> of the entity rows (a table loaded in setup)
/// against <c>read_parquet('&lt;set root&gt;/**/*.parquet')</c> — the very files the feature store wrote — with the
/// result's four columns fetched into .NET arrays.
/// </summary>
/// <remarks>
/// <para>DuckDB runs its join on every core (2 on the shared machines); ours on one.</para>
/// <para><c>DuckDb_AsofLeftJoin_ToTable</c> leaves the fetch into .NET out: DuckDB materializes the join into a
/// temporary table of its own (engine work only). It is reported for reference; the target is against the baseline.</para>
/// <para>The feature rows are ingested in time order (a backfill), so each day partition holds one file of about 2,700
/// rows (366 files). 10% of the entity rows use keys with no feature row ("X0".."X29"), and the instants span a week
/// more than the features on each side, so some rows match nothing. Timestamps are random microseconds, so no key has
/// two feature rows at one instant and DuckDB and ours must pick the same rows; setup checks they do.</para>
/// </remarks>
[IterationCount(8)]
[WarmupCount(2)]
public class OfflineRetrievalBenchmarks
{
    public const int FeatureRows = PointInTimeData.FeatureRows;
    public const int EntityRows = PointInTimeData.EntityRows;

    private string? _dir;
    private MLOpsProject? _project;
    private FeatureVector? _vector;
    private RecordBatch? _entities;
    private DuckDBConnection? _duck;
    private string _files = "";
    private int _round;

    /// <summary>The folder the feature store wrote the set's Parquet files to.</summary>
    public string SetRoot { get; private set; } = "";

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    public async Task SetupAsync()
    {
        _dir = BenchFiles.NewDirectory("offline-retrieval");
        _project = await BenchFiles.OpenProjectAsync(_dir).ConfigureAwait(false);
        var fs = _project.FeatureStore;
        var random = new Random(20240611);
        var set = fs.FeatureSet("pit").Entity("key").Timestamp("ts").Targets(offline: true, online: false).Build();
        var report = await fs.IngestAsync(set, DataSource.Batches(FeatureBatches(random))).ConfigureAwait(false);
        if (report.RowsWritten != FeatureRows)
            throw new InvalidOperationException($"Ingested {report.RowsWritten} rows, expected {FeatureRows}.");
        SetRoot = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(report.OfflineFiles[0]))))!;
        _files = Path.Combine(SetRoot, "**", "*.parquet");
        _vector = fs.Vector("pit_vector").Select("pit.f1", "pit.f2").Build();
        _entities = PointInTimeData.EntityBatch(random);

        var entitiesFile = Path.Combine(_dir, "entities.parquet");
        await PointInTimeData.WriteParquetAsync(entitiesFile, [_entities]).ConfigureAwait(false);
        _duck = PointInTimeData.OpenDuckDb($"CREATE TABLE entities AS SELECT * FROM read_parquet('{entitiesFile}');");

        var duck = DuckDb_AsofLeftJoin();
        var ours = await MLOps_GetOfflineFeaturesAsync().ConfigureAwait(false);
        var table = DuckDb_AsofLeftJoin_ToTable();
        PointInTimeData.CheckSameResults(duck, [ours, table]);
    }

    [GlobalCleanup]
    public void Cleanup() => CleanupAsync().GetAwaiter().GetResult();

    public async Task CleanupAsync()
    {
        _duck?.Dispose();
        _entities?.Dispose();
        if (_project is not null) await _project.DisposeAsync().ConfigureAwait(false);
        BenchFiles.Delete(_dir);
    }

    /// <summary>The baseline: DuckDB's as-of join of the entity table with the set's Parquet files, the four result columns fetched.</summary>
    [Benchmark(Baseline = true)]
    public JoinResult DuckDb_AsofLeftJoin()
    {
        using var command = _duck!.CreateCommand();
        command.CommandText = $"""
            SELECT e.key, epoch_us(e.ts), f.f1, f.f2
            FROM entities e ASOF LEFT JOIN read_parquet('{_files}', hive_partitioning = false) f ON e.key = f.key AND e.ts >= f.ts
            """;
        using var reader = command.ExecuteReader();
        var keys = new List<string>(EntityRows);
        var ts = new List<long>(EntityRows);
        var f1 = new List<double>(EntityRows);
        var f2 = new List<double>(EntityRows);
        while (reader.Read())
        {
            keys.Add(reader.GetString(0));
            ts.Add(reader.GetInt64(1));
            f1.Add(reader.IsDBNull(2) ? double.NaN : reader.GetDouble(2));
            f2.Add(reader.IsDBNull(3) ? double.NaN : reader.GetDouble(3));
        }

        return Summarize(f1, f2);
    }

    /// <summary>DuckDB's join materialized into a temporary table inside DuckDB (no fetch into .NET).</summary>
    [Benchmark]
    public JoinResult DuckDb_AsofLeftJoin_ToTable()
    {
        var table = $"result_{_round++}";
        using var command = _duck!.CreateCommand();
        command.CommandText = $"""
            CREATE TEMP TABLE {table} AS
            SELECT e.key, e.ts, f.f1, f.f2
            FROM entities e ASOF LEFT JOIN read_parquet('{_files}', hive_partitioning = false) f ON e.key = f.key AND e.ts >= f.ts;
            SELECT count(*), count(f1), coalesce(sum(f1), 0), coalesce(sum(f2), 0) FROM {table};
            """;
        using var reader = command.ExecuteReader();
        reader.Read();
        var result = new JoinResult(reader.GetInt64(0), reader.GetInt64(1), reader.GetDouble(2), reader.GetDouble(3));
        reader.Close();
        using var drop = _duck.CreateCommand();
        drop.CommandText = $"DROP TABLE {table};";
        drop.ExecuteNonQuery();
        return result;
    }

    /// <summary>Ours: the public point-in-time retrieval into one Arrow batch.</summary>
    [Benchmark]
    public async Task<JoinResult> MLOps_GetOfflineFeaturesAsync()
    {
        using var result = await _project!.FeatureStore.GetOfflineFeaturesAsync(_vector!, _entities!, new() { TimestampColumn = "ts" }).ConfigureAwait(false);
        var batch = result.Batch;
        if (batch.ColumnCount != 4)
            throw new InvalidOperationException($"Expected key, ts, f1, f2; got {string.Join(", ", batch.Schema.FieldsList.Select(f => f.Name))}.");
        var f1 = (DoubleArray)batch.Column("f1");
        var f2 = (DoubleArray)batch.Column("f2");
        double sum1 = 0, sum2 = 0;
        var matched = 0L;
        for (var i = 0; i < f1.Length; i++)
        {
            if (f1.IsNull(i)) continue;
            matched++;
            sum1 += f1.Values[i];
            sum2 += f2.Values[i];
        }

        return new JoinResult(batch.Length, matched, sum1, sum2);
    }

    /// <summary>
    /// Timed runs of each side, with the allocations of ours and the offline read alone, for a profiler or a quick look
    /// (called from a scratch program: BenchmarkDotNet does not run it). <paramref name="oursOnly"/> runs ours alone.
    /// </summary>
    public static async Task ProfileAsync(TextWriter o, int rounds = 5, bool oursOnly = false)
    {
        var b = new OfflineRetrievalBenchmarks();
        var sw = Stopwatch.StartNew();
        await b.SetupAsync().ConfigureAwait(false);
        await o.WriteLineAsync($"setup {sw.ElapsedMilliseconds} ms, {Directory.EnumerateFiles(b.SetRoot, "*.parquet", SearchOption.AllDirectories).Count()} files").ConfigureAwait(false);
        try
        {
            for (var r = 0; r < rounds; r++)
            {
                double duck = 0, table = 0;
                if (!oursOnly)
                {
                    sw.Restart();
                    b.DuckDb_AsofLeftJoin();
                    duck = sw.Elapsed.TotalMilliseconds;
                    sw.Restart();
                    b.DuckDb_AsofLeftJoin_ToTable();
                    table = sw.Elapsed.TotalMilliseconds;
                }

                var before = GC.GetTotalAllocatedBytes(precise: true);
                sw.Restart();
                await b.MLOps_GetOfflineFeaturesAsync().ConfigureAwait(false);
                var ours = sw.Elapsed.TotalMilliseconds;
                var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
                var split = "";
                if (!oursOnly) split = await b.SplitAsync().ConfigureAwait(false);
                await o.WriteLineAsync($"duckdb {duck:F0} ms, duckdb to table {table:F0} ms, ours {ours:F0} ms ({allocated / 1048576.0:F0} MB, ratio {ours / duck:F2}){split}").ConfigureAwait(false);
            }
        }
        finally
        {
            await b.CleanupAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The steps of ours timed one by one (as FeatureStoreCatalog.JoinAsync runs them): the offline read, the key
    /// index, the as-of match and the take.</summary>
    private async Task<string> SplitAsync()
    {
        var sw = Stopwatch.StartNew();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        FeatureColumn[] columns = [new("key", FeatureType.String), new("ts", FeatureType.Timestamp), new("f1", FeatureType.Double), new("f2", FeatureType.Double), new(OfflineStore.OrderColumn, FeatureType.Int64)];
        var chunks = new List<RecordBatch>();
        await foreach (var batch in OfflineStore.ReadAsync(SetRoot, columns, null, null, CancellationToken.None).ConfigureAwait(false))
            chunks.Add(batch);
        var read = sw.Elapsed.TotalMilliseconds;
        var readAllocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        sw.Restart();
        var index = new EntityKeyIndex();
        var leftIds = index.GetIds(_entities!.Column("key"));
        var total = chunks.Sum(c => c.Length);
        var rightIds = new int[total];
        var rightTs = new long[total];
        var rightOrder = new long[total];
        var at = 0;
        foreach (var chunk in chunks)
        {
            index.GetIds([chunk.Column(0)], rightIds.AsSpan(at, chunk.Length));
            ((TimestampArray)chunk.Column(1)).Values.CopyTo(rightTs.AsSpan(at));
            ((Int64Array)chunk.Column(4)).Values.CopyTo(rightOrder.AsSpan(at));
            at += chunk.Length;
        }

        var keys = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        var matches = AsOfJoin.Match(leftIds, ((TimestampArray)_entities.Column("ts")).Values, rightIds, rightTs, rightOrder, null);
        var match = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        using var f1 = ArrowTake.Take(chunks.Select(c => c.Column(2)).ToArray(), matches);
        using var f2 = ArrowTake.Take(chunks.Select(c => c.Column(3)).ToArray(), matches);
        var take = sw.Elapsed.TotalMilliseconds;
        foreach (var chunk in chunks) chunk.Dispose();
        return $"; split: read {read:F0} ms ({readAllocated / 1048576.0:F0} MB, {chunks.Count} chunks), keys {keys:F0} ms, match {match:F0} ms, take {take:F0} ms";
    }

    private static JoinResult Summarize(List<double> f1, List<double> f2)
    {
        long matched = 0;
        double sum1 = 0, sum2 = 0;
        for (var i = 0; i < f1.Count; i++)
        {
            if (double.IsNaN(f1[i])) continue;
            matched++;
            sum1 += f1[i];
            sum2 += f2[i];
        }

        return new JoinResult(f1.Count, matched, sum1, sum2);
    }

    /// <summary>The feature rows in time order, cut into 64k-row batches.</summary>
    private static List<RecordBatch> FeatureBatches(Random random)
    {
        var rows = new (int Key, long Ts, double F1, double F2)[FeatureRows];
        for (var i = 0; i < rows.Length; i++)
        {
            var ts = PointInTimeData.Start + random.NextInt64(PointInTimeData.Year);
            rows[i] = (random.Next(PointInTimeData.Keys), ts, random.NextDouble(), random.NextDouble() * 100);
        }
        System.Array.Sort(rows, (a, b) => a.Ts.CompareTo(b.Ts));
        var next = 0;
        return PointInTimeData.FeatureBatches(() => rows[next++]);
    }
}
