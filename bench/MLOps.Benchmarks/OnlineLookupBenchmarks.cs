using BenchmarkDotNet.Attributes;
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
    public const int Entities = OnlineBenchData.Entities;
    public const int Features = OnlineBenchData.Features;

    private static readonly OnlineTable Table = new("bench", "lookup", [new FeatureColumn("id", FeatureType.String)], "ts",
        Enumerable.Range(0, Features).Select(i => new FeatureColumn($"f{i}", FeatureType.Double)).ToArray());

    private string? _dir;
    private SqliteOnlineStore? _store;
    private IOnlineReader? _reader;
    private RawOnlineReader? _raw;
    private readonly FeatureValue[] _values = new FeatureValue[Features];
    private double[] _doubles = [];
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
        foreach (var batch in OnlineBenchData.WideBatches())
            await _store.WriteAsync(Table, batch, new Dictionary<string, byte[]>()).ConfigureAwait(false);
        _reader = _store.OpenReader(Table, Table.Features.Select(f => f.Name).ToArray());

        // The baseline reads the store's table (positional columns c0..c49) through a command prepared once.
        _raw = new RawOnlineReader(path, "lookup", Features);
        _doubles = _raw.Values;

        // Spread the looked-up entities over the key space.
        _keys = Enumerable.Range(0, 100).Select(i => OnlineBenchData.Key(i * 97 % Entities)).ToArray();

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

    [GlobalCleanup]
    public void Cleanup()
    {
        _reader?.Dispose();
        _raw?.Dispose();
        _store?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        BenchFiles.Delete(_dir);
    }

    private bool RawRead(string key, out long time) => _raw!.Read(key, out time);

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
