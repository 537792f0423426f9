using System.Globalization;
using System.Text.Json.Nodes;
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
