using System.Text.Json;
using static MLOps.Serving.Protocol.JsonRead;
using static MLOps.Serving.Protocol.TensorJson;

namespace MLOps.Serving.Protocol;

/// <summary>The server and model metadata bodies.</summary>
internal static class MetadataJson
{
    /// <summary>Writes the server metadata: <c>{"name", "version", "extensions"}</c>.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="metadata">The metadata.</param>
    internal static void WriteServerMetadata(Utf8JsonWriter writer, ServerMetadata metadata)
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
    internal static void WriteModelMetadata(Utf8JsonWriter writer, ModelMetadata metadata)
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

    /// <summary>Parses server metadata (for clients and tests).</summary>
    /// <param name="utf8">The body in UTF-8.</param>
    /// <returns>The metadata.</returns>
    /// <exception cref="ServingException">Status 400: the body is not valid server metadata.</exception>
    internal static ServerMetadata ParseServerMetadata(ReadOnlySpan<byte> utf8)
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
    internal static ModelMetadata ParseModelMetadata(ReadOnlySpan<byte> utf8)
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

    internal static List<TensorMetadata> ReadTensorMetadata(ref Utf8JsonReader reader, string listName)
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

    internal static void WriteTensorMetadata(Utf8JsonWriter writer, IReadOnlyList<TensorMetadata> tensors)
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

    internal static List<string> ReadStrings(ref Utf8JsonReader reader, string what)
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

    internal static void WriteStrings(Utf8JsonWriter writer, IReadOnlyList<string> values)
    {
        writer.WriteStartArray();
        foreach (string value in values)
            writer.WriteStringValue(value);
        writer.WriteEndArray();
    }
}
