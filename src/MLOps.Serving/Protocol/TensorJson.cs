using System.Globalization;
using System.Text.Json;
using static MLOps.Serving.Protocol.JsonBody;
using static MLOps.Serving.Protocol.JsonRead;

namespace MLOps.Serving.Protocol;

/// <summary>A tensor of a request or a response: its name, datatype, shape, parameters and data, read with every rule of the protocol checked and written without boxing.</summary>
internal static class TensorJson
{
    internal static InferenceTensor ReadTensor(ref Utf8JsonReader reader, string role, string listName, int index, int bodyLength)
    {
        string? name = null;
        TensorDataType? dataType = null;
        long[]? shape = null;
        IReadOnlyDictionary<string, JsonElement>? parameters = null;
        Array? data = null;
        bool deferred = false;
        Utf8JsonReader dataReader = default;
        int seen = 0; // the properties read, one bit each: a second one is refused rather than silently replacing the first
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                Once(ref seen, 1, "name", listName, index);
                Next(ref reader);
                name = reader.TokenType switch
                {
                    JsonTokenType.String => Name(ref reader),
                    JsonTokenType.Null => null,
                    _ => throw Bad($"{listName}[{index}].name is {Describe(ref reader)}; it must be a string."),
                };
                if (string.IsNullOrWhiteSpace(name))
                    throw Bad($"{listName}[{index}].name is empty; every tensor needs a name.");
            }
            else if (reader.ValueTextEquals("datatype"u8))
            {
                Once(ref seen, 2, "datatype", listName, index);
                Next(ref reader);
                dataType = ReadDataType(ref reader, new TensorWho(role, name, listName, index));
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                Once(ref seen, 4, "shape", listName, index);
                Next(ref reader);
                shape = ReadShape(ref reader, new TensorWho(role, name, listName, index));
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                Once(ref seen, 8, "parameters", listName, index);
                Next(ref reader);
                parameters = ReadParameters(ref reader, $"{new TensorWho(role, name, listName, index)}: 'parameters'");
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                Once(ref seen, 16, "data", listName, index);
                Next(ref reader);
                if (name is not null && dataType is not null && shape is not null)
                {
                    data = ReadData(ref reader, new TensorWho(role, name, listName, index), dataType.Value, shape, bodyLength);
                }
                else
                {
                    // 'data' came before 'name', 'datatype' or 'shape': read it once they are known.
                    dataReader = reader;
                    deferred = true;
                    reader.Skip();
                }
            }
            else
            {
                Next(ref reader);
                reader.Skip();
            }
        }
        var who = new TensorWho(role, name, listName, index);
        if (name is null)
            throw Bad($"{listName}[{index}] has no 'name'; every tensor needs \"name\", \"shape\", \"datatype\" and \"data\".");
        if (dataType is null)
            throw Bad($"{who} has no 'datatype'; use one of {string.Join(", ", TensorDataTypes.All)}.");
        if (shape is null)
            throw Bad($"{who} has no 'shape'; give the dimensions, such as [2, 3].");
        if (deferred)
            data = ReadData(ref dataReader, who, dataType.Value, shape, bodyLength);
        if (data is null)
            throw Bad($"{who} has no 'data'; give the elements as a flat or nested array.");
        return new InferenceTensor(name, shape, TensorData.Wrap(dataType.Value, data), parameters, trusted: true);
    }

    /// <summary>The tensor names read last on this thread: a server sees the same few names in every request, so a name
    /// equal to one of them is that string rather than a new one per request.</summary>
    [ThreadStatic] private static string?[]? t_names;

    private const int CachedNames = 16;

    /// <summary>Reads a tensor name (a JSON string at the reader), reusing a recent equal name of this thread.</summary>
    private static string Name(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence || reader.ValueSpan.Length > 64)
            return reader.GetString()!;
        var names = t_names ??= new string?[CachedNames];
        var utf8 = reader.ValueSpan;
        int slot = (utf8.Length == 0 ? 0 : utf8[0] + utf8[^1] * 7 + utf8.Length * 31) & (CachedNames - 1);
        if (names[slot] is { } cached && reader.ValueTextEquals(cached))
            return cached;
        string name = reader.GetString()!;
        names[slot] = name;
        return name;
    }

    /// <summary>Names a tensor in error messages (<c>Input 'hour' (inputs[1])</c>); the text is only made when an error
    /// is thrown, so a valid request allocates no message.</summary>
    internal readonly struct TensorWho(string role, string? name, string listName, int index, string? text = null)
    {
        public TensorWho(string text) : this("", null, "", 0, text) { }

        public override string ToString() => text
            ?? (name is null ? $"{role} {listName}[{index}]" : $"{role} '{name}' ({listName}[{index}])");
    }

    internal static TensorDataType ReadDataType(ref Utf8JsonReader reader, TensorWho who)
    {
        if (reader.TokenType != JsonTokenType.String)
            throw Bad($"{who}: 'datatype' is {Describe(ref reader)}; it must be a string, one of {string.Join(", ", TensorDataTypes.All)}.");
        bool found = reader.ValueIsEscaped || reader.HasValueSequence
            ? TensorDataTypes.TryParse(reader.GetString(), out var dataType)
            : TensorDataTypes.TryParse(reader.ValueSpan, out dataType);
        if (!found)
            throw Bad($"{who}: datatype \"{reader.GetString()}\" is not a datatype of the protocol; use one of {string.Join(", ", TensorDataTypes.All)}.");
        return dataType;
    }

    internal static long[] ReadShape(ref Utf8JsonReader reader, TensorWho who)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw Bad($"{who}: 'shape' is {Describe(ref reader)}; it must be an array of dimensions, such as [2, 3].");
        Span<long> dims = stackalloc long[16];
        int count = 0;
        List<long>? more = null;
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long dim) || dim < 0)
                throw Bad($"{who}: shape[{count}] is {Describe(ref reader)}; a dimension must be a whole number, 0 or more.");
            if (count < dims.Length)
            {
                dims[count] = dim;
            }
            else
            {
                more ??= [.. dims];
                more.Add(dim);
            }
            count++;
        }
        if (more is null && count == 1 && dims[0] < VectorShapes.Length)
            return VectorShapes[dims[0]]; // shared: a tensor never changes its shape
        return more is not null ? [.. more] : dims[..count].ToArray();
    }

    /// <summary>The shapes <c>[0]</c> to <c>[63]</c>, shared by the tensors read with them (a batch of a few rows is the common request).</summary>
    internal static readonly long[][] VectorShapes = [.. Enumerable.Range(0, 64).Select(n => new long[] { n })];

    internal static Array ReadData(ref Utf8JsonReader reader, TensorWho who, TensorDataType dataType, long[] shape, int bodyLength)
    {
        long count = 1;
        foreach (long dim in shape)
            count = dim == 0 ? 0 : count > long.MaxValue / dim ? long.MaxValue : count * dim;
        string datatypeName = dataType.ToProtocolName();
        // Each element takes at least one byte of the body: a larger shape cannot match and must not be allocated.
        if (count > bodyLength)
            throw Bad($"{who}: shape [{string.Join(", ", shape)}] holds {count} elements, more than the {bodyLength}-byte body can carry; the element count must equal the product of the shape.");
        if (reader.TokenType != JsonTokenType.StartArray)
            throw Bad($"{who}: 'data' is {Describe(ref reader)}; it must be an array (flat or nested, row-major) of {count} {datatypeName} elements.");
        int n = (int)count;
        bool[]? bools = null;
        long[]? longs = null;
        ulong[]? ulongs = null;
        float[]? floats = null;
        double[]? doubles = null;
        string[]? strings = null;
        Array values;
        switch (dataType)
        {
            case TensorDataType.Bool: values = bools = new bool[n]; break;
            case TensorDataType.Fp32: values = floats = new float[n]; break;
            case TensorDataType.Fp16 or TensorDataType.Fp64: values = doubles = new double[n]; break;
            case TensorDataType.Bytes: values = strings = new string[n]; break;
            default:
                if (dataType.IsSignedInteger())
                    values = longs = new long[n];
                else
                    values = ulongs = new ulong[n];
                break;
        }
        long min = TensorDataTypes.MinValue(dataType), max = TensorDataTypes.MaxValue(dataType);
        ulong umax = TensorDataTypes.MaxUnsigned(dataType);
        // 'data' is flat (every element directly in the outer array) or nested exactly like the shape (the elements
        // rank - 1 arrays deep, the arrays at depth k holding shape[k] items each). children[k] counts the items of the
        // open array at depth k; the reader's MaxDepth bounds the depth.
        Span<long> children = stackalloc long[8]; // deeper nesting (up to the reader's MaxDepth) moves to the heap
        children[0] = 0;
        int depth = 0;
        int elementDepth = -1;
        bool nested = false;
        long seen = 0;
        while (true)
        {
            var token = Next(ref reader);
            if (token == JsonTokenType.StartArray)
            {
                children[depth]++;
                depth++;
                if (depth == children.Length)
                {
                    var deeper = new long[MaxDepth + 1];
                    children.CopyTo(deeper);
                    children = deeper;
                }
                children[depth] = 0;
                nested = true;
                if (elementDepth >= 0 && depth > elementDepth)
                    throw MixedNesting(who, seen, depth, elementDepth, shape);
                continue;
            }
            if (token == JsonTokenType.EndArray)
            {
                if ((depth > 0 || nested) && (depth >= shape.Length || children[depth] != shape[depth]))
                    throw NestedUnlikeShape(who, shape, depth, children[depth]);
                if (depth == 0)
                    break;
                depth--;
                continue;
            }
            if (elementDepth != depth)
            {
                if (elementDepth >= 0 || (depth != 0 && depth != shape.Length - 1))
                    throw elementDepth >= 0 ? MixedNesting(who, seen, depth, elementDepth, shape) : NestedUnlikeShape(who, shape, depth, -1);
                elementDepth = depth;
            }
            children[depth]++;
            long i = seen++;
            if (i >= n)
            {
                if (token == JsonTokenType.StartObject)
                    reader.Skip();
                continue; // keep counting to report the real element count
            }
            switch (dataType)
            {
                case TensorDataType.Bool:
                    bools![i] = token switch
                    {
                        JsonTokenType.True => true,
                        JsonTokenType.False => false,
                        _ => throw WrongElement(ref reader, who, i, "BOOL takes true or false"),
                    };
                    break;
                case TensorDataType.Fp32:
                    if (token != JsonTokenType.Number)
                        throw WrongElement(ref reader, who, i, "FP32 takes numbers");
                    if (!reader.TryGetSingle(out float f) || !float.IsFinite(f))
                        throw Bad($"{who}: data[{i}] is {Text(ref reader)}, out of the range of FP32 (±{float.MaxValue.ToString(CultureInfo.InvariantCulture)}).");
                    floats![i] = f;
                    break;
                case TensorDataType.Fp16 or TensorDataType.Fp64:
                    if (token != JsonTokenType.Number)
                        throw WrongElement(ref reader, who, i, $"{datatypeName} takes numbers");
                    if (!reader.TryGetDouble(out double d) || !double.IsFinite(d) || (dataType == TensorDataType.Fp16 && Math.Abs(d) > 65504))
                        throw Bad($"{who}: data[{i}] is {Text(ref reader)}, out of the range of {datatypeName} (±{(dataType == TensorDataType.Fp16 ? "65504" : double.MaxValue.ToString(CultureInfo.InvariantCulture))}).");
                    doubles![i] = d;
                    break;
                case TensorDataType.Bytes:
                    if (token != JsonTokenType.String)
                        throw WrongElement(ref reader, who, i, "BYTES takes strings");
                    strings![i] = reader.GetString()!;
                    break;
                default:
                    if (token != JsonTokenType.Number)
                        throw WrongElement(ref reader, who, i, $"{datatypeName} takes whole numbers");
                    if (longs is not null)
                        longs[i] = ReadSigned(ref reader, who, i, datatypeName, min, max);
                    else
                        ulongs![i] = ReadUnsigned(ref reader, who, i, datatypeName, umax);
                    break;
            }
        }
        if (seen != count)
            throw Bad($"{who}: 'data' has {seen} elements but shape [{string.Join(", ", shape)}] holds {count}; the element count must equal the product of the shape.");
        return values;
    }

    internal static ServingException MixedNesting(TensorWho who, long i, int depth, int elementDepth, long[] shape) =>
        Bad($"{who}: data[{i}] is nested {depth} array{(depth == 1 ? "" : "s")} deep but data[0] {elementDepth}; 'data' must be flat (row-major) or nested exactly like shape [{string.Join(", ", shape)}], not a mix of both.");

    internal static ServingException NestedUnlikeShape(TensorWho who, long[] shape, int depth, long items) => Bad(
        items < 0 || depth >= shape.Length
            ? $"{who}: 'data' is nested {depth} array{(depth == 1 ? "" : "s")} deep, unlike shape [{string.Join(", ", shape)}]; send it flat (row-major) or nested exactly like the shape ({Math.Max(shape.Length - 1, 0)} arrays deep)."
            : $"{who}: an array nested {depth} deep in 'data' has {items} items but shape [{string.Join(", ", shape)}] gives dimension {depth} a size of {shape[depth]}; send 'data' flat (row-major) or nested exactly like the shape.");

    internal static long ReadSigned(ref Utf8JsonReader reader, TensorWho who, long i, string datatypeName, long min, long max)
    {
        if (!reader.TryGetInt64(out long value))
        {
            if (!reader.TryGetDouble(out double d) || !double.IsFinite(d))
                throw OutOfRange(ref reader, who, i, datatypeName, min.ToString(CultureInfo.InvariantCulture), max.ToString(CultureInfo.InvariantCulture));
            if (d != Math.Floor(d))
                throw Fraction(ref reader, who, i, datatypeName);
            if (d < -9.2233720368547758E18 || d >= 9.2233720368547758E18)
                throw OutOfRange(ref reader, who, i, datatypeName, min.ToString(CultureInfo.InvariantCulture), max.ToString(CultureInfo.InvariantCulture));
            value = (long)d;
        }
        if (value < min || value > max)
            throw OutOfRange(ref reader, who, i, datatypeName, min.ToString(CultureInfo.InvariantCulture), max.ToString(CultureInfo.InvariantCulture));
        return value;
    }

    internal static ulong ReadUnsigned(ref Utf8JsonReader reader, TensorWho who, long i, string datatypeName, ulong max)
    {
        if (!reader.TryGetUInt64(out ulong value))
        {
            if (!reader.TryGetDouble(out double d) || !double.IsFinite(d))
                throw OutOfRange(ref reader, who, i, datatypeName, "0", max.ToString(CultureInfo.InvariantCulture));
            if (d != Math.Floor(d))
                throw Fraction(ref reader, who, i, datatypeName);
            if (d < 0 || d >= 1.8446744073709552E19)
                throw OutOfRange(ref reader, who, i, datatypeName, "0", max.ToString(CultureInfo.InvariantCulture));
            value = (ulong)d;
        }
        if (value > max)
            throw OutOfRange(ref reader, who, i, datatypeName, "0", max.ToString(CultureInfo.InvariantCulture));
        return value;
    }

    internal static ServingException Fraction(ref Utf8JsonReader reader, TensorWho who, long i, string datatypeName) =>
        Bad($"{who}: data[{i}] is {Text(ref reader)}, which has a fraction; {datatypeName} takes whole numbers.");

    internal static ServingException OutOfRange(ref Utf8JsonReader reader, TensorWho who, long i, string datatypeName, string min, string max) =>
        Bad($"{who}: data[{i}] is {Text(ref reader)}, out of the range of {datatypeName} ({min}..{max}).");

    internal static ServingException WrongElement(ref Utf8JsonReader reader, TensorWho who, long i, string rule) =>
        Bad($"{who}: data[{i}] is {Describe(ref reader)}; {rule}.");

    internal static void WriteTensor(Utf8JsonWriter writer, InferenceTensor tensor, bool isResponse)
    {
        writer.WriteStartObject();
        writer.WriteString("name"u8, tensor.Name);
        writer.WritePropertyName("shape"u8);
        writer.WriteStartArray();
        foreach (long dim in tensor.Shape)
            writer.WriteNumberValue(dim);
        writer.WriteEndArray();
        writer.WriteString("datatype"u8, EncodedDataTypes[(int)tensor.DataType]);
        WriteParameters(writer, tensor.Parameters);
        writer.WritePropertyName("data"u8);
        writer.WriteStartArray();
        var data = tensor.Data;
        switch (data.DataType)
        {
            case TensorDataType.Bool:
                foreach (bool b in data.AsBooleans())
                    writer.WriteBooleanValue(b);
                break;
            case TensorDataType.Fp32:
                var floats = data.AsSingles();
                for (int i = 0; i < floats.Length; i++)
                {
                    if (!float.IsFinite(floats[i]))
                        throw NotFinite(tensor, i, floats[i], isResponse);
                    writer.WriteNumberValue(floats[i]);
                }
                break;
            case TensorDataType.Fp16 or TensorDataType.Fp64:
                var doubles = data.AsDoubles();
                for (int i = 0; i < doubles.Length; i++)
                {
                    if (!double.IsFinite(doubles[i]))
                        throw NotFinite(tensor, i, doubles[i], isResponse);
                    writer.WriteNumberValue(doubles[i]);
                }
                break;
            case TensorDataType.Bytes:
                foreach (string s in data.AsStrings())
                    writer.WriteStringValue(s);
                break;
            default:
                if (data.DataType.IsSignedInteger())
                {
                    foreach (long l in data.AsInt64())
                        writer.WriteNumberValue(l);
                }
                else
                {
                    foreach (ulong u in data.AsUInt64())
                        writer.WriteNumberValue(u);
                }
                break;
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    internal static Exception NotFinite(InferenceTensor tensor, int index, double value, bool isResponse)
    {
        string message = $"{(isResponse ? "Output" : "Input")} '{tensor.Name}': data[{index}] is {value.ToString(CultureInfo.InvariantCulture)}, which JSON cannot carry; {tensor.DataType.ToProtocolName()} values must be finite.";
        return isResponse ? new ServingException(500, message) : new ValidationException(message);
    }

    /// <summary>The datatype names, encoded once (indexed by <see cref="TensorDataType"/>).</summary>
    internal static readonly JsonEncodedText[] EncodedDataTypes =
        [.. Enum.GetValues<TensorDataType>().OrderBy(t => (int)t).Select(t => JsonEncodedText.Encode(t.ToProtocolName()))];
}
