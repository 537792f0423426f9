using System.Runtime.CompilerServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using MLOps.Internal;

namespace MLOps.Artifacts;

/// <summary>
/// Reads CSV, Parquet and Arrow IPC dataset files as Arrow record batches, a bounded number of rows at a time, and
/// writes record batches as Arrow IPC or Parquet files.
/// </summary>
public static class DatasetReader
{
    /// <summary>The default largest number of rows in a record batch returned by <see cref="ReadAsync"/>.</summary>
    public const int DefaultBatchSize = 65536;

    /// <summary>Reads a dataset file as Arrow record batches.</summary>
    /// <param name="path">The file.</param>
    /// <param name="format">Its format (see <see cref="DatasetFormat"/>).</param>
    /// <param name="batchSize">The largest number of rows in a batch, for CSV and Parquet files.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>
    /// The batches, in file order. The caller owns each batch and should dispose it once used (Arrow memory is native).
    /// A file with columns but no rows gives one empty batch, so that its schema is known.
    /// </returns>
    /// <remarks>
    /// <para><b>CSV</b>: comma-separated, with a header row, RFC 4180 quoting. The file is read twice: once to infer each
    /// column's type and once to convert it. A column is <c>int64</c> when every non-empty cell is an integer, else
    /// <c>double</c> when every one is a number, else <c>bool</c> (<c>true</c>/<c>false</c>, any case), else
    /// <c>timestamp</c> (UTC, microseconds) when every one is an ISO 8601 date or date-time (an offset is converted to
    /// UTC, no offset means UTC) or <c>yyyy/MM/dd HH:mm[:ss]</c>, else <c>string</c>. Empty cells are nulls; a column
    /// with no value at all is a <c>string</c> column.</para>
    /// <para><b>Parquet</b>: flat schemas of booleans, integers, floating-point numbers, decimals, strings, binary,
    /// timestamps, dates and times. Timestamps keep the values the file stores: <c>isAdjustedToUTC=true</c>
    /// columns (and INT96) become timestamps with the zone <c>UTC</c>, <c>isAdjustedToUTC=false</c> ones (pandas' and
    /// DuckDB's default) timestamps without a zone holding the wall-clock values; the machine's zone is never applied. One row group is read at a time and cut into batches of at most
    /// <paramref name="batchSize"/> rows, so memory is bounded by the largest row group.</para>
    /// <para><b>Arrow</b>: IPC file (Feather v2) or stream layout, told apart by the file's magic bytes. Batches are
    /// returned as the file stores them, whatever their size.</para>
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive.</exception>
    /// <exception cref="NotFoundException">The file does not exist.</exception>
    /// <exception cref="ArtifactException">The file cannot be read as <paramref name="format"/> (thrown while enumerating).</exception>
    public static IAsyncEnumerable<RecordBatch> ReadAsync(string path, DatasetFormat format, int batchSize = DefaultBatchSize, CancellationToken cancellationToken = default)
    {
        Throw.IfNullOrWhitespace(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (!File.Exists(path))
            throw new NotFoundException("dataset file", path, $"The dataset file '{path}' does not exist. Check the path.");

        return format switch
        {
            DatasetFormat.Csv => CsvBatchReader.ReadAsync(path, batchSize, textColumns: null, cancellationToken),
            DatasetFormat.Parquet => ParquetBatchReader.ReadAsync(path, batchSize, cancellationToken),
            DatasetFormat.Arrow => ReadArrowAsync(path, cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown dataset format."),
        };
    }

    /// <summary>
    /// Reads a CSV file (see <see cref="ReadAsync"/>) with some columns read as strings whatever their cells look like:
    /// a column of digits such as zip codes keeps its leading zeros, and a column of dates stays text for a caller that
    /// parses it with a format of its own. The other columns' types are inferred as usual.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="batchSize">The largest number of rows in a batch.</param>
    /// <param name="textColumns">The names of the columns to read as strings (ordinal); names the file lacks are ignored.</param>
    /// <param name="timeZone">The zone of timestamp cells without an offset (null: UTC).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The batches, in file order (one empty batch for a file without rows).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive.</exception>
    /// <exception cref="NotFoundException">The file does not exist.</exception>
    /// <exception cref="ArtifactException">The file cannot be read as CSV (thrown while enumerating).</exception>
    internal static IAsyncEnumerable<RecordBatch> ReadCsvAsync(string path, int batchSize, IReadOnlySet<string> textColumns, TimeZoneInfo? timeZone = null, CancellationToken cancellationToken = default)
    {
        Throw.IfNullOrWhitespace(path);
        Throw.IfNull(textColumns);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (!File.Exists(path))
            throw new NotFoundException("dataset file", path, $"The dataset file '{path}' does not exist. Check the path.");
        return CsvBatchReader.ReadAsync(path, batchSize, textColumns, cancellationToken, timeZone);
    }

    /// <summary>
    /// Reads only some columns of a Parquet file (see <see cref="ReadAsync"/>): the others are neither read nor decoded.
    /// The batches hold the named columns the file has, in file order; names it lacks are ignored.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="columns">The names of the top-level columns to read.</param>
    /// <param name="batchSize">The largest number of rows in a batch.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The batches, in file order (one empty batch for a file without rows).</returns>
    internal static IAsyncEnumerable<RecordBatch> ReadParquetAsync(string path, IReadOnlyCollection<string> columns, int batchSize = DefaultBatchSize, CancellationToken cancellationToken = default)
    {
        Throw.IfNullOrWhitespace(path);
        Throw.IfNull(columns);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (!File.Exists(path))
            throw new NotFoundException("dataset file", path, $"The dataset file '{path}' does not exist. Check the path.");
        return ParquetBatchReader.ReadAsync(path, batchSize, columns, cancellationToken);
    }

    /// <summary>Writes record batches as an Arrow IPC file (the Feather v2 layout).</summary>
    /// <param name="batches">The batches; they must all have the schema of the first one. They are not disposed.</param>
    /// <param name="destination">A writable stream; it is left open.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the file is written and the stream flushed.</returns>
    /// <exception cref="ValidationException">There is no batch (at least one, possibly empty, is needed for the schema) or a batch has other columns than the first.</exception>
    public static async Task WriteArrowFileAsync(IEnumerable<RecordBatch> batches, Stream destination, CancellationToken cancellationToken)
    {
        using var enumerator = Start(batches, destination, "an Arrow file", out var schema);
        using (var writer = new ArrowFileWriter(destination, schema, leaveOpen: true))
        {
            await writer.WriteStartAsync(cancellationToken).ConfigureAwait(false);
            foreach (var batch in SameSchema(enumerator, schema))
                await writer.WriteRecordBatchAsync(batch, cancellationToken).ConfigureAwait(false);
            await writer.WriteEndAsync(cancellationToken).ConfigureAwait(false);
        }

        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes record batches as a Parquet file, one row group per batch. Supported column types: bool, int8 to int64,
    /// uint8 to uint64, float, double, decimal128, string, binary, timestamp (written with the batch's unit, seconds as
    /// milliseconds) and date; dictionary-encoded columns are written decoded. Nullable Arrow fields become optional
    /// Parquet columns, the others required ones.
    /// </summary>
    /// <param name="batches">The batches; they must all have the schema of the first one. They are not disposed.</param>
    /// <param name="destination">A writable stream; it is left open.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the file is written and the stream flushed.</returns>
    /// <exception cref="ValidationException">There is no batch, a batch has other columns than the first, a column's type
    /// is not supported, or a non-nullable column holds a null.</exception>
    public static async Task WriteParquetAsync(IEnumerable<RecordBatch> batches, Stream destination, CancellationToken cancellationToken)
    {
        using var enumerator = Start(batches, destination, "a Parquet file", out var schema);
        await ParquetBatchWriter.WriteAsync(schema, SameSchema(enumerator, schema), destination, cancellationToken).ConfigureAwait(false);
        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Checks the arguments of a writer and moves to the first batch, whose schema the file takes.</summary>
    private static IEnumerator<RecordBatch> Start(IEnumerable<RecordBatch> batches, Stream destination, string what, out Schema schema)
    {
        Throw.IfNull(batches);
        Throw.IfNull(destination);
        if (!destination.CanWrite)
            throw new ArgumentException("The destination stream is not writable.", nameof(destination));
        var enumerator = batches.GetEnumerator();
        if (!enumerator.MoveNext())
        {
            enumerator.Dispose();
            throw NoBatches(what);
        }
        schema = (enumerator.Current ?? throw new ValidationException("Record batch 0 is null.")).Schema;
        return enumerator;
    }

    /// <summary>The batches from the current one on, each checked to have the columns of the first.</summary>
    private static IEnumerable<RecordBatch> SameSchema(IEnumerator<RecordBatch> enumerator, Schema schema)
    {
        var index = 0;
        do
        {
            var batch = enumerator.Current ?? throw new ValidationException($"Record batch {index} is null.");
            CheckSameSchema(schema, batch.Schema, index);
            yield return batch;
            index++;
        }
        while (enumerator.MoveNext());
    }

    private static ValidationException NoBatches(string what) => new(
        $"Cannot write {what} from no record batch: the schema comes from the first batch. Pass at least one batch (an empty one with the schema writes a file with no rows).");

    private static void CheckSameSchema(Schema expected, Schema actual, int index)
    {
        var a = expected.FieldsList;
        var b = actual.FieldsList;
        if (ReferenceEquals(expected, actual))
            return;
        var same = a.Count == b.Count;
        for (var i = 0; same && i < a.Count; i++)
            same = a[i].Name == b[i].Name && a[i].DataType.TypeId == b[i].DataType.TypeId;
        if (!same)
        {
            throw new ValidationException(
                $"Record batch {index} has the columns ({Describe(b)}) but the first batch has ({Describe(a)}). Every batch must have the same columns.");
        }

        static string Describe(IReadOnlyList<Field> fields) => string.Join(", ", fields.Select(f => $"{f.Name}: {ArrowTypes.NameOf(f.DataType)}"));
    }

    private static async IAsyncEnumerable<RecordBatch> ReadArrowAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        await using (stream.ConfigureAwait(false))
        {
            var isFile = await HasFileMagicAsync(stream, cancellationToken).ConfigureAwait(false);
            stream.Position = 0;
            if (isFile)
            {
                using var reader = new ArrowFileReader(stream, leaveOpen: true);
                var count = await ArrowCallAsync(path, () => reader.RecordBatchCountAsync()).ConfigureAwait(false);
                for (var i = 0; i < count; i++)
                {
                    var index = i;
                    yield return await ArrowCallAsync(path, () => reader.ReadRecordBatchAsync(index, cancellationToken)).ConfigureAwait(false);
                }

                if (count == 0)
                {
                    var schema = await ArrowCallAsync(path, () => reader.GetSchema(cancellationToken)).ConfigureAwait(false);
                    if (EmptyArrays.TryCreateBatch(schema) is { } empty)
                        yield return empty;
                }
            }
            else
            {
                using var reader = new ArrowStreamReader(stream, leaveOpen: true);
                var any = false;
                while (await ArrowCallAsync(path, () => reader.ReadNextRecordBatchAsync(cancellationToken)).ConfigureAwait(false) is { } batch)
                {
                    any = true;
                    yield return batch;
                }

                if (!any && reader.Schema is { } schema && EmptyArrays.TryCreateBatch(schema) is { } empty)
                    yield return empty;
            }
        }
    }

    private static async Task<bool> HasFileMagicAsync(Stream stream, CancellationToken cancellationToken)
    {
        var magic = new byte[6];
        var read = 0;
        while (read < magic.Length)
        {
            var n = await stream.ReadAsync(magic.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (n == 0)
                break;
            read += n;
        }

        return read == magic.Length && "ARROW1"u8.SequenceEqual(magic);
    }

    private static async ValueTask<T> ArrowCallAsync<T>(string path, Func<ValueTask<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException and not MLOpsException)
        {
            throw new ArtifactException($"The dataset file '{path}' is not a readable Arrow IPC file or stream: {e.Message}", e);
        }
    }
}
