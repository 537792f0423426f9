using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLOps.Serving.Tests.TestSupport;

/// <summary>A valid request body to mutate and the endpoint it goes to.</summary>
public sealed record FuzzSeed(string Path, string Json);

/// <summary>One mutated body: where it goes, the bytes, and the mutations that made it (for the failure report).</summary>
public sealed record FuzzCase(int Index, string Path, byte[] Body, string Mutations)
{
    /// <summary>The body as text (invalid UTF-8 replaced) and as Base64 (exact), for a failure report.</summary>
    public string Describe() => $"case {Index}, POST {Path}, mutations [{Mutations}]\n  body: {Encoding.UTF8.GetString(Body)}\n  base64: {Convert.ToBase64String(Body)}";
}

/// <summary>
/// Mutates valid Open Inference Protocol bodies: byte flips, truncation, type swaps, shape edits (with and without data
/// that matches), nesting, datatype swaps, huge and malformed numbers, duplicate keys, wrong parameters and outputs,
/// removed and renamed properties. Case <c>i</c> of a seed is always the same body (its own <see cref="Random"/> seeded
/// from the seed and <c>i</c>), so a failure is replayed with <see cref="Case"/>.
/// </summary>
public sealed class V2BodyFuzzer(int seed, IReadOnlyList<FuzzSeed> seeds)
{
    /// <summary>Marks a string value written as a raw JSON token (huge or malformed numbers).</summary>
    private const string Raw = "\u0001raw:";

    private static readonly string[] DataTypes =
        ["BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "FP16", "FP32", "FP64", "BYTES", "fp32", "FP31", "", "STRING", " FP32"];

    private static readonly string[] RawNumbers =
    [
        "1e308", "-1e308", "1e309", "-1e309", "3.5e38", "-3.5e38", "65505", "1e-400", "-0", "0.0", "4294967296",
        "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551615", "18446744073709551616",
        "123456789012345678901234567890123456789", "1.5", "-1", "2147483648", "-2147483649", "NaN", "Infinity", "-Infinity",
        "01", "1.", ".5", "+1", "0x10", "1e", "--1", "1E+2", "9.9999999999999999e307",
    ];

    private static readonly string[] Names = ["Distance", "Hour", "distance", "hour", "Probability", "risk", "", " ", "x", "Distance ", "DISTANCE"];

    private static readonly string[] Properties = ["id", "parameters", "inputs", "outputs", "name", "shape", "datatype", "data", "model_name"];

    /// <summary>The mutated body of case <paramref name="index"/>.</summary>
    public FuzzCase Case(int index)
    {
        var random = new Random(HashCode.Combine(seed, index));
        var source = seeds[random.Next(seeds.Count)];
        var applied = new List<string>();
        var duplicates = new Dictionary<JsonObject, List<(string Name, JsonNode? Value)>>(ReferenceEqualityComparer.Instance);
        JsonNode? root = JsonNode.Parse(source.Json);
        int structural = random.Next(4); // 0 to 3 structural mutations
        for (int m = 0; m < structural; m++)
            root = Mutate(root, random, applied, duplicates);
        byte[] body = Serialize(root, duplicates);
        if (structural == 0 || random.Next(4) == 0)
            body = MutateBytes(body, random, applied);
        string path = random.Next(10) == 0 ? OtherPath(source.Path, random, applied) : source.Path;
        return new FuzzCase(index, path, body, string.Join("; ", applied));
    }

    private static JsonNode? Mutate(JsonNode? root, Random random, List<string> applied, Dictionary<JsonObject, List<(string, JsonNode?)>> duplicates)
    {
        var tensors = Tensors(root);
        switch (random.Next(12))
        {
            case 0: // type swap anywhere
                {
                    var (node, where) = Pick(root, random);
                    var replacement = RandomValue(random, depth: 0);
                    applied.Add($"type swap {where} -> {Show(replacement)}");
                    return Replace(root, node, replacement);
                }
            case 1 when tensors.Count > 0: // shape edit, data unchanged
                {
                    var tensor = tensors[random.Next(tensors.Count)];
                    var shape = RandomShape(random);
                    tensor["shape"] = shape;
                    applied.Add($"shape of {tensor["name"]?.ToJsonString()} -> {Show(shape)}");
                    return root;
                }
            case 2 when tensors.Count > 0: // shape and data edited together (a consistent tensor of another batch length or rank)
                {
                    var tensor = tensors[random.Next(tensors.Count)];
                    int rank = random.Next(4);
                    var dims = new long[rank];
                    for (int d = 0; d < rank; d++) dims[d] = random.Next(4);
                    tensor["shape"] = new JsonArray([.. dims.Select(d => (JsonNode?)JsonValue.Create(d))]);
                    bool nested = rank > 1 && random.Next(2) == 0;
                    string datatype = tensor["datatype"] is JsonValue v && v.TryGetValue(out string? t) ? t : "FP32";
                    tensor["data"] = Data(dims, 0, nested, datatype, random);
                    applied.Add($"tensor {tensor["name"]?.ToJsonString()} -> shape [{string.Join(", ", dims)}], {(nested ? "nested" : "flat")} data");
                    return root;
                }
            case 3: // nesting: wrap a node in arrays, or an element of a data array
                {
                    if (tensors.Count > 0 && random.Next(2) == 0 && tensors[random.Next(tensors.Count)]["data"] is JsonArray { Count: > 0 } data)
                    {
                        int at = random.Next(data.Count);
                        var element = data[at];
                        data[at] = Wrap(element?.DeepClone(), 1 + random.Next(2));
                        applied.Add($"data element {at} nested");
                        return root;
                    }
                    var (node, where) = Pick(root, random);
                    applied.Add($"nest {where}");
                    return Replace(root, node, Wrap(node?.DeepClone(), 1 + random.Next(3)));
                }
            case 4 when tensors.Count > 0: // datatype swap
                {
                    var tensor = tensors[random.Next(tensors.Count)];
                    string datatype = DataTypes[random.Next(DataTypes.Length)];
                    tensor["datatype"] = datatype;
                    applied.Add($"datatype of {tensor["name"]?.ToJsonString()} -> {datatype}");
                    return root;
                }
            case 5: // huge or malformed number
                {
                    var numbers = Nodes(root).Where(n => n.Node is JsonValue value && value.GetValueKind() == JsonValueKind.Number).ToList();
                    string raw = RawNumbers[random.Next(RawNumbers.Length)];
                    if (numbers.Count == 0)
                        return root;
                    var (node, where) = numbers[random.Next(numbers.Count)];
                    applied.Add($"number {where} -> {raw}");
                    return Replace(root, node, JsonValue.Create(Raw + raw));
                }
            case 6: // duplicate key
                {
                    if (PickProperty(root, random) is not var (obj, property, where))
                        return root;
                    var value = random.Next(2) == 0 ? property.Value?.DeepClone() : RandomValue(random, 0);
                    if (!duplicates.TryGetValue(obj, out var extra))
                        duplicates[obj] = extra = [];
                    extra.Add((property.Key, value));
                    applied.Add($"duplicate key {where}.{property.Key} = {Show(value)}");
                    return root;
                }
            case 7 when root is JsonObject request: // wrong parameters or outputs
                {
                    JsonNode? value = random.Next(9) switch
                    {
                        0 => new JsonArray(),
                        1 => "content_type",
                        2 => 1,
                        3 => new JsonObject { ["content_type"] = 5, ["binary_data"] = new JsonArray(1, new JsonObject()) },
                        4 => new JsonObject { ["a"] = new JsonObject { ["b"] = new JsonArray(1, null, "x") } },
                        5 => null,
                        6 => new JsonArray(new JsonObject { ["name"] = 5 }),
                        7 => new JsonArray(new JsonObject(), new JsonObject { ["name"] = "Probability", ["parameters"] = new JsonArray() }),
                        _ => new JsonArray(new JsonObject { ["name"] = Names[random.Next(Names.Length)] }, new JsonObject { ["name"] = "Probability" }),
                    };
                    string key = random.Next(3) switch
                    {
                        0 => "parameters",
                        1 => "outputs",
                        _ => "id",
                    };
                    if (tensors.Count > 0 && random.Next(3) == 0)
                    {
                        var tensor = tensors[random.Next(tensors.Count)];
                        tensor["parameters"] = value;
                        applied.Add($"tensor parameters of {tensor["name"]?.ToJsonString()} -> {Show(value)}");
                    }
                    else
                    {
                        request[key] = value;
                        applied.Add($"{key} -> {Show(value)}");
                    }
                    return root;
                }
            case 8: // remove a property
                {
                    if (PickProperty(root, random) is not var (obj, property, where))
                        return root;
                    obj.Remove(property.Key);
                    applied.Add($"remove {where}.{property.Key}");
                    return root;
                }
            case 9: // rename a property, or a tensor
                {
                    if (tensors.Count > 0 && random.Next(2) == 0)
                    {
                        var tensor = tensors[random.Next(tensors.Count)];
                        string name = Names[random.Next(Names.Length)];
                        applied.Add($"tensor {tensor["name"]?.ToJsonString()} renamed {name}");
                        tensor["name"] = name;
                        return root;
                    }
                    if (PickProperty(root, random) is not var (obj, property, where))
                        return root;
                    string renamed = Properties[random.Next(Properties.Length)];
                    var value = property.Value?.DeepClone();
                    obj.Remove(property.Key);
                    obj[renamed] = value;
                    applied.Add($"rename {where}.{property.Key} -> {renamed}");
                    return root;
                }
            case 10 when tensors.Count > 0: // data elements added, removed or changed
                {
                    var tensor = tensors[random.Next(tensors.Count)];
                    if (tensor["data"] is not JsonArray data)
                        return root;
                    int what = random.Next(3);
                    if (what == 0 || data.Count == 0)
                        data.Add(RandomValue(random, 1));
                    else if (what == 1)
                        data.RemoveAt(random.Next(data.Count));
                    else
                        data[random.Next(data.Count)] = RandomValue(random, 1);
                    applied.Add($"data of {tensor["name"]?.ToJsonString()} -> {Show(data)}");
                    return root;
                }
            default: // a row of a rows body, or a whole input, changed
                {
                    if (root is JsonObject { } r && r["inputs"] is JsonArray { Count: > 0 } inputs)
                    {
                        int at = random.Next(inputs.Count);
                        var replacement = random.Next(3) switch
                        {
                            0 => inputs[random.Next(inputs.Count)]?.DeepClone(), // a duplicate input or row
                            1 => RandomValue(random, 0),
                            _ => new JsonArray(RandomValue(random, 1), RandomValue(random, 1)),
                        };
                        if (random.Next(2) == 0)
                            inputs.Add(replacement);
                        else
                            inputs[at] = replacement;
                        applied.Add($"inputs[{at}] -> {Show(replacement)}");
                    }
                    return root;
                }
        }
    }

    private static byte[] MutateBytes(byte[] body, Random random, List<string> applied)
    {
        if (body.Length == 0)
            return body;
        if (random.Next(3) == 0)
        {
            int length = random.Next(body.Length);
            applied.Add($"truncate to {length} bytes");
            return body[..length];
        }
        var copy = (byte[])body.Clone();
        int flips = 1 + random.Next(4);
        for (int f = 0; f < flips; f++)
        {
            int at = random.Next(copy.Length);
            byte before = copy[at];
            copy[at] = random.Next(2) == 0 ? (byte)(copy[at] ^ (1 << random.Next(8))) : (byte)random.Next(256);
            applied.Add($"byte {at}: 0x{before:X2} -> 0x{copy[at]:X2}");
        }
        return copy;
    }

    private static string OtherPath(string path, Random random, List<string> applied)
    {
        string[] others = ["/v2/models/delay/infer", "/v2/models/delay/explain", "/v2/models/delay-risk/infer", "/v2/models/delay-risk/explain",
            "/v2/models/delay/versions/1/infer", "/v2/models/delay-risk/versions/1/explain", "/v2/models/delay-risk/versions/9/infer", "/v2/models/nope/infer"];
        string other = others[random.Next(others.Length)];
        applied.Add($"path {path} -> {other}");
        return other;
    }

    private static List<JsonObject> Tensors(JsonNode? root)
        => root is JsonObject r && r["inputs"] is JsonArray inputs
            ? [.. inputs.OfType<JsonObject>().Where(t => t.ContainsKey("shape") || t.ContainsKey("datatype"))]
            : [];

    private static List<(JsonNode? Node, string Where)> Nodes(JsonNode? root)
    {
        var list = new List<(JsonNode?, string)>();
        void Walk(JsonNode? node, string where)
        {
            list.Add((node, where));
            if (node is JsonObject obj)
            {
                foreach (var (key, value) in obj) Walk(value, $"{where}.{key}");
            }
            else if (node is JsonArray array)
            {
                for (int i = 0; i < array.Count; i++) Walk(array[i], $"{where}[{i}]");
            }
        }
        Walk(root, "$");
        return list;
    }

    /// <summary>A random property of a random non-empty object of the tree, or null when there is none.</summary>
    private static (JsonObject Owner, KeyValuePair<string, JsonNode?> Property, string Where)? PickProperty(JsonNode? root, Random random)
    {
        var objects = Nodes(root).Where(n => n.Node is JsonObject { Count: > 0 }).ToList();
        if (objects.Count == 0)
            return null;
        var (node, where) = objects[random.Next(objects.Count)];
        var owner = (JsonObject)node!;
        return (owner, owner.ElementAt(random.Next(owner.Count)), where);
    }

    private static (JsonNode? Node, string Where) Pick(JsonNode? root, Random random)
    {
        var nodes = Nodes(root);
        return nodes[random.Next(nodes.Count)];
    }

    /// <summary>Puts <paramref name="replacement"/> where <paramref name="node"/> is; returns the (new) root.</summary>
    private static JsonNode? Replace(JsonNode? root, JsonNode? node, JsonNode? replacement)
    {
        if (node is null || ReferenceEquals(node, root) || node.Parent is null)
            return ReferenceEquals(node, root) ? replacement : ReplaceNull(root, replacement);
        switch (node.Parent)
        {
            case JsonObject parent:
                parent[node.GetPropertyName()] = replacement;
                break;
            case JsonArray parent:
                parent[node.GetElementIndex()] = replacement;
                break;
        }
        return root;
    }

    /// <summary>A null node has no parent to find it by: replace the first null value of the tree instead.</summary>
    private static JsonNode? ReplaceNull(JsonNode? root, JsonNode? replacement)
    {
        foreach (var (node, _) in Nodes(root))
        {
            if (node is JsonObject obj && obj.FirstOrDefault(p => p.Value is null) is { Key: not null } property)
            {
                obj[property.Key] = replacement;
                return root;
            }
            if (node is JsonArray array && array.IndexOf(null) is int at and >= 0)
            {
                array[at] = replacement;
                return root;
            }
        }
        return root;
    }

    private static JsonNode? Wrap(JsonNode? node, int levels)
    {
        for (int i = 0; i < levels; i++) node = new JsonArray(node);
        return node;
    }

    private static JsonArray RandomShape(Random random) => random.Next(12) switch
    {
        0 => [],
        1 => [0],
        2 => [-1],
        3 => [2, 1],
        4 => [1, 2],
        5 => [JsonValue.Create(Raw + "1e3")],
        6 => [4294967296L],
        7 => [long.MaxValue],
        8 => [3037000500L, 3037000500L],
        9 => [JsonValue.Create(Raw + "1.5")],
        10 => ["2"],
        _ => [.. Enumerable.Range(0, random.Next(5)).Select(_ => (JsonNode?)JsonValue.Create(random.Next(4)))],
    };

    private static JsonNode Data(long[] dims, int level, bool nested, string datatype, Random random)
    {
        if (!nested)
        {
            long count = dims.Aggregate(1L, (a, d) => a * d);
            return new JsonArray([.. Enumerable.Range(0, (int)count).Select(_ => Element(datatype, random))]);
        }
        if (level == dims.Length - 1)
            return new JsonArray([.. Enumerable.Range(0, (int)dims[level]).Select(_ => Element(datatype, random))]);
        return new JsonArray([.. Enumerable.Range(0, (int)dims[level]).Select(_ => (JsonNode?)Data(dims, level + 1, nested, datatype, random))]);
    }

    private static JsonNode? Element(string datatype, Random random) => datatype switch
    {
        "BOOL" => random.Next(2) == 0,
        "BYTES" => $"s{random.Next(100)}",
        _ when datatype.StartsWith("FP", StringComparison.Ordinal) => random.Next(5000) / 2.0,
        _ => random.Next(100),
    };

    private static JsonNode? RandomValue(Random random, int depth) => random.Next(depth > 2 ? 6 : 9) switch
    {
        0 => null,
        1 => random.Next(2) == 0,
        2 => random.Next(-5, 3000),
        3 => random.NextDouble() * 1e6,
        4 => Names[random.Next(Names.Length)],
        5 => JsonValue.Create(Raw + RawNumbers[random.Next(RawNumbers.Length)]),
        6 => new JsonArray(),
        7 => new JsonArray(RandomValue(random, depth + 1), RandomValue(random, depth + 1)),
        _ => new JsonObject { [Properties[random.Next(Properties.Length)]] = RandomValue(random, depth + 1) },
    };

    private static string Show(JsonNode? node)
    {
        string text = node is null ? "null" : Encoding.UTF8.GetString(Serialize(node, new(ReferenceEqualityComparer.Instance)));
        return text.Length <= 80 ? text : text[..77] + "...";
    }

    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static byte[] Serialize(JsonNode? root, Dictionary<JsonObject, List<(string Name, JsonNode? Value)>> duplicates)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, WriterOptions))
            Write(writer, root, duplicates);
        return stream.ToArray();
    }

    private static void Write(Utf8JsonWriter writer, JsonNode? node, Dictionary<JsonObject, List<(string Name, JsonNode? Value)>> duplicates)
    {
        switch (node)
        {
            case null:
                writer.WriteNullValue();
                break;
            case JsonObject obj:
                writer.WriteStartObject();
                foreach (var (key, value) in obj)
                {
                    writer.WritePropertyName(key);
                    Write(writer, value, duplicates);
                }
                if (duplicates.TryGetValue(obj, out var extra))
                {
                    foreach (var (key, value) in extra)
                    {
                        writer.WritePropertyName(key);
                        Write(writer, value, duplicates);
                    }
                }
                writer.WriteEndObject();
                break;
            case JsonArray array:
                writer.WriteStartArray();
                foreach (var item in array) Write(writer, item, duplicates);
                writer.WriteEndArray();
                break;
            case JsonValue value when value.TryGetValue(out string? text) && text.StartsWith(Raw, StringComparison.Ordinal):
                writer.WriteRawValue(text[Raw.Length..], skipInputValidation: true);
                break;
            default:
                node.WriteTo(writer);
                break;
        }
    }
}
