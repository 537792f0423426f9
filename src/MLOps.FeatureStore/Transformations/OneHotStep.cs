using System.Globalization;
using System.Text.Json.Nodes;
using MLOps.FeatureStore.Internal;

namespace MLOps.FeatureStore.Transformations;

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
