using System.Globalization;

namespace MLOps.Runs.Internal;

/// <summary>Parameters are stored as invariant strings; these convert to and from typed values.</summary>
internal static class ParameterValues
{
    public static string ToText(object? value) => value switch
    {
        null => throw new ValidationException("A parameter value is null. Pass a value, or leave the parameter out."),
        string s => s,
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        DateTimeOffset d => d.ToString("O", CultureInfo.InvariantCulture),
        DateTime d => d.ToString("O", CultureInfo.InvariantCulture),
        TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
        Enum e => e.ToString(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    public static Dictionary<string, string> ToStrings(IReadOnlyDictionary<string, object> parameters)
    {
        var text = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in parameters)
        {
            Names.Key(k, "parameter key");
            if (v is null) throw new ValidationException($"Parameter '{k}' is null. Pass a value, or leave the parameter out.");
            text[k] = ToText(v);
        }
        return text;
    }

    public static T Convert<T>(string text, string key)
    {
        var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        try
        {
            object value = type == typeof(string) ? text
                : type == typeof(bool) ? bool.Parse(text)
                : type.IsEnum ? Enum.Parse(type, text, ignoreCase: true)
                : type == typeof(DateTimeOffset) ? DateTimeOffset.Parse(text, CultureInfo.InvariantCulture)
                : type == typeof(TimeSpan) ? TimeSpan.Parse(text, CultureInfo.InvariantCulture)
                : System.Convert.ChangeType(type == typeof(int) || type == typeof(long) || type == typeof(short) ? TrimIntegral(text) : text, type, CultureInfo.InvariantCulture);
            return (T)value;
        }
        catch (Exception e) when (e is FormatException or InvalidCastException or OverflowException or ArgumentException)
        {
            throw new ValidationException($"Parameter '{key}' is '{text}', which does not convert to {type.Name}. Read it as string, or log it in that type.", e);
        }
    }

    // "20.0" (a grid value written as a double) is a valid integer parameter.
    private static string TrimIntegral(string text)
        => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && Math.Abs(d - Math.Round(d)) < 1e-12 && !text.All(char.IsDigit)
            ? Math.Round(d).ToString(CultureInfo.InvariantCulture)
            : text;
}
