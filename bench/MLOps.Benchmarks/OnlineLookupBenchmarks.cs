using System.Diagnostics;
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
/// <c>SqliteCommand</c> prepared once with a reused parameter, reading the same row's 50 columns into a <c>double[]</c>.
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

    private void PrintPercentiles()
    {
        // BenchmarkDotNet runs the global setup once per method and parameter value: print once per parameter value.
        lock (Printed)
        {
            if (!Printed.Add(Lookups)) return;
        }
        var calls = Lookups == 1 ? 20_000 : 1_000;
        for (var warm = 0; warm < calls / 10; warm++)
        {
            Raw_PreparedPointRead();
            MLOps_TryRead();
        }
        var cpu0 = ThreadCpu.Microseconds();
        var raw = Time(calls, Raw_PreparedPointRead);
        var cpu1 = ThreadCpu.Microseconds();
        var ours = Time(calls, MLOps_TryRead);
        var cpu2 = ThreadCpu.Microseconds();
        Console.WriteLine($"// OnlineLookup percentiles, {Lookups} entit{(Lookups == 1 ? "y" : "ies")} x {Features} features per call, {calls} timed calls each:");
        Console.WriteLine($"//   Raw_PreparedPointRead  p50 {Us(raw, 0.50)} us  p99 {Us(raw, 0.99)} us  p99.9 {Us(raw, 0.999)} us");
        Console.WriteLine($"//   MLOps_TryRead          p50 {Us(ours, 0.50)} us  p99 {Us(ours, 0.99)} us  p99.9 {Us(ours, 0.999)} us");
        if (cpu0 >= 0)
        {
            // On a shared machine wall-clock percentiles include waiting for a core; thread CPU time does not.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"//   thread CPU time per call: Raw_PreparedPointRead {(cpu1 - cpu0) / calls:F2} us, MLOps_TryRead {(cpu2 - cpu1) / calls:F2} us"));
        }
    }

    private static double[] Time(int calls, Func<double> call)
    {
        var us = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            var start = Stopwatch.GetTimestamp();
            call();
            us[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        System.Array.Sort(us);
        return us;
    }

    private static string Us(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))].ToString("F2", CultureInfo.InvariantCulture);

    /// <summary>The calling thread's CPU time (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>), or -1 elsewhere.</summary>
    private static class ThreadCpu
    {
        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
        private static extern int ClockGetTime(int clock, out TimeSpec value);

        private struct TimeSpec
        {
            public long Seconds;
            public long Nanoseconds;
        }

        public static double Microseconds()
        {
            if (!OperatingSystem.IsLinux()) return -1;
            return ClockGetTime(3, out var t) == 0 ? t.Seconds * 1e6 + t.Nanoseconds / 1e3 : -1;
        }
    }
}
