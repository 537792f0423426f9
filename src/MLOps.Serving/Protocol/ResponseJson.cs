using System.Text.Json;
using static MLOps.Serving.Protocol.JsonBody;
using static MLOps.Serving.Protocol.JsonRead;
using static MLOps.Serving.Protocol.RequestJson;
using static MLOps.Serving.Protocol.TensorJson;

namespace MLOps.Serving.Protocol;

/// <summary>The inference response body: <c>{"model_name", "model_version", "id", "parameters", "outputs"}</c>.</summary>
internal static class ResponseJson
{
    /// <summary>Writes an inference response: <c>{"model_name", "model_version", "id", "parameters", "outputs"}</c>.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="response">The response.</param>
    /// <exception cref="ServingException">Status 500: an FP output holds NaN or an infinity, which JSON cannot carry.</exception>
    internal static void Write(Utf8JsonWriter writer, InferenceResponse response)
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

    /// <summary>Parses an inference response (for clients and tests).</summary>
    /// <param name="utf8">The response body in UTF-8.</param>
    /// <returns>The response.</returns>
    /// <exception cref="ServingException">Status 400: the body is not valid JSON or breaks a rule of the protocol.</exception>
    internal static InferenceResponse Parse(ReadOnlySpan<byte> utf8)
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
}
