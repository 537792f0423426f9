using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using Parquet;
using Parquet.Schema;
using ArrowField = Apache.Arrow.Field;
using ArrowSchema = Apache.Arrow.Schema;
using ParquetField = Parquet.Schema.Field;

namespace MLOps.Data;

/// <summary>
/// Reads a Parquet file as Arrow record batches: one row group at a time, each cut into batches of at most the batch size.
/// </summary>
/// <remarks>
/// Each column is read in bulk (Parquet.Net's raw read: the non-null values packed, with the definition levels), and
/// the Arrow buffers are built from those arrays directly: one copy per column and batch for fixed-width values, one
/// UTF-8 encoding pass for strings, no array builder or per-value delegate on the common types.
/// </remarks>
internal static class ParquetBatchReader
{
    private static ParquetOptions Options => new()
    {
        UseDateOnlyTypeForDates = true,
    };

    private delegate IArrowArray BuildArray<T>(ReadOnlySpan<T> values);

    public static IAsyncEnumerable<RecordBatch> ReadAsync(string path, int batchSize, CancellationToken cancellationToken)
        => ReadAsync(path, batchSize, columns: null, cancellationToken);

    /// <summary>Reads the file, only the named columns when <paramref name="columns"/> is given.</summary>
    /// <param name="path">The file.</param>
    /// <param name="batchSize">The largest number of rows in a batch.</param>
    /// <param name="columns">The top-level columns to read (in file order; names the file lacks are ignored, the others
    /// are neither read nor decoded); null reads every column.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The batches.</returns>
    public static async IAsyncEnumerable<RecordBatch> ReadAsync(string path, int batchSize, IReadOnlyCollection<string>? columns, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var reader = await CallAsync(path, () => ParquetReader.CreateAsync(path, Options, cancellationToken)).ConfigureAwait(false);
        var readers = System.Array.Empty<ColumnReader>();
        await using (reader.ConfigureAwait(false))
        try
        {
            readers = reader.Schema.Fields
                .Where(f => columns is null || columns.Contains(f.Name, StringComparer.Ordinal))
                .Select(f => CreateColumn(f, path)).ToArray();
            var schema = new ArrowSchema(readers.Select(c => c.ArrowField), metadata: null);
            var yielded = false;
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var rowGroup = reader.OpenRowGroupReader(g);
                var rows = checked((int)rowGroup.RowCount);
                foreach (var column in readers)
                    await CallAsync(path, async () => { await column.ReadAsync(rowGroup, rows, cancellationToken).ConfigureAwait(false); return true; }).ConfigureAwait(false);

                for (var offset = 0; offset < rows; offset += batchSize)
                {
                    var length = Math.Min(batchSize, rows - offset);
                    var arrays = new IArrowArray[readers.Length];
                    for (var c = 0; c < arrays.Length; c++) arrays[c] = readers[c].Build(offset, length);
                    yield return new RecordBatch(schema, arrays, length);
                    yielded = true;
                }
            }

            if (!yielded)
                yield return new RecordBatch(schema, readers.Select(c => c.Build(0, 0)).ToArray(), 0);
        }
        finally
        {
            foreach (var column in readers) column.Release();
        }
    }

    private static async Task<T> CallAsync<T>(string path, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException and not MLOpsException)
        {
            throw new ArtifactException($"The dataset file '{path}' is not a readable Parquet file: {e.Message}", e);
        }
    }

    private static ColumnReader CreateColumn(ParquetField field, string path)
    {
        if (field is not DataField data || data.IsArray)
        {
            throw new ArtifactException(
                $"Column '{field.Name}' of the Parquet file '{path}' is a nested {field.SchemaType} column; only flat columns of scalar values can be read. Flatten the dataset first.");
        }

        var type = data.ClrType;
        var nullable = data.IsNullable;
        if (type == typeof(bool))
            return new BooleanColumn(data, new(data.Name, BooleanType.Default, nullable));
        if (type == typeof(sbyte))
            return new FixedColumn<sbyte>(data, new(data.Name, Int8Type.Default, nullable));
        if (type == typeof(short))
            return new FixedColumn<short>(data, new(data.Name, Int16Type.Default, nullable));
        if (type == typeof(int))
            return new FixedColumn<int>(data, new(data.Name, Int32Type.Default, nullable));
        if (type == typeof(long))
            return new FixedColumn<long>(data, new(data.Name, Int64Type.Default, nullable));
        if (type == typeof(byte))
            return new FixedColumn<byte>(data, new(data.Name, UInt8Type.Default, nullable));
        if (type == typeof(ushort))
            return new FixedColumn<ushort>(data, new(data.Name, UInt16Type.Default, nullable));
        if (type == typeof(uint))
            return new FixedColumn<uint>(data, new(data.Name, UInt32Type.Default, nullable));
        if (type == typeof(ulong))
            return new FixedColumn<ulong>(data, new(data.Name, UInt64Type.Default, nullable));
        if (type == typeof(float))
            return new FixedColumn<float>(data, new(data.Name, FloatType.Default, nullable));
        if (type == typeof(double))
            return new FixedColumn<double>(data, new(data.Name, DoubleType.Default, nullable));
        if (type == typeof(decimal))
        {
            var (precision, scale) = data is DecimalDataField d ? (Math.Clamp(d.Precision, 1, 38), Math.Clamp(d.Scale, 0, 38)) : (38, 18);
            var decimalType = new Decimal128Type(precision, Math.Min(scale, precision));
            return new ValueColumn<decimal>(data, new(data.Name, decimalType, nullable), v =>
            {
                var builder = new Decimal128Array.Builder(decimalType).Reserve(v.Length);
                foreach (var item in v)
                {
                    if (item.HasValue)
                        builder.Append(item.Value);
                    else
                        builder.AppendNull();
                }

                return builder.Build();
            });
        }

        if (type == typeof(DateTime))
            return new TimestampColumn(data, new(data.Name, TimestampTypeOf(data), nullable));

        if (type == typeof(DateOnly))
        {
            return new ValueColumn<DateOnly>(data, new(data.Name, Date32Type.Default, nullable), v =>
            {
                var builder = new Date32Array.Builder().Reserve(v.Length);
                foreach (var item in v)
                {
                    if (item.HasValue)
                        builder.Append(item.Value);
                    else
                        builder.AppendNull();
                }

                return builder.Build();
            });
        }

        if (type == typeof(TimeSpan))
            return new ValueColumn<TimeSpan>(data, new(data.Name, new Time64Type(TimeUnit.Microsecond), nullable), v => Times(v, t => t.Ticks / TimeSpan.TicksPerMicrosecond));
        if (type == typeof(TimeOnly))
            return new ValueColumn<TimeOnly>(data, new(data.Name, new Time64Type(TimeUnit.Microsecond), nullable), v => Times(v, t => t.Ticks / TimeSpan.TicksPerMicrosecond));
        if (type == typeof(Guid))
        {
            return new ValueColumn<Guid>(data, new(data.Name, StringType.Default, nullable), v =>
            {
                var builder = new StringArray.Builder().Reserve(v.Length);
                foreach (var item in v)
                {
                    if (item.HasValue)
                        builder.Append(item.Value.ToString("D"));
                    else
                        builder.AppendNull();
                }

                return builder.Build();
            });
        }

        if (type == typeof(ReadOnlyMemory<char>))
            return new StringColumn(data, new(data.Name, StringType.Default, nullable));
        if (type == typeof(string))
            return new TextColumn(data, new(data.Name, StringType.Default, nullable));
        if (type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>))
            return new BinaryColumn(data, new(data.Name, BinaryType.Default, nullable));

        throw new ArtifactException(
            $"Column '{data.Name}' of the Parquet file '{path}' has the type {type.Name}, which cannot be read as Arrow. Supported: booleans, integers, floating-point numbers, decimals, strings, binary, timestamps, dates and times.");
    }

    private static Apache.Arrow.Types.TimestampType TimestampTypeOf(DataField field)
    {
        if (field is not DateTimeDataField dateTime)
            return new(TimeUnit.Microsecond, "UTC");
        var unit = dateTime.DateTimeFormat switch
        {
            DateTimeFormat.DateAndTime => TimeUnit.Millisecond,
            DateTimeFormat.Timestamp => dateTime.Unit switch
            {
                DateTimeTimeUnit.Millis => TimeUnit.Millisecond,
                DateTimeTimeUnit.Nanos => TimeUnit.Nanosecond,
                _ => TimeUnit.Microsecond,
            },
            _ => TimeUnit.Microsecond,
        };
        var adjusted = dateTime.DateTimeFormat != DateTimeFormat.Timestamp || dateTime.IsAdjustedToUTC;
        return new(unit, adjusted ? "UTC" : null);
    }

    private static Time64Array Times<T>(ReadOnlySpan<T?> values, Func<T, long> microseconds)
        where T : struct
    {
        var builder = new Time64Array.Builder(TimeUnit.Microsecond).Reserve(values.Length);
        foreach (var item in values)
        {
            if (item.HasValue)
                builder.Append(microseconds(item.Value));
            else
                builder.AppendNull();
        }

        return builder.Build();
    }

    /// <summary>Reads one column of a row group and builds Arrow arrays of slices of it.</summary>
    private abstract class ColumnReader(DataField field, ArrowField arrowField)
    {
        public DataField Field { get; } = field;

        public ArrowField ArrowField { get; } = arrowField;

        public abstract Task ReadAsync(ParquetRowGroupReader rowGroup, int rows, CancellationToken cancellationToken);

        public abstract IArrowArray Build(int offset, int length);

        /// <summary>Gives back the buffers of the last row group (after the last <see cref="Build"/>).</summary>
        public virtual void Release()
        {
        }
    }

    /// <summary>
    /// A column read raw: the values of a row group (the packed non-null values spread out in place to their rows, so
    /// a null row holds <c>default</c>) and, for a nullable column, its definition levels.
    /// </summary>
    /// <remarks>The buffers are rented from the shared array pools (each batch copies its slice out of them) and
    /// returned by <see cref="ColumnReader.Release"/>.</remarks>
    private abstract class RawColumn<T>(DataField field, ArrowField arrowField) : ColumnReader(field, arrowField)
        where T : struct
    {
        private int[] _definitions = [];
        private int _nulls;

        /// <summary>The values by row; a null row holds <c>default</c>.</summary>
        protected T[] Values { get; private set; } = [];

        public override async Task ReadAsync(ParquetRowGroupReader rowGroup, int rows, CancellationToken cancellationToken)
        {
            if (Values.Length < rows)
            {
                Return(Values);
                Values = ArrayPool<T>.Shared.Rent(rows);
            }

            _nulls = 0;
            if (!Field.IsNullable)
            {
                await rowGroup.ReadRawAsync<T>(Field, Values.AsMemory(0, rows), null, null, cancellationToken).ConfigureAwait(false);
                return;
            }

            if (_definitions.Length < rows)
            {
                if (_definitions.Length > 0) ArrayPool<int>.Shared.Return(_definitions);
                _definitions = ArrayPool<int>.Shared.Rent(rows);
            }

            var values = Values.AsMemory(0, rows);
            var definitions = _definitions.AsMemory(0, rows);
            await rowGroup.ReadRawAsync<T>(Field, values, definitions, null, cancellationToken).ConfigureAwait(false);
            Spread(values.Span, definitions.Span);
        }

        public override void Release()
        {
            Return(Values);
            Values = [];
            if (_definitions.Length > 0) ArrayPool<int>.Shared.Return(_definitions);
            _definitions = [];
            _nulls = 0;
        }

        private static void Return(T[] values)
        {
            if (values.Length > 0) ArrayPool<T>.Shared.Return(values, clearArray: RuntimeHelpers.IsReferenceOrContainsReferences<T>());
        }

        /// <summary>Moves the packed values to their rows (from the end, so that nothing is overwritten before it moved).</summary>
        private void Spread(Span<T> values, ReadOnlySpan<int> definitions)
        {
            var max = Field.MaxDefinitionLevel;
            var present = 0;
            foreach (var d in definitions)
                if (d == max) present++;
            _nulls = definitions.Length - present;
            if (_nulls == 0) return;
            var next = present - 1;
            for (var i = definitions.Length - 1; i >= 0; i--)
                values[i] = definitions[i] == max ? values[next--] : default;
        }

        /// <summary>Whether a row (of the current row group) is null.</summary>
        protected bool IsNull(int row) => _nulls > 0 && _definitions[row] != Field.MaxDefinitionLevel;

        /// <summary>The validity bitmap of rows [offset, offset + length): empty when none is null.</summary>
        protected (ArrowBuffer Bitmap, int NullCount) Validity(int offset, int length)
        {
            if (_nulls == 0 || length == 0) return (ArrowBuffer.Empty, 0);
            var max = Field.MaxDefinitionLevel;
            var definitions = _definitions.AsSpan(offset, length);
            var bits = new byte[(length + 7) / 8];
            var nulls = 0;
            for (var i = 0; i < definitions.Length; i++)
            {
                if (definitions[i] == max) bits[i >> 3] |= (byte)(1 << (i & 7));
                else nulls++;
            }

            return nulls == 0 ? (ArrowBuffer.Empty, 0) : (new ArrowBuffer(bits), nulls);
        }
    }

    /// <summary>A fixed-width column whose Arrow storage is the Parquet value type: the values copied as they are.</summary>
    private sealed class FixedColumn<T>(DataField field, ArrowField arrowField) : RawColumn<T>(field, arrowField)
        where T : unmanaged
    {
        public override IArrowArray Build(int offset, int length)
        {
            var (bitmap, nulls) = Validity(offset, length);
            var values = new ArrowBuffer(MemoryMarshal.AsBytes(Values.AsSpan(offset, length)).ToArray());
            return ArrowArrayFactory.BuildArray(new ArrayData(ArrowField.DataType, length, nulls, 0, [bitmap, values]));
        }
    }

    private sealed class BooleanColumn(DataField field, ArrowField arrowField) : RawColumn<bool>(field, arrowField)
    {
        public override IArrowArray Build(int offset, int length)
        {
            var (bitmap, nulls) = Validity(offset, length);
            var bits = new byte[(length + 7) / 8];
            var values = Values.AsSpan(offset, length);
            for (var i = 0; i < values.Length; i++)
                if (values[i]) bits[i >> 3] |= (byte)(1 << (i & 7));
            return new BooleanArray(new ArrowBuffer(bits), bitmap, length, nulls, 0);
        }
    }

    /// <summary>
    /// Timestamps: Parquet.Net's <see cref="DateTime"/> values as counts of the column's unit since the epoch, exactly as
    /// the file stores them. An <c>isAdjustedToUTC=true</c> column (and INT96, and the legacy converted types) holds
    /// instants and becomes a timestamp with the zone <c>UTC</c>; an <c>isAdjustedToUTC=false</c> column holds wall-clock
    /// times and becomes a timestamp without a zone. Parquet.Net marks the latter <see cref="DateTimeKind.Local"/>, but
    /// its ticks are the stored wall-clock value, so they are never converted with the machine's zone.
    /// </summary>
    private sealed class TimestampColumn(DataField field, ArrowField arrowField) : RawColumn<DateTime>(field, arrowField)
    {
        public override IArrowArray Build(int offset, int length)
        {
            var type = (Apache.Arrow.Types.TimestampType)ArrowField.DataType;
            var (bitmap, nulls) = Validity(offset, length);
            var values = Values.AsSpan(offset, length);
            var buffer = new byte[length * sizeof(long)];
            var raw = MemoryMarshal.Cast<byte, long>(buffer.AsSpan());
            for (var i = 0; i < raw.Length; i++)
            {
                if (nulls > 0 && IsNull(offset + i)) continue;
                var value = values[i];
                var ticks = value.Ticks - DateTime.UnixEpoch.Ticks;
                raw[i] = type.Unit switch
                {
                    TimeUnit.Nanosecond => ticks * 100,
                    TimeUnit.Microsecond => FloorDiv(ticks, 10),
                    TimeUnit.Millisecond => FloorDiv(ticks, TimeSpan.TicksPerMillisecond),
                    _ => FloorDiv(ticks, TimeSpan.TicksPerSecond),
                };
            }

            return new TimestampArray(type, new ArrowBuffer(buffer), bitmap, length, nulls, 0);
        }

        /// <summary>Division rounding down, so that times before 1970 keep their place.</summary>
        private static long FloorDiv(long value, long divisor) => value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor);
    }

    /// <summary>Strings read as Parquet.Net's character slices (no string per value) and encoded once into the Arrow UTF-8 buffer.</summary>
    private sealed class StringColumn(DataField field, ArrowField arrowField) : RawColumn<ReadOnlyMemory<char>>(field, arrowField)
    {
        public override IArrowArray Build(int offset, int length)
        {
            var (bitmap, nulls) = Validity(offset, length);
            var values = Values.AsSpan(offset, length);
            var size = 0;
            foreach (var v in values) size += Encoding.UTF8.GetByteCount(v.Span);
            var bytes = new byte[size];
            var offsetBuffer = new byte[(length + 1) * sizeof(int)];
            var offsets = MemoryMarshal.Cast<byte, int>(offsetBuffer.AsSpan());
            var at = 0;
            for (var i = 0; i < values.Length; i++)
            {
                at += Encoding.UTF8.GetBytes(values[i].Span, bytes.AsSpan(at));
                offsets[i + 1] = at;
            }

            return new StringArray(length, new ArrowBuffer(offsetBuffer), new ArrowBuffer(bytes), bitmap, nulls, 0);
        }
    }

    /// <summary>The less common value types: the values of a slice as nullable values, built by a delegate.</summary>
    private sealed class ValueColumn<T>(DataField field, ArrowField arrowField, BuildArray<T?> build) : RawColumn<T>(field, arrowField)
        where T : struct
    {
        public override IArrowArray Build(int offset, int length)
        {
            var values = new T?[length];
            for (var i = 0; i < length; i++)
                if (!IsNull(offset + i)) values[i] = Values[offset + i];
            return build(values);
        }
    }

    /// <summary>A string column that Parquet.Net types as <see cref="string"/>: read as strings.</summary>
    private sealed class TextColumn(DataField field, ArrowField arrowField) : ColumnReader(field, arrowField)
    {
        private string?[] _values = [];

        public override async Task ReadAsync(ParquetRowGroupReader rowGroup, int rows, CancellationToken cancellationToken)
        {
            if (_values.Length != rows)
                _values = new string?[rows];
            await rowGroup.ReadAsync(Field, _values.AsMemory()!, null, cancellationToken).ConfigureAwait(false);
        }

        public override IArrowArray Build(int offset, int length)
        {
            var builder = new StringArray.Builder().Reserve(length);
            foreach (var item in _values.AsSpan(offset, length))
            {
                if (item is null)
                    builder.AppendNull();
                else
                    builder.Append(item);
            }

            return builder.Build();
        }
    }

    private sealed class BinaryColumn(DataField field, ArrowField arrowField) : ColumnReader(field, arrowField)
    {
        private byte[]?[] _values = [];

        public override async Task ReadAsync(ParquetRowGroupReader rowGroup, int rows, CancellationToken cancellationToken)
        {
            if (_values.Length != rows)
                _values = new byte[]?[rows];
            await rowGroup.ReadAsync(Field, _values.AsMemory()!, null, cancellationToken).ConfigureAwait(false);
        }

        public override IArrowArray Build(int offset, int length)
        {
            var builder = new BinaryArray.Builder().Reserve(length);
            foreach (var item in _values.AsSpan(offset, length))
            {
                if (item is null)
                    builder.AppendNull();
                else
                    builder.Append(item.AsSpan());
            }

            return builder.Build();
        }
    }
}
