using System.Text;
using System.Text.Json;

namespace MLOps.Serving.Protocol;

/// <summary>What every body reader shares: the reader options, token stepping, the 400 and 413 errors and their wording, parameters and optional strings.</summary>
internal static class JsonRead
{
    internal const int MaxDepth = 64;

    internal static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth };

    /// <summary>Marks a property of an object as read; a second one is a 400 (the JSON would otherwise mean whichever came
    /// last, or, for a tensor, data read with one datatype but labelled with another).</summary>
    /// <param name="seen">The properties read so far, one bit each.</param>
    /// <param name="bit">The property's bit.</param>
    /// <param name="property">The property's name.</param>
    /// <param name="owner">The object: <c>inputs</c> with <paramref name="index"/>, or <c>The request</c> without.</param>
    /// <param name="index">The object's index in its list, or -1.</param>
    internal static void Once(ref int seen, int bit, string property, string owner, int index = -1)
    {
        if ((seen & bit) != 0)
            throw Bad($"{(index < 0 ? owner : $"{owner}[{index}]")} has '{property}' twice; give each property once.");
        seen |= bit;
    }

    internal static Dictionary<string, JsonElement> ReadParameters(ref Utf8JsonReader reader, string what)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Bad($"{what} is {Describe(ref reader)}; parameters must be an object of names to values.");
        var element = JsonElement.ParseValue(ref reader);
        var map = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
            map[property.Name] = property.Value;
        return map;
    }

    internal static string? ReadOptionalString(ref Utf8JsonReader reader, string what) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Null => null,
        _ => throw Bad($"{what} is {Describe(ref reader)}; it must be a string."),
    };

    internal static void ExpectStartObject(ref Utf8JsonReader reader, string what)
    {
        if (!reader.Read())
            throw Bad($"The {what} is empty; it must be a JSON object.");
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Bad($"The {what} is {Describe(ref reader)}; it must be a JSON object.");
    }

    internal static void EnsureEnd(ref Utf8JsonReader reader)
    {
        // Throws a JsonException (reported with its position) when anything but white space follows the object.
        if (reader.Read())
            throw Bad($"The body has more after its JSON object, at byte {reader.TokenStartIndex}; send one object.");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
            ThrowEndsEarly(reader.BytesConsumed);
        return reader.TokenType;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    internal static void ThrowEndsEarly(long bytesConsumed) => throw Bad($"The body ends early at byte {bytesConsumed}; the JSON is incomplete.");

    internal static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
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

    internal static string Text(ref Utf8JsonReader reader) =>
        Shorten(reader.HasValueSequence ? Encoding.UTF8.GetString(reader.ValueSequence) : Encoding.UTF8.GetString(reader.ValueSpan));

    internal static string Shorten(string text) => text.Length <= 60 ? text : string.Concat(text.AsSpan(0, 57), "...");

    internal static ServingException Bad(string message) => new(400, message);

    internal static ServingException TooLarge(long maxBytes, long? actual) => new(413,
        $"The request body is {(actual is null ? "larger than" : $"{actual} bytes, over")} the limit of {maxBytes} bytes; send fewer rows per request or raise the server's request size limit.");

    /// <summary>Reads a body from one JSON object: <paramref name="read"/> reads its properties (and checks the end); a
    /// syntax error becomes a 400 naming <paramref name="what"/> and the byte where it was found.</summary>
    internal static T ParseObject<T>(ReadOnlySpan<byte> utf8, string body, string what, ReadBody<T> read)
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

    internal delegate T ReadBody<T>(ref Utf8JsonReader reader, int bodyLength);

    internal static ServingException Malformed(string what, Exception ex, long bytesConsumed)
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
}
