using System.Globalization;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace MLOps.Data;

/// <summary>How the profiler treats the values of a column.</summary>
internal enum ValueCategory
{
    /// <summary>Counted only.</summary>
    Other,
    /// <summary>Signed or unsigned integers.</summary>
    Integer,
    /// <summary>Floating-point numbers and decimals.</summary>
    Floating,
    /// <summary>Booleans.</summary>
    Boolean,
    /// <summary>UTF-8 strings.</summary>
    String,
    /// <summary>Timestamps and dates.</summary>
    Temporal,
}

/// <summary>Names, categories and scalar access of Arrow types and arrays.</summary>
internal static class ArrowTypes
{
    private const long MillisecondsPerDay = 86_400_000;

    /// <summary>The Arrow-style name of a type, as used in <see cref="DatasetColumn.Type"/>.</summary>
    public static string NameOf(IArrowType type) => type switch
    {
        DictionaryType dictionary => NameOf(dictionary.ValueType),
        _ => type.TypeId switch
        {
            ArrowTypeId.Null => "null",
            ArrowTypeId.Boolean => "bool",
            ArrowTypeId.Int8 => "int8",
            ArrowTypeId.Int16 => "int16",
            ArrowTypeId.Int32 => "int32",
            ArrowTypeId.Int64 => "int64",
            ArrowTypeId.UInt8 => "uint8",
            ArrowTypeId.UInt16 => "uint16",
            ArrowTypeId.UInt32 => "uint32",
            ArrowTypeId.UInt64 => "uint64",
            ArrowTypeId.HalfFloat => "float16",
            ArrowTypeId.Float => "float",
            ArrowTypeId.Double => "double",
            ArrowTypeId.Decimal32 or ArrowTypeId.Decimal64 or ArrowTypeId.Decimal128 or ArrowTypeId.Decimal256 => "decimal",
            ArrowTypeId.String or ArrowTypeId.LargeString or ArrowTypeId.StringView => "string",
            ArrowTypeId.Binary or ArrowTypeId.LargeBinary or ArrowTypeId.BinaryView or ArrowTypeId.FixedSizedBinary => "binary",
            ArrowTypeId.Timestamp => "timestamp",
            ArrowTypeId.Date32 or ArrowTypeId.Date64 => "date",
            ArrowTypeId.Time32 or ArrowTypeId.Time64 => "time",
            ArrowTypeId.Duration => "duration",
            _ => type.Name.ToLowerInvariant(),
        },
    };

    /// <summary>The category of a type name from <see cref="NameOf"/>.</summary>
    public static ValueCategory CategoryOf(string typeName) => typeName switch
    {
        "int8" or "int16" or "int32" or "int64" or "uint8" or "uint16" or "uint32" or "uint64" => ValueCategory.Integer,
        "float16" or "float" or "double" or "decimal" => ValueCategory.Floating,
        "bool" => ValueCategory.Boolean,
        "string" => ValueCategory.String,
        "timestamp" or "date" => ValueCategory.Temporal,
        _ => ValueCategory.Other,
    };

    /// <summary>The category of a type (of the values, for a dictionary type).</summary>
    public static ValueCategory CategoryOf(IArrowType type) => CategoryOf(NameOf(type));

    /// <summary>The UTF-8 bytes of a string value (the array must be a string array and the value valid).</summary>
    public static ReadOnlySpan<byte> Utf8(IArrowArray array, int index) => array switch
    {
        StringArray s => s.GetBytes(index),
        LargeStringArray l => l.GetBytes(index),
        StringViewArray v => v.GetBytes(index),
        _ => throw new NotSupportedException($"Arrays of type {array.Data.DataType.Name} are not strings."),
    };

    /// <summary>
    /// A valid numeric value as a double: integers, floating-point and decimals. Returns false for other arrays.
    /// Slow path: used for dictionaries and decimals, the profiler reads primitive arrays as spans.
    /// </summary>
    public static bool TryGetDouble(IArrowArray array, int index, out double value)
    {
        value = array switch
        {
            Int8Array a => a.GetValue(index) ?? 0,
            Int16Array a => a.GetValue(index) ?? 0,
            Int32Array a => a.GetValue(index) ?? 0,
            Int64Array a => a.GetValue(index) ?? 0,
            UInt8Array a => a.GetValue(index) ?? 0,
            UInt16Array a => a.GetValue(index) ?? 0,
            UInt32Array a => a.GetValue(index) ?? 0,
            UInt64Array a => a.GetValue(index) ?? 0,
            HalfFloatArray a => (double)(a.GetValue(index) ?? Half.Zero),
            FloatArray a => a.GetValue(index) ?? 0,
            DoubleArray a => a.GetValue(index) ?? 0,
            Decimal32Array a => DecimalToDouble(() => a.GetValue(index), () => a.GetString(index)),
            Decimal64Array a => DecimalToDouble(() => a.GetValue(index), () => a.GetString(index)),
            Decimal128Array a => DecimalToDouble(() => a.GetValue(index), () => a.GetString(index)),
            Decimal256Array a => DecimalToDouble(() => a.GetValue(index), () => a.GetString(index)),
            _ => double.NaN,
        };
        return array is Int8Array or Int16Array or Int32Array or Int64Array or UInt8Array or UInt16Array or UInt32Array
            or UInt64Array or HalfFloatArray or FloatArray or DoubleArray or Decimal32Array or Decimal64Array or Decimal128Array
            or Decimal256Array;
    }

    private static double DecimalToDouble(Func<decimal?> value, Func<string?> text)
    {
        try
        {
            return (double)(value() ?? 0m);
        }
        catch (OverflowException)
        {
            return double.TryParse(text(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : double.NaN;
        }
    }

    /// <summary>A valid timestamp or date value as Unix epoch milliseconds. Returns false for other arrays.</summary>
    public static bool TryGetEpochMilliseconds(IArrowArray array, int index, out double value)
    {
        switch (array)
        {
            case TimestampArray t:
                value = ToEpochMilliseconds(t.Values[index], ((TimestampType)t.Data.DataType).Unit);
                return true;
            case Date32Array d:
                value = (double)d.Values[index] * MillisecondsPerDay;
                return true;
            case Date64Array d:
                value = d.Values[index];
                return true;
            default:
                value = 0;
                return false;
        }
    }

    /// <summary>Converts a raw timestamp to Unix epoch milliseconds.</summary>
    public static double ToEpochMilliseconds(long raw, TimeUnit unit) => unit switch
    {
        TimeUnit.Second => raw * 1000.0,
        TimeUnit.Millisecond => raw,
        TimeUnit.Microsecond => raw / 1_000.0,
        _ => raw / 1_000_000.0,
    };

    /// <summary>
    /// A value of an array as a preview scalar: string, double, long, bool, DateTimeOffset or null
    /// (see <see cref="DatasetProfile.Preview"/>).
    /// </summary>
    public static object? PreviewValue(IArrowArray array, int index)
    {
        if (array.IsNull(index))
            return null;
        switch (array)
        {
            case DictionaryArray dictionary:
                {
                    var code = DictionaryCode(dictionary.Indices, index);
                    return code < 0 ? null : PreviewValue(dictionary.Dictionary, code);
                }
            case BooleanArray b:
                return b.GetValue(index);
            case Int8Array a:
                return (long)a.Values[index];
            case Int16Array a:
                return (long)a.Values[index];
            case Int32Array a:
                return (long)a.Values[index];
            case Int64Array a:
                return a.Values[index];
            case UInt8Array a:
                return (long)a.Values[index];
            case UInt16Array a:
                return (long)a.Values[index];
            case UInt32Array a:
                return (long)a.Values[index];
            case UInt64Array a:
                return a.Values[index] <= long.MaxValue ? (long)a.Values[index] : (double)a.Values[index];
            case StringArray or LargeStringArray or StringViewArray:
                return Encoding.UTF8.GetString(Utf8(array, index));
            case TimestampArray t:
                return t.GetTimestamp(index)?.ToUniversalTime();
            case Date32Array d:
                return d.GetDateTimeOffset(index);
            case Date64Array d:
                return d.GetDateTimeOffset(index);
            case BinaryArray b:
                return Convert.ToBase64String(b.GetBytes(index));
            case LargeBinaryArray b:
                return Convert.ToBase64String(b.GetBytes(index));
            case BinaryViewArray b:
                return Convert.ToBase64String(b.GetBytes(index));
            case Apache.Arrow.Arrays.FixedSizeBinaryArray b when b is not (Decimal32Array or Decimal64Array or Decimal128Array or Decimal256Array):
                return Convert.ToBase64String(b.GetBytes(index));
            case Time32Array t:
                return t.GetTime(index)?.ToTimeSpan().ToString("c", CultureInfo.InvariantCulture);
            case Time64Array t:
                return t.GetTime(index)?.ToTimeSpan().ToString("c", CultureInfo.InvariantCulture);
            case DurationArray d:
                return d.GetTimeSpan(index)?.ToString("c", CultureInfo.InvariantCulture);
            default:
                return TryGetDouble(array, index, out var value) ? value : null;
        }
    }

    /// <summary>The dictionary position of row <paramref name="index"/> of a dictionary array's indices, -1 when null.</summary>
    public static int DictionaryCode(IArrowArray indices, int index)
    {
        if (indices.IsNull(index))
            return -1;
        return indices switch
        {
            Int8Array a => a.Values[index],
            Int16Array a => a.Values[index],
            Int32Array a => a.Values[index],
            Int64Array a => checked((int)a.Values[index]),
            UInt8Array a => a.Values[index],
            UInt16Array a => a.Values[index],
            UInt32Array a => checked((int)a.Values[index]),
            UInt64Array a => checked((int)a.Values[index]),
            _ => throw new NotSupportedException($"Dictionary indices of type {indices.Data.DataType.Name} are not supported."),
        };
    }
}
