using System.Runtime.CompilerServices;
using MLOps.Artifacts;

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
    /// <returns>The source.</returns>
    public static DataSource Csv(string path) => new FileSource(path, DatasetFormat.Csv, "csv");

    /// <summary>A Parquet file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The source.</returns>
    public static DataSource Parquet(string path) => new FileSource(path, DatasetFormat.Parquet, "parquet");

    /// <summary>An Arrow IPC file (Feather v2) or stream.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The source.</returns>
    public static DataSource Arrow(string path) => new FileSource(path, DatasetFormat.Arrow, "arrow");

    /// <summary>
    /// A JSON file: an array of objects (<c>[{...},{...}]</c>) or JSON lines (one object per line), told apart by the
    /// first character. Numbers become <c>int64</c> when every value of the first chunk is whole, else <c>double</c>.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <returns>The source.</returns>
    public static DataSource Json(string path) => new JsonSource(path);

    /// <summary>A file whose format is told by its extension (<c>.csv</c>, <c>.json</c>, <c>.jsonl</c>, <c>.parquet</c>, <c>.arrow</c>, <c>.feather</c>).</summary>
    /// <param name="path">The file.</param>
    /// <returns>The source.</returns>
    public static DataSource File(string path)
    {
        Throw.IfNullOrWhitespace(path);
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".json" or ".jsonl" or ".ndjson" => Json(path),
            ".csv" => Csv(path),
            ".parquet" => Parquet(path),
            ".arrow" or ".feather" or ".ipc" => Arrow(path),
            var e => throw new ValidationException($"The file '{path}' has the extension '{e}', which is not a known data format. Use DataSource.Csv/Json/Parquet/Arrow explicitly."),
        };
    }

    /// <summary>Arrow record batches already in memory (they are not disposed).</summary>
    /// <param name="batches">The batches.</param>
    /// <returns>The source.</returns>
    public static DataSource Batches(IEnumerable<RecordBatch> batches) => new BatchSource(batches);

    /// <summary>Arrow record batches produced asynchronously (they are not disposed).</summary>
    /// <param name="batches">The batches.</param>
    /// <returns>The source.</returns>
    public static DataSource Batches(IAsyncEnumerable<RecordBatch> batches) => new AsyncBatchSource(batches);

    /// <summary>
    /// Objects: one row per item, one column per public readable property (numbers, booleans, strings, enums as text,
    /// <see cref="DateTime"/>/<see cref="DateTimeOffset"/>/<see cref="DateOnly"/> as timestamps; nullable types allowed).
    /// </summary>
    /// <remarks>Dictionaries (<see cref="IReadOnlyDictionary{TKey, TValue}"/> of string to object) are read as column → value maps.</remarks>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="items">The items, enumerated once, chunk by chunk.</param>
    /// <returns>The source.</returns>
    public static DataSource Objects<T>(IEnumerable<T> items)
        => items is IEnumerable<IReadOnlyDictionary<string, object?>> maps ? new DictionarySource(maps, $"objects of {typeof(T).Name}") : new ObjectSource<T>(items);

    private sealed class FileSource(string path, DatasetFormat format, string name) : DataSource
    {
        public override string Description => $"{name} {path}";

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
            return DatasetReader.ReadCsvAsync(path, chunkRows, text, cancellationToken);
        }
    }

    private sealed class BatchSource(IEnumerable<RecordBatch> batches) : DataSource
    {
        public override string Description => "record batches";

        internal override bool OwnsBatches => false;

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

    private sealed class AsyncBatchSource(IAsyncEnumerable<RecordBatch> batches) : DataSource
    {
        public override string Description => "record batches";

        internal override bool OwnsBatches => false;

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
