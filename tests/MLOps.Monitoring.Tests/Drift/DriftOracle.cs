using System.Text.Json;
using System.Text.Json.Serialization;

namespace MLOps.Monitoring.Tests.Drift;

/// <summary>The scipy/numpy oracle of tests/oracles/drift (make_drift_oracle.py), found by walking up from the test binaries.</summary>
internal static class DriftOracle
{
    /// <summary>Tolerance: |actual - expected| &lt;= 1e-9 x max(1, |expected|) (absolute for values up to 1, relative above).</summary>
    public const double Tolerance = 1e-9;

    private static readonly Lazy<JsonElement> Root = new(Load);

    public static IEnumerable<JsonElement> Numeric => Root.Value.GetProperty("numeric").EnumerateArray();

    public static IEnumerable<JsonElement> Categorical => Root.Value.GetProperty("categorical").EnumerateArray();

    public static IEnumerable<string> NumericNames => Numeric.Select(c => c.GetProperty("name").GetString()!);

    public static IEnumerable<string> CategoricalNames => Categorical.Select(c => c.GetProperty("name").GetString()!);

    public static JsonElement NumericCase(string name) => Numeric.Single(c => c.GetProperty("name").GetString() == name);

    public static JsonElement CategoricalCase(string name) => Categorical.Single(c => c.GetProperty("name").GetString() == name);

    public static double[] Doubles(JsonElement array) =>
        array.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? double.NaN : v.GetDouble()).ToArray();

    public static string?[] Strings(JsonElement array) => array.EnumerateArray().Select(v => v.GetString()).ToArray();

    public static double Number(JsonElement e, string property)
    {
        var v = e.GetProperty(property);
        return v.ValueKind switch
        {
            JsonValueKind.Null => double.NaN,
            JsonValueKind.String => double.Parse(v.GetString()!, System.Globalization.CultureInfo.InvariantCulture),
            _ => v.GetDouble(),
        };
    }

    public static void AssertClose(double actual, double expected, string what)
    {
        if (double.IsNaN(expected) || double.IsInfinity(expected))
        {
            Assert.That(actual, Is.EqualTo(expected), what);
            return;
        }
        Assert.That(Math.Abs(actual - expected), Is.LessThanOrEqualTo(Tolerance * Math.Max(1, Math.Abs(expected))),
            $"{what}: expected {expected:R}, got {actual:R}");
    }

    private static JsonElement Load()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "tests", "oracles", "drift", "drift_oracle.json")))
            dir = dir.Parent;
        Assert.That(dir, Is.Not.Null, "tests/oracles/drift/drift_oracle.json not found above the test binaries");
        var options = new JsonDocumentOptions();
        var text = File.ReadAllText(Path.Combine(dir!.FullName, "tests", "oracles", "drift", "drift_oracle.json"))
            .Replace("-Infinity", "\"-Infinity\"", StringComparison.Ordinal).Replace(": Infinity", ": \"Infinity\"", StringComparison.Ordinal)
            .Replace(" NaN", " null", StringComparison.Ordinal);
        return JsonDocument.Parse(text, options).RootElement.Clone();
    }
}
