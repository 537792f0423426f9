using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace MLOps.Benchmarks;

/// <summary>
/// The raw Microsoft.Data.Sqlite side of every comparison: the same tables and indexes as the store (copied from
/// <c>src/MLOps.Core/Storage/Sqlite/SqliteSchema.cs</c>), the same connection settings (WAL, synchronous=NORMAL,
/// busy timeout, no pooling, private cache) and prepared statements.
/// </summary>
internal static partial class RawSqlite
{
    /// <summary>The run tables of schema version 1, copied verbatim from SqliteSchema.cs. <see cref="AssertSameSchema"/>
    /// fails a benchmark when the store's schema has moved on and this copy was not updated.</summary>
    public static readonly IReadOnlyList<(string Name, string Sql)> RunTables =
    [
        ("runs", """
            CREATE TABLE runs(
                id TEXT PRIMARY KEY,
                project TEXT NOT NULL,
                name TEXT NOT NULL,
                state INTEGER NOT NULL,
                parent_id TEXT,
                iteration INTEGER,
                start_time INTEGER NOT NULL,
                end_time INTEGER,
                host TEXT,
                git_commit TEXT,
                git_dirty INTEGER,
                error TEXT,
                error_stack TEXT)
            """),
        ("ix_runs_project_start", "CREATE INDEX ix_runs_project_start ON runs(project, start_time, id)"),
        ("ix_runs_parent", "CREATE INDEX ix_runs_parent ON runs(parent_id, iteration) WHERE parent_id IS NOT NULL"),
        ("run_params", """
            CREATE TABLE run_params(run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, num REAL,
                PRIMARY KEY(run_id, key)) WITHOUT ROWID
            """),
        ("ix_run_params_key", "CREATE INDEX ix_run_params_key ON run_params(key, num)"),
        ("run_labels", """
            CREATE TABLE run_labels(run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                PRIMARY KEY(run_id, key)) WITHOUT ROWID
            """),
        ("run_results", """
            CREATE TABLE run_results(run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL,
                PRIMARY KEY(run_id, key)) WITHOUT ROWID
            """),
        ("ix_run_results_key", "CREATE INDEX ix_run_results_key ON run_results(key, value)"),
        ("metrics", "CREATE TABLE metrics(run_id TEXT NOT NULL, key TEXT NOT NULL, step INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL)"),
        ("ix_metrics_run_key", "CREATE INDEX ix_metrics_run_key ON metrics(run_id, key, step, ts)"),
        ("latest_metrics", """
            CREATE TABLE latest_metrics(run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL, step INTEGER NOT NULL, ts INTEGER NOT NULL,
                PRIMARY KEY(run_id, key)) WITHOUT ROWID
            """),
        ("ix_latest_metrics_key", "CREATE INDEX ix_latest_metrics_key ON latest_metrics(key, value)"),
        ("run_links", """
            CREATE TABLE run_links(run_id TEXT NOT NULL, direction INTEGER NOT NULL, name TEXT NOT NULL, uri TEXT NOT NULL,
                PRIMARY KEY(run_id, direction, name)) WITHOUT ROWID
            """),
    ];

    /// <summary>Opens a connection the way the store does (SqliteMetadataStore.OpenRaw) and turns WAL on.</summary>
    public static SqliteConnection Open(string path)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        c.Open();
        Exec(c, "PRAGMA journal_mode=WAL;");
        Exec(c, "PRAGMA busy_timeout=30000; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;");
        return c;
    }

    /// <summary>Creates a baseline database holding the run tables only (plus one run row), and checks the copied
    /// statements against the schema the store creates.</summary>
    public static async Task<SqliteConnection> CreateBaselineAsync(string path, string runId)
    {
        await AssertSameSchemaAsync().ConfigureAwait(false);
        var c = Open(path);
        using (var tx = c.BeginTransaction(deferred: false))
        {
            foreach (var (_, sql) in RunTables) Exec(c, sql + ";", tx);
            Exec(c, "INSERT INTO runs(id, project, name, state, start_time) VALUES ($id, 'bench', 'raw', 1, $t);", tx, ("$id", runId), ("$t", DateTimeOffset.UtcNow.UtcTicks));
            tx.Commit();
        }
        return c;
    }

    /// <summary>Throws when a copied CREATE statement differs (ignoring white space) from the one the store creates.</summary>
    public static async Task AssertSameSchemaAsync()
    {
        var dir = BenchFiles.NewDirectory("schema");
        try
        {
            var path = Path.Combine(dir, "store.db");
            await using (var store = new MLOps.Storage.Sqlite.SqliteMetadataStore(path))
                await store.InitializeAsync().ConfigureAwait(false);
            using var c = Open(path);
            AssertSameSchema(c);
        }
        finally
        {
            BenchFiles.Delete(dir);
        }
    }

    /// <summary>Throws when a copied CREATE statement differs (ignoring white space) from the one in <paramref name="storeDb"/>.</summary>
    public static void AssertSameSchema(SqliteConnection storeDb)
    {
        foreach (var (name, sql) in RunTables)
        {
            using var cmd = storeDb.CreateCommand();
            cmd.CommandText = "SELECT sql FROM sqlite_master WHERE name = $n;";
            cmd.Parameters.AddWithValue("$n", name);
            var actual = cmd.ExecuteScalar() as string
                ?? throw new InvalidOperationException($"The store's schema has no '{name}'; update RawSqlite.RunTables from SqliteSchema.cs.");
            if (Normalize(actual) != Normalize(sql))
                throw new InvalidOperationException($"The baseline's copy of '{name}' differs from the store's schema; update RawSqlite.RunTables from SqliteSchema.cs.\nstore:    {Normalize(actual)}\nbaseline: {Normalize(sql)}");
        }
    }

    private static string Normalize(string sql) => Spaces().Replace(sql, " ").Replace("( ", "(", StringComparison.Ordinal).Replace(" )", ")", StringComparison.Ordinal).Trim().TrimEnd(';');

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    public static int Exec(SqliteConnection c, string sql, SqliteTransaction? tx = null, params (string Name, object? Value)[] parameters)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (n, v) in parameters) cmd.Parameters.AddWithValue(n, v ?? DBNull.Value);
        return cmd.ExecuteNonQuery();
    }
}

/// <summary>
/// Raw metric writes: a prepared multi-row <c>INSERT INTO metrics</c> of <see cref="RowsPerStatement"/> rows (plus a
/// one-row statement for the tail) and a prepared upsert of <c>latest_metrics</c>.
/// </summary>
internal sealed class RawMetricWriter : IDisposable
{
    private readonly SqliteCommand _many;
    private readonly SqliteCommand _one;
    private readonly SqliteCommand _latest;

    public RawMetricWriter(SqliteConnection c, int rowsPerStatement = 100)
    {
        RowsPerStatement = rowsPerStatement;
        var sb = new StringBuilder("INSERT INTO metrics(run_id, key, step, ts, value) VALUES ");
        for (var i = 0; i < rowsPerStatement; i++)
            sb.Append(i == 0 ? "" : ",").Append(CultureInfo.InvariantCulture, $"($r{i},$k{i},$s{i},$t{i},$v{i})");
        _many = Command(c, sb.Append(';').ToString(), rowsPerStatement);
        _one = Command(c, "INSERT INTO metrics(run_id, key, step, ts, value) VALUES ($r0,$k0,$s0,$t0,$v0);", 1);
        _latest = Command(c, """
            INSERT INTO latest_metrics(run_id, key, value, step, ts) VALUES ($r0, $k0, $v0, $s0, $t0)
            ON CONFLICT(run_id, key) DO UPDATE SET value = excluded.value, step = excluded.step, ts = excluded.ts
            WHERE excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step AND excluded.ts >= latest_metrics.ts);
            """, 1);
    }

    public int RowsPerStatement { get; }

    /// <summary>Inserts the points of one run with one timestamp.</summary>
    public void Insert(SqliteTransaction tx, string runId, ReadOnlySpan<(string Key, double Value, long Step)> points, long ts)
    {
        _many.Transaction = tx;
        _one.Transaction = tx;
        var ps = _many.Parameters;
        var index = 0;
        for (; index + RowsPerStatement <= points.Length; index += RowsPerStatement)
        {
            for (var i = 0; i < RowsPerStatement; i++)
            {
                var (key, value, step) = points[index + i];
                Bind(ps, i * 5, runId, key, step, ts, value);
            }
            _many.ExecuteNonQuery();
        }
        for (; index < points.Length; index++)
        {
            var (key, value, step) = points[index];
            Bind(_one.Parameters, 0, runId, key, step, ts, value);
            _one.ExecuteNonQuery();
        }
    }

    /// <summary>Upserts one latest value.</summary>
    public void UpsertLatest(SqliteTransaction tx, string runId, string key, double value, long step, long ts)
    {
        _latest.Transaction = tx;
        Bind(_latest.Parameters, 0, runId, key, step, ts, value);
        _latest.ExecuteNonQuery();
    }

    public static void Bind(SqliteParameterCollection ps, int at, string runId, string key, long step, long ts, double value)
    {
        ps[at].Value = runId;
        ps[at + 1].Value = key;
        ps[at + 2].Value = step;
        ps[at + 3].Value = ts;
        ps[at + 4].Value = double.IsNaN(value) ? DBNull.Value : value;
    }

    public SqliteCommand Many => _many;

    private static SqliteCommand Command(SqliteConnection c, string sql, int rows)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        for (var i = 0; i < rows; i++)
        {
            cmd.Parameters.Add(new SqliteParameter($"$r{i}", SqliteType.Text));
            cmd.Parameters.Add(new SqliteParameter($"$k{i}", SqliteType.Text));
            cmd.Parameters.Add(new SqliteParameter($"$s{i}", SqliteType.Integer));
            cmd.Parameters.Add(new SqliteParameter($"$t{i}", SqliteType.Integer));
            cmd.Parameters.Add(new SqliteParameter($"$v{i}", SqliteType.Real));
        }
        return cmd;
    }

    public void Dispose()
    {
        _many.Dispose();
        _one.Dispose();
        _latest.Dispose();
    }
}

/// <summary>Scratch folders under the temp directory.</summary>
internal static class BenchFiles
{
    public static string Root => Path.Combine(Path.GetTempPath(), "mlops-bench");

    public static string NewDirectory(string name)
    {
        var dir = Path.Combine(Root, $"{name}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static void Delete(string? dir)
    {
        if (dir is null) return;
        SqliteConnection.ClearAllPools();
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
                return;
            }
            catch (IOException) when (attempt < 4)
            {
                Thread.Sleep(100);
            }
        }
    }

    /// <summary>Opens a project on a fresh folder with git capture off (the benchmarks measure the store, not git).</summary>
    public static Task<MLOpsProject> OpenProjectAsync(string dir, Action<MetricBufferOptions>? metrics = null)
    {
        var builder = MLOpsProject.Configure("bench").UseHome(dir).CaptureGit(false);
        if (metrics is not null) builder.ConfigureMetrics(metrics);
        return builder.OpenAsync();
    }
}
