using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace MLOps.FeatureStore.Transformations;

/// <summary>What happens to a row that fails a validator.</summary>
public enum ValidationPolicy
{
    /// <summary>Fail the ingestion with a <see cref="ValidationException"/> naming the column, the row and the rule.</summary>
    Fail,

    /// <summary>Drop the row and count it in the ingestion report, with the reason.</summary>
    DropRow,

    /// <summary>Keep the row and count it as a warning in the report.</summary>
    Warn,
}

/// <summary>A validation rule of <see cref="ValidateStep"/>.</summary>
public sealed record FeatureRule
{
    private FeatureRule(string kind, double? min, double? max, IReadOnlyList<string>? values, string? pattern)
    {
        RuleKind = kind;
        Min = min;
        Max = max;
        Values = values;
        Pattern = pattern;
        Regex = pattern is null ? null : new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }

    /// <summary>The rule kind: <c>range</c>, <c>not-null</c>, <c>allowed</c> or <c>regex</c>.</summary>
    public string RuleKind { get; }

    /// <summary>The inclusive minimum of a range.</summary>
    public double? Min { get; }

    /// <summary>The inclusive maximum of a range.</summary>
    public double? Max { get; }

    /// <summary>The allowed values.</summary>
    public IReadOnlyList<string>? Values { get; }

    /// <summary>The regular expression.</summary>
    public string? Pattern { get; }

    private Regex? Regex { get; }

    /// <summary>Numbers in [min, max] (either bound optional). Nulls pass (combine with <see cref="NotNull"/>).</summary>
    /// <param name="min">The inclusive minimum.</param>
    /// <param name="max">The inclusive maximum.</param>
    /// <returns>The rule.</returns>
    public static FeatureRule Range(double? min, double? max) => new("range", min, max, null, null);

    /// <summary>No nulls (and no NaN).</summary>
    /// <returns>The rule.</returns>
    public static FeatureRule NotNull() => new("not-null", null, null, null, null);

    /// <summary>Only these values (compared as text). Nulls pass.</summary>
    /// <param name="values">The allowed values.</param>
    /// <returns>The rule.</returns>
    public static FeatureRule AllowedValues(params string[] values) => new("allowed", null, null, values, null);

    /// <summary>Text matching a regular expression (anywhere; anchor it with ^...$). Nulls pass.</summary>
    /// <param name="pattern">The pattern.</param>
    /// <returns>The rule.</returns>
    public static FeatureRule Matches(string pattern) => new("regex", null, null, null, pattern);

    internal static FeatureRule FromOptions(JsonObject o) => (string)o["rule"]! switch
    {
        "range" => Range((double?)o["min"], (double?)o["max"]),
        "not-null" => NotNull(),
        "allowed" => AllowedValues(((JsonArray)o["values"]!).Select(n => (string)n!).ToArray()),
        _ => Matches((string)o["pattern"]!),
    };

    internal void WriteTo(JsonObject o)
    {
        o["rule"] = RuleKind;
        if (Min is not null) o["min"] = Min;
        if (Max is not null) o["max"] = Max;
        if (Values is not null) o["values"] = new JsonArray(Values.Select(v => (JsonNode?)v).ToArray());
        if (Pattern is not null) o["pattern"] = Pattern;
    }

    /// <summary>The rule as text, such as <c>range [0, 2000]</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => RuleKind switch
    {
        "range" => string.Create(CultureInfo.InvariantCulture, $"range [{Min?.ToString(CultureInfo.InvariantCulture) ?? "-inf"}, {Max?.ToString(CultureInfo.InvariantCulture) ?? "inf"}]"),
        "not-null" => "not null",
        "allowed" => $"allowed values {{{string.Join(", ", Values!)}}}",
        _ => $"regex /{Pattern}/",
    };

    internal bool Passes(FeatureValue v)
    {
        if (RuleKind == "not-null") return !v.IsNull && !(v.Type == FeatureType.Double && double.IsNaN(v.Number));
        if (v.IsNull) return true;
        return RuleKind switch
        {
            "range" => v.Type != FeatureType.String && v.AsDouble() is var x && !double.IsNaN(x) && (Min is null || x >= Min) && (Max is null || x <= Max),
            "allowed" => Values!.Contains(Text(v), StringComparer.Ordinal),
            _ => Regex!.IsMatch(Text(v)),
        };
    }

    internal static string Text(FeatureValue v) => v.IsNull ? "null" : v.Type switch
    {
        FeatureType.String => v.Text!,
        FeatureType.Boolean => v.Integer != 0 ? "true" : "false",
        FeatureType.Double => v.Number.ToString("R", CultureInfo.InvariantCulture),
        FeatureType.Timestamp => ((DateTimeOffset)v.ToObject()!).ToString("O", CultureInfo.InvariantCulture),
        _ => v.Integer.ToString(CultureInfo.InvariantCulture),
    };
}
