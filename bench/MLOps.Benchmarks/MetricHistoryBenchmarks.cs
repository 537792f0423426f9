using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;

namespace MLOps.Benchmarks;

/// <summary>
/// PERFORMANCE.md "metric history, one key, 100k points": <c>project.Runs.GetMetricHistoryAsync(runId, "loss")</c>
/// against a raw prepared <c>SELECT value, step, ts FROM metrics WHERE run_id = $r AND key = $k ORDER BY step, ts, rowid</c>
/// read into a <see cref="List{T}"/> of the same <see cref="MetricPoint"/>. Target: &lt;= 1.5x the baseline.
/// </summary>
/// <remarks>The database holds two runs; the measured run has "loss" and "acc" (100k points each, interleaved as a
/// training loop logs them), the other run 100k points of "loss": the query has to pick one key of one run.</remarks>
public class MetricHistoryBenchmarks
{
    public const int Points = 100_000;

    private string? _dir;
    private MLOpsProject? _project;
    private string _runId = "";
    private SqliteConnection? _raw;
    private SqliteCommand? _select;

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _dir = BenchFiles.NewDirectory("history");
        _project = await BenchFiles.OpenProjectAsync(_dir).ConfigureAwait(false);
        await using (var other = await _project.Runs.StartAsync("other").ConfigureAwait(false))
            await LogAsync(other, ["loss"]).ConfigureAwait(false);
        await using (var run = await _project.Runs.StartAsync("train").ConfigureAwait(false))
        {
            _runId = run.Id;
            await LogAsync(run, ["loss", "acc"]).ConfigureAwait(false);
        }

        _raw = RawSqlite.Open(Path.Combine(_dir, "mlops.db"));
        _select = _raw.CreateCommand();
        _select.CommandText = "SELECT value, step, ts FROM metrics WHERE run_id = $r AND key = $k ORDER BY step, ts, rowid;";
        _select.Parameters.Add(new SqliteParameter("$r", SqliteType.Text) { Value = _runId });
        _select.Parameters.Add(new SqliteParameter("$k", SqliteType.Text) { Value = "loss" });
        _select.Prepare();

        // Both sides must read the same 100k points, or the ratio compares different work.
        var ours = await MLOps_GetMetricHistoryAsync().ConfigureAwait(false);
        var raw = Raw_Select();
        if (ours.Count != Points || !ours.SequenceEqual(raw))
            throw new InvalidOperationException($"The store returned {ours.Count} points and the raw query {raw.Count}, or they differ; expected {Points} equal points.");
    }

    private static async Task LogAsync(RunContext run, string[] keys)
    {
        const int batch = 10_000;
        var points = new List<(string, double, long)>(batch * keys.Length);
        for (var step = 0; step < Points; step++)
        {
            foreach (var key in keys) points.Add((key, Math.Exp(-step / 20_000.0) + (step % 7) * 1e-3, step));
            if (points.Count >= batch * keys.Length)
            {
                await run.LogMetricsAsync(points).ConfigureAwait(false);
                points.Clear();
            }
        }
        if (points.Count > 0) await run.LogMetricsAsync(points).ConfigureAwait(false);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _select?.Dispose();
        _raw?.Dispose();
        _project?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        BenchFiles.Delete(_dir);
    }

    /// <summary>The baseline: a prepared statement on an open connection.</summary>
    [Benchmark(Baseline = true)]
    public List<MetricPoint> Raw_Select()
    {
        using var r = _select!.ExecuteReader();
        var list = new List<MetricPoint>();
        while (r.Read())
            list.Add(new MetricPoint(r.IsDBNull(0) ? double.NaN : r.GetDouble(0), r.GetInt64(1), new DateTimeOffset(r.GetInt64(2), TimeSpan.Zero)));
        return list;
    }

    /// <summary>Ours: the public catalog call.</summary>
    [Benchmark]
    public Task<IReadOnlyList<MetricPoint>> MLOps_GetMetricHistoryAsync() => _project!.Runs.GetMetricHistoryAsync(_runId, "loss");
}
