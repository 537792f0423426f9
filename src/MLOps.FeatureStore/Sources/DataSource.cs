using System.Runtime.CompilerServices;
using MLOps.Artifacts;
using MLOps.FeatureStore.Internal;

namespace MLOps.FeatureStore.Sources;

/// <summary>
/// Where ingestion reads rows from: CSV, JSON (an array or JSON lines), Parquet and Arrow IPC files, Arrow record batches,
/// or any sequence of objects. Every source is read in chunks of at most <c>IngestOptions.ChunkSize</c> rows, so a large
/// file never has to fit in memory (Arrow IPC files are read batch by batch as they were written).
/// </summary>
public abstract class DataSource
{
    /// <summary>A short description for reports, such as <c>json flights.json</c>.</summary>
    public abstract string Description { get; }

    /// <summary>Whether the batches this source returns belong to the reader (and are disposed once used); batches the
    /// caller passed in are never disposed.</summary>
    internal virtual bool OwnsBatches => true;

    /// <summary>The zone of the source's zone-less timestamps (text without an offset, Arrow timestamps without a zone), read by
    /// the normalizer; UTC unless the source was made with <see cref="DataSourceOptions.TimeZone"/>.</summary>
    internal virtual TimeZoneInfo Zone => TimeZoneInfo.Utc;

    /// <summary>Reads the rows as record batches of at most <paramref name="chunkRows"/> rows.</summary>
    /// <param name="chunkRows">The largest chunk (a hint for sources that come already batched).</param>
    /// <param name="typeHints">Declared column types, which sources that infer types (JSON, objects) use instead of inferring;
    /// a CSV file reads the columns hinted as strings as text (so that <c>02134</c> keeps its leading zero).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The batches; the caller disposes them.</returns>
    public abstract IAsyncEnumerable<RecordBatch> ReadAsync(int chunkRows, IReadOnlyDictionary<string, FeatureType> typeHints, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads the rows (see <see cref="ReadAsync(int, IReadOnlyDictionary{string, FeatureType}, CancellationToken)"/>) with
    /// some columns kept as the source's text where the source would otherwise infer their type from it (CSV): a
    /// timestamp column that the feature set parses with a format of its own. Sources whose values are typed ignore them.
    /// </summary>
    /// <param name="chunkRows">The largest chunk.</param>
    /// <param name="typeHints">Declared column types.</param>
    /// <param name="textColumns">The columns to keep as text.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The batches; the caller disposes them.</returns>
    internal virtual IAsyncEnumerable<RecordBatch> ReadAsync(int chunkRows, IReadOnlyDictionary<string, FeatureType> typeHints, IReadOnlySet<string> textColumns, CancellationToken cancellationToken)
        => ReadAsync(chunkRows, typeHints, cancellationToken);

    /// <summary>
    /// A CSV file with a header row (types inferred; see <see cref="DatasetReader.ReadAsync"/>), except for the columns a
    /// feature set declares as strings, which stay text, and its timestamp column when it has a timestamp format, which
    /// is parsed with that format.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="options">How to read it (the zone of timestamps without one; default UTC).</param>
    /// <returns>The source.</returns>
    public static DataSource Csv(string path, DataSourceOptions? options = null) => new FileSource(path, DatasetFormat.Csv, "csv", ZoneIn(options));

    /// <summary>A Parquet file. Timestamps written with <c>isAdjustedToUTC=false</c> (pandas and DuckDB by default) are
    /// wall-clock times in <see cref="DataSourceOptions.TimeZone"/> (UTC by default), never in the machine's zone.</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">How to read it (the zone of timestamps without one; default UTC).</param>
    /// <returns>The source.</returns>
    public static DataSource Parquet(string path, DataSourceOptions? options = null) => new FileSource(path, DatasetFormat.Parquet, "parquet", ZoneIn(options));

    /// <summary>An Arrow IPC file (Feather v2) or stream. Timestamps without a time zone are wall-clock times in
    /// <see cref="DataSourceOptions.TimeZone"/> (UTC by default).</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">How to read it (the zone of timestamps without one; default UTC).</param>
    /// <returns>The source.</returns>
    public static DataSource Arrow(string path, DataSourceOptions? options = null) => new FileSource(path, DatasetFormat.Arrow, "arrow", ZoneIn(options));

    /// <summary>
    /// A JSON file: an array of objects (<c>[{...},{...}]</c>) or JSON lines (one object per line), told apart by the
    /// first character. Numbers become <c>int64</c> when every value of the first chunk is whole, else <c>double</c>.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="options">How to read it (the zone of timestamps without one; default UTC).</param>
    /// <returns>The source.</returns>
    public static DataSource Json(string path, DataSourceOptions? options = null) => new JsonSource(path, ZoneIn(options));

    /// <summary>A file whose format is told by its extension (<c>.csv</c>, <c>.json</c>, <c>.jsonl</c>, <c>.parquet</c>, <c>.arrow</c>, <c>.feather</c>).</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">How to read it (the zone of timestamps without one; default UTC).</param>
    /// <returns>The source.</returns>
    public static DataSource File(string path, DataSourceOptions? options = null)
    {
        Throw.IfNullOrWhitespace(path);
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".json" or ".jsonl" or ".ndjson" => Json(path, options),
            ".csv" => Csv(path, options),
            ".parquet" => Parquet(path, options),
            ".arrow" or ".feather" or ".ipc" => Arrow(path, options),
            var e => throw new ValidationException($"The file '{path}' has the extension '{e}', which is not a known data format. Use DataSource.Csv/Json/Parquet/Arrow explicitly."),
        };
    }

    /// <summary>Arrow record batches already in memory (they are not disposed). Timestamps without a time zone are
    /// wall-clock times in <see cref="DataSourceOptions.TimeZone"/> (UTC by default).</summary>
    /// <param name="batches">The batches.</param>
    /// <param name="options">How to read it (the zone of timestamps without one; default UTC).</param>
    /// <returns>The source.</returns>
    public static DataSource Batches(IEnumerable<RecordBatch> batches, DataSourceOptions? options = null) => new BatchSource(batches, ZoneIn(options));

    /// <summary>Arrow record batches produced asynchronously (they are not disposed). Timestamps without a time zone are
    /// wall-clock times in <see cref="DataSourceOptions.TimeZone"/> (UTC by default).</summary>
    /// <param name="batches">The batches.</param>
    /// <param name="options">How to read it (the zone of timestamps without one; default UTC).</param>
    /// <returns>The source.</returns>
    public static DataSource Batches(IAsyncEnumerable<RecordBatch> batches, DataSourceOptions? options = null) => new AsyncBatchSource(batches, ZoneIn(options));

    /// <summary>
    /// Objects: one row per item, one column per public readable property (numbers, booleans, strings, enums as text,
    /// <see cref="DateTime"/>/<see cref="DateTimeOffset"/>/<see cref="DateOnly"/> as timestamps; nullable types allowed).
    /// A <see cref="DateTime"/> of kind <see cref="DateTimeKind.Local"/> is converted from the machine's zone, one of kind
    /// <see cref="DateTimeKind.Unspecified"/> is a wall-clock time in <see cref="DataSourceOptions.TimeZone"/> (UTC by default).
    /// </summary>
    /// <remarks>Dictionaries (<see cref="IReadOnlyDictionary{TKey, TValue}"/> of string to object) are read as column → value maps.</remarks>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="items">The items, enumerated once, chunk by chunk.</param>
    /// <param name="options">How to read it (the zone of timestamps without one; default UTC).</param>
    /// <returns>The source.</returns>
    public static DataSource Objects<T>(IEnumerable<T> items, DataSourceOptions? options = null)
        => items is IEnumerable<IReadOnlyDictionary<string, object?>> maps
            ? new DictionarySource(maps, $"objects of {typeof(T).Name}", ZoneIn(options))
            : new ObjectSource<T>(items, ZoneIn(options));

    private static TimeZoneInfo ZoneIn(DataSourceOptions? options) => DataSourceOptions.ZoneOf(options ?? DataSourceOptions.Default);

    private sealed class FileSource(string path, DatasetFormat format, string name, TimeZoneInfo zone) : DataSource
    {
        public override string Description => $"{name} {path}";

        internal override TimeZoneInfo Zone => zone;

        public override IAsyncEnumerable<RecordBatch> ReadAsync(int chunkRows, IReadOnlyDictionary<string, FeatureType> typeHints, CancellationToken cancellationToken = default)
            => ReadAsync(chunkRows, typeHints, new HashSet<string>(), cancellationToken);

        internal override IAsyncEnumerable<RecordBatch> ReadAsync(int chunkRows, IReadOnlyDictionary<string, FeatureType> typeHints, IReadOnlySet<string> textColumns, CancellationToken cancellationToken)
        {
            if (format != DatasetFormat.Csv)
                return DatasetReader.ReadAsync(path, format, chunkRows, cancellationToken);
            // CSV cells are text: the columns declared as strings stay text instead of being inferred (zip codes keep
            // their leading zeros), and so do the columns the caller parses itself (a timestamp with a format).
            var text = new HashSet<string>(textColumns ?? new HashSet<string>(), StringComparer.Ordinal);
            foreach (var (column, type) in typeHints ?? new Dictionary<string, FeatureType>())
                if (type == FeatureType.String) text.Add(column);
            // the reader converts the zone-less cells of the columns it types as timestamps; the normalizer those of the text columns
            return DatasetReader.ReadCsvAsync(path, new CsvReadOptions { BatchSize = chunkRows, TextColumns = text, TimeZone = zone }, cancellationToken);
        }
    }

    private sealed class BatchSource(IEnumerable<RecordBatch> batches, TimeZoneInfo zone) : DataSource
    {
        public override string Description => "record batches";

        internal override bool OwnsBatches => false;

        internal override TimeZoneInfo Zone => zone;

        public override async IAsyncEnumerable<RecordBatch> ReadAsync(int chunkRows, IReadOnlyDictionary<string, FeatureType> typeHints, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(batches);
            foreach (var b in batches)
            {
                cancellationToken.ThrowIfCancellationRequested();
                foreach (var slice in Slices(b, chunkRows))
                    yield return slice;
            }

            await Task.CompletedTask.ConfigureAwait(false);
        }
    }

    private sealed class AsyncBatchSource(IAsyncEnumerable<RecordBatch> batches, TimeZoneInfo zone) : DataSource
    {
        public override string Description => "record batches";

        internal override bool OwnsBatches => false;

        internal override TimeZoneInfo Zone => zone;

        public override async IAsyncEnumerable<RecordBatch> ReadAsync(int chunkRows, IReadOnlyDictionary<string, FeatureType> typeHints, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(batches);
            await foreach (var b in batches.WithCancellation(cancellationToken).ConfigureAwait(false))
                foreach (var slice in Slices(b, chunkRows))
                    yield return slice;
        }
    }

    /// <summary>
    /// Cuts a caller-owned batch into chunk-sized slices: new batch objects over the same memory, which hold their own
    /// reference to it, so the ingestion disposing a slice never frees the caller's batch.
    /// </summary>
    private static IEnumerable<RecordBatch> Slices(RecordBatch batch, int chunkRows)
    {
        ArgumentNullException.ThrowIfNull(batch);
        for (var offset = 0; offset < Math.Max(batch.Length, 1); offset += chunkRows)
            yield return batch.SliceShared(offset, Math.Min(chunkRows, batch.Length - offset));
    }
}
