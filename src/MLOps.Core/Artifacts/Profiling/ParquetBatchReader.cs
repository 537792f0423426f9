using System.Runtime.CompilerServices;
using Apache.Arrow;
using Apache.Arrow.Types;
using Parquet;
using Parquet.Schema;
using ArrowField = Apache.Arrow.Field;
using ArrowSchema = Apache.Arrow.Schema;
using ParquetField = Parquet.Schema.Field;

namespace MLOps.Artifacts;

/// <summary>
/// Reads a Parquet file as Arrow record batches: one row group at a time, each cut into batches of at most the batch size.
/// </summary>
internal static class ParquetBatchReader
{
    private static ParquetOptions Options => new()
    {
        UseDateOnlyTypeForDates = true,
    };

    private delegate IArrowArray BuildArray<T>(ReadOnlySpan<T> values);

    public static async IAsyncEnumerable<RecordBatch> ReadAsync(string path, int batchSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var reader = await CallAsync(path, () => ParquetReader.CreateAsync(path, Options, cancellationToken)).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            var columns = reader.Schema.Fields.Select(f => CreateColumn(f, path)).ToArray();
            var schema = new ArrowSchema(columns.Select(c => c.ArrowField), metadata: null);
            var yielded = false;
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var rowGroup = reader.OpenRowGroupReader(g);
                var rows = checked((int)rowGroup.RowCount);
                foreach (var column in columns)
                    await CallAsync(path, async () => { await column.ReadAsync(rowGroup, rows, cancellationToken).ConfigureAwait(false); return true; }).ConfigureAwait(false);

                for (var offset = 0; offset < rows; offset += batchSize)
                {
                    var length = Math.Min(batchSize, rows - offset);
                    yield return new RecordBatch(schema, columns.Select(c => c.Build(offset, length)).ToArray(), length);
                    yielded = true;
                }
            }

            if (!yielded)
                yield return new RecordBatch(schema, columns.Select(c => c.Build(0, 0)).ToArray(), 0);
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
            return new ValueColumn<bool>(data, new(data.Name, BooleanType.Default, nullable), v => Booleans(v));
        if (type == typeof(sbyte))
            return Primitive<sbyte, Int8Array, Int8Array.Builder>(data, Int8Type.Default, () => new());
        if (type == typeof(short))
            return Primitive<short, Int16Array, Int16Array.Builder>(data, Int16Type.Default, () => new());
        if (type == typeof(int))
            return Primitive<int, Int32Array, Int32Array.Builder>(data, Int32Type.Default, () => new());
        if (type == typeof(long))
            return Primitive<long, Int64Array, Int64Array.Builder>(data, Int64Type.Default, () => new());
        if (type == typeof(byte))
            return Primitive<byte, UInt8Array, UInt8Array.Builder>(data, UInt8Type.Default, () => new());
        if (type == typeof(ushort))
            return Primitive<ushort, UInt16Array, UInt16Array.Builder>(data, UInt16Type.Default, () => new());
        if (type == typeof(uint))
            return Primitive<uint, UInt32Array, UInt32Array.Builder>(data, UInt32Type.Default, () => new());
        if (type == typeof(ulong))
            return Primitive<ulong, UInt64Array, UInt64Array.Builder>(data, UInt64Type.Default, () => new());
        if (type == typeof(float))
            return Primitive<float, FloatArray, FloatArray.Builder>(data, FloatType.Default, () => new());
        if (type == typeof(double))
            return Primitive<double, DoubleArray, DoubleArray.Builder>(data, DoubleType.Default, () => new());
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
        {
            var timestampType = TimestampTypeOf(data);
            return new ValueColumn<DateTime>(data, new(data.Name, timestampType, nullable), v =>
            {
                var builder = new TimestampArray.Builder(timestampType).Reserve(v.Length);
                foreach (var item in v)
                {
                    if (item.HasValue)
                        builder.Append(new DateTimeOffset(item.Value.Kind == DateTimeKind.Local ? item.Value.ToUniversalTime() : DateTime.SpecifyKind(item.Value, DateTimeKind.Utc)));
                    else
                        builder.AppendNull();
                }

                return builder.Build();
            });
        }

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

        if (type == typeof(string) || type == typeof(ReadOnlyMemory<char>))
            return new StringColumn(data, new(data.Name, StringType.Default, nullable));
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

    private static ValueColumn<T> Primitive<T, TArray, TBuilder>(DataField field, IArrowType type, Func<TBuilder> create)
        where T : struct
        where TArray : IArrowArray
        where TBuilder : PrimitiveArrayBuilder<T, TArray, TBuilder>
        => new(field, new(field.Name, type, field.IsNullable), values =>
        {
            var builder = create().Reserve(values.Length);
            foreach (var item in values)
            {
                if (item.HasValue)
                    builder.Append(item.Value);
                else
                    builder.AppendNull();
            }

            return builder.Build(allocator: null);
        });

    private static BooleanArray Booleans(ReadOnlySpan<bool?> values)
    {
        var builder = new BooleanArray.Builder().Reserve(values.Length);
        foreach (var item in values)
        {
            if (item.HasValue)
                builder.Append(item.Value);
            else
                builder.AppendNull();
        }

        return builder.Build();
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
    }

    private sealed class ValueColumn<T>(DataField field, ArrowField arrowField, BuildArray<T?> build) : ColumnReader(field, arrowField)
        where T : struct
    {
        private T?[] _values = [];
        private T[] _required = [];

        public override async Task ReadAsync(ParquetRowGroupReader rowGroup, int rows, CancellationToken cancellationToken)
        {
            if (_values.Length != rows)
                _values = new T?[rows];
            if (Field.IsNullable)
            {
                await rowGroup.ReadAsync<T>(Field, _values.AsMemory(), null, cancellationToken).ConfigureAwait(false);
                return;
            }

            // Parquet.Net 6.1 can misplace the values of a required column read into nullable memory after an optional
            // column was read from the same row group, so required columns are read into plain values.
            if (_required.Length != rows)
                _required = new T[rows];
            await rowGroup.ReadAsync<T>(Field, _required.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < rows; i++)
                _values[i] = _required[i];
        }

        public override IArrowArray Build(int offset, int length) => build(_values.AsSpan(offset, length));
    }

    private sealed class StringColumn(DataField field, ArrowField arrowField) : ColumnReader(field, arrowField)
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
