using System.Runtime.InteropServices;
using Apache.Arrow.Types;

namespace MLOps.FeatureStore.Internal;

/// <summary>Builds and reads the canonical Arrow arrays of the feature store (double, int64, bool, string, timestamp[us, UTC]).</summary>
internal static class Arrays
{
    /// <summary>The canonical timestamp type.</summary>
    public static readonly TimestampType Timestamp = new(TimeUnit.Microsecond, "UTC");

    public static IArrowType ArrowType(FeatureType type) => type switch
    {
        FeatureType.Double => DoubleType.Default,
        FeatureType.Int64 => Int64Type.Default,
        FeatureType.Boolean => BooleanType.Default,
        FeatureType.String => StringType.Default,
        _ => Timestamp,
    };

    public static FeatureType? FeatureTypeOf(IArrowType type) => type switch
    {
        DoubleType => FeatureType.Double,
        Int64Type => FeatureType.Int64,
        BooleanType => FeatureType.Boolean,
        StringType => FeatureType.String,
        TimestampType => FeatureType.Timestamp,
        _ => null,
    };

    public static Field Field(string name, FeatureType type) => new(name, ArrowType(type), nullable: true);

    /// <summary>A validity bitmap from a span of flags (null when every value is valid).</summary>
    private static (ArrowBuffer Bitmap, int NullCount) Validity(ReadOnlySpan<bool> valid)
    {
        var nulls = 0;
        foreach (var v in valid)
            if (!v) nulls++;
        if (nulls == 0) return (ArrowBuffer.Empty, 0);
        var bytes = new byte[(valid.Length + 7) / 8];
        for (var i = 0; i < valid.Length; i++)
            if (valid[i]) bytes[i >> 3] |= (byte)(1 << (i & 7));
        return (new ArrowBuffer(bytes), nulls);
    }

    /// <summary>A double array over <paramref name="values"/> (not copied: the caller hands the array over and must not
    /// change it afterwards); NaN is null unless <paramref name="nanIsNull"/> is false.</summary>
    public static DoubleArray Doubles(double[] values, int length, bool nanIsNull = true)
    {
        var (bitmap, nulls) = (ArrowBuffer.Empty, 0);
        if (nanIsNull)
        {
            var span = values.AsSpan(0, length);
            foreach (var v in span)
                if (double.IsNaN(v)) nulls++;
            if (nulls > 0)
            {
                var bytes = new byte[(length + 7) / 8];
                for (var i = 0; i < span.Length; i++)
                    if (!double.IsNaN(span[i])) bytes[i >> 3] |= (byte)(1 << (i & 7));
                bitmap = new ArrowBuffer(bytes);
            }
        }

        return new DoubleArray(Wrap(values, length), bitmap, length, nulls, 0);
    }

    /// <summary>An int64 array over <paramref name="values"/> (not copied: the caller hands the array over).</summary>
    public static Int64Array Int64s(long[] values, ReadOnlySpan<bool> valid)
    {
        var (bitmap, nulls) = Validity(valid);
        return new Int64Array(Wrap(values, valid.Length), bitmap, valid.Length, nulls, 0);
    }

    /// <summary>A canonical timestamp array over <paramref name="micros"/> (not copied: the caller hands the array over).</summary>
    public static TimestampArray Timestamps(long[] micros, ReadOnlySpan<bool> valid)
    {
        var (bitmap, nulls) = Validity(valid);
        return new TimestampArray(Timestamp, Wrap(micros, valid.Length), bitmap, valid.Length, nulls, 0);
    }

    /// <summary>
    /// An Arrow buffer over the first <paramref name="length"/> values of a managed array, without copying them: the
    /// buffer reads the array, so the caller hands it over. (A copy into a new byte array was a second large allocation
    /// per column and chunk, which made the ingestion spend much of its time in the garbage collector.)
    /// </summary>
    public static ArrowBuffer Wrap<T>(T[] values, int length)
        where T : unmanaged
        => length == 0 ? ArrowBuffer.Empty : new ArrowBuffer(new ByteView<T>(values, length).Memory);

    /// <summary>The bytes of a managed array of unmanaged values, as memory (what <see cref="ArrowBuffer"/> takes).</summary>
    private sealed class ByteView<T>(T[] values, int length) : System.Buffers.MemoryManager<byte>
        where T : unmanaged
    {
        public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(values.AsSpan(0, length));

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0)
        {
            var size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
            if (elementIndex % size != 0)
                throw new NotSupportedException($"Pinning at byte {elementIndex}, which is not the start of a {typeof(T).Name} value, is not supported.");
            return values.AsMemory(elementIndex / size).Pin();
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }

    public static BooleanArray Booleans(ReadOnlySpan<bool> values, ReadOnlySpan<bool> valid)
    {
        var builder = new BooleanArray.Builder().Reserve(values.Length);
        for (var i = 0; i < values.Length; i++)
        {
            if (valid[i]) builder.Append(values[i]);
            else builder.AppendNull();
        }

        return builder.Build();
    }

    public static StringArray Strings(IReadOnlyList<string?> values)
    {
        var builder = new StringArray.Builder().Reserve(values.Count);
        foreach (var v in values)
        {
            if (v is null) builder.AppendNull();
            else builder.Append(v);
        }

        return builder.Build();
    }

    /// <summary>An all-null array of a type.</summary>
    public static IArrowArray Nulls(FeatureType type, int length) => type switch
    {
        FeatureType.Double => Doubles(Filled(length, double.NaN), length),
        FeatureType.Int64 => Int64s(new long[length], new bool[length]),
        FeatureType.Boolean => Booleans(new bool[length], new bool[length]),
        FeatureType.String => Strings(new string?[length]),
        _ => Timestamps(new long[length], new bool[length]),
    };

    private static double[] Filled(int length, double value)
    {
        var a = new double[length];
        Array.Fill(a, value);
        return a;
    }

    /// <summary>A timestamp array of any unit or zone as the canonical <c>timestamp[us, UTC]</c> array (values without a
    /// time zone are taken as UTC wall-clock times).</summary>
    public static TimestampArray ToMicroseconds(TimestampArray t) => ToMicroseconds(t, TimeZoneInfo.Utc);

    /// <summary>
    /// A timestamp array of any unit or zone as the canonical <c>timestamp[us, UTC]</c> array. Values of a type with a
    /// time zone are instants (Arrow stores them as UTC whatever the zone's name); values of a type without one are
    /// wall-clock times in <paramref name="zone"/>.
    /// </summary>
    public static TimestampArray ToMicroseconds(TimestampArray t, TimeZoneInfo zone)
    {
        var type = (TimestampType)t.Data.DataType;
        var wallClock = string.IsNullOrEmpty(type.Timezone) && !Internal.Timestamps.IsUtc(zone);
        if (type.Unit == TimeUnit.Microsecond && !wallClock)
            return type.Timezone == "UTC" ? t : new TimestampArray(Timestamp, t.ValueBuffer, t.NullBitmapBuffer, t.Length, t.NullCount, t.Offset);
        var n = t.Length;
        var values = new long[n];
        var valid = new bool[n];
        var source = t.Values;
        var hasNulls = t.NullCount > 0;
        for (var i = 0; i < n; i++)
        {
            if (hasNulls && t.IsNull(i)) continue;
            valid[i] = true;
            var raw = source[i];
            var micros = type.Unit switch
            {
                TimeUnit.Second => raw * 1_000_000,
                TimeUnit.Millisecond => raw * 1000,
                TimeUnit.Nanosecond => Math.DivRem(raw, 1000) is var (q, r) && r < 0 ? q - 1 : raw / 1000, // floor, also before 1970
                _ => raw,
            };
            values[i] = wallClock ? Internal.Timestamps.FromWallClock(micros, zone) : micros;
        }

        return Timestamps(values, valid);
    }

    /// <summary>Reads a canonical numeric-ish column as doubles (NaN for null; booleans 0/1; timestamps µs).</summary>
    public static double[] ToDoubles(IArrowArray array)
    {
        var result = new double[array.Length];
        switch (array)
        {
            case DoubleArray d:
                d.Values.CopyTo(result);
                if (d.NullCount > 0)
                    for (var i = 0; i < result.Length; i++)
                        if (d.IsNull(i)) result[i] = double.NaN;
                break;
            case Int64Array l:
                var lv = l.Values;
                for (var i = 0; i < result.Length; i++) result[i] = l.IsNull(i) ? double.NaN : lv[i];
                break;
            case TimestampArray t:
                var tv = t.Values;
                for (var i = 0; i < result.Length; i++) result[i] = t.IsNull(i) ? double.NaN : tv[i];
                break;
            case BooleanArray b:
                for (var i = 0; i < result.Length; i++) result[i] = b.GetValue(i) is { } v ? (v ? 1 : 0) : double.NaN;
                break;
            default:
                Array.Fill(result, double.NaN);
                break;
        }

        return result;
    }

    /// <summary>Reads one value of a canonical array.</summary>
    public static FeatureValue ValueAt(IArrowArray array, int index) => array switch
    {
        _ when array.IsNull(index) => FeatureValue.Null(FeatureTypeOf(array.Data.DataType) ?? FeatureType.String),
        DoubleArray d => FeatureValue.FromDouble(d.Values[index]),
        Int64Array l => FeatureValue.FromInt64(l.Values[index]),
        BooleanArray b => FeatureValue.FromBoolean(b.GetValue(index) == true),
        StringArray s => FeatureValue.FromString(s.GetString(index)),
        TimestampArray t => FeatureValue.FromTimestamp(t.Values[index]),
        _ => FeatureValue.Null(FeatureType.String),
    };

    /// <summary>Replaces or appends a column of a batch.</summary>
    public static RecordBatch WithColumn(RecordBatch batch, string name, IArrowArray array)
    {
        var fields = new List<Field>(batch.Schema.FieldsList);
        var arrays = new List<IArrowArray>(batch.Arrays);
        var field = new Field(name, array.Data.DataType, nullable: true);
        var index = batch.Schema.GetFieldIndex(name);
        if (index >= 0)
        {
            fields[index] = field;
            arrays[index] = array;
        }
        else
        {
            fields.Add(field);
            arrays.Add(array);
        }

        return new RecordBatch(new Schema(fields, null), arrays, batch.Length);
    }

    /// <summary>Keeps the columns whose names pass a predicate.</summary>
    public static RecordBatch SelectColumns(RecordBatch batch, Func<string, bool> keep)
    {
        var fields = new List<Field>();
        var arrays = new List<IArrowArray>();
        for (var i = 0; i < batch.ColumnCount; i++)
        {
            var f = batch.Schema.GetFieldByIndex(i);
            if (!keep(f.Name)) continue;
            fields.Add(f);
            arrays.Add(batch.Column(i));
        }

        return new RecordBatch(new Schema(fields, null), arrays, batch.Length);
    }

    /// <summary>Keeps the rows at some indices, in that order.</summary>
    public static RecordBatch TakeRows(RecordBatch batch, int[] indices)
    {
        var arrays = new IArrowArray[batch.ColumnCount];
        for (var i = 0; i < arrays.Length; i++)
            arrays[i] = Retrieval.ArrowTake.Take(batch.Column(i), indices);
        return new RecordBatch(batch.Schema, arrays, indices.Length);
    }
}
