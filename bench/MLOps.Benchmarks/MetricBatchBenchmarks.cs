using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;

namespace MLOps.Benchmarks;

/// <summary>
/// PERFORMANCE.md "metric logging, 1,000 metrics in one batch": <c>run.LogMetricsAsync(points)</c> with 1,000 points
/// (10 keys x 100 steps) to one run, against a raw prepared multi-row INSERT of the same 1,000 rows in one transaction.
/// Target: &lt;= 1.5x the baseline and &lt;= 5 ms.
/// </summary>
/// <remarks>Every invocation logs the next 100 steps of the 10 keys, as a training loop does (repeating the same steps
/// would scatter the index inserts over the whole ix_metrics_run_key index and measure page churn instead). Each
/// invocation appends 1,000 rows, so the invocation count is fixed: ours and the baselines write the same number of
/// rows into equally growing tables.</remarks>
[InvocationCount(40)]
public class MetricBatchBenchmarks
{
    public const int Points = 1_000;
    public const int Keys = 10;

    private readonly (string Key, double Value, long Step)[] _points = CreatePoints();
    private string? _dir;
    private MLOpsProject? _project;
    private RunContext? _run;
    private SqliteConnection? _raw;
    private RawMetricWriter? _writer;
    private RawMetricWriter? _singleRow;
    private string _rawRunId = "";

    /// <summary>Moves the points to the next 100 steps (the same cheap loop on every side).</summary>
    internal static void Advance((string Key, double Value, long Step)[] points)
    {
        for (var i = 0; i < points.Length; i++)
        {
            var (key, value, step) = points[i];
            points[i] = (key, value, step + Points / Keys);
        }
    }

    internal static (string Key, double Value, long Step)[] CreatePoints()
    {
        var keys = Enumerable.Range(0, Keys).Select(k => $"metric_{k}").ToArray();
        var points = new (string, double, long)[Points];
        for (var i = 0; i < Points; i++) points[i] = (keys[i % Keys], 1.0 / (i + 1), i / Keys);
        return points;
    }

    [GlobalSetup(Targets = [nameof(Raw_InsertOneTransaction), nameof(Raw_InsertAndUpsertLatest), nameof(Raw_SingleRowStatements)])]
    public void SetupRaw()
    {
        _dir = BenchFiles.NewDirectory("batch-raw");
        _rawRunId = Guid.CreateVersion7().ToString("N");
        _raw = RawSqlite.CreateBaselineAsync(Path.Combine(_dir, "raw.db"), _rawRunId).GetAwaiter().GetResult();
        _writer = new RawMetricWriter(_raw);
        _singleRow = new RawMetricWriter(_raw, rowsPerStatement: 1);
    }

    [GlobalSetup(Target = nameof(MLOps_RunLogMetricsAsync))]
    public void SetupOurs()
    {
        _dir = BenchFiles.NewDirectory("batch-ours");
        _project = BenchFiles.OpenProjectAsync(_dir).GetAwaiter().GetResult();
        _run = _project.Runs.StartAsync("batch").GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _writer?.Dispose();
        _singleRow?.Dispose();
        _raw?.Dispose();
        if (_run is not null) _run.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (_project is not null) _project.DisposeAsync().AsTask().GetAwaiter().GetResult();
        BenchFiles.Delete(_dir);
    }

    /// <summary>The baseline: 1,000 rows, 100 per prepared statement, one IMMEDIATE transaction.</summary>
    [Benchmark(Baseline = true)]
    public void Raw_InsertOneTransaction()
    {
        Advance(_points);
        using var tx = _raw!.BeginTransaction(deferred: false);
        _writer!.Insert(tx, _rawRunId, _points, DateTimeOffset.UtcNow.UtcTicks);
        tx.Commit();
    }

    /// <summary>The same plus what the store also maintains: the latest value of each of the 10 keys.</summary>
    [Benchmark]
    public void Raw_InsertAndUpsertLatest()
    {
        Advance(_points);
        var ts = DateTimeOffset.UtcNow.UtcTicks;
        using var tx = _raw!.BeginTransaction(deferred: false);
        _writer!.Insert(tx, _rawRunId, _points, ts);
        for (var k = 0; k < Keys; k++)
        {
            var (key, value, step) = _points[Points - Keys + k];
            _writer.UpsertLatest(tx, _rawRunId, key, value, step, ts);
        }
        tx.Commit();
    }

    /// <summary>The same rows through a prepared one-row INSERT executed 1,000 times: with Microsoft.Data.Sqlite this is
    /// faster than wide statements, whose parameters are bound by name one by one.</summary>
    [Benchmark]
    public void Raw_SingleRowStatements()
    {
        Advance(_points);
        using var tx = _raw!.BeginTransaction(deferred: false);
        _singleRow!.Insert(tx, _rawRunId, _points, DateTimeOffset.UtcNow.UtcTicks);
        tx.Commit();
    }

    /// <summary>Ours: the public <see cref="RunContext.LogMetricsAsync"/> path.</summary>
    [Benchmark]
    public Task MLOps_RunLogMetricsAsync()
    {
        Advance(_points);
        return _run!.LogMetricsAsync(_points);
    }
}
