using System.Diagnostics;
using Apache.Arrow;
using BenchmarkDotNet.Attributes;
using MLOps.FeatureStore;
using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Ingestion;
using MLOps.FeatureStore.Sources;
using Parquet;
using Parquet.Schema;

namespace MLOps.Benchmarks;

/// <summary>
/// Ingestion of a 3M-row Parquet file of flights (the 20k real flights replicated over a year, sorted by time, 64k-row
/// row groups) into a set with 12 window features per origin (delay avg/max/count/sum over 1h, 1d and 7d): ours is
/// <c>IngestAsync(set, DataSource.Parquet(path))</c> (read, normalize, aggregate, day-partitioned Parquet offline, SQLite
/// online, statistics); the baseline is a raw Parquet.Net read of the same file plus a raw write of the same rows (the
/// five columns, one row group per row group read) into one file.
/// </summary>
[IterationCount(5)]
[WarmupCount(1)]
[InvocationCount(1)]
public class ParquetIngestionBenchmarks
{
    private string? _dir;
    private string? _source;
    private MLOpsProject? _project;
    private int _round;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _dir = BenchFiles.NewDirectory("ingest-parquet");
        // the source file is kept between runs (building it from the JSON takes longer than the benchmark); delete it to rebuild
        _source = Path.Combine(BenchFiles.Root, "flights-3m-64k-v1.parquet");
        if (!File.Exists(_source))
        {
            var batches = IngestionBenchmarks.CreateBatches();
            var temp = Path.Combine(_dir, "flights-3m.parquet");
            await IngestionBenchmarks.WriteRawParquetAsync(batches, temp).ConfigureAwait(false);
            foreach (var b in batches) b.Dispose();
            File.Move(temp, _source, overwrite: true);
        }

        _project = await BenchFiles.OpenProjectAsync(_dir).ConfigureAwait(false);

        // same rows: the raw copy and the ingestion both see every row of the file
        var copy = Path.Combine(_dir, "check.parquet");
        var rows = await RawReadWriteAsync(_source, copy).ConfigureAwait(false);
        File.Delete(copy);
        var report = await IngestAsync().ConfigureAwait(false);
        if (rows != IngestionBenchmarks.Rows || report.RowsWritten != rows)
            throw new InvalidOperationException($"The raw copy read {rows} rows and the ingestion wrote {report.RowsWritten}; both must be {IngestionBenchmarks.Rows}.");
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_project is not null) await _project.DisposeAsync().ConfigureAwait(false);
        BenchFiles.Delete(_dir);
    }

    [Benchmark(Baseline = true, Description = "raw Parquet.Net read + write of the same rows")]
    public async Task<long> RawReadWriteAsync()
    {
        var path = Path.Combine(_dir!, $"raw-{_round++}.parquet");
        var rows = await RawReadWriteAsync(_source!, path).ConfigureAwait(false);
        File.Delete(path);
        return rows;
    }

    /// <summary>Reads every column of every row group raw (values as Parquet.Net's spans, no strings) and writes them to a new file.</summary>
    internal static async Task<long> RawReadWriteAsync(string source, string destination)
    {
        long rows = 0;
        await using var input = File.OpenRead(source);
        await using var reader = await ParquetReader.CreateAsync(input).ConfigureAwait(false);
        var fields = reader.Schema.DataFields;
        await using var output = File.Create(destination);
        await using var writer = await ParquetWriter.CreateAsync(reader.Schema, output).ConfigureAwait(false);
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var inGroup = reader.OpenRowGroupReader(g);
            var n = checked((int)inGroup.RowCount);
            using var outGroup = writer.CreateRowGroup();
            foreach (var field in fields)
            {
                if (field.ClrType == typeof(DateTime)) await CopyAsync<DateTime>(inGroup, outGroup, field, n).ConfigureAwait(false);
                else if (field.ClrType == typeof(long)) await CopyAsync<long>(inGroup, outGroup, field, n).ConfigureAwait(false);
                else await CopyAsync<ReadOnlyMemory<char>>(inGroup, outGroup, field, n).ConfigureAwait(false);
            }

            outGroup.CompleteValidate();
            rows += n;
        }

        return rows;
    }

    private static async Task CopyAsync<T>(ParquetRowGroupReader from, ParquetRowGroupWriter to, DataField field, int rows)
        where T : struct
    {
        var values = new T[rows];
        if (field.IsNullable)
        {
            var definitions = new int[rows];
            await from.ReadRawAsync<T>(field, values, definitions, null).ConfigureAwait(false);
            var nullable = new T?[rows];
            var next = 0;
            for (var i = 0; i < rows; i++) nullable[i] = definitions[i] == field.MaxDefinitionLevel ? values[next++] : null;
            await to.WriteAsync<T>(field, nullable).ConfigureAwait(false);
        }
        else
        {
            await from.ReadRawAsync<T>(field, values, null, null).ConfigureAwait(false);
            await to.WriteAsync<T>(field, values).ConfigureAwait(false);
        }
    }

    /// <summary>The set: 12 window features of the delay per origin.</summary>
    internal static FeatureSet Define(FeatureStoreCatalog fs, string name)
        => fs.FeatureSet(name).Entity("origin").Timestamp("date")
            .Aggregate("delay", AggregationOp.Avg | AggregationOp.Max | AggregationOp.Count | AggregationOp.Sum, "1h", "1d", "7d")
            .Build();

    [Benchmark(Description = "IngestAsync of the Parquet file: 12 window features, Parquet offline + SQLite online")]
    public async Task<IngestReport> IngestAsync()
    {
        var fs = _project!.FeatureStore;
        return await fs.IngestAsync(Define(fs, $"flights_{_round++}"), DataSource.Parquet(_source!)).ConfigureAwait(false);
    }

    /// <summary><c>--profile-ingest-parquet</c>: alternating timed runs of both sides (wall and CPU time), optionally variants that switch parts off.</summary>
    /// <param name="o">Where to write.</param>
    /// <param name="rounds">How many rounds of both sides.</param>
    /// <param name="onlyIngest">Run only the ingestion, <paramref name="rounds"/> times (for a sampling profiler such as <c>perf</c>).</param>
    /// <param name="variants">Then time variants with parts switched off (no targets, no aggregation, one target).</param>
    public static async Task ProfileAsync(TextWriter o, int rounds, bool onlyIngest = false, bool variants = false)
    {
        var b = new ParquetIngestionBenchmarks();
        var sw = Stopwatch.StartNew();
        await b.SetupAsync().ConfigureAwait(false);
        await o.WriteLineAsync($"setup {sw.ElapsedMilliseconds} ms, {IngestionBenchmarks.Rows:N0} rows").ConfigureAwait(false);
        try
        {
            if (onlyIngest)
            {
                for (var i = 0; i < rounds; i++)
                {
                    sw.Restart();
                    await b.IngestAsync().ConfigureAwait(false);
                    await o.WriteLineAsync($"ingest {sw.ElapsedMilliseconds} ms").ConfigureAwait(false);
                }

                return;
            }

            // wall time, and the process's CPU time (all threads, the GC's included), which a loaded machine disturbs less
            var ratios = new List<double>();
            var cpuRatios = new List<double>();
            var process = Process.GetCurrentProcess();
            for (var i = 0; i < rounds; i++)
            {
                GC.Collect();
                process.Refresh();
                var cpu = process.TotalProcessorTime;
                sw.Restart();
                await b.RawReadWriteAsync().ConfigureAwait(false);
                var raw = sw.Elapsed;
                process.Refresh();
                var rawCpu = process.TotalProcessorTime - cpu;
                GC.Collect();
                process.Refresh();
                cpu = process.TotalProcessorTime;
                sw.Restart();
                var report = await b.IngestAsync().ConfigureAwait(false);
                var ours = sw.Elapsed;
                process.Refresh();
                var oursCpu = process.TotalProcessorTime - cpu;
                ratios.Add(ours / raw);
                cpuRatios.Add(oursCpu / rawCpu);
                await o.WriteLineAsync($"raw read+write {raw.TotalMilliseconds:F0} ms (cpu {rawCpu.TotalMilliseconds:F0}); ingest {ours.TotalMilliseconds:F0} ms (cpu {oursCpu.TotalMilliseconds:F0}; {report.OfflineFiles.Count} files, {report.OnlineEntities} online) ratio {ours / raw:F2} (cpu {oursCpu / rawCpu:F2})").ConfigureAwait(false);
            }

            ratios.Sort();
            cpuRatios.Sort();
            await o.WriteLineAsync($"median ratio {ratios[ratios.Count / 2]:F2} (cpu {cpuRatios[cpuRatios.Count / 2]:F2})").ConfigureAwait(false);
            if (!variants) return;

            var fs = b._project!.FeatureStore;
            foreach (var (offline, online, agg) in new[] { (false, false, false), (false, false, true), (true, false, true), (false, true, true) })
            {
                var builder = fs.FeatureSet($"variant_{b._round++}").Entity("origin").Timestamp("date").Targets(offline, online);
                if (agg) builder.Aggregate("delay", AggregationOp.Avg | AggregationOp.Max | AggregationOp.Count | AggregationOp.Sum, "1h", "1d", "7d");
                sw.Restart();
                await fs.IngestAsync(builder.Build(), DataSource.Parquet(b._source!)).ConfigureAwait(false);
                await o.WriteLineAsync($"offline={offline} online={online} agg={agg}: {sw.ElapsedMilliseconds} ms").ConfigureAwait(false);
            }

            sw.Restart();
            await fs.IngestAsync(Define(fs, $"variant_{b._round++}"), DataSource.Parquet(b._source!), new IngestOptions { StatisticsMaxRows = 0 }).ConfigureAwait(false);
            await o.WriteLineAsync($"full, without statistics: {sw.ElapsedMilliseconds} ms").ConfigureAwait(false);

            sw.Restart();
            long n = 0;
            await foreach (var batch in MLOps.Data.DatasetReader.ReadAsync(b._source!, MLOps.Data.DatasetFormat.Parquet).ConfigureAwait(false))
            {
                n += batch.Length;
                batch.Dispose();
            }

            await o.WriteLineAsync($"DatasetReader.ReadAsync alone: {sw.ElapsedMilliseconds} ms ({n:N0} rows)").ConfigureAwait(false);
        }
        finally
        {
            await b.CleanupAsync().ConfigureAwait(false);
        }
    }
}
