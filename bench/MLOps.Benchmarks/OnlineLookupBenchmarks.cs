using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Types;
using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;
using MLOps.FeatureStore;
using MLOps.FeatureStore.Online;

namespace MLOps.Benchmarks;

/// <summary>
/// PERFORMANCE.md "online feature lookup" and "batched online lookup": 10,000 entities x 50 double features in the
/// SQLite online store; read 1 entity (and 100 entities, one point read each) through
/// <see cref="IOnlineReader.TryRead"/> into a reused <c>FeatureValue[50]</c>, against a raw Microsoft.Data.Sqlite
/// <c>SqliteCommand</c> prepared once with a reused parameter, reading the same row's 50 columns into a <c>double[]</c>;
/// and all of them in one <see cref="IOnlineReader.TryReadMany"/> call.
/// Targets: &lt;= 1.5x the baseline; 1 entity p99 &lt;= 50 us; 100 entities &lt;= 1 ms.
/// </summary>
/// <remarks>Both sides read the store's own table in the same file, on their own connection opened with the store's
/// settings. BenchmarkDotNet reports means of iterations, not per-call percentiles, so the setup also times
/// 20,000 calls of each side (1,000 with 100 entities) with <see cref="Stopwatch"/> and prints p50/p99/p99.9 (look for "percentiles" in
/// the log).</remarks>
public class OnlineLookupBenchmarks
{
    public const int Entities = 10_000;
    public const int Features = 50;

    private static readonly OnlineTable Table = new("bench", "lookup", [new FeatureColumn("id", FeatureType.String)], "ts",
        Enumerable.Range(0, Features).Select(i => new FeatureColumn($"f{i}", FeatureType.Double)).ToArray());

    private string? _dir;
    private SqliteOnlineStore? _store;
    private IOnlineReader? _reader;
    private SqliteConnection? _raw;
    private SqliteCommand? _select;
    private SqliteParameter? _key;
    private readonly FeatureValue[] _values = new FeatureValue[Features];
    private readonly double[] _doubles = new double[Features];
    private string[] _keys = [];
    private readonly FeatureValue[] _batchValues = new FeatureValue[100 * Features];
    private readonly long[] _batchTimes = new long[100];
    private readonly bool[] _batchFound = new bool[100];
    private static readonly HashSet<int> Printed = [];

    /// <summary>How many entities one operation reads (one point read each).</summary>
    [Params(1, 100)]
    public int Lookups { get; set; }

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _dir = BenchFiles.NewDirectory("online");
        var path = Path.Combine(_dir, "online.db");
        _store = new SqliteOnlineStore(path);
        await _store.PrepareAsync(Table).ConfigureAwait(false);
        const int batchSize = 2_000;
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (var start = 0; start < Entities; start += batchSize)
        {
            var ids = new StringArray.Builder();
            var ts = new TimestampArray.Builder(TimeUnit.Microsecond, "UTC");
            var columns = Enumerable.Range(0, Features).Select(_ => new DoubleArray.Builder()).ToArray();
            for (var e = start; e < start + batchSize; e++)
            {
                ids.Append(Key(e));
                ts.Append(t0.AddSeconds(e));
                for (var f = 0; f < Features; f++) columns[f].Append(e * 0.001 + f);
            }
            var schema = new Schema.Builder()
                .Field(f => f.Name("id").DataType(StringType.Default))
                .Field(f => f.Name("ts").DataType(new TimestampType(TimeUnit.Microsecond, "UTC")));
            for (var f = 0; f < Features; f++)
            {
                var name = $"f{f}";
                schema.Field(b => b.Name(name).DataType(DoubleType.Default));
            }
            IArrowArray[] arrays = [ids.Build(), ts.Build(), .. columns.Select(c => c.Build())];
            await _store.WriteAsync(Table, new RecordBatch(schema.Build(), arrays, batchSize), new Dictionary<string, byte[]>()).ConfigureAwait(false);
        }
        _reader = _store.OpenReader(Table, Table.Features.Select(f => f.Name).ToArray());

        // The baseline reads the store's table (positional columns c0..c49) through a command prepared once.
        _raw = RawSqlite.Open(path);
        string tableName;
        using (var find = _raw.CreateCommand())
        {
            find.CommandText = "SELECT table_name FROM online_tables WHERE project = 'bench' AND feature_set = 'lookup';";
            tableName = (string)find.ExecuteScalar()!;
        }
        _select = _raw.CreateCommand();
        _select.CommandText = $"SELECT ts, {string.Join(", ", Enumerable.Range(0, Features).Select(i => $"c{i}"))} FROM \"{tableName}\" WHERE k = $k;";
        _key = _select.Parameters.Add("$k", SqliteType.Text);
        _select.Prepare();

        // Spread the looked-up entities over the key space.
        _keys = Enumerable.Range(0, 100).Select(i => Key(i * 97 % Entities)).ToArray();

        // Both sides must read the same rows, or the ratio compares different work.
        foreach (var key in _keys)
        {
            if (!_reader.TryRead(key, _values, out var time) || !RawRead(key, out var rawTime) || time != rawTime)
                throw new InvalidOperationException($"Entity '{key}' is missing on one side.");
            for (var f = 0; f < Features; f++)
            {
                if (_values[f].Number != _doubles[f])
                    throw new InvalidOperationException($"Entity '{key}' feature f{f}: store {_values[f].Number}, raw {_doubles[f]}.");
            }
        }

        PrintPercentiles();
    }

    private static string Key(int entity) => "entity-" + entity.ToString("D5", CultureInfo.InvariantCulture);

    [GlobalCleanup]
    public void Cleanup()
    {
        _reader?.Dispose();
        _select?.Dispose();
        _raw?.Dispose();
        _store?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        BenchFiles.Delete(_dir);
    }

    private bool RawRead(string key, out long time)
    {
        _key!.Value = key;
        using var r = _select!.ExecuteReader();
        if (!r.Read())
        {
            time = 0;
            return false;
        }
        time = r.GetInt64(0);
        for (var f = 0; f < Features; f++) _doubles[f] = r.IsDBNull(f + 1) ? double.NaN : r.GetDouble(f + 1);
        return true;
    }

    /// <summary>The baseline: a raw prepared point read per entity.</summary>
    [Benchmark(Baseline = true)]
    public double Raw_PreparedPointRead()
    {
        var sum = 0.0;
        for (var i = 0; i < Lookups; i++)
        {
            RawRead(_keys[i], out _);
            sum += _doubles[Features - 1];
        }
        return sum;
    }

    /// <summary>Ours: the online reader.</summary>
    [Benchmark]
    public double MLOps_TryRead()
    {
        var sum = 0.0;
        for (var i = 0; i < Lookups; i++)
        {
            _reader!.TryRead(_keys[i], _values, out _);
            sum += _values[Features - 1].Number;
        }
        return sum;
    }

    /// <summary>Ours, batched: one <see cref="IOnlineReader.TryReadMany"/> call (one read transaction) for all keys.</summary>
    [Benchmark]
    public double MLOps_TryReadMany()
    {
        _reader!.TryReadMany(_keys.AsSpan(0, Lookups), _batchValues.AsSpan(0, Lookups * Features), _batchTimes, _batchFound);
        var sum = 0.0;
        for (var i = 0; i < Lookups; i++) sum += _batchValues[i * Features + Features - 1].Number;
        return sum;
    }

    private void PrintPercentiles()
    {
        // BenchmarkDotNet runs the global setup once per method and parameter value: print once per parameter value.
        lock (Printed)
        {
            if (!Printed.Add(Lookups)) return;
        }
        OnlineBenchTiming.Print($"OnlineLookup percentiles, {Lookups} entit{(Lookups == 1 ? "y" : "ies")} x {Features} features per call",
            Lookups == 1 ? 20_000 : 1_000, ("Raw_PreparedPointRead", Raw_PreparedPointRead), ("MLOps_TryRead", MLOps_TryRead), ("MLOps_TryReadMany", MLOps_TryReadMany));
    }
}
