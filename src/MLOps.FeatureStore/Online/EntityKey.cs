using System.Globalization;

namespace MLOps.FeatureStore.Online;

/// <summary>
/// Encodes the values of a feature set's entity columns as one string key: each value in its invariant text form
/// (integers as digits, booleans as <c>true</c>/<c>false</c>, timestamps as microseconds), joined with U+001F.
/// </summary>
public static class EntityKey
{
    /// <summary>The separator between the values of a compound key.</summary>
    public const char Separator = '\u001f';

    /// <summary>Encodes one entity value.</summary>
    /// <param name="value">The value: a string, integer, boolean, <see cref="DateTimeOffset"/> or <see cref="DateTime"/> (UTC).</param>
    /// <returns>Its text form.</returns>
    public static string EncodeValue(object value) => value switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        DateTimeOffset d => ((d.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10).ToString(CultureInfo.InvariantCulture),
        DateTime d => ((DateTime.SpecifyKind(d, d.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : d.Kind).ToUniversalTime().Ticks - DateTime.UnixEpoch.Ticks) / 10).ToString(CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    /// <summary>Encodes a compound key.</summary>
    /// <param name="values">The values of the entity columns, in the feature set's entity order.</param>
    /// <returns>The key.</returns>
    public static string Encode(params ReadOnlySpan<object> values)
    {
        if (values.Length == 1) return EncodeValue(values[0]);
        var parts = new string[values.Length];
        for (var i = 0; i < values.Length; i++) parts[i] = EncodeValue(values[i]);
        return string.Join(Separator, parts);
    }
}
