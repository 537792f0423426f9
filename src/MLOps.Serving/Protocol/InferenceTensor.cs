using System.Text.Json;

namespace MLOps.Serving.Protocol;

/// <summary>
/// A named tensor of the Open Inference Protocol: an input of a request or an output of a response
/// (<c>{"name": ..., "shape": [...], "datatype": "FP32", "parameters": {...}, "data": [...]}</c>).
/// </summary>
public sealed class InferenceTensor
{
    private readonly long[] _shape;

    /// <summary>Creates a tensor; the element count of <paramref name="data"/> must equal the product of <paramref name="shape"/>.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="shape">The dimensions (each 0 or more); null or empty for a one-dimensional tensor of all the elements.</param>
    /// <param name="data">The elements, flattened row-major.</param>
    /// <param name="parameters">Optional tensor parameters.</param>
    public InferenceTensor(string name, long[]? shape, TensorData data, IReadOnlyDictionary<string, JsonElement>? parameters = null)
    {
        Throw.IfNullOrWhitespace(name);
        ArgumentNullException.ThrowIfNull(data);
        shape = shape is null || shape.Length == 0 ? [data.Length] : (long[])shape.Clone();
        long count = 1;
        foreach (long dim in shape)
        {
            if (dim < 0)
                throw new ValidationException($"Tensor '{name}': shape [{string.Join(", ", shape)}] has a negative dimension; use 0 or more for each.");
            count = dim == 0 ? 0 : count > long.MaxValue / dim ? long.MaxValue : count * dim;
        }
        if (count != data.Length)
            throw new ValidationException(
                $"Tensor '{name}': shape [{string.Join(", ", shape)}] holds {count} elements but the data has {data.Length}; pass a shape whose product is the number of elements.");
        Name = name;
        _shape = shape;
        Data = data;
        Parameters = parameters;
    }

    /// <summary>Skips the checks for data the parser already validated.</summary>
    internal InferenceTensor(string name, long[] shape, TensorData data, IReadOnlyDictionary<string, JsonElement>? parameters, bool trusted)
    {
        _ = trusted;
        Name = name;
        _shape = shape;
        Data = data;
        Parameters = parameters;
    }

    /// <summary>The tensor name.</summary>
    public string Name { get; }

    /// <summary>The dimensions; their product is the element count.</summary>
    public ReadOnlySpan<long> Shape => _shape;

    /// <summary>The datatype (the datatype of <see cref="Data"/>).</summary>
    public TensorDataType DataType => Data.DataType;

    /// <summary>Optional tensor parameters (a map of names to JSON values), or null.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Parameters { get; }

    /// <summary>The elements, flattened row-major.</summary>
    public TensorData Data { get; }

    /// <summary>Creates a one-dimensional FP32 tensor (or of the given shape).</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="values">The elements.</param>
    /// <param name="shape">The dimensions; empty for <c>[values.Length]</c>.</param>
    /// <returns>The tensor.</returns>
    public static InferenceTensor Singles(string name, float[] values, params long[] shape) => new(name, shape, TensorData.FromSingles(values));

    /// <summary>Creates a one-dimensional FP64 tensor (or of the given shape).</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="values">The elements.</param>
    /// <param name="shape">The dimensions; empty for <c>[values.Length]</c>.</param>
    /// <returns>The tensor.</returns>
    public static InferenceTensor Doubles(string name, double[] values, params long[] shape) => new(name, shape, TensorData.FromDoubles(values));

    /// <summary>Creates a one-dimensional INT64 tensor (or of the given shape).</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="values">The elements.</param>
    /// <param name="shape">The dimensions; empty for <c>[values.Length]</c>.</param>
    /// <returns>The tensor.</returns>
    public static InferenceTensor Int64(string name, long[] values, params long[] shape) => new(name, shape, TensorData.FromInt64(values));

    /// <summary>Creates a one-dimensional BOOL tensor (or of the given shape).</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="values">The elements.</param>
    /// <param name="shape">The dimensions; empty for <c>[values.Length]</c>.</param>
    /// <returns>The tensor.</returns>
    public static InferenceTensor Booleans(string name, bool[] values, params long[] shape) => new(name, shape, TensorData.FromBooleans(values));

    /// <summary>Creates a one-dimensional BYTES tensor of strings (or of the given shape).</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="values">The elements.</param>
    /// <param name="shape">The dimensions; empty for <c>[values.Length]</c>.</param>
    /// <returns>The tensor.</returns>
    public static InferenceTensor Strings(string name, string[] values, params long[] shape) => new(name, shape, TensorData.FromStrings(values));

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {DataType.ToProtocolName()}[{string.Join(", ", _shape)}]";
}

/// <summary>An output a request asks for by name (<c>{"name": ..., "parameters": {...}}</c>).</summary>
public sealed class RequestedOutput
{
    /// <summary>Creates the requested output.</summary>
    /// <param name="name">The output name.</param>
    /// <param name="parameters">Optional parameters (such as <c>binary_data</c> or <c>classification</c>).</param>
    public RequestedOutput(string name, IReadOnlyDictionary<string, JsonElement>? parameters = null)
    {
        Throw.IfNullOrWhitespace(name);
        Name = name;
        Parameters = parameters;
    }

    /// <summary>The output name.</summary>
    public string Name { get; }

    /// <summary>Optional parameters, or null.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Parameters { get; }
}
