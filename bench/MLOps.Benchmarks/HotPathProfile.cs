using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Microsoft.Data.Sqlite;
using MLOps.Storage.Sqlite;
using SQLitePCL;

namespace MLOps.Benchmarks;

/// <summary>
/// <c>--profile</c>: runs each hot path a few times outside BenchmarkDotNet with SQLite's profile hook on every
/// connection (ours and the baseline's) and prints which statements ran, how often and how long they took inside
/// SQLite, next to the wall-clock time of the call: what SQLite does vs what the .NET side around it costs.
/// </summary>
/// <remarks>The store's connections are private; the profiler reaches them by reflection (diagnostics only).</remarks>
internal static class HotPathProfile
{
    public static async Task RunAsync(TextWriter o)
    {
        await BatchAsync(o).ConfigureAwait(false);
        await StreamAsync(o).ConfigureAwait(false);
        await HistoryAsync(o).ConfigureAwait(false);
        await SearchAsync(o).ConfigureAwait(false);
    }

    private static async Task BatchAsync(TextWriter o)
    {
        await o.WriteLineAsync("## MetricBatch: 1,000 points, 10 keys, one run (means over 200 calls after 50 warm-up calls)").ConfigureAwait(false);
        var dir = BenchFiles.NewDirectory("profile-batch");
        try
        {
            var points = MetricBatchBenchmarks.CreatePoints();
            await using var project = await BenchFiles.OpenProjectAsync(dir).ConfigureAwait(false);
            var run = await project.Runs.StartAsync("batch").ConfigureAwait(false);
            var runId = Guid.CreateVersion7().ToString("N");
            using var raw = await RawSqlite.CreateBaselineAsync(Path.Combine(dir, "raw.db"), runId).ConfigureAwait(false);
            using var writer = new RawMetricWriter(raw);
            var entries = points.Select(p => new MetricEntry(run.Id, p.Key, p.Value, p.Step, DateTimeOffset.UtcNow)).ToArray();
            Task RunLog()
            {
                MetricBatchBenchmarks.Advance(points);
                return run.LogMetricsAsync(points);
            }
            Task StoreLog()
            {
                for (var i = 0; i < entries.Length; i++) entries[i] = entries[i] with { Step = entries[i].Step + MetricBatchBenchmarks.Points / MetricBatchBenchmarks.Keys };
                return project.Store.Runs.LogMetricsAsync(entries);
            }

            void RawInsert()
            {
                MetricBatchBenchmarks.Advance(points);
                using var tx = raw.BeginTransaction(deferred: false);
                writer.Insert(tx, runId, points, DateTimeOffset.UtcNow.UtcTicks);
                tx.Commit();
            }

            for (var i = 0; i < 50; i++)
            {
                RawInsert();
                await RunLog().ConfigureAwait(false);
                await StoreLog().ConfigureAwait(false);
            }
            var rawTrace = new Trace(raw);
            var oursTrace = new Trace(StoreConnections(project.Store));
            const int n = 200;
            var tRaw = await TimeAsync(n, () => { RawInsert(); return Task.CompletedTask; }).ConfigureAwait(false);
            var tRun = await TimeAsync(n, RunLog).ConfigureAwait(false);
            var tStore = await TimeAsync(n, StoreLog).ConfigureAwait(false);
            await o.WriteLineAsync(FormattableString.Invariant($"raw INSERT, 1 tx:                 {tRaw,8:F3} ms/call")).ConfigureAwait(false);
            await o.WriteLineAsync(FormattableString.Invariant($"ours run.LogMetricsAsync:          {tRun,8:F3} ms/call ({tRun / tRaw:F2}x)")).ConfigureAwait(false);
            await o.WriteLineAsync(FormattableString.Invariant($"ours store.Runs.LogMetricsAsync:   {tStore,8:F3} ms/call ({tStore / tRaw:F2}x)")).ConfigureAwait(false);
            await rawTrace.PrintAsync(o, "raw", n).ConfigureAwait(false);
            await oursTrace.PrintAsync(o, "ours (run + store calls)", 2 * n).ConfigureAwait(false);
            await run.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            BenchFiles.Delete(dir);
        }

        // Which statement width is fastest for the raw side (and for the store, which uses 100 rows per statement)?
        await o.WriteLineAsync("  raw rows per prepared INSERT statement (1,000 rows, one transaction):").ConfigureAwait(false);
        foreach (var width in new[] { 1, 10, 20, 50, 100, 200, 500, 1000 })
        {
            var sweepDir = BenchFiles.NewDirectory("profile-width");
            try
            {
                var points = MetricBatchBenchmarks.CreatePoints();
                var runId = Guid.CreateVersion7().ToString("N");
                using var raw = await RawSqlite.CreateBaselineAsync(Path.Combine(sweepDir, "raw.db"), runId).ConfigureAwait(false);
                using var writer = new RawMetricWriter(raw, width);
                var sw = new Stopwatch();
                for (var i = 0; i < 250; i++)
                {
                    MetricBatchBenchmarks.Advance(points);
                    if (i == 50) sw.Start();
                    using var tx = raw.BeginTransaction(deferred: false);
                    writer.Insert(tx, runId, points, DateTimeOffset.UtcNow.UtcTicks);
                    tx.Commit();
                }
                await o.WriteLineAsync(FormattableString.Invariant($"    {width,5} rows/statement: {sw.Elapsed.TotalMilliseconds / 200,8:F3} ms/call")).ConfigureAwait(false);
            }
            finally
            {
                BenchFiles.Delete(sweepDir);
            }
        }
    }

    private static async Task StreamAsync(TextWriter o)
    {
        const int total = 200_000;
        await o.WriteLineAsync(FormattableString.Invariant($"## MetricStream: {total:N0} LogMetric calls (10 keys) + FlushAsync, default buffer")).ConfigureAwait(false);
        var dir = BenchFiles.NewDirectory("profile-stream");
        try
        {
            string[] keys = [.. Enumerable.Range(0, 10).Select(k => $"metric_{k}")];
            await using var project = await BenchFiles.OpenProjectAsync(dir).ConfigureAwait(false);
            var run = await project.Runs.StartAsync("stream").ConfigureAwait(false);
            run.LogMetric("warm", 1);
            await run.FlushAsync().ConfigureAwait(false);
            var trace = new Trace(StoreConnections(project.Store));
            var sw = Stopwatch.StartNew();
            long logging = 0;
            for (var i = 0; i < total; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                run.LogMetric(keys[i % 10], i * 1e-3);
                logging += Stopwatch.GetTimestamp() - t0;
            }
            var beforeFlush = sw.Elapsed.TotalMilliseconds;
            await run.FlushAsync().ConfigureAwait(false);
            var all = sw.Elapsed.TotalMilliseconds;
            await o.WriteLineAsync(FormattableString.Invariant($"total {all:F0} ms; the LogMetric loop {beforeFlush:F0} ms, of which inside LogMetric {Stopwatch.GetElapsedTime(0, logging).TotalMilliseconds:F0} ms (synchronous flushes at MaxBuffered included); final flush {all - beforeFlush:F0} ms")).ConfigureAwait(false);
            await trace.PrintAsync(o, "ours", 1).ConfigureAwait(false);
            await run.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            BenchFiles.Delete(dir);
        }
    }

    private static async Task HistoryAsync(TextWriter o)
    {
        await o.WriteLineAsync("## MetricHistory: one key, 100k points (means over 20 calls)").ConfigureAwait(false);
        var bench = new MetricHistoryBenchmarks();
        bench.Setup();
        try
        {
            var project = (MLOpsProject)typeof(MetricHistoryBenchmarks).GetField("_project", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(bench)!;
            var raw = (SqliteConnection)typeof(MetricHistoryBenchmarks).GetField("_raw", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(bench)!;
            for (var i = 0; i < 3; i++)
            {
                bench.Raw_Select();
                await bench.MLOps_GetMetricHistoryAsync().ConfigureAwait(false);
            }
            var rawTrace = new Trace(raw);
            var oursTrace = new Trace(StoreConnections(project.Store));
            var tRaw = await TimeAsync(20, () => { bench.Raw_Select(); return Task.CompletedTask; }).ConfigureAwait(false);
            var tOurs = await TimeAsync(20, bench.MLOps_GetMetricHistoryAsync).ConfigureAwait(false);
            await o.WriteLineAsync(FormattableString.Invariant($"raw {tRaw:F2} ms/call, ours {tOurs:F2} ms/call ({tOurs / tRaw:F2}x)")).ConfigureAwait(false);
            await rawTrace.PrintAsync(o, "raw", 20).ConfigureAwait(false);
            await oursTrace.PrintAsync(o, "ours", 20).ConfigureAwait(false);
            await PlanAsync(o, raw, "query plan (both)", rawTrace.Slowest).ConfigureAwait(false);

            // What if the connection cached more pages? (The default cache is 2 MB; the table is larger.)
            RawSqlite.Exec(raw, "PRAGMA cache_size=-65536;");
            var tCached = await TimeAsync(20, () => { bench.Raw_Select(); return Task.CompletedTask; }, warmup: 2).ConfigureAwait(false);
            await o.WriteLineAsync(FormattableString.Invariant($"  what-if PRAGMA cache_size=-65536 (64 MB): raw {tCached:F2} ms/call ({tCached / tRaw:F2}x of the current raw)")).ConfigureAwait(false);
            RawSqlite.Exec(raw, "PRAGMA cache_size=-2000;");

            // What if the index also held ts? (rowid ends every index entry, so ORDER BY step, ts, rowid needs no sort.)
            RawSqlite.Exec(raw, "CREATE INDEX ix_metrics_run_key_step_ts ON metrics(run_id, key, step, ts);");
            var tIndexed = await TimeAsync(20, () => { bench.Raw_Select(); return Task.CompletedTask; }, warmup: 2).ConfigureAwait(false);
            await o.WriteLineAsync(FormattableString.Invariant($"  what-if index metrics(run_id, key, step, ts): raw {tIndexed:F2} ms/call ({tIndexed / tRaw:F2}x of the current raw)")).ConfigureAwait(false);
            await PlanAsync(o, raw, "  query plan with it", rawTrace.Slowest).ConfigureAwait(false);

            // What if that index also covered the value? (No table look-ups; equal (step, ts) then order by value before rowid.)
            RawSqlite.Exec(raw, "DROP INDEX ix_metrics_run_key_step_ts; CREATE INDEX ix_metrics_covering ON metrics(run_id, key, step, ts, value);");
            var tCovering = await TimeAsync(20, () => { bench.Raw_Select(); return Task.CompletedTask; }, warmup: 2).ConfigureAwait(false);
            await o.WriteLineAsync(FormattableString.Invariant($"  what-if index metrics(run_id, key, step, ts, value): raw {tCovering:F2} ms/call ({tCovering / tRaw:F2}x of the current raw)")).ConfigureAwait(false);
            await PlanAsync(o, raw, "  query plan with it", rawTrace.Slowest).ConfigureAwait(false);
        }
        finally
        {
            bench.Cleanup();
        }
    }

    private static async Task SearchAsync(TextWriter o)
    {
        await o.WriteLineAsync("## RunSearch: 30k runs x 20 params x 20 metrics, filter m3 > 0.5 and p1 = 'v7', order m0 desc, page 100 (means over 5 calls)").ConfigureAwait(false);
        var bench = new RunSearchBenchmarks();
        bench.Setup();
        try
        {
            var project = (MLOpsProject)typeof(RunSearchBenchmarks).GetField("_project", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(bench)!;
            var raw = (SqliteConnection)typeof(RunSearchBenchmarks).GetField("_raw", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(bench)!;
            for (var i = 0; i < 2; i++)
            {
                bench.Raw_IdsThenRecords();
                await bench.MLOps_SearchAsync_Typed().ConfigureAwait(false);
            }
            var rawTrace = new Trace(raw);
            var oursTrace = new Trace(StoreConnections(project.Store));
            const int n = 5;
            var tRaw = await TimeAsync(n, () => { bench.Raw_Ids(); return Task.CompletedTask; }).ConfigureAwait(false);
            var tHydrate = await TimeAsync(n, () => { bench.Raw_IdsThenRecords(); return Task.CompletedTask; }).ConfigureAwait(false);
            var tOurs = await TimeAsync(n, bench.MLOps_SearchAsync_Typed).ConfigureAwait(false);
            await o.WriteLineAsync(FormattableString.Invariant($"raw ids {tRaw:F1} ms, raw ids + records {tHydrate:F1} ms, ours {tOurs:F1} ms/call")).ConfigureAwait(false);
            await rawTrace.PrintAsync(o, "raw (ids, then ids + records)", 2 * n).ConfigureAwait(false);
            await oursTrace.PrintAsync(o, "ours", n).ConfigureAwait(false);
            await PlanAsync(o, raw, "query plan, raw", rawTrace.Slowest).ConfigureAwait(false);
            await PlanAsync(o, raw, "query plan, ours", oursTrace.Slowest).ConfigureAwait(false);

            // What if the store had run ANALYZE (e.g. PRAGMA optimize on close)? Measured on a copy of the cached database.
            var dir = BenchFiles.NewDirectory("profile-analyze");
            try
            {
                var copy = Path.Combine(dir, "analyzed.db");
                File.Copy(RunSearchData.CachedPath, copy);
                using (var c = RawSqlite.Open(copy)) RawSqlite.Exec(c, "ANALYZE;");
                SqliteConnection.ClearAllPools();
                await using var analyzed = await MLOpsProject.Configure(RunSearchData.Project).UseSqlite(copy).UseArtifactsAt(Path.Combine(dir, "artifacts"))
                    .CaptureGit(false).OpenAsync().ConfigureAwait(false);
                Task Search() => analyzed.Runs.SearchAsync(RunField.Metric("m3") > 0.5 & RunField.Param("p1").Is("v7"), [RunField.Metric("m0").Descending()], pageSize: 100);
                var tAnalyzed = await TimeAsync(n, Search, warmup: 2).ConfigureAwait(false);
                await o.WriteLineAsync(FormattableString.Invariant($"  what-if ANALYZE: ours {tAnalyzed:F1} ms/call (was {tOurs:F1})")).ConfigureAwait(false);
            }
            finally
            {
                BenchFiles.Delete(dir);
            }
        }
        finally
        {
            bench.Cleanup();
        }
    }

    /// <summary>EXPLAIN QUERY PLAN of a statement as the profile hook reports it (parameters unbound: the plan does not
    /// depend on their values without sqlite_stat4).</summary>
    private static async Task PlanAsync(TextWriter o, SqliteConnection c, string title, string? sql)
    {
        if (sql is null) return;
        await o.WriteLineAsync($"{title}:\n    {sql.ReplaceLineEndings(" ")}").ConfigureAwait(false);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "EXPLAIN QUERY PLAN " + sql;
        using var r = cmd.ExecuteReader();
        while (r.Read()) await o.WriteLineAsync("    - " + r.GetString(3)).ConfigureAwait(false);
    }

    /// <summary>Mean milliseconds of <paramref name="n"/> calls, after <paramref name="warmup"/> untimed ones.</summary>
    private static async Task<double> TimeAsync(int n, Func<Task> action, int warmup = 0)
    {
        for (var i = 0; i < warmup; i++) await action().ConfigureAwait(false);
        GC.Collect();
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < n; i++) await action().ConfigureAwait(false);
        return sw.Elapsed.TotalMilliseconds / n;
    }

    private static SqliteConnection[] StoreConnections(IMetadataStore store)
    {
        var s = (SqliteMetadataStore)store;
        var writer = (SqliteConnection?)typeof(SqliteMetadataStore).GetField("_writer", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(s);
        var readers = (ConcurrentBag<SqliteConnection>?)typeof(SqliteMetadataStore).GetField("_readers", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(s);
        SqliteConnection[] all = [.. new[] { writer }.Concat(readers ?? []).OfType<SqliteConnection>()];
        if (all.Length == 0)
            throw new InvalidOperationException("The profiler found none of SqliteMetadataStore's connections (fields _writer and _readers); update HotPathProfile.StoreConnections.");
        return all;
    }

    /// <summary>Collects every statement SQLite completes on some connections, with its time inside SQLite.</summary>
    private sealed class Trace
    {
        private readonly ConcurrentDictionary<string, (int Count, long Ns)> _stats = new(StringComparer.Ordinal);
        private long _slowestNs;

        public Trace(params SqliteConnection[] connections)
        {
            foreach (var c in connections) raw.sqlite3_profile(c.Handle, OnProfile, this);
        }

        public string? Slowest { get; private set; }

        private static void OnProfile(object user, utf8z statement, long ns)
        {
            var self = (Trace)user;
            var sql = statement.utf8_to_string();
            var key = Shorten(sql);
            self._stats.AddOrUpdate(key, (1, ns), (_, v) => (v.Count + 1, v.Ns + ns));
            if (ns > self._slowestNs && sql.TrimStart().StartsWith("SELECT", StringComparison.OrdinalIgnoreCase))
            {
                self._slowestNs = ns;
                self.Slowest = sql;
            }
        }

        private static string Shorten(string sql)
        {
            var s = string.Join(' ', sql.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
            return s.Length <= 110 ? s : s[..107] + "...";
        }

        public async Task PrintAsync(TextWriter o, string title, int calls)
        {
            var total = _stats.Values.Sum(v => v.Ns) / 1e6 / calls;
            var count = _stats.Values.Sum(v => v.Count) / (double)calls;
            await o.WriteLineAsync(FormattableString.Invariant($"  {title}: {count:F1} statements and {total:F3} ms in SQLite statements per call (millisecond clock, averaged; a SELECT counts from its first step to its reset, so it includes reading the rows in .NET)")).ConfigureAwait(false);
            foreach (var (sql, (n, ns)) in _stats.OrderByDescending(kv => kv.Value.Ns))
                await o.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"    {n / (double)calls,8:F1} x {ns / 1e6 / calls,9:F3} ms  {sql}")).ConfigureAwait(false);
        }
    }
}
