using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace MLOps.Benchmarks;

/// <summary>
/// The raw Microsoft.Data.Sqlite side of every comparison: the same tables and indexes as the store (read from a
/// database the store created), the same connection settings (WAL, synchronous=NORMAL,
/// busy timeout, no pooling, private cache) and prepared statements.
/// </summary>
internal static partial class RawSqlite
{
    private static readonly string[] RunTableNames =
    [
        "runs", "ix_runs_project_start", "ix_runs_parent", "run_params", "ix_run_params_key", "run_labels", "run_results",
        "ix_run_results_key", "metrics", "ix_metrics_run_key", "latest_metrics", "ix_latest_metrics_key", "run_links",
    ];

    private static readonly Lazy<List<(string Name, string Sql)>> LazyRunTables = new(ReadStoreSchema);

    /// <summary>The <c>CREATE TABLE/INDEX</c> statements of the run tables exactly as the store creates them (read from a
    /// database the store initialised), so the baseline always runs on the store's current schema.</summary>
    public static IReadOnlyList<(string Name, string Sql)> RunTables => LazyRunTables.Value;

    private static List<(string Name, string Sql)> ReadStoreSchema()
    {
        var dir = BenchFiles.NewDirectory("schema");
        try
        {
            var path = Path.Combine(dir, "store.db");
            var store = new MLOps.Storage.Sqlite.SqliteMetadataStore(path);
            store.InitializeAsync().GetAwaiter().GetResult();
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
            using var c = Open(path);
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name IN ({string.Join(", ", RunTableNames.Select(n => "'" + n + "'"))}) ORDER BY rowid;";
            using var r = cmd.ExecuteReader();
            var list = new List<(string Name, string Sql)>();
            while (r.Read()) list.Add((r.GetString(0), r.GetString(1)));
            if (list.Count != RunTableNames.Length)
                throw new InvalidOperationException($"The store's schema lacks some of the run tables the baselines use: {string.Join(", ", RunTableNames.Except(list.Select(x => x.Name)))}.");
            return list;
        }
        finally
        {
            BenchFiles.Delete(dir);
        }
    }

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

    /// <summary>Creates a baseline database holding the run tables only (plus one run row).</summary>
    public static Task<SqliteConnection> CreateBaselineAsync(string path, string runId)
    {
        var c = Open(path);
        using (var tx = c.BeginTransaction(deferred: false))
        {
            foreach (var (_, sql) in RunTables) Exec(c, sql + ";", tx);
            Exec(c, "INSERT INTO runs(id, project, name, state, start_time) VALUES ($id, 'bench', 'raw', 1, $t);", tx, ("$id", runId), ("$t", DateTimeOffset.UtcNow.UtcTicks));
            tx.Commit();
        }
        return Task.FromResult(c);
    }

    /// <summary>Throws when a database (such as the cached run-search database) was created with another schema than the
    /// store's current one.</summary>
    public static void AssertSameSchema(SqliteConnection storeDb)
    {
        foreach (var (name, sql) in RunTables)
        {
            using var cmd = storeDb.CreateCommand();
            cmd.CommandText = "SELECT sql FROM sqlite_master WHERE name = $n;";
            cmd.Parameters.AddWithValue("$n", name);
            var actual = cmd.ExecuteScalar() as string
                ?? throw new InvalidOperationException($"The database has no '{name}'; delete it so it is created again.");
            if (Normalize(actual) != Normalize(sql))
                throw new InvalidOperationException($"'{name}' in the database differs from the store's current schema; delete the database so it is created again.\ndatabase: {Normalize(actual)}\nstore:    {Normalize(sql)}");
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
