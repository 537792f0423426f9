using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;

namespace MLOps.Benchmarks;

/// <summary>
/// PERFORMANCE.md "metric logging, 1M points in one run": one million <c>run.LogMetric(key, value)</c> calls (10 keys,
/// automatic steps, the default buffer: FlushSize 1,000) and the final <c>FlushAsync</c>, against raw SQLite inserting the
/// same 1M rows in 1,000-row transactions. Target: &lt;= 1.5x the baseline.
/// </summary>
/// <remarks>One operation takes seconds and writes ~100 MB, so each iteration is one operation on a fresh database.</remarks>
[InvocationCount(1)]
[WarmupCount(1)]
[IterationCount(3)]
public class MetricStreamBenchmarks
{
    public const int Total = 1_000_000;
    public const int Keys = 10;
    public const int RowsPerTransaction = 1_000;

    private readonly string[] _keys = Enumerable.Range(0, Keys).Select(k => $"metric_{k}").ToArray();
    private string? _dir;
    private MLOpsProject? _project;
    private RunContext? _run;
    private SqliteConnection? _raw;
    private RawMetricWriter? _writer;
    private RawMetricWriter? _singleRow;
    private string _rawRunId = "";

    [IterationSetup(Targets = [nameof(Raw_Insert1000RowTransactions), nameof(Raw_SingleRowStatements)])]
    public void SetupRaw()
    {
        _dir = BenchFiles.NewDirectory("stream-raw");
        _rawRunId = Guid.CreateVersion7().ToString("N");
        _raw = RawSqlite.CreateBaselineAsync(Path.Combine(_dir, "raw.db"), _rawRunId).GetAwaiter().GetResult();
        _writer = new RawMetricWriter(_raw);
        _singleRow = new RawMetricWriter(_raw, rowsPerStatement: 1);
    }

    [IterationCleanup(Targets = [nameof(Raw_Insert1000RowTransactions), nameof(Raw_SingleRowStatements)])]
    public void CleanupRaw()
    {
        _writer?.Dispose();
        _singleRow?.Dispose();
        _raw?.Dispose();
        _writer = null;
        _singleRow = null;
        _raw = null;
        BenchFiles.Delete(_dir);
    }

    [IterationSetup(Target = nameof(MLOps_LogMetricAndFlush))]
    public void SetupOurs()
    {
        _dir = BenchFiles.NewDirectory("stream-ours");
        _project = BenchFiles.OpenProjectAsync(_dir).GetAwaiter().GetResult();
        _run = _project.Runs.StartAsync("stream").GetAwaiter().GetResult();
    }

    [IterationCleanup(Target = nameof(MLOps_LogMetricAndFlush))]
    public void CleanupOurs()
    {
        _run?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _project?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _run = null;
        _project = null;
        BenchFiles.Delete(_dir);
    }

    /// <summary>The baseline: the same rows (run, key, step, timestamp taken per point, value), 1,000 per transaction,
    /// 100 per prepared multi-row statement.</summary>
    [Benchmark(Baseline = true)]
    public void Raw_Insert1000RowTransactions() => InsertAll(_writer!);

    /// <summary>The same with a prepared one-row INSERT (see <see cref="MetricBatchBenchmarks.Raw_SingleRowStatements"/>).</summary>
    [Benchmark]
    public void Raw_SingleRowStatements() => InsertAll(_singleRow!);

    private void InsertAll(RawMetricWriter writer)
    {
        var ps = writer.Many.Parameters;
        var rows = writer.RowsPerStatement;
        for (var start = 0; start < Total; start += RowsPerTransaction)
        {
            using var tx = _raw!.BeginTransaction(deferred: false);
            writer.Many.Transaction = tx;
            for (var s = 0; s < RowsPerTransaction; s += rows)
            {
                for (var r = 0; r < rows; r++)
                {
                    var i = start + s + r;
                    RawMetricWriter.Bind(ps, r * 5, _rawRunId, _keys[i % Keys], i / Keys, DateTimeOffset.UtcNow.UtcTicks, i * 1e-3);
                }
                writer.Many.ExecuteNonQuery();
            }
            tx.Commit();
        }
    }

    /// <summary>Ours: one million buffered <see cref="RunContext.LogMetric"/> calls, then the final flush.</summary>
    [Benchmark]
    public async Task MLOps_LogMetricAndFlush()
    {
        var run = _run!;
        for (var i = 0; i < Total; i++) run.LogMetric(_keys[i % Keys], i * 1e-3);
        await run.FlushAsync().ConfigureAwait(false);
    }
}
