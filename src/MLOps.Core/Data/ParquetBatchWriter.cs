using System.Buffers;
using System.Text;
using Apache.Arrow;
using MLOps.Internal;
using Apache.Arrow.Types;
using Parquet;
using Parquet.Schema;
using ArrowField = Apache.Arrow.Field;
using ArrowSchema = Apache.Arrow.Schema;

namespace MLOps.Data;

/// <summary>
/// Writes Arrow record batches to a Parquet file one row group per batch, batch by batch, for writers that produce
/// their rows over time (only the batch being written is in memory).
/// </summary>
/// <remarks>
/// <para>Supported column types: bool, int8 to int64, uint8 to uint64, float, double, decimal128, string, binary,
/// timestamp (written with the batch's unit, seconds as milliseconds; a zone makes the column <c>isAdjustedToUTC</c>)
/// and date; dictionary-encoded columns are written decoded. Nullable Arrow fields become optional Parquet columns, the
/// others required ones.</para>
/// <para>Two ways to start one:</para>
/// <list type="bullet">
/// <item><see cref="CreateFileAsync"/> writes a file atomically: the rows go to a temporary file next to the
/// destination, which <see cref="CompleteAsync"/> renames over it once the footer is written. Disposing the writer
/// without completing it deletes the temporary file, so the destination is never seen half-written (it keeps its
/// previous content, if any).</item>
/// <item><see cref="CreateAsync"/> writes to a stream the caller owns; <see cref="CompleteAsync"/> (or, as with
/// Parquet.Net's writer, disposing) writes the footer and leaves the stream open.</item>
/// </list>
/// <para>A writer is not thread-safe: write batches one at a time.</para>
/// </remarks>
/// <example>
/// <code>
/// await using var writer = await ParquetBatchWriter.CreateFileAsync(schema, "out/predictions.parquet", ct);
/// await foreach (var batch in batches) await writer.WriteAsync(batch, ct);
/// await writer.CompleteAsync(ct);   // renames the temporary file to out/predictions.parquet
/// </code>
/// </example>
public sealed class ParquetBatchWriter : IAsyncDisposable
{
    private readonly ColumnWriter[] _columns;
    private readonly ParquetWriter _writer;
    private readonly FileStream? _file;
    private readonly string? _path;
    private bool _completed;
    private bool _disposed;

    private ParquetBatchWriter(ArrowSchema schema, ColumnWriter[] columns, ParquetWriter writer, FileStream? file, string? path)
    {
        Schema = schema;
        _columns = columns;
        _writer = writer;
        _file = file;
        _path = path;
    }

    /// <summary>The Arrow schema of the file: every batch written must have these columns, in this order.</summary>
    public ArrowSchema Schema { get; }

    /// <summary>The number of rows written so far.</summary>
    public long RowCount { get; private set; }

    /// <summary>The number of row groups (batches) written so far.</summary>
    public int RowGroupCount { get; private set; }

    /// <summary>Starts a Parquet file on a stream.</summary>
    /// <param name="schema">The Arrow schema of the batches to write.</param>
    /// <param name="destination">A writable stream; it is left open.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The writer; complete or dispose it to write the footer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="schema"/> or <paramref name="destination"/> is null.</exception>
    /// <exception cref="ValidationException">The stream is not writable, or a column's type cannot be written to Parquet.</exception>
    public static async Task<ParquetBatchWriter> CreateAsync(ArrowSchema schema, Stream destination, CancellationToken cancellationToken = default)
    {
        Throw.IfNull(schema);
        DatasetWriter.CheckWritable(destination);
        var columns = CreateColumns(schema);
        var writer = await ParquetWriter.CreateAsync(ParquetSchemaOf(columns), destination, null, false, cancellationToken).ConfigureAwait(false);
        return new ParquetBatchWriter(schema, columns, writer, file: null, path: null);
    }

    /// <summary>
    /// Starts a Parquet file at a path, written atomically: the rows go to a temporary file in the destination's folder
    /// (created if missing) until <see cref="CompleteAsync"/> renames it to <paramref name="path"/>.
    /// </summary>
    /// <param name="schema">The Arrow schema of the batches to write.</param>
    /// <param name="path">The destination file; an existing file is replaced only when the writer completes.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The writer; call <see cref="CompleteAsync"/> to publish the file, dispose it in any case.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="schema"/> is null.</exception>
    /// <exception cref="ValidationException"><paramref name="path"/> is empty, or a column's type cannot be written to Parquet.</exception>
    public static async Task<ParquetBatchWriter> CreateFileAsync(ArrowSchema schema, string path, CancellationToken cancellationToken = default)
    {
        Throw.IfNull(schema);
        Names.Required(path, "Parquet file path", "Pass the path of the file to write, e.g. 'out/predictions.parquet'.");
        var columns = CreateColumns(schema);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = $"{full}.{Guid.NewGuid():N}.tmp";
        var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        try
        {
            var writer = await ParquetWriter.CreateAsync(ParquetSchemaOf(columns), file, null, false, cancellationToken).ConfigureAwait(false);
            return new ParquetBatchWriter(schema, columns, writer, file, full);
        }
        catch
        {
            await file.DisposeAsync().ConfigureAwait(false);
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Writes a batch as one row group.</summary>
    /// <param name="batch">The batch, with the writer's columns (names and types, in order); it is not disposed.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the row group is written.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="batch"/> is null.</exception>
    /// <exception cref="ValidationException">The batch has other columns than the writer's schema, or a non-nullable column holds a null.</exception>
    /// <exception cref="InvalidStateException">The writer was already completed or disposed.</exception>
    public async Task WriteAsync(RecordBatch batch, CancellationToken cancellationToken = default)
    {
        Throw.IfNull(batch);
        ThrowIfDone();
        DatasetWriter.CheckSameColumns(Schema, batch.Schema, RowGroupCount);
        using (var rowGroup = _writer.CreateRowGroup())
        {
            for (var c = 0; c < _columns.Length; c++)
                await _columns[c].WriteAsync(rowGroup, batch.Column(c), cancellationToken).ConfigureAwait(false);
            rowGroup.CompleteValidate();
        }

        RowCount += batch.Length;
        RowGroupCount++;
    }

    /// <summary>
    /// Finishes the file: writes the footer and flushes; a file started with <see cref="CreateFileAsync"/> is closed and
    /// renamed to its destination (replacing an existing file in one step).
    /// </summary>
    /// <param name="cancellationToken">Cancels the flush.</param>
    /// <returns>A task that completes when the file is complete.</returns>
    /// <exception cref="InvalidStateException">The writer was already completed or disposed.</exception>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDone();
        _completed = true;
        await _writer.DisposeAsync().ConfigureAwait(false);
        if (_file is null)
            return;
        await _file.FlushAsync(cancellationToken).ConfigureAwait(false);
        await _file.DisposeAsync().ConfigureAwait(false);
        File.Move(_file.Name, _path!, overwrite: true);
    }

    /// <summary>
    /// Releases the writer. On a stream, a writer that was not completed writes its footer now (the stream stays open);
    /// at a path, a writer that was not completed deletes its temporary file and leaves the destination untouched.
    /// </summary>
    /// <returns>A task that completes when the writer is released.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (_completed)
            return;
        _completed = true;
        if (_file is null)
        {
            await _writer.DisposeAsync().ConfigureAwait(false);
            return;
        }

        // An abandoned file is dropped without its footer: the temporary file is deleted right after.
        await _file.DisposeAsync().ConfigureAwait(false);
        File.Delete(_file.Name);
    }

    private void ThrowIfDone()
    {
        if (_completed || _disposed)
            throw new InvalidStateException("The Parquet writer is already completed or disposed. Start a new writer to write another file.");
    }

    private static ColumnWriter[] CreateColumns(ArrowSchema schema) => schema.FieldsList.Select(CreateColumn).ToArray();

    private static ParquetSchema ParquetSchemaOf(ColumnWriter[] columns) => new(columns.Select(c => (Parquet.Schema.Field)c.Field));

    private static ColumnWriter CreateColumn(ArrowField field)
    {
        var type = field.DataType is DictionaryType dictionary ? dictionary.ValueType : field.DataType;
        var name = field.Name;
        var nullable = field.IsNullable;
        return type switch
        {
            BooleanType => new ValueWriter<bool>(new DataField<bool>(name, nullable), (a, i) => ((BooleanArray)a).GetValue(i) == true),
            Int8Type => new ValueWriter<sbyte>(new DataField<sbyte>(name, nullable), (a, i) => ((Int8Array)a).Values[i]),
            Int16Type => new ValueWriter<short>(new DataField<short>(name, nullable), (a, i) => ((Int16Array)a).Values[i]),
            Int32Type => new ValueWriter<int>(new DataField<int>(name, nullable), (a, i) => ((Int32Array)a).Values[i]),
            Int64Type => new ValueWriter<long>(new DataField<long>(name, nullable), (a, i) => ((Int64Array)a).Values[i]),
            UInt8Type => new ValueWriter<byte>(new DataField<byte>(name, nullable), (a, i) => ((UInt8Array)a).Values[i]),
            UInt16Type => new ValueWriter<ushort>(new DataField<ushort>(name, nullable), (a, i) => ((UInt16Array)a).Values[i]),
            UInt32Type => new ValueWriter<uint>(new DataField<uint>(name, nullable), (a, i) => ((UInt32Array)a).Values[i]),
            UInt64Type => new ValueWriter<ulong>(new DataField<ulong>(name, nullable), (a, i) => ((UInt64Array)a).Values[i]),
            FloatType => new ValueWriter<float>(new DataField<float>(name, nullable), (a, i) => ((FloatArray)a).Values[i]),
            DoubleType => new ValueWriter<double>(new DataField<double>(name, nullable), (a, i) => ((DoubleArray)a).Values[i]),
            Decimal128Type d => new ValueWriter<decimal>(
                new DecimalDataField(name, d.Precision, d.Scale, isNullable: nullable),
                (a, i) => ((Decimal128Array)a).GetValue(i) ?? 0m),
            StringType or LargeStringType or StringViewType => new StringWriter(new DataField<string>(name, nullable)),
            BinaryType or LargeBinaryType or BinaryViewType => new BinaryWriter(new DataField<byte[]>(name, nullable)),
            Apache.Arrow.Types.TimestampType t => new ValueWriter<DateTime>(
                new DateTimeDataField(name, DateTimeFormat.Timestamp, isAdjustedToUTC: !string.IsNullOrEmpty(t.Timezone), unit: UnitOf(t.Unit), isNullable: nullable),
                TimestampGetter(t)),
            Date32Type => new ValueWriter<DateOnly>(new DataField<DateOnly>(name, nullable), (a, i) => ((Date32Array)a).GetDateOnly(i) ?? default),
            Date64Type => new ValueWriter<DateOnly>(new DataField<DateOnly>(name, nullable), (a, i) => ((Date64Array)a).GetDateOnly(i) ?? default),
            _ => throw new ValidationException(
                $"Column '{name}' has the Arrow type {ArrowTypes.NameOf(field.DataType)}, which cannot be written to Parquet. Supported: bool, int8 to int64, uint8 to uint64, float, double, decimal128, string, binary, timestamp and date."),
        };
    }

    private static DateTimeTimeUnit UnitOf(TimeUnit unit) => unit switch
    {
        TimeUnit.Microsecond => DateTimeTimeUnit.Micros,
        TimeUnit.Nanosecond => DateTimeTimeUnit.Nanos,
        _ => DateTimeTimeUnit.Millis,
    };

    private static Func<IArrowArray, int, DateTime> TimestampGetter(Apache.Arrow.Types.TimestampType type)
    {
        var utc = !string.IsNullOrEmpty(type.Timezone);
        return (a, i) =>
        {
            var value = ((TimestampArray)a).GetTimestampUnchecked(i).UtcDateTime;
            return utc ? value : DateTime.SpecifyKind(value, DateTimeKind.Unspecified);
        };
    }

    /// <summary>Resolves a dictionary-encoded row to the dictionary and position holding its value.</summary>
    private static (IArrowArray Values, int Index) Resolve(IArrowArray array, int row)
    {
        if (array is not DictionaryArray dictionary)
            return (array, row);
        var code = ArrowTypes.DictionaryCode(dictionary.Indices, row);
        return (dictionary.Dictionary, code);
    }

    private static bool IsNull(IArrowArray array, int row)
    {
        if (array.IsNull(row))
            return true;
        if (array is not DictionaryArray dictionary)
            return false;
        var code = ArrowTypes.DictionaryCode(dictionary.Indices, row);
        return code < 0 || dictionary.Dictionary.IsNull(code);
    }

    private abstract class ColumnWriter(DataField field)
    {
        public DataField Field { get; } = field;

        public abstract Task WriteAsync(ParquetRowGroupWriter rowGroup, IArrowArray array, CancellationToken cancellationToken);

        protected void ThrowIfNullInRequired(IArrowArray array)
        {
            if (!Field.IsNullable && array.NullCount > 0)
            {
                throw new ValidationException(
                    $"Column '{Field.Name}' is not nullable in the Arrow schema but holds {array.NullCount} null(s). Mark the field nullable or fill the nulls.");
            }
        }
    }

    private sealed class ValueWriter<T>(DataField field, Func<IArrowArray, int, T> get) : ColumnWriter(field)
        where T : struct, IEquatable<T>
    {
        public override Task WriteAsync(ParquetRowGroupWriter rowGroup, IArrowArray array, CancellationToken cancellationToken)
        {
            ThrowIfNullInRequired(array);
            if (array is PrimitiveArray<T> primitive)
                return WriteDenseAsync(rowGroup, primitive, cancellationToken);
            if (array is TimestampArray timestamps && typeof(T) == typeof(DateTime))
                return WriteDenseAsync(rowGroup, timestamps, cancellationToken);
            if (Field.IsNullable)
            {
                var values = new T?[array.Length];
                for (var i = 0; i < values.Length; i++)
                {
                    if (!IsNull(array, i))
                    {
                        var (source, index) = Resolve(array, i);
                        values[i] = get(source, index);
                    }
                }

                return rowGroup.WriteAsync<T>(Field, values, null, null, cancellationToken);
            }
            else
            {
                var values = new T[array.Length];
                for (var i = 0; i < values.Length; i++)
                {
                    var (source, index) = Resolve(array, i);
                    values[i] = get(source, index);
                }

                return rowGroup.WriteAsync<T>(Field, values, null, null, cancellationToken);
            }
        }

        private Task WriteDenseAsync(ParquetRowGroupWriter rowGroup, PrimitiveArray<T> array, CancellationToken cancellationToken)
            => WriteDense<T>(rowGroup, Field, array.Values, array, cancellationToken);

        private Task WriteDenseAsync(ParquetRowGroupWriter rowGroup, TimestampArray array, CancellationToken cancellationToken)
        {
            var type = (Apache.Arrow.Types.TimestampType)array.Data.DataType;
            var ticksPerUnit = type.Unit switch
            {
                TimeUnit.Second => TimeSpan.TicksPerSecond,
                TimeUnit.Millisecond => TimeSpan.TicksPerMillisecond,
                TimeUnit.Microsecond => 10L,
                _ => 0L,
            };
            var raw = array.Values;
            var rented = ArrayPool<DateTime>.Shared.Rent(raw.Length);
            var dates = rented.AsSpan(0, raw.Length);
            var kind = string.IsNullOrEmpty(type.Timezone) ? DateTimeKind.Unspecified : DateTimeKind.Utc;
            for (var i = 0; i < dates.Length; i++)
            {
                var ticks = ticksPerUnit == 0 ? raw[i] / 100 : raw[i] * ticksPerUnit;
                dates[i] = new DateTime(DateTime.UnixEpoch.Ticks + ticks, kind);
            }

            return ReturnAfter(WriteDense<DateTime>(rowGroup, Field, (ReadOnlySpan<DateTime>)dates, array, cancellationToken), rented);
        }
    }

    /// <summary>
    /// The fast path for arrays whose storage is the Parquet type (and timestamps): the non-null values copied in bulk,
    /// with definition levels for nullable columns, instead of one delegate call per value. The copies live in pooled
    /// arrays, given back once the column is written (Parquet.Net encodes the column before its task completes), so a
    /// chunk's columns do not each allocate a large array.
    /// </summary>
    private static Task WriteDense<T>(ParquetRowGroupWriter rowGroup, DataField field, ReadOnlySpan<T> source, IArrowArray array, CancellationToken cancellationToken)
        where T : struct
    {
        var count = field.IsNullable ? source.Length - array.NullCount : source.Length;
        var values = ArrayPool<T>.Shared.Rent(Math.Max(count, 1));
        if (!field.IsNullable)
        {
            source.CopyTo(values);
            return ReturnAfter(rowGroup.WriteAsync<T>(field, values.AsMemory(0, count), null, null, cancellationToken), values);
        }

        var definitions = ArrayPool<int>.Shared.Rent(Math.Max(source.Length, 1));
        if (array.NullCount == 0)
        {
            source.CopyTo(values);
            definitions.AsSpan(0, source.Length).Fill(1);
        }
        else
        {
            var n = 0;
            for (var i = 0; i < source.Length; i++)
            {
                if (array.IsNull(i))
                {
                    definitions[i] = 0;
                    continue;
                }

                definitions[i] = 1;
                values[n++] = source[i];
            }
        }

        return ReturnAfter(rowGroup.WriteAllPartsAsync<T>(field, values.AsMemory(0, count), definitions.AsMemory(0, source.Length), null, cancellationToken), values, definitions);
    }

    /// <summary>Gives pooled arrays back once a write is done (also when it failed).</summary>
    private static async Task ReturnAfter<T>(Task write, T[] rented, int[]? definitions = null)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<T>.Shared.Return(rented);
            if (definitions is not null) ArrayPool<int>.Shared.Return(definitions);
        }
    }

    /// <summary>
    /// Strings: the values decoded from UTF-8 into one pooled character buffer and handed to Parquet.Net as slices of it
    /// (its own representation of strings), instead of one <see cref="string"/> per value.
    /// </summary>
    private sealed class StringWriter(DataField field) : ColumnWriter(field)
    {
        public override Task WriteAsync(ParquetRowGroupWriter rowGroup, IArrowArray array, CancellationToken cancellationToken)
        {
            ThrowIfNullInRequired(array);
            var n = array.Length;
            var chars = ArrayPool<char>.Shared.Rent(Math.Max(Utf8Length(array), 1));
            var slices = ArrayPool<ReadOnlyMemory<char>?>.Shared.Rent(Math.Max(n, 1));
            var at = 0;
            for (var i = 0; i < n; i++)
            {
                if (IsNull(array, i))
                {
                    slices[i] = null;
                    continue;
                }

                var (source, index) = Resolve(array, i);
                var bytes = ArrowTypes.Utf8(source, index);
                if (chars.Length - at < bytes.Length) Grow(ref chars, at + bytes.Length);
                var length = Encoding.UTF8.GetChars(bytes, chars.AsSpan(at));
                slices[i] = chars.AsMemory(at, length);
                at += length;
            }

            return ReturnAfter(rowGroup.WriteAsync<ReadOnlyMemory<char>>(Field, slices.AsMemory(0, n), null, null, cancellationToken), slices, chars);
        }

        /// <summary>The UTF-8 bytes of a plain string array (a UTF-8 string has at most as many characters as bytes); 0 for others, which grow the buffer as needed.</summary>
        private static int Utf8Length(IArrowArray array) => array switch
        {
            StringArray s when s.Length > 0 => s.ValueOffsets[s.Length] - s.ValueOffsets[0],
            _ => 0,
        };

        private static void Grow(ref char[] chars, int needed)
        {
            var larger = ArrayPool<char>.Shared.Rent(Math.Max(needed, chars.Length * 2));
            // slices already taken keep pointing into the old buffer, which must stay alive (it is not returned to the pool)
            chars = larger;
        }

        private static async Task ReturnAfter(Task write, ReadOnlyMemory<char>?[] slices, char[] chars)
        {
            try
            {
                await write.ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<ReadOnlyMemory<char>?>.Shared.Return(slices, clearArray: true);
                ArrayPool<char>.Shared.Return(chars);
            }
        }
    }

    private sealed class BinaryWriter(DataField field) : ColumnWriter(field)
    {
        public override Task WriteAsync(ParquetRowGroupWriter rowGroup, IArrowArray array, CancellationToken cancellationToken)
        {
            ThrowIfNullInRequired(array);
            var values = new byte[]?[array.Length];
            for (var i = 0; i < values.Length; i++)
            {
                if (!IsNull(array, i))
                {
                    var (source, index) = Resolve(array, i);
                    values[i] = source switch
                    {
                        BinaryArray b => b.GetBytes(index).ToArray(),
                        LargeBinaryArray b => b.GetBytes(index).ToArray(),
                        BinaryViewArray b => b.GetBytes(index).ToArray(),
                        _ => null,
                    };
                }
            }

            return rowGroup.WriteAsync(Field, values!, null);
        }
    }
}
