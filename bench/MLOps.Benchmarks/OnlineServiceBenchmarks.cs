using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.Data.Sqlite;
using MLOps.FeatureStore;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Vectors;

namespace MLOps.Benchmarks;

/// <summary>
/// PERFORMANCE.md "online feature lookup" through the public API: a project whose feature set <c>wide</c> holds
/// 10,000 entities x 50 double features, ingested with <c>IngestAsync</c>, served by an
/// <see cref="OnlineFeatureService"/> for a vector selecting <c>wide.*</c>. <c>GetAsync</c> for 1 entity and
/// <c>GetManyAsync</c> for 100 entities, against a raw Microsoft.Data.Sqlite <c>SqliteCommand</c> prepared once that
/// reads the same row(s) (<c>ts</c> and the 50 columns) of the same <c>online.db</c> table the store wrote, one point
/// read per entity into a reused <c>double[]</c>. Targets: &lt;= 1.5x the baseline; 1 entity p99 &lt;= 50 us;
/// 100 entities &lt;= 1 ms.
/// </summary>
/// <remarks>
/// <para>Ours returns a new <see cref="FeatureRow"/> (with its 50-value array) per entity, which is the API's result;
/// the baseline returns nothing but a reused buffer. Two informative rows: <c>Raw_PointReadsInTransaction</c> (the
/// baseline inside one <c>BEGIN</c>/<c>COMMIT</c>, what <c>GetManyAsync</c> does per set) and <c>GetAsync</c> called
/// once per entity.</para>
/// <para>The setup checks that both sides read the same values, then times single calls of each side with
/// <see cref="System.Diagnostics.Stopwatch"/> and prints mean/p50/p99/p99.9 (look for "percentiles" in the log).</para>
/// </remarks>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class OnlineServiceBenchmarks
{
    public const int Entities = OnlineBenchData.Entities;
    public const int Features = OnlineBenchData.Features;
    public const int Batch = 100;

    private static bool s_printed;

    private string? _dir;
    private MLOpsProject? _project;
    private OnlineFeatureService? _service;
    private RawOnlineReader? _raw;
    private SqliteCommand? _begin;
    private SqliteCommand? _commit;
    private double[] _doubles = [];
    private string[] _keys = [];
    private IReadOnlyDictionary<string, object>[] _requests = [];
    private IReadOnlyDictionary<string, object>[] _batch = [];

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _dir = BenchFiles.NewDirectory("online-service");
        _project = await BenchFiles.OpenProjectAsync(_dir).ConfigureAwait(false);
        var fs = _project.FeatureStore;
        var set = fs.FeatureSet("wide").Entity("id").Timestamp("ts").Build();
        await fs.IngestAsync(set, DataSource.Batches(OnlineBenchData.WideBatches())).ConfigureAwait(false);
        var vector = await fs.Vector("wide_all").Select("wide.*").SaveAsync().ConfigureAwait(false);
        _service = await fs.GetOnlineServiceAsync(vector).ConfigureAwait(false);
        if (_service.Columns.Count != Features) throw new InvalidOperationException($"The vector serves {_service.Columns.Count} features, not {Features}.");

        // The baseline reads the table the store wrote, its columns in the service's order, through a prepared command.
        _raw = new RawOnlineReader(Path.Combine(_dir, "online.db"), "wide", _service.Columns.Select(c => c.Name));
        _doubles = _raw.Values;
        _begin = _raw.Connection.CreateCommand();
        _begin.CommandText = "BEGIN;";
        _begin.Prepare();
        _commit = _raw.Connection.CreateCommand();
        _commit.CommandText = "COMMIT;";
        _commit.Prepare();

        // Spread the looked-up entities over the key space.
        _keys = Enumerable.Range(0, Batch).Select(i => OnlineBenchData.Key(i * 97 % Entities)).ToArray();
        _requests = _keys.Select(k => (IReadOnlyDictionary<string, object>)new Dictionary<string, object> { ["id"] = k }).ToArray();
        _batch = _requests;

        // Both sides must read the same rows, or the ratio compares different work.
        var many = await _service.GetManyAsync(_batch).ConfigureAwait(false);
        for (var i = 0; i < Batch; i++)
        {
            var one = await _service.GetAsync(_requests[i]).ConfigureAwait(false);
            if (!RawRead(_keys[i]) || !one.Found || !many[i].Found) throw new InvalidOperationException($"Entity '{_keys[i]}' is missing on one side.");
            for (var f = 0; f < Features; f++)
            {
                if (one.Values[f].Number != _doubles[f] || many[i].Values[f].Number != _doubles[f])
                    throw new InvalidOperationException($"Entity '{_keys[i]}' feature {_service.Columns[f].Name}: GetAsync {one.Values[f].Number}, GetManyAsync {many[i].Values[f].Number}, raw {_doubles[f]}.");
            }
        }

        PrintPercentiles();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _service?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _begin?.Dispose();
        _commit?.Dispose();
        _raw?.Dispose();
        _project?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        BenchFiles.Delete(_dir);
    }

    private bool RawRead(string key) => _raw!.Read(key, out _);

    /// <summary>The result of a value task (the service completes synchronously: the store is in-process).</summary>
    private static T Completed<T>(ValueTask<T> task) => task.IsCompleted ? task.Result : task.AsTask().GetAwaiter().GetResult();

    // ---- 1 entity ----

    /// <summary>The baseline: one raw prepared point read.</summary>
    [BenchmarkCategory("1 entity"), Benchmark(Baseline = true)]
    public double Raw_PointRead()
    {
        RawRead(_keys[0]);
        return _doubles[Features - 1];
    }

    /// <summary>Ours: <see cref="OnlineFeatureService.GetAsync"/>.</summary>
    [BenchmarkCategory("1 entity"), Benchmark]
    public double GetAsync()
    {
        var row = Completed(_service!.GetAsync(_requests[0]));
        return row.Values[Features - 1].Number;
    }

    // ---- 100 entities ----

    /// <summary>The baseline: 100 raw prepared point reads.</summary>
    [BenchmarkCategory("100 entities"), Benchmark(Baseline = true)]
    public double Raw_PointReads()
    {
        var sum = 0.0;
        for (var i = 0; i < Batch; i++)
        {
            RawRead(_keys[i]);
            sum += _doubles[Features - 1];
        }
        return sum;
    }

    /// <summary>Informative: the baseline inside one read transaction.</summary>
    [BenchmarkCategory("100 entities"), Benchmark]
    public double Raw_PointReadsInTransaction()
    {
        _begin!.ExecuteNonQuery();
        try
        {
            return Raw_PointReads();
        }
        finally
        {
            _commit!.ExecuteNonQuery();
        }
    }

    /// <summary>Ours: one <see cref="OnlineFeatureService.GetManyAsync"/> call.</summary>
    [BenchmarkCategory("100 entities"), Benchmark]
    public double GetManyAsync()
    {
        var rows = Completed(_service!.GetManyAsync(_batch));
        var sum = 0.0;
        for (var i = 0; i < rows.Count; i++) sum += rows[i].Values[Features - 1].Number;
        return sum;
    }

    /// <summary>Informative: <see cref="OnlineFeatureService.GetAsync"/> once per entity.</summary>
    [BenchmarkCategory("100 entities"), Benchmark]
    public double GetAsync_PerEntity()
    {
        var sum = 0.0;
        for (var i = 0; i < Batch; i++) sum += Completed(_service!.GetAsync(_requests[i])).Values[Features - 1].Number;
        return sum;
    }

    private void PrintPercentiles()
    {
        // BenchmarkDotNet runs the global setup once per benchmark method: print once.
        if (s_printed) return;
        s_printed = true;
        OnlineBenchTiming.Print($"OnlineService percentiles, 1 entity x {Features} features per call", 20_000,
            ("Raw_PointRead", Raw_PointRead), ("GetAsync", GetAsync));
        OnlineBenchTiming.Print($"OnlineService percentiles, {Batch} entities x {Features} features per call", 1_000,
            ("Raw_PointReads", Raw_PointReads), ("Raw_PointReadsInTransaction", Raw_PointReadsInTransaction),
            ("GetManyAsync", GetManyAsync), ("GetAsync_PerEntity", GetAsync_PerEntity));
    }
}
