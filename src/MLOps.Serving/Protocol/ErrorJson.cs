using System.Text.Json;
using static MLOps.Serving.Protocol.JsonBody;
using static MLOps.Serving.Protocol.JsonRead;
using static MLOps.Serving.Protocol.RequestJson;

namespace MLOps.Serving.Protocol;

/// <summary>The error body <c>{"error": "..."}</c>.</summary>
internal static class ErrorJson
{
    /// <summary>Writes the error body <c>{"error": "..."}</c>.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="message">The message sent to the client.</param>
    internal static void Write(Utf8JsonWriter writer, string message)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(message);
        writer.WriteStartObject();
        writer.WriteString("error"u8, message);
        writer.WriteEndObject();
    }

    /// <summary>Parses the error body <c>{"error": "..."}</c> (for clients and tests).</summary>
    /// <param name="utf8">The body in UTF-8.</param>
    /// <returns>The error.</returns>
    /// <exception cref="ServingException">Status 400: the body is not an error body.</exception>
    internal static ErrorResponse Parse(ReadOnlySpan<byte> utf8)
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
}
