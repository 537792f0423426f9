namespace MLOps.Serving.Protocol;

/// <summary>The protocol names of <see cref="TensorDataType"/> (<c>"FP32"</c>, <c>"BYTES"</c>, ...) and facts about each datatype.</summary>
public static class TensorDataTypes
{
    private static readonly string[] Names =
        ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"];

    /// <summary>Every datatype name the protocol knows, in the order of <see cref="TensorDataType"/>.</summary>
    public static IReadOnlyList<string> All => Names;

    /// <summary>The protocol name of a datatype, such as <c>"FP32"</c>.</summary>
    /// <param name="dataType">The datatype.</param>
    /// <returns>The upper-case protocol name.</returns>
    public static string ToProtocolName(this TensorDataType dataType) =>
        (uint)dataType < (uint)Names.Length
            ? Names[(int)dataType]
            : throw new ArgumentOutOfRangeException(nameof(dataType), dataType, "Not a datatype of the Open Inference Protocol.");

    /// <summary>Finds the datatype of a protocol name (case-sensitive, as the protocol spells it: <c>"FP32"</c>).</summary>
    /// <param name="name">The protocol name.</param>
    /// <param name="dataType">The datatype when found.</param>
    /// <returns>Whether the name is a datatype of the protocol.</returns>
    public static bool TryParse(string? name, out TensorDataType dataType)
    {
        int index = name is null ? -1 : Array.IndexOf(Names, name);
        dataType = index < 0 ? default : (TensorDataType)index;
        return index >= 0;
    }

    /// <summary>Finds the datatype of a UTF-8 protocol name without allocating.</summary>
    /// <param name="utf8Name">The protocol name in UTF-8.</param>
    /// <param name="dataType">The datatype when found.</param>
    /// <returns>Whether the name is a datatype of the protocol.</returns>
    public static bool TryParse(ReadOnlySpan<byte> utf8Name, out TensorDataType dataType)
    {
        TensorDataType? found = utf8Name switch
        {
            _ when utf8Name.SequenceEqual("BOOL"u8) => TensorDataType.Bool,
            _ when utf8Name.SequenceEqual("UINT8"u8) => TensorDataType.UInt8,
            _ when utf8Name.SequenceEqual("UINT16"u8) => TensorDataType.UInt16,
            _ when utf8Name.SequenceEqual("UINT32"u8) => TensorDataType.UInt32,
            _ when utf8Name.SequenceEqual("UINT64"u8) => TensorDataType.UInt64,
            _ when utf8Name.SequenceEqual("INT8"u8) => TensorDataType.Int8,
            _ when utf8Name.SequenceEqual("INT16"u8) => TensorDataType.Int16,
            _ when utf8Name.SequenceEqual("INT32"u8) => TensorDataType.Int32,
            _ when utf8Name.SequenceEqual("INT64"u8) => TensorDataType.Int64,
            _ when utf8Name.SequenceEqual("FP16"u8) => TensorDataType.Fp16,
            _ when utf8Name.SequenceEqual("FP32"u8) => TensorDataType.Fp32,
            _ when utf8Name.SequenceEqual("FP64"u8) => TensorDataType.Fp64,
            _ when utf8Name.SequenceEqual("BYTES"u8) => TensorDataType.Bytes,
            _ => null,
        };
        dataType = found.GetValueOrDefault();
        return found.HasValue;
    }

    /// <summary>The .NET array type that <see cref="TensorData"/> stores a datatype in.</summary>
    /// <param name="dataType">The datatype.</param>
    /// <returns><c>bool</c>, <c>long</c> (signed integers), <c>ulong</c> (unsigned integers), <c>float</c> (FP32),
    /// <c>double</c> (FP16 and FP64) or <c>string</c> (BYTES).</returns>
    public static Type StorageType(this TensorDataType dataType) => dataType switch
    {
        TensorDataType.Bool => typeof(bool),
        TensorDataType.UInt8 or TensorDataType.UInt16 or TensorDataType.UInt32 or TensorDataType.UInt64 => typeof(ulong),
        TensorDataType.Int8 or TensorDataType.Int16 or TensorDataType.Int32 or TensorDataType.Int64 => typeof(long),
        TensorDataType.Fp32 => typeof(float),
        TensorDataType.Fp16 or TensorDataType.Fp64 => typeof(double),
        TensorDataType.Bytes => typeof(string),
        _ => throw new ArgumentOutOfRangeException(nameof(dataType), dataType, "Not a datatype of the Open Inference Protocol."),
    };

    /// <summary>Whether a datatype is a signed integer type (<c>INT8</c> ... <c>INT64</c>).</summary>
    /// <param name="dataType">The datatype.</param>
    /// <returns>True for INT8, INT16, INT32 and INT64.</returns>
    public static bool IsSignedInteger(this TensorDataType dataType) => dataType is >= TensorDataType.Int8 and <= TensorDataType.Int64;

    /// <summary>Whether a datatype is an unsigned integer type (<c>UINT8</c> ... <c>UINT64</c>).</summary>
    /// <param name="dataType">The datatype.</param>
    /// <returns>True for UINT8, UINT16, UINT32 and UINT64.</returns>
    public static bool IsUnsignedInteger(this TensorDataType dataType) => dataType is >= TensorDataType.UInt8 and <= TensorDataType.UInt64;

    /// <summary>Whether a datatype is a floating-point type (<c>FP16</c>, <c>FP32</c>, <c>FP64</c>).</summary>
    /// <param name="dataType">The datatype.</param>
    /// <returns>True for FP16, FP32 and FP64.</returns>
    public static bool IsFloatingPoint(this TensorDataType dataType) => dataType is >= TensorDataType.Fp16 and <= TensorDataType.Fp64;

    internal static long MinValue(TensorDataType t) => t switch
    {
        TensorDataType.Int8 => sbyte.MinValue,
        TensorDataType.Int16 => short.MinValue,
        TensorDataType.Int32 => int.MinValue,
        _ => long.MinValue,
    };

    internal static long MaxValue(TensorDataType t) => t switch
    {
        TensorDataType.Int8 => sbyte.MaxValue,
        TensorDataType.Int16 => short.MaxValue,
        TensorDataType.Int32 => int.MaxValue,
        _ => long.MaxValue,
    };

    internal static ulong MaxUnsigned(TensorDataType t) => t switch
    {
        TensorDataType.UInt8 => byte.MaxValue,
        TensorDataType.UInt16 => ushort.MaxValue,
        TensorDataType.UInt32 => uint.MaxValue,
        _ => ulong.MaxValue,
    };
}
