using System.Globalization;
using System.Text.Json.Nodes;
using MLOps.FeatureStore.Internal;

namespace MLOps.FeatureStore.Transformations;

/// <summary>A numeric range of <see cref="MapValuesStep"/>: values in [<paramref name="Min"/>, <paramref name="Max"/>) map to <paramref name="Value"/>.</summary>
/// <param name="Min">The inclusive lower bound (use <see cref="double.NegativeInfinity"/> for none).</param>
/// <param name="Max">The exclusive upper bound (use <see cref="double.PositiveInfinity"/> for none).</param>
/// <param name="Value">The value: a number or a string.</param>
public sealed record ValueRange(double Min, double Max, object Value);

/// <summary>
/// Maps the values of a column through a dictionary and/or numeric ranges. Unmapped values are kept (when the output
/// type allows it) or become null. All mapped values must be numbers (the output is <c>double</c>) or all strings.
/// </summary>
public sealed class MapValuesStep : BuiltInStep
{
    private readonly Dictionary<string, object> _map;
    private readonly IReadOnlyList<ValueRange> _ranges;
    private readonly bool _numericOutput;

    /// <summary>Creates the step.</summary>
    /// <param name="column">The source column.</param>
    /// <param name="map">Value → new value (keys compared as text; numbers in invariant form, e.g. <c>"1"</c>, <c>"2.5"</c>).</param>
    /// <param name="ranges">Numeric ranges, checked before the dictionary.</param>
    /// <param name="output">The output column (default: replace the source column).</param>
    public MapValuesStep(string column, IReadOnlyDictionary<string, object>? map = null, IReadOnlyList<ValueRange>? ranges = null, string? output = null)
    {
        Throw.IfNullOrWhitespace(column);
        SourceColumn = column;
        OutputColumn = string.IsNullOrWhiteSpace(output) ? column : output;
        _map = map is null ? [] : new Dictionary<string, object>(map, StringComparer.Ordinal);
        _ranges = ranges ?? [];
        if (_map.Count == 0 && _ranges.Count == 0)
            throw new ValidationException($"MapValues '{column}': give a dictionary, ranges or both.");
        var values = _map.Values.Concat(_ranges.Select(r => r.Value)).ToArray();
        _numericOutput = values.All(IsNumber);
        if (!_numericOutput && !values.All(v => v is string))
            throw new ValidationException($"MapValues '{column}': the mapped values must be all numbers or all strings; got {string.Join(", ", values.Select(v => v.GetType().Name).Distinct())}.");
    }

    /// <summary>The source column.</summary>
    public string SourceColumn { get; }

    /// <summary>The output column.</summary>
    public string OutputColumn { get; }

    private static bool IsNumber(object v) => v is double or float or int or long or short or decimal || (v is JsonValue jv && jv.TryGetValue<double>(out _));

    private static double ToNumber(object v) => v is JsonValue jv ? jv.GetValue<double>() : Convert.ToDouble(v, CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public override string Kind => "map-values";

    /// <inheritdoc/>
    public override IReadOnlyList<string> InputColumns => [SourceColumn];

    /// <inheritdoc/>
    public override JsonObject Options
    {
        get
        {
            var map = new JsonObject();
            foreach (var (k, v) in _map) map[k] = _numericOutput ? JsonValue.Create(ToNumber(v)) : JsonValue.Create(v.ToString());
            var ranges = new JsonArray();
            foreach (var r in _ranges)
                ranges.Add(new JsonObject
                {
                    ["min"] = double.IsNegativeInfinity(r.Min) ? null : r.Min,
                    ["max"] = double.IsPositiveInfinity(r.Max) ? null : r.Max,
                    ["value"] = _numericOutput ? JsonValue.Create(ToNumber(r.Value)) : JsonValue.Create(r.Value.ToString()),
                });
            return new JsonObject { ["column"] = SourceColumn, ["output"] = OutputColumn, ["map"] = map, ["ranges"] = ranges };
        }
    }

    internal static MapValuesStep FromOptions(JsonObject o)
    {
        var map = ((JsonObject?)o["map"] ?? []).ToDictionary(kv => kv.Key, kv => (object)(kv.Value is JsonValue v && v.TryGetValue<double>(out var d) ? d : kv.Value!.ToString()));
        var ranges = ((JsonArray?)o["ranges"] ?? []).Select(n => new ValueRange(
            (double?)n!["min"] ?? double.NegativeInfinity, (double?)n["max"] ?? double.PositiveInfinity,
            n["value"] is JsonValue v && v.TryGetValue<double>(out var d) ? d : n["value"]!.ToString())).ToArray();
        return new MapValuesStep((string)o["column"]!, map, ranges, (string?)o["output"]);
    }

    /// <inheritdoc/>
    public override RecordBatch Process(RecordBatch batch, FeatureStepContext context)
    {
        var source = Column(batch, SourceColumn);
        var n = source.Length;
        if (_numericOutput)
        {
            var result = new double[n];
            for (var i = 0; i < n; i++)
            {
                var v = Arrays.ValueAt(source, i);
                result[i] = v.IsNull ? double.NaN : Lookup(v) is { } m ? ToNumber(m) : v.Type == FeatureType.String ? double.NaN : v.AsDouble();
            }

            return Arrays.WithColumn(batch, OutputColumn, Arrays.Doubles(result, n));
        }

        var text = new string?[n];
        for (var i = 0; i < n; i++)
        {
            var v = Arrays.ValueAt(source, i);
            text[i] = v.IsNull ? null : Lookup(v)?.ToString() ?? (v.Type == FeatureType.String ? v.Text : null);
        }

        return Arrays.WithColumn(batch, OutputColumn, Arrays.Strings(text));
    }

    private object? Lookup(FeatureValue v)
    {
        if (v.Type != FeatureType.String)
        {
            var x = v.AsDouble();
            foreach (var r in _ranges)
                if (x >= r.Min && x < r.Max) return r.Value;
            return _map.TryGetValue(x.ToString("R", CultureInfo.InvariantCulture), out var m) ? m : null;
        }

        return _map.TryGetValue(v.Text!, out var s) ? s : null;
    }
}
