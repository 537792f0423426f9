using Apache.Arrow;
using Apache.Arrow.Ipc;
using MLOps.Internal;

namespace MLOps.Data;

/// <summary>
/// Writes Arrow record batches as whole files: Arrow IPC (Feather v2) or Parquet, on a stream or (Parquet) atomically at a
/// path. To write batches as they are produced, one at a time, use <see cref="ParquetBatchWriter"/>.
/// </summary>
public static class DatasetWriter
{
    /// <summary>Writes record batches as an Arrow IPC file (the Feather v2 layout).</summary>
    /// <param name="batches">The batches; they must all have the schema of the first one. They are not disposed.</param>
    /// <param name="destination">A writable stream; it is left open.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the file is written and the stream flushed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="batches"/> or <paramref name="destination"/> is null.</exception>
    /// <exception cref="ValidationException">The stream is not writable, there is no batch (at least one, possibly empty,
    /// is needed for the schema), a batch is null or a batch has other columns than the first.</exception>
    public static async Task WriteArrowFileAsync(IEnumerable<RecordBatch> batches, Stream destination, CancellationToken cancellationToken = default)
    {
        CheckWritable(destination);
        using var enumerator = Start(batches, "an Arrow file", out var schema);
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
    /// Writes record batches as a Parquet file on a stream, one row group per batch. Supported column types: bool, int8
    /// to int64, uint8 to uint64, float, double, decimal128, string, binary, timestamp (written with the batch's unit,
    /// seconds as milliseconds) and date; dictionary-encoded columns are written decoded. Nullable Arrow fields become
    /// optional Parquet columns, the others required ones (see <see cref="ParquetBatchWriter"/>).
    /// </summary>
    /// <param name="batches">The batches; they must all have the schema of the first one. They are not disposed.</param>
    /// <param name="destination">A writable stream; it is left open.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the file is written and the stream flushed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="batches"/> or <paramref name="destination"/> is null.</exception>
    /// <exception cref="ValidationException">The stream is not writable, there is no batch, a batch is null or has other
    /// columns than the first, a column's type is not supported, or a non-nullable column holds a null.</exception>
    public static async Task WriteParquetAsync(IEnumerable<RecordBatch> batches, Stream destination, CancellationToken cancellationToken = default)
    {
        CheckWritable(destination);
        using var enumerator = Start(batches, "a Parquet file", out var schema);
        var writer = await ParquetBatchWriter.CreateAsync(schema, destination, cancellationToken).ConfigureAwait(false);
        await WriteAllAsync(writer, enumerator, cancellationToken).ConfigureAwait(false);
        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes record batches as a Parquet file at a path, atomically: the file is written under a temporary name in the
    /// same folder and renamed to <paramref name="path"/> once complete, so a reader never sees it half-written and a
    /// failed or cancelled write leaves no file (and an existing file untouched). See <see cref="WriteParquetAsync"/> for
    /// the supported types.
    /// </summary>
    /// <param name="batches">The batches; they must all have the schema of the first one. They are not disposed.</param>
    /// <param name="path">The destination file; its folder is created if missing, an existing file is replaced.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="batches"/> is null.</exception>
    /// <exception cref="ValidationException"><paramref name="path"/> is empty, there is no batch, a batch is null or has
    /// other columns than the first, a column's type is not supported, or a non-nullable column holds a null.</exception>
    public static async Task WriteParquetFileAsync(IEnumerable<RecordBatch> batches, string path, CancellationToken cancellationToken = default)
    {
        Names.Required(path, "Parquet file path", "Pass the path of the file to write, e.g. 'out/flights.parquet'.");
        using var enumerator = Start(batches, "a Parquet file", out var schema);
        var writer = await ParquetBatchWriter.CreateFileAsync(schema, path, cancellationToken).ConfigureAwait(false);
        await WriteAllAsync(writer, enumerator, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the batches from the enumerator's current one on, completes the writer and disposes it (also on failure,
    /// which leaves no file behind for a writer at a path).</summary>
    private static async Task WriteAllAsync(ParquetBatchWriter writer, IEnumerator<RecordBatch> enumerator, CancellationToken cancellationToken)
    {
        await using (writer.ConfigureAwait(false))
        {
            foreach (var batch in SameSchema(enumerator, writer.Schema))
                await writer.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
            await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Checks the arguments of a writer and moves to the first batch, whose schema the file takes.</summary>
    private static IEnumerator<RecordBatch> Start(IEnumerable<RecordBatch> batches, string what, out Schema schema)
    {
        Throw.IfNull(batches);
        var enumerator = batches.GetEnumerator();
        if (!enumerator.MoveNext())
        {
            enumerator.Dispose();
            throw NoBatches(what);
        }
        schema = (enumerator.Current ?? throw new ValidationException("Record batch 0 is null. Pass only non-null batches.")).Schema;
        return enumerator;
    }

    /// <summary>The batches from the current one on, each checked to have the columns of the first.</summary>
    private static IEnumerable<RecordBatch> SameSchema(IEnumerator<RecordBatch> enumerator, Schema schema)
    {
        var index = 0;
        do
        {
            var batch = enumerator.Current ?? throw new ValidationException($"Record batch {index} is null. Pass only non-null batches.");
            CheckSameColumns(schema, batch.Schema, index);
            yield return batch;
            index++;
        }
        while (enumerator.MoveNext());
    }

    /// <summary>Checks that a destination stream is given and writable.</summary>
    internal static void CheckWritable(Stream destination)
    {
        Throw.IfNull(destination);
        if (!destination.CanWrite)
            throw new ValidationException("The destination stream is not writable. Pass a stream opened for writing (e.g. File.Create(path)).");
    }

    private static ValidationException NoBatches(string what) => new(
        $"Cannot write {what} from no record batch: the schema comes from the first batch. Pass at least one batch (an empty one with the schema writes a file with no rows).");

    /// <summary>Checks that a batch has the columns of the file (names and type ids, in order).</summary>
    /// <exception cref="ValidationException">It has other columns.</exception>
    internal static void CheckSameColumns(Schema expected, Schema actual, int index)
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
}
