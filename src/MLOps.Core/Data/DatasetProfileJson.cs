using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MLOps.Data;

/// <summary>The JSON settings of <see cref="DatasetProfile"/> and the conversion of preview values.</summary>
internal static class DatasetProfileJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new PreviewValueConverter() },
    };

    /// <summary>Converts the plain JSON scalars of a deserialized preview back to the types of their columns.</summary>
    public static IReadOnlyList<IReadOnlyDictionary<string, object?>> CoercePreview(
        IReadOnlyList<IReadOnlyDictionary<string, object?>> preview, IReadOnlyList<DatasetColumn> schema)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var column in schema)
            types.TryAdd(column.Name, column.Type);

        var rows = new List<IReadOnlyDictionary<string, object?>>(preview.Count);
        foreach (var row in preview)
        {
            var copy = new Dictionary<string, object?>(row.Count, StringComparer.Ordinal);
            foreach (var (name, value) in row)
                copy[name] = types.TryGetValue(name, out var type) ? Coerce(value, type) : value;
            rows.Add(copy);
        }

        return rows;
    }

    private static object? Coerce(object? value, string type)
    {
        if (value is null)
            return null;
        try
        {
            switch (ArrowTypes.CategoryOf(type))
            {
                case ValueCategory.Integer:
                    return value switch
                    {
                        long or double => value,
                        string s when long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) => l,
                        _ => value,
                    };
                case ValueCategory.Floating:
                    return value switch
                    {
                        long l => (double)l,
                        double => value,
                        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
                        _ => value,
                    };
                case ValueCategory.Boolean:
                    return value is string b && bool.TryParse(b, out var parsed) ? parsed : value;
                case ValueCategory.Temporal:
                    return value is string t && DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
                        ? time
                        : value;
                default:
                    return value;
            }
        }
        catch (FormatException)
        {
            return value;
        }
    }

    /// <summary>Writes preview values as JSON scalars and reads them back as string, long, double or bool.</summary>
    private sealed class PreviewValueConverter : JsonConverter<object>
    {
        public override object? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.String:
                    return reader.GetString();
                case JsonTokenType.Number:
                    return reader.TryGetInt64(out var l) ? (object)l : reader.GetDouble();
                case JsonTokenType.True:
                    return true;
                case JsonTokenType.False:
                    return false;
                case JsonTokenType.Null:
                    return null;
                default:
                    using (var document = JsonDocument.ParseValue(ref reader))
                        return document.RootElement.GetRawText();
            }
        }

        public override void Write(Utf8JsonWriter writer, object value, JsonSerializerOptions options)
        {
            switch (value)
            {
                case string s:
                    writer.WriteStringValue(s);
                    break;
                case bool b:
                    writer.WriteBooleanValue(b);
                    break;
                case long l:
                    writer.WriteNumberValue(l);
                    break;
                case int i:
                    writer.WriteNumberValue(i);
                    break;
                case ulong u:
                    writer.WriteNumberValue(u);
                    break;
                case double d:
                    WriteDouble(writer, d);
                    break;
                case float f:
                    WriteDouble(writer, f);
                    break;
                case decimal m:
                    writer.WriteNumberValue(m);
                    break;
                case DateTimeOffset dto:
                    writer.WriteStringValue(dto.ToString("O", CultureInfo.InvariantCulture));
                    break;
                case DateTime dt:
                    writer.WriteStringValue(dt.ToString("O", CultureInfo.InvariantCulture));
                    break;
                case IFormattable formattable:
                    writer.WriteStringValue(formattable.ToString(null, CultureInfo.InvariantCulture));
                    break;
                default:
                    writer.WriteStringValue(value.ToString());
                    break;
            }
        }

        private static void WriteDouble(Utf8JsonWriter writer, double value)
        {
            if (double.IsFinite(value))
                writer.WriteNumberValue(value);
            else
                writer.WriteStringValue(value.ToString(CultureInfo.InvariantCulture));
        }
    }
}
