using System.Globalization;
using Microsoft.Data.Sqlite;
using SQLitePCL;

using static MLOps.Storage.Sqlite.SqliteCommands;

namespace MLOps.Storage.Sqlite;

public sealed partial class SqliteMetadataStore
{
    private static readonly string[] RunChildTables = ["run_params", "run_labels", "run_results", "metrics", "latest_metrics", "run_links", "run_logs"];
    private MetricStatements? _metricStatements;

    private sealed class RunPart(SqliteMetadataStore store) : IRunRecords
    {
        private const string RunColumns = "id, project, name, state, parent_id, iteration, start_time, end_time, host, git_commit, git_dirty, error, error_stack";

        public async Task<RunRecord> CreateAsync(NewRun run, CancellationToken cancellationToken = default)
        {
            await store.WriteAsync((c, tx) =>
            {
                if (run.ParentId is not null && Scalar(c, tx, "SELECT 1 FROM runs WHERE id = $id;", ("$id", run.ParentId)) is null)
                    throw new NotFoundException("run", run.ParentId, $"Parent run '{run.ParentId}' does not exist. Pass the id of an existing run as the parent.");
                Exec(c, tx, $"INSERT INTO runs({RunColumns}) VALUES ($id, $p, $n, $s, $parent, $it, $st, NULL, $h, $gc, $gd, NULL, NULL);",
                    ("$id", run.Id), ("$p", run.Project), ("$n", run.Name), ("$s", (int)RunState.Running), ("$parent", run.ParentId),
                    ("$it", run.Iteration), ("$st", run.StartTime.UtcTicks), ("$h", run.Host), ("$gc", run.GitCommit),
                    ("$gd", run.GitDirty is null ? null : run.GitDirty.Value ? 1 : 0));
                foreach (var (k, v) in run.Labels)
                    Exec(c, tx, "INSERT INTO run_labels(run_id, key, value) VALUES ($r, $k, $v);", ("$r", run.Id), ("$k", k), ("$v", v));
                InsertParameters(c, tx, run.Id, run.Parameters);
            }, cancellationToken).ConfigureAwait(false);
            return (await GetAsync(run.Id, cancellationToken).ConfigureAwait(false))!;
        }

        public Task<RunRecord?> GetAsync(string runId, CancellationToken cancellationToken = default)
            => Task.FromResult(store.Read(c => LoadRuns(c, $"SELECT {RunColumns} FROM runs WHERE id = $id;", [("$id", runId)]).FirstOrDefault()));

        public Task EndAsync(string runId, RunState state, DateTimeOffset endTime, string? error, string? errorStack, CancellationToken cancellationToken = default)
        {
            if (state is not (RunState.Completed or RunState.Failed or RunState.Aborted))
                throw new ValidationException($"A run can only end as completed, failed or aborted, not '{state}'.");
            return store.WriteAsync((c, tx) =>
            {
                var updated = Exec(c, tx, "UPDATE runs SET state = $s, end_time = $t, error = $e, error_stack = $st WHERE id = $id AND state IN (0, 1);",
                    ("$s", (int)state), ("$t", endTime.UtcTicks), ("$e", error), ("$st", errorStack), ("$id", runId));
                if (updated == 0)
                {
                    var current = Scalar(c, tx, "SELECT state FROM runs WHERE id = $id;", ("$id", runId));
                    if (current is null) throw RunNotFound(runId);
                    throw new InvalidStateException($"Run '{runId}' has already ended as {(RunState)Convert.ToInt32(current, CultureInfo.InvariantCulture)}; it cannot end again as {state}.");
                }
            }, cancellationToken);
        }

        public Task SetLabelsAsync(string runId, IReadOnlyDictionary<string, string?> labels, CancellationToken cancellationToken = default)
            => store.WriteAsync((c, tx) =>
            {
                EnsureRun(c, tx, runId);
                foreach (var (k, v) in labels)
                {
                    if (v is null) Exec(c, tx, "DELETE FROM run_labels WHERE run_id = $r AND key = $k;", ("$r", runId), ("$k", k));
                    else Exec(c, tx, "INSERT INTO run_labels(run_id, key, value) VALUES ($r, $k, $v) ON CONFLICT(run_id, key) DO UPDATE SET value = excluded.value;", ("$r", runId), ("$k", k), ("$v", v));
                }
            }, cancellationToken);

        public Task LogParametersAsync(string runId, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken = default)
            => store.WriteAsync((c, tx) =>
            {
                EnsureRun(c, tx, runId);
                InsertParameters(c, tx, runId, parameters);
            }, cancellationToken);

        private static void InsertParameters(SqliteConnection c, SqliteTransaction tx, string runId, IReadOnlyDictionary<string, string> parameters)
        {
            foreach (var (k, v) in parameters)
            {
                var existing = (string?)Scalar(c, tx, "SELECT value FROM run_params WHERE run_id = $r AND key = $k;", ("$r", runId), ("$k", k));
                if (existing is not null)
                {
                    if (existing != v) throw new ParameterConflictException(runId, k, existing, v);
                    continue;
                }
                Exec(c, tx, "INSERT INTO run_params(run_id, key, value, num) VALUES ($r, $k, $v, $n);",
                    ("$r", runId), ("$k", k), ("$v", v), ("$n", ParseNumber(v)));
            }
        }

        internal static double? ParseNumber(string v)
            => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d : null;

        public Task LogResultsAsync(string runId, IReadOnlyDictionary<string, double> results, CancellationToken cancellationToken = default)
            => store.WriteAsync((c, tx) =>
            {
                EnsureRun(c, tx, runId);
                foreach (var (k, v) in results)
                    Exec(c, tx, "INSERT INTO run_results(run_id, key, value) VALUES ($r, $k, $v) ON CONFLICT(run_id, key) DO UPDATE SET value = excluded.value;",
                        ("$r", runId), ("$k", k), ("$v", double.IsNaN(v) ? null : v));
            }, cancellationToken);

        public Task LogMetricsAsync(IReadOnlyList<MetricEntry> points, CancellationToken cancellationToken = default)
        {
            if (points.Count == 0) return Task.CompletedTask;
            return store.WriteAsync((c, tx) => store.InsertMetrics(c, tx, points), cancellationToken);
        }

        public Task<IReadOnlyList<MetricPoint>> GetMetricHistoryAsync(string runId, string key, CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlyList<MetricPoint>>(store.Read(c => ReadHistory(c, runId, key)));

        /// <summary>Reads a metric's history straight from SQLitePCL (no per-value boxing); the index
        /// <c>(run_id, key, step, ts)</c> returns the rows already in order.</summary>
        private static List<MetricPoint> ReadHistory(SqliteConnection c, string runId, string key)
        {
            var db = c.Handle!;
            var rc = raw.sqlite3_prepare_v2(db, "SELECT value, step, ts FROM metrics WHERE run_id = ?1 AND key = ?2 ORDER BY step, ts, rowid;", out var stmt);
            if (rc != raw.SQLITE_OK) throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc);
            using (stmt)
            {
                raw.sqlite3_bind_text(stmt, 1, runId);
                raw.sqlite3_bind_text(stmt, 2, key);
                var list = new List<MetricPoint>();
                while ((rc = raw.sqlite3_step(stmt)) == raw.SQLITE_ROW)
                {
                    var value = raw.sqlite3_column_type(stmt, 0) == raw.SQLITE_NULL ? double.NaN : raw.sqlite3_column_double(stmt, 0);
                    list.Add(new MetricPoint(value, raw.sqlite3_column_int64(stmt, 1), new DateTimeOffset(raw.sqlite3_column_int64(stmt, 2), TimeSpan.Zero)));
                }
                if (rc != raw.SQLITE_DONE) throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc);
                return list;
            }
        }

        public Task AddLinksAsync(string runId, IReadOnlyList<RunLink> links, CancellationToken cancellationToken = default)
            => store.WriteAsync((c, tx) =>
            {
                EnsureRun(c, tx, runId);
                foreach (var l in links)
                    Exec(c, tx, "INSERT INTO run_links(run_id, direction, name, uri) VALUES ($r, $d, $n, $u) ON CONFLICT(run_id, direction, name) DO UPDATE SET uri = excluded.uri;",
                        ("$r", runId), ("$d", (int)l.Direction), ("$n", l.Name), ("$u", l.Uri));
            }, cancellationToken);

        public Task AppendLogsAsync(IReadOnlyList<RunLogEntry> entries, CancellationToken cancellationToken = default)
        {
            if (entries.Count == 0) return Task.CompletedTask;
            return store.WriteAsync((c, tx) =>
            {
                using var cmd = Command(c, tx, "INSERT INTO run_logs(run_id, ts, level, category, message) VALUES ($r, $t, $l, $c, $m);",
                    ("$r", ""), ("$t", 0L), ("$l", ""), ("$c", ""), ("$m", ""));
                cmd.Prepare();
                foreach (var e in entries)
                {
                    cmd.Parameters[0].Value = e.RunId;
                    cmd.Parameters[1].Value = e.Timestamp.UtcTicks;
                    cmd.Parameters[2].Value = e.Level;
                    cmd.Parameters[3].Value = e.Category;
                    cmd.Parameters[4].Value = e.Message;
                    cmd.ExecuteNonQuery();
                }
            }, cancellationToken);
        }

        public Task<IReadOnlyList<RunLogEntry>> GetLogsAsync(string runId, CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlyList<RunLogEntry>>(store.Read(c => Query(c, null,
                "SELECT run_id, ts, level, category, message FROM run_logs WHERE run_id = $r ORDER BY rowid;",
                r => new RunLogEntry(r.GetString(0), Time(r.GetInt64(1)), r.GetString(2), r.GetString(3), r.GetString(4)), ("$r", runId))));

        public Task<bool> DeleteAsync(string runId, CancellationToken cancellationToken = default)
            => store.WriteAsync((c, tx) =>
            {
                foreach (var table in RunChildTables)
                    Exec(c, tx, $"DELETE FROM {table} WHERE run_id = $r;", ("$r", runId));
                return Exec(c, tx, "DELETE FROM runs WHERE id = $r;", ("$r", runId)) > 0;
            }, cancellationToken);

        /// <summary>
        /// One page of a search, by keyset (seek) paging: a page token holds the sort-key values of the previous page's last
        /// run, and the next page starts strictly after it, so runs created or deleted between pages never shift a page.
        /// The token also holds the search's horizon, the greatest run rowid when the first page was read: later pages leave
        /// out runs created after it, so the pages together are the runs that matched when the search started (runs whose
        /// sort values change while paging move with them).
        /// </summary>
        public Task<RunPage> SearchAsync(RunQuery query, CancellationToken cancellationToken = default)
        {
            Throw.IfNull(query);
            if (query.PageSize is < 1 or > 10_000)
                throw new ValidationException($"RunQuery.PageSize is {query.PageSize}; use a value from 1 to 10000.");
            var sql = new RunSearchSql(query.Project);
            var where = query.Filter is null ? "1" : sql.Filter(query.Filter);
            var keys = sql.Order(query.OrderBy);
            var fingerprint = RunPageToken.Fingerprint(query);
            var seek = "1";
            var token = query.PageToken is null ? null : RunPageToken.Decode(query.PageToken, fingerprint, keys.Count);
            if (token is not null)
            {
                sql.Add(token.Horizon, out var horizon);
                seek = $"r.rowid <= {horizon} AND ({sql.After(keys, token.Cursor)})";
            }
            sql.Add(query.PageSize + 1, out var limit);
            var columns = string.Join(", ", RunColumns.Split(", ").Select(col => "r." + col).Concat(keys.Select(k => k.Expression)));
            var text = $"SELECT {columns}, (SELECT MAX(rowid) FROM runs) FROM runs r {sql.Joins} WHERE r.project = $project AND ({where}) AND ({seek}) ORDER BY {RunSearchSql.OrderBy(keys)} LIMIT {limit};";
            var cursors = new List<object?[]>();
            var runs = store.Read(c => LoadRuns(c, text, sql.Parameters, cursors, keys.Count + 1));
            string? next = null;
            if (runs.Count > query.PageSize)
            {
                runs.RemoveAt(runs.Count - 1);
                var last = cursors[query.PageSize - 1];
                var horizon = token?.Horizon ?? (long)last[^1]!;
                next = new RunPageToken(horizon, last[..^1]).Encode(fingerprint);
            }
            return Task.FromResult(new RunPage(runs, next));
        }

        private static void EnsureRun(SqliteConnection c, SqliteTransaction tx, string runId)
        {
            if (Scalar(c, tx, "SELECT 1 FROM runs WHERE id = $id;", ("$id", runId)) is null) throw RunNotFound(runId);
        }

        internal static NotFoundException RunNotFound(string runId)
            => new("run", runId, $"Run '{runId}' does not exist. Check the id (runs are listed with project.Runs.SearchAsync()).");

        /// <summary>Loads runs with their details; with <paramref name="extras"/>, also the <paramref name="extraCount"/>
        /// columns after the run columns of each row (the sort keys of a search).</summary>
        private static List<RunRecord> LoadRuns(SqliteConnection c, string sql, IReadOnlyList<(string, object?)> parameters, List<object?[]>? extras = null, int extraCount = 0)
        {
            var columnCount = RunColumns.Split(", ").Length;
            var runs = Query(c, null, sql, r =>
            {
                if (extras is not null)
                {
                    var values = new object?[extraCount];
                    for (var i = 0; i < extraCount; i++) values[i] = r.IsDBNull(columnCount + i) ? null : r.GetValue(columnCount + i);
                    extras.Add(values);
                }
                return ReadRun(r);
            }, [.. parameters]);
            if (runs.Count == 0) return runs;
            var ids = ToJson(runs.Select(r => r.Id));
            const string inIds = "run_id IN (SELECT value FROM json_each($ids))";
            var labels = Group(Query(c, null, $"SELECT run_id, key, value FROM run_labels WHERE {inIds};", r => (r.GetString(0), r.GetString(1), r.GetString(2)), ("$ids", ids)));
            var prms = Group(Query(c, null, $"SELECT run_id, key, value FROM run_params WHERE {inIds};", r => (r.GetString(0), r.GetString(1), r.GetString(2)), ("$ids", ids)));
            var results = Group(Query(c, null, $"SELECT run_id, key, value FROM run_results WHERE {inIds};", r => (r.GetString(0), r.GetString(1), r.IsDBNull(2) ? double.NaN : r.GetDouble(2)), ("$ids", ids)));
            var metrics = Group(Query(c, null, $"SELECT run_id, key, value FROM latest_metrics WHERE {inIds};", r => (r.GetString(0), r.GetString(1), r.IsDBNull(2) ? double.NaN : r.GetDouble(2)), ("$ids", ids)));
            var links = Query(c, null, $"SELECT run_id, direction, name, uri FROM run_links WHERE {inIds} ORDER BY direction, name;",
                r => (Run: r.GetString(0), Link: new RunLink((RunLinkDirection)r.GetInt32(1), r.GetString(2), r.GetString(3))), ("$ids", ids))
                .GroupBy(x => x.Run).ToDictionary(g => g.Key, g => (IReadOnlyList<RunLink>)g.Select(x => x.Link).ToList());
            for (var i = 0; i < runs.Count; i++)
            {
                var id = runs[i].Id;
                runs[i] = runs[i] with
                {
                    Labels = labels.GetValueOrDefault(id) ?? new Dictionary<string, string>(),
                    Parameters = prms.GetValueOrDefault(id) ?? new Dictionary<string, string>(),
                    Results = results.GetValueOrDefault(id) ?? new Dictionary<string, double>(),
                    Metrics = metrics.GetValueOrDefault(id) ?? new Dictionary<string, double>(),
                    Links = links.GetValueOrDefault(id) ?? [],
                };
            }
            return runs;
        }

        private static RunRecord ReadRun(SqliteDataReader r) => new()
        {
            Id = r.GetString(0),
            Project = r.GetString(1),
            Name = r.GetString(2),
            State = (RunState)r.GetInt32(3),
            ParentId = Str(r, 4),
            Iteration = r.IsDBNull(5) ? null : r.GetInt32(5),
            StartTime = Time(r.GetInt64(6)),
            EndTime = Time(r, 7),
            Host = Str(r, 8),
            GitCommit = Str(r, 9),
            GitDirty = r.IsDBNull(10) ? null : r.GetInt64(10) != 0,
            Error = Str(r, 11),
            ErrorStack = Str(r, 12),
        };

        private static Dictionary<string, Dictionary<string, T>> Group<T>(List<(string Run, string Key, T Value)> rows)
        {
            var d = new Dictionary<string, Dictionary<string, T>>();
            foreach (var (run, key, value) in rows)
            {
                if (!d.TryGetValue(run, out var inner)) d[run] = inner = new Dictionary<string, T>();
                inner[key] = value;
            }
            return d;
        }
    }

    /// <summary>
    /// Inserts metric points and updates the latest values, inside the caller's transaction. This is the hottest write
    /// path, so it binds through SQLitePCL directly on statements prepared once per writer connection: binding
    /// through <c>SqliteParameter</c> boxes every value and dominated the cost (see bench/README.md).
    /// </summary>
    private void InsertMetrics(SqliteConnection c, SqliteTransaction tx, IReadOnlyList<MetricEntry> points)
    {
        // Check the runs exist (one lookup per distinct run of the batch).
        string? previous = null;
        HashSet<string>? seen = null;
        foreach (var p in points)
        {
            if (p.RunId == previous) continue;
            previous = p.RunId;
            seen ??= new HashSet<string>(StringComparer.Ordinal);
            if (seen.Add(p.RunId) && Scalar(c, tx, "SELECT 1 FROM runs WHERE id = $id;", ("$id", p.RunId)) is null)
                throw RunPart.RunNotFound(p.RunId);
        }

        var statements = _metricStatements;
        if (statements is null || statements.Connection != c)
        {
            statements?.Dispose();
            _metricStatements = statements = new MetricStatements(c);
        }
        foreach (var p in points) statements.Insert(p);

        // The latest point per (run, key): the greatest step, then timestamp, then the last logged.
        var latest = new Dictionary<(string, string), MetricEntry>();
        foreach (var p in points)
        {
            if (!latest.TryGetValue((p.RunId, p.Key), out var cur) || p.Step > cur.Step || (p.Step == cur.Step && p.Timestamp >= cur.Timestamp))
                latest[(p.RunId, p.Key)] = p;
        }
        foreach (var p in latest.Values) statements.UpsertLatest(p);
    }

    /// <summary>The metric statements of one writer connection, prepared once and reset after each row.</summary>
    private sealed class MetricStatements : IDisposable
    {
        private readonly sqlite3 _db;
        private readonly sqlite3_stmt _insert;
        private readonly sqlite3_stmt _upsert;

        public MetricStatements(SqliteConnection connection)
        {
            Connection = connection;
            _db = connection.Handle!;
            _insert = Prepare("INSERT INTO metrics(run_id, key, step, ts, value) VALUES (?1, ?2, ?3, ?4, ?5);");
            _upsert = Prepare("""
                INSERT INTO latest_metrics(run_id, key, step, ts, value) VALUES (?1, ?2, ?3, ?4, ?5)
                ON CONFLICT(run_id, key) DO UPDATE SET value = excluded.value, step = excluded.step, ts = excluded.ts
                WHERE excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step AND excluded.ts >= latest_metrics.ts);
                """);
        }

        public SqliteConnection Connection { get; }

        public void Insert(in MetricEntry p) => Execute(_insert, p);

        public void UpsertLatest(in MetricEntry p) => Execute(_upsert, p);

        private sqlite3_stmt Prepare(string sql)
        {
            var rc = raw.sqlite3_prepare_v2(_db, sql, out var stmt);
            if (rc != raw.SQLITE_OK) throw new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), rc);
            return stmt;
        }

        private void Execute(sqlite3_stmt stmt, in MetricEntry p)
        {
            raw.sqlite3_bind_text(stmt, 1, p.RunId);
            raw.sqlite3_bind_text(stmt, 2, p.Key);
            raw.sqlite3_bind_int64(stmt, 3, p.Step);
            raw.sqlite3_bind_int64(stmt, 4, p.Timestamp.UtcTicks);
            if (double.IsNaN(p.Value)) raw.sqlite3_bind_null(stmt, 5);
            else raw.sqlite3_bind_double(stmt, 5, p.Value);
            var rc = raw.sqlite3_step(stmt);
            raw.sqlite3_reset(stmt);
            if (rc != raw.SQLITE_DONE) throw new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), rc);
        }

        public void Dispose()
        {
            _insert.Dispose();
            _upsert.Dispose();
        }
    }
}
