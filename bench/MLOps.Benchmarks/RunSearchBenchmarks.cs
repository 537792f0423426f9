using System.Diagnostics;
using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;
using MLOps.Storage.Sqlite;

namespace MLOps.Benchmarks;

/// <summary>
/// PERFORMANCE.md "run search": 30k runs x 20 params x 20 metrics; filter on a metric and a parameter, order by a
/// metric, first page of 100: <c>project.Runs.SearchAsync(RunField.Metric("m3") &gt; 0.5 &amp; RunField.Param("p1").Is("v7"),
/// [RunField.Metric("m0").Descending()], pageSize: 100)</c>, the same search written as text, against a hand-written raw
/// SQL query returning the same 100 run ids. Target: &lt;= 200 ms.
/// </summary>
/// <remarks>The store returns whole run records (parameters, labels, results, latest metrics, links); the baseline
/// returns ids only, as the query a developer would write by hand. <see cref="Raw_IdsThenRecords"/> adds the record
/// loading to the raw side to show how the ratio splits between the query and the hydration.</remarks>
public class RunSearchBenchmarks
{
    public const string FilterText = "metrics.m3 > 0.5 and params.p1 = 'v7'";
    public const string OrderText = "metrics.m0 desc";

    private const string RawIdsSql = """
        SELECT r.id
        FROM runs r
        JOIN latest_metrics f ON f.run_id = r.id AND f.key = $fk AND f.value > $fv
        JOIN run_params p ON p.run_id = r.id AND p.key = $pk AND p.value = $pv
        LEFT JOIN latest_metrics o ON o.run_id = r.id AND o.key = $ok
        WHERE r.project = $project
        ORDER BY o.value IS NULL, o.value DESC, r.id
        LIMIT 100;
        """;

    private static readonly RunFilter Filter = RunField.Metric("m3") > 0.5 & RunField.Param("p1").Is("v7");
    private static readonly RunOrder[] Order = [RunField.Metric("m0").Descending()];

    private MLOpsProject? _project;
    private SqliteConnection? _raw;
    private SqliteCommand? _ids;
    private SqliteCommand[] _hydrate = [];

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        var path = await RunSearchData.EnsureAsync(Console.Out).ConfigureAwait(false);
        _project = await MLOpsProject.Configure(RunSearchData.Project).UseSqlite(path).UseArtifactsAt(Path.Combine(BenchFiles.Root, "runsearch-artifacts"))
            .CaptureGit(false).OpenAsync().ConfigureAwait(false);
        _raw = RawSqlite.Open(path);
        RawSqlite.AssertSameSchema(_raw);
        _ids = _raw.CreateCommand();
        _ids.CommandText = RawIdsSql;
        _ids.Parameters.AddWithValue("$fk", "m3");
        _ids.Parameters.AddWithValue("$fv", 0.5);
        _ids.Parameters.AddWithValue("$pk", "p1");
        _ids.Parameters.AddWithValue("$pv", "v7");
        _ids.Parameters.AddWithValue("$ok", "m0");
        _ids.Parameters.AddWithValue("$project", RunSearchData.Project);
        _ids.Prepare();
        _hydrate = CreateHydrateCommands(_raw);

        // The same 100 ids in the same order on every side, or the benchmark would compare different work.
        var raw = Raw_Ids();
        var typed = (await MLOps_SearchAsync_Typed().ConfigureAwait(false)).Runs.Select(r => r.Id).ToList();
        var text = (await MLOps_SearchAsync_Text().ConfigureAwait(false)).Runs.Select(r => r.Id).ToList();
        var hydrated = Raw_IdsThenRecords();
        if (raw.Count != 100)
            throw new InvalidOperationException($"The raw query returned {raw.Count} ids; the seeded data should give a full page of 100.");
        if (!typed.SequenceEqual(raw) || !text.SequenceEqual(raw) || !hydrated.Select(h => h.Id).SequenceEqual(raw))
            throw new InvalidOperationException($"The searches disagree.\nraw:   {string.Join(",", raw.Take(5))}...\ntyped: {string.Join(",", typed.Take(5))}...\ntext:  {string.Join(",", text.Take(5))}...");
        var first = (await MLOps_SearchAsync_Typed().ConfigureAwait(false)).Runs[0];
        if (first.Parameters.Count != RunSearchData.Params || first.Metrics.Count != RunSearchData.Metrics
            || hydrated[0].Params.Count != RunSearchData.Params || hydrated[0].Metrics.Count != RunSearchData.Metrics)
            throw new InvalidOperationException("The run records are not fully loaded.");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ids?.Dispose();
        foreach (var c in _hydrate) c.Dispose();
        _raw?.Dispose();
        _project?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>The baseline: the hand-written query, ids only.</summary>
    [Benchmark(Baseline = true)]
    public List<string> Raw_Ids()
    {
        var ids = new List<string>(100);
        using var r = _ids!.ExecuteReader();
        while (r.Read()) ids.Add(r.GetString(0));
        return ids;
    }

    /// <summary>The hand-written query, then the same record parts the store loads (run columns, params, labels,
    /// results, latest metrics, links) for the 100 ids with prepared IN (...) queries.</summary>
    [Benchmark]
    public List<RawRun> Raw_IdsThenRecords()
    {
        var ids = Raw_Ids();
        var runs = new Dictionary<string, RawRun>(ids.Count, StringComparer.Ordinal);
        foreach (var cmd in _hydrate)
            for (var i = 0; i < 100; i++) cmd.Parameters[i].Value = i < ids.Count ? ids[i] : DBNull.Value;
        using (var r = _hydrate[0].ExecuteReader())
            while (r.Read()) runs[r.GetString(0)] = new RawRun(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetInt64(3), r.IsDBNull(4) ? null : r.GetInt64(4));
        ReadPairs(_hydrate[1], runs, (run, key, r) => run.Params[key] = r.GetString(2));
        ReadPairs(_hydrate[2], runs, (run, key, r) => run.Labels[key] = r.GetString(2));
        ReadPairs(_hydrate[3], runs, (run, key, r) => run.Results[key] = r.IsDBNull(2) ? double.NaN : r.GetDouble(2));
        ReadPairs(_hydrate[4], runs, (run, key, r) => run.Metrics[key] = r.IsDBNull(2) ? double.NaN : r.GetDouble(2));
        ReadPairs(_hydrate[5], runs, (run, key, r) => run.Links.Add(key));
        return ids.Select(id => runs[id]).ToList();
    }

    /// <summary>Ours: the typed filter and order.</summary>
    [Benchmark]
    public Task<RunPage> MLOps_SearchAsync_Typed() => _project!.Runs.SearchAsync(Filter, Order, pageSize: 100);

    /// <summary>Ours: the same search as MLflow-style text (parsing included).</summary>
    [Benchmark]
    public Task<RunPage> MLOps_SearchAsync_Text() => _project!.Runs.SearchAsync(FilterText, OrderText, pageSize: 100);

    private static void ReadPairs(SqliteCommand cmd, Dictionary<string, RawRun> runs, Action<RawRun, string, SqliteDataReader> set)
    {
        using var r = cmd.ExecuteReader();
        while (r.Read()) set(runs[r.GetString(0)], r.GetString(1), r);
    }

    private static SqliteCommand[] CreateHydrateCommands(SqliteConnection c)
    {
        var inList = string.Join(",", Enumerable.Range(0, 100).Select(i => "$i" + i.ToString(CultureInfo.InvariantCulture)));
        string[] sql =
        [
            $"SELECT id, name, state, start_time, end_time FROM runs WHERE id IN ({inList});",
            $"SELECT run_id, key, value FROM run_params WHERE run_id IN ({inList});",
            $"SELECT run_id, key, value FROM run_labels WHERE run_id IN ({inList});",
            $"SELECT run_id, key, value FROM run_results WHERE run_id IN ({inList});",
            $"SELECT run_id, key, value FROM latest_metrics WHERE run_id IN ({inList});",
            $"SELECT run_id, name, uri FROM run_links WHERE run_id IN ({inList});",
        ];
        return sql.Select(s =>
        {
            var cmd = c.CreateCommand();
            cmd.CommandText = s;
            for (var i = 0; i < 100; i++) cmd.Parameters.Add(new SqliteParameter("$i" + i.ToString(CultureInfo.InvariantCulture), SqliteType.Text));
            return cmd;
        }).ToArray();
    }
}

/// <summary>A run as the raw hydration loads it.</summary>
public sealed record RawRun(string Id, string Name, int State, long StartTime, long? EndTime)
{
    public Dictionary<string, string> Params { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, string> Labels { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, double> Results { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, double> Metrics { get; } = new(StringComparer.Ordinal);
    public List<string> Links { get; } = [];
}

/// <summary>
/// The seeded run-search database: 30,000 completed runs of project "bench", each with 20 parameters and one point of
/// each of 20 metrics, written through the public <see cref="IMetadataStore"/> API. Cached under the temp folder
/// (keyed by size, seed version and schema version) so only the first benchmark process pays the seeding.
/// </summary>
internal static class RunSearchData
{
    public const string Project = "bench";
    public const int Runs = 30_000;
    public const int Params = 20;
    public const int Metrics = 20;
    private const int Seed = 42;
    private const string SeedVersion = "v1";

    public static string CachedPath => Path.Combine(BenchFiles.Root,
        $"runsearch-{Runs}x{Params}x{Metrics}-{SeedVersion}-schema{SqliteMetadataStore.SchemaVersion}.db");

    public static async Task<string> EnsureAsync(TextWriter log)
    {
        var path = CachedPath;
        if (File.Exists(path)) return path;
        Directory.CreateDirectory(BenchFiles.Root);
        var tmp = $"{path}.seeding-{Environment.ProcessId}";
        foreach (var f in new[] { tmp, tmp + "-wal", tmp + "-shm" }) File.Delete(f);
        var sw = Stopwatch.StartNew();
        await using (var store = new SqliteMetadataStore(tmp))
        {
            await store.InitializeAsync().ConfigureAwait(false);
            var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
            await store.Projects.GetOrCreateAsync(Project, "run search benchmark", start).ConfigureAwait(false);
            var rnd = new Random(Seed);
            var metrics = new List<MetricEntry>(20_000);
            for (var i = 0; i < Runs; i++)
            {
                var t = start.AddSeconds(i * 10);
                var id = RunId(rnd, t);
                await store.Runs.CreateAsync(new NewRun
                {
                    Id = id,
                    Project = Project,
                    Name = "trial",
                    StartTime = t,
                    Host = "bench",
                    Parameters = Parameters(rnd),
                }).ConfigureAwait(false);
                for (var m = 0; m < Metrics; m++)
                    metrics.Add(new MetricEntry(id, "m" + m.ToString(CultureInfo.InvariantCulture), rnd.NextDouble(), 0, t.AddSeconds(5)));
                if (metrics.Count >= 20_000)
                {
                    await store.Runs.LogMetricsAsync(metrics).ConfigureAwait(false);
                    metrics.Clear();
                }
                await store.Runs.EndAsync(id, RunState.Completed, t.AddSeconds(9), null, null).ConfigureAwait(false);
                if ((i + 1) % 5000 == 0) await log.WriteLineAsync($"// seeding run search data: {i + 1:N0} runs in {sw.Elapsed.TotalSeconds:F0} s").ConfigureAwait(false);
            }
            await store.Runs.LogMetricsAsync(metrics).ConfigureAwait(false);
        }
        SqliteConnection.ClearAllPools();
        File.Move(tmp, path, overwrite: true);
        await log.WriteLineAsync($"// seeded {path} in {sw.Elapsed.TotalSeconds:F0} s").ConfigureAwait(false);
        return path;
    }

    /// <summary>A sortable id as the catalog makes them (version-7 GUID), from the seeded random source so reruns match.</summary>
    private static string RunId(Random rnd, DateTimeOffset t)
    {
        Span<byte> bytes = stackalloc byte[16];
        rnd.NextBytes(bytes);
        var ms = t.ToUnixTimeMilliseconds();
        for (var b = 0; b < 6; b++) bytes[b] = (byte)(ms >> (8 * (5 - b)));
        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F));
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
        return Convert.ToHexStringLower(bytes);
    }

    private static Dictionary<string, string> Parameters(Random rnd)
    {
        var p = new Dictionary<string, string>(Params, StringComparer.Ordinal)
        {
            ["p0"] = rnd.Next(1, 1001).ToString(CultureInfo.InvariantCulture),
            ["p1"] = "v" + rnd.Next(10).ToString(CultureInfo.InvariantCulture),
            ["p2"] = (rnd.Next(1, 1000) / 10_000.0).ToString("R", CultureInfo.InvariantCulture),
        };
        var sb = new StringBuilder();
        for (var j = 3; j < Params; j++)
        {
            sb.Clear();
            p["p" + j.ToString(CultureInfo.InvariantCulture)] = j % 2 == 1
                ? rnd.Next(100).ToString(CultureInfo.InvariantCulture)
                : sb.Append("cat").Append(rnd.Next(5)).ToString();
        }
        return p;
    }
}
