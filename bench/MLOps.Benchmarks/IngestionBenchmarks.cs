using System.Diagnostics;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using BenchmarkDotNet.Attributes;
using MLOps.FeatureStore;
using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.Ingestion;
using MLOps.FeatureStore.Sources;
using Parquet;
using Parquet.Schema;

namespace MLOps.Benchmarks;

/// <summary>
/// Ingestion of 3M flight rows (the 20k real flights replicated over a year, sorted by time, in 64k-row Arrow batches):
/// ours runs the graph with two windowed aggregations per origin (delay avg over 1h and 1d) and writes the day-partitioned
/// Parquet offline target and the SQLite online target; the baseline writes the same input columns with raw Parquet.Net.
/// </summary>
[IterationCount(5)]
[WarmupCount(1)]
[InvocationCount(1)]
public class IngestionBenchmarks
{
    private const int Copies = 150;
    private const int ChunkRows = 65_536;
    private List<RecordBatch> _batches = [];
    private string? _dir;
    private MLOpsProject? _project;
    private int _round;

    public static long Rows => 20_000L * Copies;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _batches = CreateBatches();
        _dir = BenchFiles.NewDirectory("ingest");
        _project = await BenchFiles.OpenProjectAsync(_dir).ConfigureAwait(false);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_project is not null) await _project.DisposeAsync().ConfigureAwait(false);
        BenchFiles.Delete(_dir);
    }

    /// <summary>The flights replicated: copy k moves by (k % 4) × 91 days and k / 4 seconds, then all sorted by time.</summary>
    internal static List<RecordBatch> CreateBatches()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "data", "flights-20k.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var flights = doc.RootElement.EnumerateArray().Select(e => (
            Ts: (DateTime.ParseExact(e.GetProperty("date").GetString()!, "yyyy/MM/dd HH:mm", System.Globalization.CultureInfo.InvariantCulture).Ticks - DateTime.UnixEpoch.Ticks) / 10,
            Delay: e.GetProperty("delay").GetInt64(), Distance: e.GetProperty("distance").GetInt64(),
            Origin: e.GetProperty("origin").GetString()!, Destination: e.GetProperty("destination").GetString()!)).ToArray();
        var rows = new List<(long Ts, long Delay, long Distance, string Origin, string Destination)>(flights.Length * Copies);
        for (var k = 0; k < Copies; k++)
        {
            var shift = (k % 4) * 91L * 86_400_000_000L + (k / 4) * 1_000_000L;
            foreach (var f in flights) rows.Add((f.Ts + shift, f.Delay, f.Distance, f.Origin, f.Destination));
        }

        rows.Sort((a, b) => a.Ts.CompareTo(b.Ts));
        var batches = new List<RecordBatch>();
        var tsType = new TimestampType(TimeUnit.Microsecond, "UTC");
        for (var offset = 0; offset < rows.Count; offset += ChunkRows)
        {
            var n = Math.Min(ChunkRows, rows.Count - offset);
            var ts = new TimestampArray.Builder(tsType).Reserve(n);
            var delay = new Int64Array.Builder().Reserve(n);
            var distance = new Int64Array.Builder().Reserve(n);
            var origin = new StringArray.Builder().Reserve(n);
            var destination = new StringArray.Builder().Reserve(n);
            for (var i = offset; i < offset + n; i++)
            {
                var r = rows[i];
                ts.Append(DateTimeOffset.UnixEpoch.AddTicks(r.Ts * 10));
                delay.Append(r.Delay);
                distance.Append(r.Distance);
                origin.Append(r.Origin);
                destination.Append(r.Destination);
            }

            var schema = new Schema.Builder()
                .Field(f => f.Name("date").DataType(tsType)).Field(f => f.Name("delay").DataType(Int64Type.Default))
                .Field(f => f.Name("distance").DataType(Int64Type.Default)).Field(f => f.Name("origin").DataType(StringType.Default))
                .Field(f => f.Name("destination").DataType(StringType.Default)).Build();
            batches.Add(new RecordBatch(schema, [ts.Build(), delay.Build(), distance.Build(), origin.Build(), destination.Build()], n));
        }

        return batches;
    }

    [Benchmark(Baseline = true, Description = "raw Parquet.Net write of the input columns")]
    public async Task RawParquetAsync()
    {
        var path = Path.Combine(_dir!, $"raw-{_round++}.parquet");
        await WriteRawParquetAsync(_batches, path).ConfigureAwait(false);
        File.Delete(path);
    }

    internal static async Task WriteRawParquetAsync(List<RecordBatch> batches, string path)
    {
        var fields = new DataField[]
        {
            new DataField<DateTime>("date"), new DataField<long>("delay"), new DataField<long>("distance"),
            new DataField<string>("origin"), new DataField<string>("destination"),
        };
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream).ConfigureAwait(false);
        foreach (var b in batches)
        {
            using var group = writer.CreateRowGroup();
            var ts = ((TimestampArray)b.Column(0)).Values;
            var dates = new DateTime[b.Length];
            for (var i = 0; i < dates.Length; i++) dates[i] = DateTime.UnixEpoch.AddTicks(ts[i] * 10);
            await group.WriteAsync<DateTime>(fields[0], dates.AsMemory()).ConfigureAwait(false);
            await group.WriteAsync<long>(fields[1], ((Int64Array)b.Column(1)).Values.ToArray().AsMemory()).ConfigureAwait(false);
            await group.WriteAsync<long>(fields[2], ((Int64Array)b.Column(2)).Values.ToArray().AsMemory()).ConfigureAwait(false);
            await group.WriteAsync(fields[3], Strings((StringArray)b.Column(3))).ConfigureAwait(false);
            await group.WriteAsync(fields[4], Strings((StringArray)b.Column(4))).ConfigureAwait(false);
            group.CompleteValidate();
        }
    }

    private static string[] Strings(StringArray a)
    {
        var s = new string[a.Length];
        for (var i = 0; i < s.Length; i++) s[i] = a.GetString(i)!;
        return s;
    }

    [Benchmark(Description = "IngestAsync: 2 windowed aggregations, Parquet offline + SQLite online")]
    public async Task<IngestReport> IngestAsync()
    {
        var fs = _project!.FeatureStore;
        var set = fs.FeatureSet($"flights_{_round++}").Entity("origin").Timestamp("date")
            .Aggregate("delay", AggregationOp.Avg, "1h", "1d").Build();
        return await fs.IngestAsync(set, DataSource.Batches(_batches)).ConfigureAwait(false);
    }

    /// <summary><c>--profile-ingest</c>: one timed ingestion and one raw write, with the report.</summary>
    public static async Task ProfileAsync(TextWriter o)
    {
        var b = new IngestionBenchmarks();
        var sw = Stopwatch.StartNew();
        await b.SetupAsync().ConfigureAwait(false);
        await o.WriteLineAsync($"setup {sw.ElapsedMilliseconds} ms, {Rows:N0} rows in {b._batches.Count} batches").ConfigureAwait(false);
        try
        {
            foreach (var (offline, online, agg) in new[] { (false, false, false), (false, false, true), (true, false, false), (false, true, false) })
            {
                var fs = b._project!.FeatureStore;
                var builder = fs.FeatureSet($"variant_{b._round++}").Entity("origin").Timestamp("date").Targets(offline, online);
                if (agg) builder.Aggregate("delay", AggregationOp.Avg, "1h", "1d");
                sw.Restart();
                var r = await fs.IngestAsync(builder.Build(), DataSource.Batches(b._batches)).ConfigureAwait(false);
                await o.WriteLineAsync($"offline={offline} online={online} agg={agg}: {sw.ElapsedMilliseconds} ms").ConfigureAwait(false);
            }

            for (var i = 0; i < 2; i++)
            {
                sw.Restart();
                await b.RawParquetAsync().ConfigureAwait(false);
                var raw = sw.Elapsed;
                sw.Restart();
                var report = await b.IngestAsync().ConfigureAwait(false);
                await o.WriteLineAsync($"raw {raw.TotalMilliseconds:F0} ms; ingest {sw.Elapsed.TotalMilliseconds:F0} ms ({report.RowsPerSecond:N0} rows/s, {report.OfflineFiles.Count} files, {report.OnlineEntities} online) ratio {sw.Elapsed / raw:F2}").ConfigureAwait(false);
            }
        }
        finally
        {
            await b.CleanupAsync().ConfigureAwait(false);
        }
    }
}
