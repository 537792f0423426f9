using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MLOps.Serving.Protocol;

/// <summary>
/// Reads and writes the JSON of the Open Inference Protocol (KServe V2 REST) with <see cref="Utf8JsonReader"/> and
/// <see cref="Utf8JsonWriter"/>. Every problem in a body throws <see cref="ServingException"/> with status 400 (or 413
/// for a body over the size limit) and a message naming the tensor, the index or field, and the rule.
/// </summary>
public static class InferenceJson
{
    private const int MaxDepth = 64;
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth };

    // ---------------------------------------------------------------- requests

    /// <summary>Parses an inference request: V2 tensors, or MLRun-style rows (a list of lists, or a list of objects keyed by feature name).</summary>
    /// <param name="utf8">The request body in UTF-8.</param>
    /// <returns>The request.</returns>
    /// <exception cref="ServingException">Status 400: the body is not valid JSON or breaks a rule of the protocol.</exception>
    public static InferenceRequest ParseRequest(ReadOnlySpan<byte> utf8)
        => ParseObject(utf8, "request body", "request", static (ref Utf8JsonReader reader, int bodyLength) =>
        {
            string? id = null;
            IReadOnlyDictionary<string, JsonElement>? parameters = null;
            IReadOnlyList<InferenceTensor>? inputs = null;
            RowsRequest? rows = null;
            IReadOnlyList<RequestedOutput>? outputs = null;
            bool sawInputs = false;
            int seen = 0;
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("id"u8))
                {
                    Once(ref seen, 1, "id", "The request");
                    Next(ref reader);
                    id = ReadOptionalString(ref reader, "The request's 'id'");
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    Once(ref seen, 2, "parameters", "The request");
                    Next(ref reader);
                    parameters = ReadParameters(ref reader, "The request's 'parameters'");
                }
                else if (reader.ValueTextEquals("inputs"u8))
                {
                    Once(ref seen, 4, "inputs", "The request");
                    Next(ref reader);
                    sawInputs = true;
                    ReadInputs(ref reader, bodyLength, out inputs, out rows);
                }
                else if (reader.ValueTextEquals("outputs"u8))
                {
                    Once(ref seen, 8, "outputs", "The request");
                    Next(ref reader);
                    outputs = ReadRequestedOutputs(ref reader);
                }
                else
                {
                    Next(ref reader);
                    reader.Skip();
                }
            }
            EnsureEnd(ref reader);
            if (!sawInputs)
                throw Bad("The request has no 'inputs'; send {\"inputs\": [{\"name\": ..., \"shape\": [...], \"datatype\": ..., \"data\": [...]}]} or rows as {\"inputs\": [[...], ...]}.");
            return new InferenceRequest { Id = id, Parameters = parameters, Inputs = inputs ?? [], Outputs = outputs, Rows = rows };
        });

    /// <summary>Reads a request body from a stream (up to <paramref name="maxBytes"/>) and parses it.</summary>
    /// <param name="body">The request body.</param>
    /// <param name="maxBytes">The largest body accepted, in bytes.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The request.</returns>
    /// <exception cref="ServingException">Status 413 when the body is larger than <paramref name="maxBytes"/>; status 400 when it is invalid.</exception>
    public static async ValueTask<InferenceRequest> ParseRequestAsync(Stream body, long maxBytes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxBytes, (long)Array.MaxLength - 1);
        long? remaining = body.CanSeek ? body.Length - body.Position : null;
        if (remaining > maxBytes)
            throw TooLarge(maxBytes, remaining);
        using var read = await PooledBody.ReadAsync(body, maxBytes, remaining, cancellationToken).ConfigureAwait(false)
                         ?? throw TooLarge(maxBytes, null);
        return ParseRequest(read.Span);
    }

    /// <summary>Writes an inference request (for clients and tests).</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="request">The request; its <see cref="InferenceRequest.Rows"/> are written as rows when present.</param>
    public static void WriteRequest(Utf8JsonWriter writer, InferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(request);
        writer.WriteStartObject();
        if (request.Id is not null)
            writer.WriteString("id"u8, request.Id);
        WriteParameters(writer, request.Parameters);
        writer.WritePropertyName("inputs"u8);
        writer.WriteStartArray();
        if (request.Rows is { } rows)
        {
            foreach (var row in rows.Rows)
                WriteRow(writer, row);
        }
        else
        {
            foreach (var input in request.Inputs)
                WriteTensor(writer, input, isResponse: false);
        }
        writer.WriteEndArray();
        if (request.Outputs is { } outputs)
        {
            writer.WritePropertyName("outputs"u8);
            writer.WriteStartArray();
            foreach (var output in outputs)
            {
                writer.WriteStartObject();
                writer.WriteString("name"u8, output.Name);
                WriteParameters(writer, output.Parameters);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }

    /// <summary>Serializes an inference request to UTF-8 JSON.</summary>
    /// <param name="request">The request.</param>
    /// <returns>The UTF-8 JSON.</returns>
    public static byte[] SerializeRequest(InferenceRequest request) => Serialize(request, WriteRequest);

    // ---------------------------------------------------------------- responses

    /// <summary>Writes an inference response: <c>{"model_name", "model_version", "id", "parameters", "outputs"}</c>.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="response">The response.</param>
    /// <exception cref="ServingException">Status 500: an FP output holds NaN or an infinity, which JSON cannot carry.</exception>
    public static void WriteResponse(Utf8JsonWriter writer, InferenceResponse response)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(response);
        writer.WriteStartObject();
        writer.WriteString("model_name"u8, response.ModelName);
        if (response.ModelVersion is not null)
            writer.WriteString("model_version"u8, response.ModelVersion);
        if (response.Id is not null)
            writer.WriteString("id"u8, response.Id);
        WriteParameters(writer, response.Parameters);
        writer.WritePropertyName("outputs"u8);
        writer.WriteStartArray();
        foreach (var output in response.Outputs)
            WriteTensor(writer, output, isResponse: true);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>Serializes an inference response to UTF-8 JSON.</summary>
    /// <param name="response">The response.</param>
    /// <returns>The UTF-8 JSON.</returns>
    public static byte[] SerializeResponse(InferenceResponse response) => Serialize(response, WriteResponse);

    /// <summary>Parses an inference response (for clients and tests).</summary>
    /// <param name="utf8">The response body in UTF-8.</param>
    /// <returns>The response.</returns>
    /// <exception cref="ServingException">Status 400: the body is not valid JSON or breaks a rule of the protocol.</exception>
    public static InferenceResponse ParseResponse(ReadOnlySpan<byte> utf8)
        => ParseObject(utf8, "response body", "response", static (ref Utf8JsonReader reader, int bodyLength) =>
        {
            string? modelName = null, modelVersion = null, id = null;
            IReadOnlyDictionary<string, JsonElement>? parameters = null;
            List<InferenceTensor>? outputs = null;
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("model_name"u8))
                {
                    Next(ref reader);
                    modelName = ReadOptionalString(ref reader, "The response's 'model_name'");
                }
                else if (reader.ValueTextEquals("model_version"u8))
                {
                    Next(ref reader);
                    modelVersion = ReadOptionalString(ref reader, "The response's 'model_version'");
                }
                else if (reader.ValueTextEquals("id"u8))
                {
                    Next(ref reader);
                    id = ReadOptionalString(ref reader, "The response's 'id'");
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    Next(ref reader);
                    parameters = ReadParameters(ref reader, "The response's 'parameters'");
                }
                else if (reader.ValueTextEquals("outputs"u8))
                {
                    Next(ref reader);
                    if (reader.TokenType != JsonTokenType.StartArray)
                        throw Bad($"The response's 'outputs' is {Describe(ref reader)}; it must be an array of tensors.");
                    outputs = [];
                    while (Next(ref reader) != JsonTokenType.EndArray)
                        outputs.Add(ReadTensor(ref reader, "Output", "outputs", outputs.Count, bodyLength));
                }
                else
                {
                    Next(ref reader);
                    reader.Skip();
                }
            }
            EnsureEnd(ref reader);
            if (modelName is null)
                throw Bad("The response has no 'model_name'.");
            return new InferenceResponse { ModelName = modelName, ModelVersion = modelVersion, Id = id, Parameters = parameters, Outputs = outputs ?? [] };
        });

    // ---------------------------------------------------------------- metadata and errors

    /// <summary>Writes the server metadata: <c>{"name", "version", "extensions"}</c>.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="metadata">The metadata.</param>
    public static void WriteServerMetadata(Utf8JsonWriter writer, ServerMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(metadata);
        writer.WriteStartObject();
        writer.WriteString("name"u8, metadata.Name);
        writer.WriteString("version"u8, metadata.Version);
        writer.WritePropertyName("extensions"u8);
        WriteStrings(writer, metadata.Extensions);
        writer.WriteEndObject();
    }

    /// <summary>Writes the model metadata: <c>{"name", "versions", "platform", "inputs", "outputs"}</c>.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="metadata">The metadata.</param>
    public static void WriteModelMetadata(Utf8JsonWriter writer, ModelMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(metadata);
        writer.WriteStartObject();
        writer.WriteString("name"u8, metadata.Name);
        writer.WritePropertyName("versions"u8);
        WriteStrings(writer, metadata.Versions);
        writer.WriteString("platform"u8, metadata.Platform);
        writer.WritePropertyName("inputs"u8);
        WriteTensorMetadata(writer, metadata.Inputs);
        writer.WritePropertyName("outputs"u8);
        WriteTensorMetadata(writer, metadata.Outputs);
        writer.WriteEndObject();
    }

    /// <summary>Writes the error body <c>{"error": "..."}</c>.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="message">The message sent to the client.</param>
    public static void WriteError(Utf8JsonWriter writer, string message)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(message);
        writer.WriteStartObject();
        writer.WriteString("error"u8, message);
        writer.WriteEndObject();
    }

    /// <summary>Serializes the server metadata to UTF-8 JSON.</summary>
    /// <param name="metadata">The metadata.</param>
    /// <returns>The UTF-8 JSON.</returns>
    public static byte[] SerializeServerMetadata(ServerMetadata metadata) => Serialize(metadata, WriteServerMetadata);

    /// <summary>Serializes the model metadata to UTF-8 JSON.</summary>
    /// <param name="metadata">The metadata.</param>
    /// <returns>The UTF-8 JSON.</returns>
    public static byte[] SerializeModelMetadata(ModelMetadata metadata) => Serialize(metadata, WriteModelMetadata);

    /// <summary>Serializes the error body <c>{"error": "..."}</c> to UTF-8 JSON.</summary>
    /// <param name="error">The error.</param>
    /// <returns>The UTF-8 JSON.</returns>
    public static byte[] SerializeError(ErrorResponse error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return Serialize(error.Error, WriteError);
    }

    /// <summary>Parses server metadata (for clients and tests).</summary>
    /// <param name="utf8">The body in UTF-8.</param>
    /// <returns>The metadata.</returns>
    /// <exception cref="ServingException">Status 400: the body is not valid server metadata.</exception>
    public static ServerMetadata ParseServerMetadata(ReadOnlySpan<byte> utf8)
        => ParseObject(utf8, "server metadata", "server metadata", static (ref Utf8JsonReader reader, int bodyLength) =>
        {
            string? name = null, version = null;
            IReadOnlyList<string> extensions = [];
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("name"u8)) { Next(ref reader); name = ReadOptionalString(ref reader, "The server metadata's 'name'"); }
                else if (reader.ValueTextEquals("version"u8)) { Next(ref reader); version = ReadOptionalString(ref reader, "The server metadata's 'version'"); }
                else if (reader.ValueTextEquals("extensions"u8)) { Next(ref reader); extensions = ReadStrings(ref reader, "The server metadata's 'extensions'"); }
                else { Next(ref reader); reader.Skip(); }
            }
            EnsureEnd(ref reader);
            return new ServerMetadata
            {
                Name = name ?? throw Bad("The server metadata has no 'name'."),
                Version = version ?? throw Bad("The server metadata has no 'version'."),
                Extensions = extensions,
            };
        });

    /// <summary>Parses model metadata (for clients and tests).</summary>
    /// <param name="utf8">The body in UTF-8.</param>
    /// <returns>The metadata.</returns>
    /// <exception cref="ServingException">Status 400: the body is not valid model metadata.</exception>
    public static ModelMetadata ParseModelMetadata(ReadOnlySpan<byte> utf8)
        => ParseObject(utf8, "model metadata", "model metadata", static (ref Utf8JsonReader reader, int bodyLength) =>
        {
            string? name = null, platform = null;
            IReadOnlyList<string> versions = [];
            IReadOnlyList<TensorMetadata> inputs = [], outputs = [];
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("name"u8)) { Next(ref reader); name = ReadOptionalString(ref reader, "The model metadata's 'name'"); }
                else if (reader.ValueTextEquals("platform"u8)) { Next(ref reader); platform = ReadOptionalString(ref reader, "The model metadata's 'platform'"); }
                else if (reader.ValueTextEquals("versions"u8)) { Next(ref reader); versions = ReadStrings(ref reader, "The model metadata's 'versions'"); }
                else if (reader.ValueTextEquals("inputs"u8)) { Next(ref reader); inputs = ReadTensorMetadata(ref reader, "inputs"); }
                else if (reader.ValueTextEquals("outputs"u8)) { Next(ref reader); outputs = ReadTensorMetadata(ref reader, "outputs"); }
                else { Next(ref reader); reader.Skip(); }
            }
            EnsureEnd(ref reader);
            return new ModelMetadata
            {
                Name = name ?? throw Bad("The model metadata has no 'name'."),
                Platform = platform ?? "",
                Versions = versions,
                Inputs = inputs,
                Outputs = outputs,
            };
        });

    /// <summary>Parses the error body <c>{"error": "..."}</c> (for clients and tests).</summary>
    /// <param name="utf8">The body in UTF-8.</param>
    /// <returns>The error.</returns>
    /// <exception cref="ServingException">Status 400: the body is not an error body.</exception>
    public static ErrorResponse ParseError(ReadOnlySpan<byte> utf8)
        => ParseObject(utf8, "error body", "error", static (ref Utf8JsonReader reader, int bodyLength) =>
        {
            string? error = null;
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("error"u8)) { Next(ref reader); error = ReadOptionalString(ref reader, "The error body's 'error'"); }
                else { Next(ref reader); reader.Skip(); }
            }
            EnsureEnd(ref reader);
            return new ErrorResponse(error ?? throw Bad("The error body has no 'error'."));
        });

    // ---------------------------------------------------------------- reading

    private static void ReadInputs(ref Utf8JsonReader reader, int bodyLength, out IReadOnlyList<InferenceTensor>? tensors, out RowsRequest? rows)
    {
        tensors = null;
        rows = null;
        if (reader.TokenType != JsonTokenType.StartArray)
            throw Bad($"The request's 'inputs' is {Describe(ref reader)}; it must be an array of tensors, or of rows (lists or objects keyed by feature name).");
        var first = Next(ref reader);
        if (first == JsonTokenType.EndArray)
            throw Bad("The request's 'inputs' is empty; send at least one tensor or row.");
        if (first == JsonTokenType.StartObject && LooksLikeTensor(reader))
        {
            var list = new List<InferenceTensor>();
            HashSet<string>? names = null; // for many inputs; a few are compared one by one
            do
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                    throw Bad($"inputs[{list.Count}] is {Describe(ref reader)} but inputs[0] is a tensor; every input must be a tensor object with 'name', 'shape', 'datatype' and 'data'.");
                var tensor = ReadTensor(ref reader, "Input", "inputs", list.Count, bodyLength);
                if (list.Count >= 8)
                    names ??= new HashSet<string>(list.Select(t => t.Name), StringComparer.Ordinal);
                if (names is not null ? !names.Add(tensor.Name) : IndexOfName(list, tensor.Name) >= 0)
                    throw Bad($"inputs[{list.Count}] is named '{tensor.Name}' like inputs[{IndexOfName(list, tensor.Name)}]; each input name may appear once per request.");
                list.Add(tensor);
            }
            while (Next(ref reader) != JsonTokenType.EndArray);
            tensors = list;
        }
        else if (first is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            rows = ReadRows(ref reader, first == JsonTokenType.StartArray ? RowsFormat.Lists : RowsFormat.Objects);
        }
        else
        {
            throw Bad($"inputs[0] is {Describe(ref reader)}; 'inputs' takes tensor objects ({{\"name\", \"shape\", \"datatype\", \"data\"}}), rows as lists ([[1, 2.5, \"SFO\"]]) or rows as objects ([{{\"distance\": 1, \"origin\": \"SFO\"}}]).");
        }
    }

    /// <summary>Marks a property of an object as read; a second one is a 400 (the JSON would otherwise mean whichever came
    /// last, or, for a tensor, data read with one datatype but labelled with another).</summary>
    /// <param name="seen">The properties read so far, one bit each.</param>
    /// <param name="bit">The property's bit.</param>
    /// <param name="property">The property's name.</param>
    /// <param name="owner">The object: <c>inputs</c> with <paramref name="index"/>, or <c>The request</c> without.</param>
    /// <param name="index">The object's index in its list, or -1.</param>
    private static void Once(ref int seen, int bit, string property, string owner, int index = -1)
    {
        if ((seen & bit) != 0)
            throw Bad($"{(index < 0 ? owner : $"{owner}[{index}]")} has '{property}' twice; give each property once.");
        seen |= bit;
    }

    private static int IndexOfName(List<InferenceTensor> tensors, string name)
    {
        for (int i = 0; i < tensors.Count; i++)
        {
            if (string.Equals(tensors[i].Name, name, StringComparison.Ordinal))
                return i;
        }
        return -1;
    }

    /// <summary>Whether the object at the reader (copied, so the caller's position stays) is a V2 tensor: it has a 'datatype' or 'shape'.</summary>
    private static bool LooksLikeTensor(Utf8JsonReader probe)
    {
        while (probe.Read() && probe.TokenType == JsonTokenType.PropertyName)
        {
            if (probe.ValueTextEquals("datatype"u8) || probe.ValueTextEquals("shape"u8))
                return true;
            probe.Read();
            probe.Skip();
        }
        return false;
    }

    private static RowsRequest ReadRows(ref Utf8JsonReader reader, RowsFormat format)
    {
        var rows = new List<InferenceRow>();
        var values = new List<RowValue>();
        var names = new List<string>();
        string[]? previousNames = null;
        var expected = format == RowsFormat.Lists ? JsonTokenType.StartArray : JsonTokenType.StartObject;
        string shapeText = format == RowsFormat.Lists ? "a list" : "an object keyed by feature name";
        do
        {
            int r = rows.Count;
            if (reader.TokenType != expected)
                throw Bad($"inputs[{r}] is {Describe(ref reader)} but inputs[0] is {shapeText}; every row must be {shapeText}.");
            values.Clear();
            names.Clear();
            if (format == RowsFormat.Lists)
            {
                while (Next(ref reader) != JsonTokenType.EndArray)
                    values.Add(ReadRowValue(ref reader, r, values.Count, null));
                rows.Add(new InferenceRow([.. values]));
            }
            else
            {
                while (Next(ref reader) == JsonTokenType.PropertyName)
                {
                    int i = names.Count;
                    string name = previousNames is not null && i < previousNames.Length && reader.ValueTextEquals(previousNames[i])
                        ? previousNames[i]
                        : reader.GetString()!;
                    if (names.Contains(name))
                        throw Bad($"inputs[{r}] has the feature '{name}' twice; each feature may appear once per row.");
                    Next(ref reader);
                    names.Add(name);
                    values.Add(ReadRowValue(ref reader, r, i, name));
                }
                string[] rowNames = previousNames is not null && names.Count == previousNames.Length && SameNames(names, previousNames)
                    ? previousNames
                    : [.. names];
                previousNames = rowNames;
                rows.Add(new InferenceRow([.. values], rowNames));
            }
        }
        while (Next(ref reader) != JsonTokenType.EndArray);
        return new RowsRequest(format, rows);
    }

    private static bool SameNames(List<string> names, string[] previous)
    {
        for (int i = 0; i < previous.Length; i++)
        {
            if (!ReferenceEquals(names[i], previous[i]))
                return false;
        }
        return true;
    }

    private static RowValue ReadRowValue(ref Utf8JsonReader reader, int row, int column, string? feature) => reader.TokenType switch
    {
        JsonTokenType.Number => reader.TryGetDouble(out double d) && double.IsFinite(d)
            ? RowValue.FromNumber(d)
            : throw Bad($"{Cell(row, column, feature)} is the number {Text(ref reader)}, out of the range of a double."),
        JsonTokenType.String => RowValue.FromString(reader.GetString()!),
        JsonTokenType.True => RowValue.FromBoolean(true),
        JsonTokenType.False => RowValue.FromBoolean(false),
        JsonTokenType.Null => RowValue.Null,
        _ => throw Bad($"{Cell(row, column, feature)} is {Describe(ref reader)}; row values must be numbers, strings, booleans or null."),
    };

    private static string Cell(int row, int column, string? feature) => feature is null ? $"inputs[{row}][{column}]" : $"inputs[{row}].{feature}";

    private static List<RequestedOutput> ReadRequestedOutputs(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw Bad($"The request's 'outputs' is {Describe(ref reader)}; it must be an array of {{\"name\": ..., \"parameters\": {{...}}}}.");
        var outputs = new List<RequestedOutput>();
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            int index = outputs.Count;
            if (reader.TokenType != JsonTokenType.StartObject)
                throw Bad($"outputs[{index}] is {Describe(ref reader)}; a requested output is an object {{\"name\": ..., \"parameters\": {{...}}}}.");
            string? name = null;
            IReadOnlyDictionary<string, JsonElement>? parameters = null;
            int seen = 0;
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    Once(ref seen, 1, "name", "outputs", index);
                    Next(ref reader);
                    name = ReadOptionalString(ref reader, $"outputs[{index}].name");
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    Once(ref seen, 2, "parameters", "outputs", index);
                    Next(ref reader);
                    parameters = ReadParameters(ref reader, $"outputs[{index}].parameters");
                }
                else
                {
                    Next(ref reader);
                    reader.Skip();
                }
            }
            if (string.IsNullOrWhiteSpace(name))
                throw Bad($"outputs[{index}] has {(name is null ? "no 'name'" : "an empty 'name'")}; name the output to return.");
            outputs.Add(new RequestedOutput(name, parameters));
        }
        return outputs;
    }

    private static InferenceTensor ReadTensor(ref Utf8JsonReader reader, string role, string listName, int index, int bodyLength)
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
                    JsonTokenType.String => reader.GetString(),
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

    /// <summary>Names a tensor in error messages (<c>Input 'hour' (inputs[1])</c>); the text is only made when an error
    /// is thrown, so a valid request allocates no message.</summary>
    private readonly struct TensorWho(string role, string? name, string listName, int index, string? text = null)
    {
        public TensorWho(string text) : this("", null, "", 0, text) { }

        public override string ToString() => text
            ?? (name is null ? $"{role} {listName}[{index}]" : $"{role} '{name}' ({listName}[{index}])");
    }

    private static TensorDataType ReadDataType(ref Utf8JsonReader reader, TensorWho who)
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

    private static long[] ReadShape(ref Utf8JsonReader reader, TensorWho who)
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
    private static readonly long[][] VectorShapes = [.. Enumerable.Range(0, 64).Select(n => new long[] { n })];

    private static Array ReadData(ref Utf8JsonReader reader, TensorWho who, TensorDataType dataType, long[] shape, int bodyLength)
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

    private static ServingException MixedNesting(TensorWho who, long i, int depth, int elementDepth, long[] shape) =>
        Bad($"{who}: data[{i}] is nested {depth} array{(depth == 1 ? "" : "s")} deep but data[0] {elementDepth}; 'data' must be flat (row-major) or nested exactly like shape [{string.Join(", ", shape)}], not a mix of both.");

    private static ServingException NestedUnlikeShape(TensorWho who, long[] shape, int depth, long items) => Bad(
        items < 0 || depth >= shape.Length
            ? $"{who}: 'data' is nested {depth} array{(depth == 1 ? "" : "s")} deep, unlike shape [{string.Join(", ", shape)}]; send it flat (row-major) or nested exactly like the shape ({Math.Max(shape.Length - 1, 0)} arrays deep)."
            : $"{who}: an array nested {depth} deep in 'data' has {items} items but shape [{string.Join(", ", shape)}] gives dimension {depth} a size of {shape[depth]}; send 'data' flat (row-major) or nested exactly like the shape.");

    private static long ReadSigned(ref Utf8JsonReader reader, TensorWho who, long i, string datatypeName, long min, long max)
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

    private static ulong ReadUnsigned(ref Utf8JsonReader reader, TensorWho who, long i, string datatypeName, ulong max)
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

    private static ServingException Fraction(ref Utf8JsonReader reader, TensorWho who, long i, string datatypeName) =>
        Bad($"{who}: data[{i}] is {Text(ref reader)}, which has a fraction; {datatypeName} takes whole numbers.");

    private static ServingException OutOfRange(ref Utf8JsonReader reader, TensorWho who, long i, string datatypeName, string min, string max) =>
        Bad($"{who}: data[{i}] is {Text(ref reader)}, out of the range of {datatypeName} ({min}..{max}).");

    private static ServingException WrongElement(ref Utf8JsonReader reader, TensorWho who, long i, string rule) =>
        Bad($"{who}: data[{i}] is {Describe(ref reader)}; {rule}.");

    private static Dictionary<string, JsonElement> ReadParameters(ref Utf8JsonReader reader, string what)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Bad($"{what} is {Describe(ref reader)}; parameters must be an object of names to values.");
        var element = JsonElement.ParseValue(ref reader);
        var map = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
            map[property.Name] = property.Value;
        return map;
    }

    private static List<TensorMetadata> ReadTensorMetadata(ref Utf8JsonReader reader, string listName)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw Bad($"The model metadata's '{listName}' is {Describe(ref reader)}; it must be an array.");
        var list = new List<TensorMetadata>();
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            string where = $"{listName}[{list.Count}]";
            if (reader.TokenType != JsonTokenType.StartObject)
                throw Bad($"{where} is {Describe(ref reader)}; it must be an object {{\"name\", \"datatype\", \"shape\"}}.");
            string? name = null;
            TensorDataType? dataType = null;
            var shape = new List<long>();
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("name"u8)) { Next(ref reader); name = ReadOptionalString(ref reader, $"{where}.name"); }
                else if (reader.ValueTextEquals("datatype"u8)) { Next(ref reader); dataType = ReadDataType(ref reader, new TensorWho(where)); }
                else if (reader.ValueTextEquals("shape"u8))
                {
                    Next(ref reader);
                    if (reader.TokenType != JsonTokenType.StartArray)
                        throw Bad($"{where}.shape is {Describe(ref reader)}; it must be an array of dimensions.");
                    while (Next(ref reader) != JsonTokenType.EndArray)
                    {
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long dim) || dim < -1)
                            throw Bad($"{where}.shape[{shape.Count}] is {Describe(ref reader)}; a dimension is 0 or more, or -1 when variable.");
                        shape.Add(dim);
                    }
                }
                else { Next(ref reader); reader.Skip(); }
            }
            if (string.IsNullOrWhiteSpace(name))
                throw Bad($"{where} has no 'name'.");
            if (dataType is null)
                throw Bad($"{where} has no 'datatype'.");
            list.Add(new TensorMetadata(name, dataType.Value, [.. shape]));
        }
        return list;
    }

    private static List<string> ReadStrings(ref Utf8JsonReader reader, string what)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw Bad($"{what} is {Describe(ref reader)}; it must be an array of strings.");
        var list = new List<string>();
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
                throw Bad($"{what}[{list.Count}] is {Describe(ref reader)}; it must be a string.");
            list.Add(reader.GetString()!);
        }
        return list;
    }

    private static string? ReadOptionalString(ref Utf8JsonReader reader, string what) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Null => null,
        _ => throw Bad($"{what} is {Describe(ref reader)}; it must be a string."),
    };

    private static void ExpectStartObject(ref Utf8JsonReader reader, string what)
    {
        if (!reader.Read())
            throw Bad($"The {what} is empty; it must be a JSON object.");
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Bad($"The {what} is {Describe(ref reader)}; it must be a JSON object.");
    }

    private static void EnsureEnd(ref Utf8JsonReader reader)
    {
        // Throws a JsonException (reported with its position) when anything but white space follows the object.
        if (reader.Read())
            throw Bad($"The body has more after its JSON object, at byte {reader.TokenStartIndex}; send one object.");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
            ThrowEndsEarly(reader.BytesConsumed);
        return reader.TokenType;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowEndsEarly(long bytesConsumed) => throw Bad($"The body ends early at byte {bytesConsumed}; the JSON is incomplete.");

    private static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => $"the string \"{Shorten(reader.GetString() ?? "")}\"",
        JsonTokenType.Number => $"the number {Text(ref reader)}",
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Null => "null",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.StartObject => "an object",
        _ => reader.TokenType.ToString(),
    };

    private static string Text(ref Utf8JsonReader reader) =>
        Shorten(reader.HasValueSequence ? Encoding.UTF8.GetString(reader.ValueSequence) : Encoding.UTF8.GetString(reader.ValueSpan));

    private static string Shorten(string text) => text.Length <= 60 ? text : string.Concat(text.AsSpan(0, 57), "...");

    private static ServingException Bad(string message) => new(400, message);

    private static ServingException TooLarge(long maxBytes, long? actual) => new(413,
        $"The request body is {(actual is null ? "larger than" : $"{actual} bytes, over")} the limit of {maxBytes} bytes; send fewer rows per request or raise the server's request size limit.");

    /// <summary>Reads a body from one JSON object: <paramref name="read"/> reads its properties (and checks the end); a
    /// syntax error becomes a 400 naming <paramref name="what"/> and the byte where it was found.</summary>
    private static T ParseObject<T>(ReadOnlySpan<byte> utf8, string body, string what, ReadBody<T> read)
    {
        var reader = new Utf8JsonReader(utf8, ReaderOptions);
        try
        {
            ExpectStartObject(ref reader, body);
            return read(ref reader, utf8.Length);
        }
        catch (JsonException ex)
        {
            throw Malformed(what, ex, reader.BytesConsumed);
        }
        catch (InvalidOperationException ex)
        {
            throw Malformed(what, ex, reader.BytesConsumed);
        }
    }

    private delegate T ReadBody<T>(ref Utf8JsonReader reader, int bodyLength);

    private static ServingException Malformed(string what, Exception ex, long bytesConsumed)
    {
        string where = ex is JsonException { LineNumber: { } line, BytePositionInLine: { } position }
            ? $"line {line + 1}, byte {position + 1}"
            : $"byte {bytesConsumed}";
        string detail = ex.Message;
        int cut = detail.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut > 0)
            detail = detail[..cut];
        return new ServingException(400, $"The {what} body is not valid JSON at {where}: {detail}", ex);
    }

    // ---------------------------------------------------------------- writing

    private static void WriteTensor(Utf8JsonWriter writer, InferenceTensor tensor, bool isResponse)
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

    private static Exception NotFinite(InferenceTensor tensor, int index, double value, bool isResponse)
    {
        string message = $"{(isResponse ? "Output" : "Input")} '{tensor.Name}': data[{index}] is {value.ToString(CultureInfo.InvariantCulture)}, which JSON cannot carry; {tensor.DataType.ToProtocolName()} values must be finite.";
        return isResponse ? new ServingException(500, message) : new ArgumentException(message, nameof(tensor));
    }

    private static void WriteRow(Utf8JsonWriter writer, InferenceRow row)
    {
        if (row.Names is { } names)
        {
            writer.WriteStartObject();
            for (int i = 0; i < row.Count; i++)
            {
                writer.WritePropertyName(names[i]);
                WriteRowValue(writer, row[i]);
            }
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteStartArray();
            for (int i = 0; i < row.Count; i++)
                WriteRowValue(writer, row[i]);
            writer.WriteEndArray();
        }
    }

    private static void WriteRowValue(Utf8JsonWriter writer, RowValue value)
    {
        switch (value.Kind)
        {
            case RowValueKind.Null: writer.WriteNullValue(); break;
            case RowValueKind.Boolean: writer.WriteBooleanValue(value.Boolean); break;
            case RowValueKind.Number: writer.WriteNumberValue(value.Number); break;
            default: writer.WriteStringValue(value.String); break;
        }
    }

    private static void WriteParameters(Utf8JsonWriter writer, IReadOnlyDictionary<string, JsonElement>? parameters)
    {
        if (parameters is null)
            return;
        writer.WritePropertyName("parameters"u8);
        writer.WriteStartObject();
        foreach (var (key, value) in parameters)
        {
            writer.WritePropertyName(key);
            value.WriteTo(writer);
        }
        writer.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter writer, IReadOnlyList<string> values)
    {
        writer.WriteStartArray();
        foreach (string value in values)
            writer.WriteStringValue(value);
        writer.WriteEndArray();
    }

    private static void WriteTensorMetadata(Utf8JsonWriter writer, IReadOnlyList<TensorMetadata> tensors)
    {
        writer.WriteStartArray();
        foreach (var tensor in tensors)
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, tensor.Name);
            writer.WriteString("datatype"u8, tensor.DataType.ToProtocolName());
            writer.WritePropertyName("shape"u8);
            writer.WriteStartArray();
            foreach (long dim in tensor.Shape)
                writer.WriteNumberValue(dim);
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    private static byte[] Serialize<T>(T value, Action<Utf8JsonWriter, T> write)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Write(value, write);
    }

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    /// <summary>Writes JSON with this thread's reusable buffer and writer and returns an exact-size copy: one allocation
    /// for the bytes instead of a growing buffer and a writer per body.</summary>
    internal static byte[] Write<T>(T state, Action<Utf8JsonWriter, T> write)
    {
        var buffer = t_buffer;
        var writer = t_writer;
        t_buffer = null; // taken: a nested call (a writer callback that serializes) gets its own
        t_writer = null;
        buffer ??= new ArrayBufferWriter<byte>(1024);
        if (writer is null)
            writer = new Utf8JsonWriter(buffer, WriterOptions);
        else
            writer.Reset(buffer);
        try
        {
            write(writer, state);
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            if (buffer.Capacity <= MaxCachedBuffer)
            {
                buffer.ResetWrittenCount();
                writer.Reset();
                t_buffer = buffer;
                t_writer = writer;
            }
            else
            {
                writer.Dispose();
            }
        }
    }

    private const int MaxCachedBuffer = 1 << 20;

    /// <summary>The datatype names, encoded once (indexed by <see cref="TensorDataType"/>).</summary>
    private static readonly JsonEncodedText[] EncodedDataTypes =
        [.. Enum.GetValues<TensorDataType>().OrderBy(t => (int)t).Select(t => JsonEncodedText.Encode(t.ToProtocolName()))];

    /// <summary>Readable bodies: quotes in messages stay <c>'</c> rather than <c>\u0027</c> (the bodies are
    /// <c>application/json</c>, never embedded in HTML); control characters, <c>"</c> and <c>\</c> are still escaped.</summary>
    /// <remarks>The writers here produce well-formed JSON by construction (and the tests parse every kind of body they
    /// write), so the writer's structural validation is skipped: it costs about a tenth of writing a small response.</remarks>
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };
}
