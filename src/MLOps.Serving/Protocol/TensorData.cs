using System.Globalization;

namespace MLOps.Serving.Protocol;

/// <summary>
/// The elements of a tensor, flattened in row-major order and stored in one typed array chosen by the datatype (no
/// boxing per element): <c>bool[]</c> for BOOL, <c>long[]</c> for INT8..INT64, <c>ulong[]</c> for UINT8..UINT64,
/// <c>float[]</c> for FP32, <c>double[]</c> for FP16 and FP64 and <c>string[]</c> for BYTES.
/// </summary>
public sealed class TensorData
{
    private readonly Array _values;

    private TensorData(TensorDataType dataType, Array values)
    {
        DataType = dataType;
        _values = values;
    }

    /// <summary>The datatype of the elements.</summary>
    public TensorDataType DataType { get; }

    /// <summary>The number of elements.</summary>
    public int Length => _values.Length;

    /// <summary>Creates BOOL data.</summary>
    /// <param name="values">The elements (kept, not copied).</param>
    /// <returns>The data.</returns>
    public static TensorData FromBooleans(bool[] values) => new(TensorDataType.Bool, Checked(values));

    /// <summary>Creates signed integer data (INT64 unless another signed type is given); every value must fit the type.</summary>
    /// <param name="values">The elements (kept, not copied).</param>
    /// <param name="dataType">INT8, INT16, INT32 or INT64.</param>
    /// <returns>The data.</returns>
    public static TensorData FromInt64(long[] values, TensorDataType dataType = TensorDataType.Int64)
    {
        Checked(values);
        if (!dataType.IsSignedInteger())
            throw new ValidationException($"The 'dataType' argument is {dataType.ToProtocolName()}, not a signed integer datatype; use INT8, INT16, INT32 or INT64.");
        long min = TensorDataTypes.MinValue(dataType), max = TensorDataTypes.MaxValue(dataType);
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] < min || values[i] > max)
                throw new ValidationException($"values[{i}] is {values[i]}, which does not fit {dataType.ToProtocolName()} ({min}..{max}); pass values in range, or a wider datatype.");
        }
        return new(dataType, values);
    }

    /// <summary>Creates INT32 data.</summary>
    /// <param name="values">The elements (copied into the INT64 storage).</param>
    /// <returns>The data.</returns>
    public static TensorData FromInt32(ReadOnlySpan<int> values)
    {
        var stored = new long[values.Length];
        for (int i = 0; i < values.Length; i++)
            stored[i] = values[i];
        return new(TensorDataType.Int32, stored);
    }

    /// <summary>Creates unsigned integer data (UINT64 unless another unsigned type is given); every value must fit the type.</summary>
    /// <param name="values">The elements (kept, not copied).</param>
    /// <param name="dataType">UINT8, UINT16, UINT32 or UINT64.</param>
    /// <returns>The data.</returns>
    public static TensorData FromUInt64(ulong[] values, TensorDataType dataType = TensorDataType.UInt64)
    {
        Checked(values);
        if (!dataType.IsUnsignedInteger())
            throw new ValidationException($"The 'dataType' argument is {dataType.ToProtocolName()}, not an unsigned integer datatype; use UINT8, UINT16, UINT32 or UINT64.");
        ulong max = TensorDataTypes.MaxUnsigned(dataType);
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] > max)
                throw new ValidationException($"values[{i}] is {values[i]}, which does not fit {dataType.ToProtocolName()} (0..{max}); pass values in range, or a wider datatype.");
        }
        return new(dataType, values);
    }

    /// <summary>Creates FP32 data.</summary>
    /// <param name="values">The elements (kept, not copied).</param>
    /// <returns>The data.</returns>
    public static TensorData FromSingles(float[] values) => new(TensorDataType.Fp32, Checked(values));

    /// <summary>Creates FP64 data (or FP16 data, carried as doubles).</summary>
    /// <param name="values">The elements (kept, not copied).</param>
    /// <param name="dataType">FP64 or FP16.</param>
    /// <returns>The data.</returns>
    public static TensorData FromDoubles(double[] values, TensorDataType dataType = TensorDataType.Fp64)
    {
        Checked(values);
        if (dataType is not (TensorDataType.Fp64 or TensorDataType.Fp16))
            throw new ValidationException($"The 'dataType' argument is {dataType.ToProtocolName()}, which is not stored as doubles; use FP64 or FP16.");
        return new(dataType, values);
    }

    /// <summary>Creates BYTES data from strings.</summary>
    /// <param name="values">The elements (kept, not copied); none may be null.</param>
    /// <returns>The data.</returns>
    public static TensorData FromStrings(string[] values)
    {
        Checked(values);
        int nullAt = Array.IndexOf(values, null);
        if (nullAt >= 0)
            throw new ValidationException($"values[{nullAt}] is null; BYTES elements must be strings (use \"\" for an empty one).");
        return new(TensorDataType.Bytes, values);
    }

    /// <summary>Wraps an array already validated by the parser.</summary>
    internal static TensorData Wrap(TensorDataType dataType, Array values) => new(dataType, values);

    /// <summary>The BOOL elements.</summary>
    /// <returns>The elements.</returns>
    /// <exception cref="InvalidStateException">The datatype is not BOOL.</exception>
    public ReadOnlySpan<bool> AsBooleans() => As<bool>();

    /// <summary>The signed integer elements (INT8, INT16, INT32 or INT64).</summary>
    /// <returns>The elements.</returns>
    /// <exception cref="InvalidStateException">The datatype is not a signed integer type.</exception>
    public ReadOnlySpan<long> AsInt64() => As<long>();

    /// <summary>The unsigned integer elements (UINT8, UINT16, UINT32 or UINT64).</summary>
    /// <returns>The elements.</returns>
    /// <exception cref="InvalidStateException">The datatype is not an unsigned integer type.</exception>
    public ReadOnlySpan<ulong> AsUInt64() => As<ulong>();

    /// <summary>The FP32 elements.</summary>
    /// <returns>The elements.</returns>
    /// <exception cref="InvalidStateException">The datatype is not FP32.</exception>
    public ReadOnlySpan<float> AsSingles() => As<float>();

    /// <summary>The FP64 or FP16 elements.</summary>
    /// <returns>The elements.</returns>
    /// <exception cref="InvalidStateException">The datatype is not FP64 or FP16.</exception>
    public ReadOnlySpan<double> AsDoubles() => As<double>();

    /// <summary>The BYTES elements.</summary>
    /// <returns>The elements.</returns>
    /// <exception cref="InvalidStateException">The datatype is not BYTES.</exception>
    public ReadOnlySpan<string> AsStrings() => As<string>();

    /// <summary>An element of any numeric or BOOL datatype as a double (BOOL gives 0 or 1).</summary>
    /// <param name="index">The flat, row-major index.</param>
    /// <returns>The element as a double.</returns>
    /// <exception cref="InvalidStateException">The datatype is BYTES.</exception>
    public double GetDouble(int index) => _values switch
    {
        float[] f => f[index],
        double[] d => d[index],
        long[] l => l[index],
        ulong[] u => u[index],
        bool[] b => b[index] ? 1 : 0,
        _ => throw new InvalidStateException($"The tensor data is {DataType.ToProtocolName()}, which has no numeric value; read it with AsStrings()."),
    };

    /// <summary>An element boxed as its storage type (<see cref="TensorDataTypes.StorageType"/>); prefer the typed accessors on hot paths.</summary>
    /// <param name="index">The flat, row-major index.</param>
    /// <returns>The element.</returns>
    public object GetValue(int index) => _values.GetValue(index)!;

    /// <summary>An element formatted for messages and logs (invariant culture).</summary>
    /// <param name="index">The flat, row-major index.</param>
    /// <returns>The element as text.</returns>
    public string FormatValue(int index) => _values switch
    {
        string[] s => s[index],
        bool[] b => b[index] ? "true" : "false",
        _ => Convert.ToString(_values.GetValue(index), CultureInfo.InvariantCulture) ?? "",
    };

    private ReadOnlySpan<T> As<T>() => _values is T[] typed
        ? typed
        : throw new InvalidStateException(
            $"The tensor data is {DataType.ToProtocolName()}, stored as {DataType.StorageType().Name}[]; it cannot be read as {typeof(T).Name}. Use the accessor of its storage type.");

    private static T[] Checked<T>(T[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return values;
    }
}
