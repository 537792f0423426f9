using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MLOps.FeatureStore.Internal;

namespace MLOps.FeatureStore.Transformations;

/// <summary>How <see cref="ImputeStep"/> fills nulls.</summary>
public enum ImputeStrategy
{
    /// <summary>A constant given with the step.</summary>
    Constant,

    /// <summary>The mean of the column (numbers).</summary>
    Mean,

    /// <summary>The median of the column (numbers).</summary>
    Median,

    /// <summary>The most frequent value of the column (numbers or strings; ties go to the smallest).</summary>
    MostFrequent,
}

/// <summary>Shared plumbing of the built-in steps.</summary>
public abstract class BuiltInStep : IFeatureStep
{
    /// <inheritdoc/>
    public abstract string Kind { get; }

    /// <inheritdoc/>
    public abstract JsonObject Options { get; }

    /// <inheritdoc/>
    public abstract IReadOnlyList<string> InputColumns { get; }

    /// <inheritdoc/>
    public abstract RecordBatch Process(RecordBatch batch, FeatureStepContext context);

    /// <summary>A column of the batch, or a clear error.</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="name">The column.</param>
    /// <returns>The array.</returns>
    protected IArrowArray Column(RecordBatch batch, string name)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var i = batch.Schema.GetFieldIndex(name);
        if (i < 0)
            throw new ValidationException($"Step '{Kind}' needs column '{name}', which the data does not have at this point. Columns: {string.Join(", ", batch.Schema.FieldsList.Select(f => f.Name).Where(n => n != FeatureStepContext.RowNumberColumn))}.");
        return batch.Column(i);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Kind} {Options.ToJsonString()}";
}

/// <summary>Fills the nulls of a column with a constant, or the mean, median or most frequent value.</summary>
/// <remarks>
/// Mean, median and most frequent are fitted on the first batch of the first ingestion (up to the ingestion chunk
/// size, 65,536 rows by default) and then frozen with the feature set, so later ingestions and real-time pushes fill
/// the same value.
/// </remarks>
public sealed class ImputeStep : BuiltInStep
{
    /// <summary>Creates the step.</summary>
    /// <param name="column">The column.</param>
    /// <param name="strategy">The strategy.</param>
    /// <param name="constant">The constant for <see cref="ImputeStrategy.Constant"/> (a number, string or boolean).</param>
    public ImputeStep(string column, ImputeStrategy strategy, object? constant = null)
    {
        Throw.IfNullOrWhitespace(column);
        if (strategy == ImputeStrategy.Constant && constant is null)
            throw new ValidationException($"Impute '{column}': the constant strategy needs a value. Pass constant: 0 (or another number, string or boolean).");
        Column_ = column;
        Strategy = strategy;
        Constant = constant is null ? null : Convert.ToString(constant, CultureInfo.InvariantCulture);
    }

    private string Column_ { get; }

    /// <summary>The strategy.</summary>
    public ImputeStrategy Strategy { get; }

    /// <summary>The constant as invariant text, for <see cref="ImputeStrategy.Constant"/>.</summary>
    public string? Constant { get; }

    /// <inheritdoc/>
    public override string Kind => "impute";

    /// <inheritdoc/>
    public override JsonObject Options => new() { ["column"] = Column_, ["strategy"] = Strategy.ToString(), ["constant"] = Constant };

    /// <inheritdoc/>
    public override IReadOnlyList<string> InputColumns => [Column_];

    internal static ImputeStep FromOptions(JsonObject o) => new(
        (string)o["column"]!, Enum.Parse<ImputeStrategy>((string)o["strategy"]!), (string?)o["constant"]);

    /// <inheritdoc/>
    public override RecordBatch Process(RecordBatch batch, FeatureStepContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var array = Column(batch, Column_);
        if (array.NullCount == 0 && Strategy != ImputeStrategy.Constant && context.Fitted.ContainsKey(FitKey)) return batch;
        var fill = FillValue(array, context);
        if (array.NullCount == 0 || fill is null) return batch;
        return Arrays.WithColumn(batch, Column_, Fill(array, fill));
    }

    private string FitKey => $"impute.{Column_}.{Strategy}";

    private string? FillValue(IArrowArray array, FeatureStepContext context)
    {
        if (Strategy == ImputeStrategy.Constant) return Constant;
        if (context.Fitted.TryGetValue(FitKey, out var fitted)) return fitted;
        if (!context.CanFit) return null;
        string? value = Strategy switch
        {
            ImputeStrategy.Mean => Numbers(array) is { Length: > 0 } n ? n.Average().ToString("R", CultureInfo.InvariantCulture) : null,
            ImputeStrategy.Median => Numbers(array) is { Length: > 0 } n ? Median(n).ToString("R", CultureInfo.InvariantCulture) : null,
            _ => MostFrequent(array),
        };
        if (value is not null) context.Fitted[FitKey] = value;
        return value;
    }

    private double[] Numbers(IArrowArray array)
    {
        if (array is StringArray)
            throw new ValidationException($"Impute '{Column_}': {Strategy} needs a numeric column but '{Column_}' holds strings. Use ImputeStrategy.MostFrequent or Constant.");
        return Arrays.ToDoubles(array).Where(d => !double.IsNaN(d)).ToArray();
    }

    private static double Median(double[] values)
    {
        Array.Sort(values);
        var mid = values.Length / 2;
        return values.Length % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }

    private static string? MostFrequent(IArrowArray array)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < array.Length; i++)
        {
            var v = Arrays.ValueAt(array, i);
            if (v.IsNull) continue;
            var key = v.Type == FeatureType.String ? v.Text! : v.AsDouble().ToString("R", CultureInfo.InvariantCulture);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        return counts.Count == 0 ? null : counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).First().Key;
    }

    private IArrowArray Fill(IArrowArray array, string fill)
    {
        switch (array)
        {
            case DoubleArray or Int64Array or TimestampArray or BooleanArray when !double.TryParse(fill, NumberStyles.Float, CultureInfo.InvariantCulture, out _) && !bool.TryParse(fill, out _):
                throw new ValidationException($"Impute '{Column_}': the value '{fill}' is not a number but the column is numeric. Use a numeric constant.");
            case DoubleArray d:
            {
                var v = double.Parse(fill, CultureInfo.InvariantCulture);
                var values = Arrays.ToDoubles(d);
                for (var i = 0; i < values.Length; i++)
                    if (double.IsNaN(values[i])) values[i] = v;
                return Arrays.Doubles(values, values.Length);
            }

            case Int64Array l:
            {
                var v = (long)Math.Round(double.Parse(fill, CultureInfo.InvariantCulture));
                var values = l.Values.ToArray();
                for (var i = 0; i < values.Length; i++)
                    if (l.IsNull(i)) values[i] = v;
                return Arrays.Int64s(values, Enumerable.Repeat(true, values.Length).ToArray());
            }

            case BooleanArray b:
            {
                var v = bool.TryParse(fill, out var parsed) ? parsed : double.Parse(fill, CultureInfo.InvariantCulture) != 0;
                var values = new bool[b.Length];
                for (var i = 0; i < values.Length; i++) values[i] = b.GetValue(i) ?? v;
                return Arrays.Booleans(values, Enumerable.Repeat(true, values.Length).ToArray());
            }

            case StringArray s:
            {
                var values = new string?[s.Length];
                for (var i = 0; i < values.Length; i++) values[i] = s.IsNull(i) ? fill : s.GetString(i);
                return Arrays.Strings(values);
            }

            default:
                throw new ValidationException($"Impute '{Column_}': cannot fill a {array.Data.DataType.Name} column.");
        }
    }
}

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

/// <summary>
/// One-hot encodes a column over known categories: one <c>int64</c> column <c>{column}_{category}</c> per category,
/// 1 when the row has that value. Unknown values and nulls give all zeros. The source column is removed.
/// </summary>
public sealed class OneHotStep : BuiltInStep
{
    /// <summary>Creates the step.</summary>
    /// <param name="column">The column.</param>
    /// <param name="categories">The known categories (as text; numbers in invariant form).</param>
    public OneHotStep(string column, IReadOnlyList<string> categories)
    {
        Throw.IfNullOrWhitespace(column);
        if (categories is null || categories.Count == 0)
            throw new ValidationException($"OneHot '{column}': give at least one category.");
        SourceColumn = column;
        Categories = categories.Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The source column.</summary>
    public string SourceColumn { get; }

    /// <summary>The categories.</summary>
    public IReadOnlyList<string> Categories { get; }

    /// <inheritdoc/>
    public override string Kind => "one-hot";

    /// <inheritdoc/>
    public override IReadOnlyList<string> InputColumns => [SourceColumn];

    /// <inheritdoc/>
    public override JsonObject Options => new() { ["column"] = SourceColumn, ["categories"] = new JsonArray(Categories.Select(c => (JsonNode?)c).ToArray()) };

    internal static OneHotStep FromOptions(JsonObject o) => new((string)o["column"]!, ((JsonArray)o["categories"]!).Select(n => (string)n!).ToArray());

    /// <inheritdoc/>
    public override RecordBatch Process(RecordBatch batch, FeatureStepContext context)
    {
        var source = Column(batch, SourceColumn);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var c = 0; c < Categories.Count; c++) index[Categories[c]] = c;
        var columns = new long[Categories.Count][];
        for (var c = 0; c < columns.Length; c++) columns[c] = new long[source.Length];
        for (var i = 0; i < source.Length; i++)
        {
            var v = Arrays.ValueAt(source, i);
            if (v.IsNull) continue;
            var key = v.Type == FeatureType.String ? v.Text! : v.Type == FeatureType.Boolean ? (v.Integer != 0 ? "true" : "false") : v.AsDouble().ToString("R", CultureInfo.InvariantCulture);
            if (index.TryGetValue(key, out var c)) columns[c][i] = 1;
        }

        var all = Enumerable.Repeat(true, source.Length).ToArray();
        var result = Arrays.SelectColumns(batch, n => n != SourceColumn);
        for (var c = 0; c < columns.Length; c++)
            result = Arrays.WithColumn(result, $"{SourceColumn}_{Categories[c]}", Arrays.Int64s(columns[c], all));
        return result;
    }
}

/// <summary>Parts of a timestamp that <see cref="DatePartsStep"/> extracts (UTC).</summary>
[Flags]
public enum DateParts
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary><c>{column}_year</c>.</summary>
    Year = 1,

    /// <summary><c>{column}_month</c> (1-12).</summary>
    Month = 2,

    /// <summary><c>{column}_day</c> (1-31).</summary>
    Day = 4,

    /// <summary><c>{column}_hour</c> (0-23).</summary>
    Hour = 8,

    /// <summary><c>{column}_minute</c> (0-59).</summary>
    Minute = 16,

    /// <summary><c>{column}_day_of_week</c>, Monday = 0 ... Sunday = 6 (as pandas).</summary>
    DayOfWeek = 32,

    /// <summary><c>{column}_day_of_year</c> (1-366).</summary>
    DayOfYear = 64,

    /// <summary><c>{column}_is_weekend</c> (boolean).</summary>
    IsWeekend = 128,
}

/// <summary>Adds date-part columns (<c>int64</c>, UTC) from a timestamp column: <c>{column}_hour</c>, <c>{column}_day_of_week</c>, ...</summary>
public sealed class DatePartsStep : BuiltInStep
{
    private static readonly (DateParts Part, string Name)[] Names =
    [
        (DateParts.Year, "year"), (DateParts.Month, "month"), (DateParts.Day, "day"), (DateParts.Hour, "hour"), (DateParts.Minute, "minute"),
        (DateParts.DayOfWeek, "day_of_week"), (DateParts.DayOfYear, "day_of_year"), (DateParts.IsWeekend, "is_weekend"),
    ];

    /// <summary>Creates the step.</summary>
    /// <param name="column">The timestamp column.</param>
    /// <param name="parts">The parts.</param>
    public DatePartsStep(string column, DateParts parts)
    {
        Throw.IfNullOrWhitespace(column);
        if (parts == DateParts.None) throw new ValidationException($"DateParts '{column}': choose at least one part, e.g. DateParts.Hour | DateParts.DayOfWeek.");
        SourceColumn = column;
        Parts = parts;
    }

    /// <summary>The timestamp column.</summary>
    public string SourceColumn { get; }

    /// <summary>The parts.</summary>
    public DateParts Parts { get; }

    /// <inheritdoc/>
    public override string Kind => "date-parts";

    /// <inheritdoc/>
    public override IReadOnlyList<string> InputColumns => [SourceColumn];

    /// <inheritdoc/>
    public override JsonObject Options => new() { ["column"] = SourceColumn, ["parts"] = Parts.ToString() };

    internal static DatePartsStep FromOptions(JsonObject o) => new((string)o["column"]!, Enum.Parse<DateParts>((string)o["parts"]!));

    /// <inheritdoc/>
    public override RecordBatch Process(RecordBatch batch, FeatureStepContext context)
    {
        if (Column(batch, SourceColumn) is not TimestampArray ts)
            throw new ValidationException($"DateParts '{SourceColumn}': the column is not a timestamp.");
        var n = ts.Length;
        var valid = new bool[n];
        var dates = new DateTime[n];
        for (var i = 0; i < n; i++)
        {
            valid[i] = !ts.IsNull(i);
            if (valid[i]) dates[i] = DateTime.UnixEpoch.AddTicks(ts.Values[i] * 10);
        }

        var result = batch;
        foreach (var (part, name) in Names)
        {
            if ((Parts & part) == 0) continue;
            var column = $"{SourceColumn}_{name}";
            if (part == DateParts.IsWeekend)
            {
                var weekend = dates.Select(d => d.DayOfWeek is System.DayOfWeek.Saturday or System.DayOfWeek.Sunday).ToArray();
                result = Arrays.WithColumn(result, column, Arrays.Booleans(weekend, valid));
                continue;
            }

            var values = new long[n];
            for (var i = 0; i < n; i++)
            {
                var d = dates[i];
                values[i] = part switch
                {
                    DateParts.Year => d.Year,
                    DateParts.Month => d.Month,
                    DateParts.Day => d.Day,
                    DateParts.Hour => d.Hour,
                    DateParts.Minute => d.Minute,
                    DateParts.DayOfWeek => ((int)d.DayOfWeek + 6) % 7,
                    _ => d.DayOfYear,
                };
            }

            result = Arrays.WithColumn(result, column, Arrays.Int64s(values, valid));
        }

        return result;
    }
}

/// <summary>Removes columns.</summary>
public sealed class DropColumnsStep : BuiltInStep
{
    /// <summary>Creates the step.</summary>
    /// <param name="columns">The columns to remove.</param>
    public DropColumnsStep(IReadOnlyList<string> columns)
    {
        if (columns is null || columns.Count == 0) throw new ValidationException("Drop: give at least one column.");
        Columns = columns.ToArray();
    }

    /// <summary>The columns.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <inheritdoc/>
    public override string Kind => "drop";

    /// <inheritdoc/>
    public override IReadOnlyList<string> InputColumns => Columns;

    /// <inheritdoc/>
    public override JsonObject Options => new() { ["columns"] = new JsonArray(Columns.Select(c => (JsonNode?)c).ToArray()) };

    internal static DropColumnsStep FromOptions(JsonObject o) => new(((JsonArray)o["columns"]!).Select(n => (string)n!).ToArray());

    /// <inheritdoc/>
    public override RecordBatch Process(RecordBatch batch, FeatureStepContext context)
    {
        foreach (var c in Columns) Column(batch, c);
        var drop = Columns.ToHashSet(StringComparer.Ordinal);
        return Arrays.SelectColumns(batch, n => !drop.Contains(n));
    }
}

/// <summary>Keeps the rows for which user code returns true. Registered by name (see <see cref="FeatureStepRegistry"/>).</summary>
public sealed class FilterStep : BuiltInStep
{
    private readonly Func<FeatureRowView, bool> _predicate;

    /// <summary>Creates the step.</summary>
    /// <param name="name">A name for the filter (stored in the spec).</param>
    /// <param name="predicate">The predicate.</param>
    public FilterStep(string name, Func<FeatureRowView, bool> predicate)
    {
        Throw.IfNullOrWhitespace(name);
        Name = name;
        _predicate = predicate ?? throw new ArgumentNullException(nameof(predicate));
    }

    /// <summary>The filter's name.</summary>
    public string Name { get; }

    /// <inheritdoc/>
    public override string Kind => "filter";

    /// <inheritdoc/>
    public override IReadOnlyList<string> InputColumns => [];

    /// <inheritdoc/>
    public override JsonObject Options => new() { ["name"] = Name };

    /// <inheritdoc/>
    public override RecordBatch Process(RecordBatch batch, FeatureStepContext context)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var view = new FeatureRowView(batch);
        var keep = new List<int>(batch.Length);
        for (var i = 0; i < batch.Length; i++)
        {
            view.Index = i;
            if (_predicate(view)) keep.Add(i);
        }

        return keep.Count == batch.Length ? batch : Arrays.TakeRows(batch, keep.ToArray());
    }
}

/// <summary>Adds (or replaces) a column computed by user code from each row. Registered by name (see <see cref="FeatureStepRegistry"/>).</summary>
public sealed class ComputeStep : BuiltInStep
{
    private readonly Func<FeatureRowView, object?> _compute;

    /// <summary>Creates the step.</summary>
    /// <param name="column">The output column (also the step's name).</param>
    /// <param name="type">Its type.</param>
    /// <param name="compute">The code: returns a value of the type (or null).</param>
    public ComputeStep(string column, FeatureType type, Func<FeatureRowView, object?> compute)
    {
        Throw.IfNullOrWhitespace(column);
        OutputColumn = column;
        Type = type;
        _compute = compute ?? throw new ArgumentNullException(nameof(compute));
    }

    /// <summary>The output column.</summary>
    public string OutputColumn { get; }

    /// <summary>Its type.</summary>
    public FeatureType Type { get; }

    /// <inheritdoc/>
    public override string Kind => "compute";

    /// <inheritdoc/>
    public override IReadOnlyList<string> InputColumns => [];

    /// <inheritdoc/>
    public override JsonObject Options => new() { ["name"] = OutputColumn, ["type"] = Type.ToString() };

    /// <inheritdoc/>
    public override RecordBatch Process(RecordBatch batch, FeatureStepContext context)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var view = new FeatureRowView(batch);
        var n = batch.Length;
        var valid = new bool[n];
        IArrowArray array;
        switch (Type)
        {
            case FeatureType.Double:
            {
                var v = new double[n];
                for (var i = 0; i < n; i++)
                {
                    view.Index = i;
                    v[i] = _compute(view) is { } o ? Convert.ToDouble(o, CultureInfo.InvariantCulture) : double.NaN;
                }

                array = Arrays.Doubles(v, n);
                break;
            }

            case FeatureType.Int64 or FeatureType.Timestamp:
            {
                var v = new long[n];
                for (var i = 0; i < n; i++)
                {
                    view.Index = i;
                    var o = _compute(view);
                    valid[i] = o is not null;
                    v[i] = o switch
                    {
                        null => 0,
                        DateTimeOffset d => (d.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10,
                        DateTime d => Timestamps.FromDateTime(d), // unspecified = UTC, not the machine's zone
                        _ => Convert.ToInt64(o, CultureInfo.InvariantCulture),
                    };
                }

                array = Type == FeatureType.Int64 ? Arrays.Int64s(v, valid) : Arrays.Timestamps(v, valid);
                break;
            }

            case FeatureType.Boolean:
            {
                var v = new bool[n];
                for (var i = 0; i < n; i++)
                {
                    view.Index = i;
                    var o = _compute(view);
                    valid[i] = o is not null;
                    v[i] = o is not null && Convert.ToBoolean(o, CultureInfo.InvariantCulture);
                }

                array = Arrays.Booleans(v, valid);
                break;
            }

            default:
            {
                var v = new string?[n];
                for (var i = 0; i < n; i++)
                {
                    view.Index = i;
                    v[i] = Convert.ToString(_compute(view), CultureInfo.InvariantCulture);
                }

                array = Arrays.Strings(v);
                break;
            }
        }

        return Arrays.WithColumn(batch, OutputColumn, array);
    }
}

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

/// <summary>Checks a column against a rule; failing rows fail the ingestion, are dropped, or are counted as warnings.</summary>
public sealed class ValidateStep : BuiltInStep
{
    /// <summary>Creates the step.</summary>
    /// <param name="column">The column.</param>
    /// <param name="rule">The rule.</param>
    /// <param name="policy">What to do with failing rows.</param>
    public ValidateStep(string column, FeatureRule rule, ValidationPolicy policy = ValidationPolicy.Fail)
    {
        Throw.IfNullOrWhitespace(column);
        SourceColumn = column;
        Rule = rule ?? throw new ArgumentNullException(nameof(rule));
        Policy = policy;
    }

    /// <summary>The column.</summary>
    public string SourceColumn { get; }

    /// <summary>The rule.</summary>
    public FeatureRule Rule { get; }

    /// <summary>The policy.</summary>
    public ValidationPolicy Policy { get; }

    /// <inheritdoc/>
    public override string Kind => "validate";

    /// <inheritdoc/>
    public override IReadOnlyList<string> InputColumns => [SourceColumn];

    /// <inheritdoc/>
    public override JsonObject Options
    {
        get
        {
            var o = new JsonObject { ["column"] = SourceColumn, ["policy"] = Policy.ToString() };
            Rule.WriteTo(o);
            return o;
        }
    }

    internal static ValidateStep FromOptions(JsonObject o) => new((string)o["column"]!, FeatureRule.FromOptions(o), Enum.Parse<ValidationPolicy>((string)o["policy"]!));

    /// <inheritdoc/>
    public override RecordBatch Process(RecordBatch batch, FeatureStepContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var array = Column(batch, SourceColumn);
        List<int>? keep = null;
        for (var i = 0; i < array.Length; i++)
        {
            var v = Arrays.ValueAt(array, i);
            if (Rule.Passes(v))
            {
                keep?.Add(i);
                continue;
            }

            var row = FeatureStepContext.RowNumber(batch, i);
            var text = v.IsNull ? null : FeatureRule.Text(v);
            switch (Policy)
            {
                case ValidationPolicy.Fail:
                    throw new ValidationException(
                        $"Feature set '{context.FeatureSet}': column '{SourceColumn}' row {row} has value {(text is null ? "null" : $"'{text}'")}, which breaks the rule {Rule}. Fix the data, or validate with ValidationPolicy.DropRow or Warn.");
                case ValidationPolicy.DropRow:
                    keep ??= [.. Enumerable.Range(0, i)];
                    context.ReportDropped(Rule.ToString(), SourceColumn, row, text);
                    break;
                default:
                    keep?.Add(i);
                    context.ReportWarning(Rule.ToString(), SourceColumn, row, text);
                    break;
            }
        }

        return keep is null ? batch : Arrays.TakeRows(batch, keep.ToArray());
    }
}
