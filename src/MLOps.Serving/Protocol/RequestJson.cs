using System.Text.Json;
using static MLOps.Serving.Protocol.JsonBody;
using static MLOps.Serving.Protocol.JsonRead;
using static MLOps.Serving.Protocol.TensorJson;

namespace MLOps.Serving.Protocol;

/// <summary>The request body of the Open Inference Protocol: V2 tensors or MLRun-style rows, read and written.</summary>
internal static class RequestJson
{
    /// <summary>Parses an inference request: V2 tensors, or MLRun-style rows (a list of lists, or a list of objects keyed by feature name).</summary>
    /// <param name="utf8">The request body in UTF-8.</param>
    /// <returns>The request.</returns>
    /// <exception cref="ServingException">Status 400: the body is not valid JSON or breaks a rule of the protocol.</exception>
    internal static InferenceRequest Parse(ReadOnlySpan<byte> utf8)
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
    internal static async ValueTask<InferenceRequest> ParseAsync(Stream body, long maxBytes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxBytes, (long)Array.MaxLength - 1);
        long? remaining = body.CanSeek ? body.Length - body.Position : null;
        if (remaining > maxBytes)
            throw TooLarge(maxBytes, remaining);
        using var read = await PooledBody.ReadAsync(body, maxBytes, remaining, cancellationToken).ConfigureAwait(false)
                         ?? throw TooLarge(maxBytes, null);
        return Parse(read.Span);
    }

    /// <summary>Writes an inference request (for clients and tests).</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="request">The request; its <see cref="InferenceRequest.Rows"/> are written as rows when present.</param>
    internal static void Write(Utf8JsonWriter writer, InferenceRequest request)
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

    internal static void ReadInputs(ref Utf8JsonReader reader, int bodyLength, out IReadOnlyList<InferenceTensor>? tensors, out RowsRequest? rows)
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

    internal static int IndexOfName(List<InferenceTensor> tensors, string name)
    {
        for (int i = 0; i < tensors.Count; i++)
        {
            if (string.Equals(tensors[i].Name, name, StringComparison.Ordinal))
                return i;
        }
        return -1;
    }

    /// <summary>Whether the object at the reader (copied, so the caller's position stays) is a V2 tensor: it has a 'datatype' or 'shape'.</summary>
    internal static bool LooksLikeTensor(Utf8JsonReader probe)
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

    internal static RowsRequest ReadRows(ref Utf8JsonReader reader, RowsFormat format)
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

    internal static bool SameNames(List<string> names, string[] previous)
    {
        for (int i = 0; i < previous.Length; i++)
        {
            if (!ReferenceEquals(names[i], previous[i]))
                return false;
        }
        return true;
    }

    internal static RowValue ReadRowValue(ref Utf8JsonReader reader, int row, int column, string? feature) => reader.TokenType switch
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

    internal static string Cell(int row, int column, string? feature) => feature is null ? $"inputs[{row}][{column}]" : $"inputs[{row}].{feature}";

    internal static List<RequestedOutput> ReadRequestedOutputs(ref Utf8JsonReader reader)
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

    internal static void WriteRow(Utf8JsonWriter writer, InferenceRow row)
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

    internal static void WriteRowValue(Utf8JsonWriter writer, RowValue value)
    {
        switch (value.Kind)
        {
            case RowValueKind.Null: writer.WriteNullValue(); break;
            case RowValueKind.Boolean: writer.WriteBooleanValue(value.Boolean); break;
            case RowValueKind.Number: writer.WriteNumberValue(value.Number); break;
            default: writer.WriteStringValue(value.String); break;
        }
    }
}
