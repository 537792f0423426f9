using Apache.Arrow;
using MLOps.Data;

namespace MLOps.Monitoring.Drift;

/// <summary>The references of a set of columns (features, and the columns outputs are compared with), numeric or categorical, by
/// column name: built from the training values (Arrow record batches, a dataset artifact) or from a <see cref="DatasetProfile"/>.</summary>
public sealed class DriftReferences
{
    private readonly Dictionary<string, NumericReference> _numeric;
    private readonly Dictionary<string, CategoricalReference> _categorical;

    private DriftReferences(Dictionary<string, NumericReference> numeric, Dictionary<string, CategoricalReference> categorical)
    {
        _numeric = numeric;
        _categorical = categorical;
    }

    /// <summary>The numeric references by column name.</summary>
    public IReadOnlyDictionary<string, NumericReference> Numeric => _numeric;

    /// <summary>The categorical references by column name.</summary>
    public IReadOnlyDictionary<string, CategoricalReference> Categorical => _categorical;

    /// <summary>Every column with a reference, numeric ones first, each in ordinal order.</summary>
    public IReadOnlyList<string> Columns => [.. _numeric.Keys.Order(StringComparer.Ordinal), .. _categorical.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Whether a column has a reference, and of which kind.</summary>
    /// <param name="column">The column name.</param>
    /// <returns>The kind, or null when the column has no reference.</returns>
    public FeatureKind? KindOf(string column)
        => _numeric.ContainsKey(column) ? FeatureKind.Numeric : _categorical.ContainsKey(column) ? FeatureKind.Categorical : null;

    /// <summary>References made of given ones (their <see cref="NumericReference.Feature"/> and <see cref="CategoricalReference.Feature"/> are the column names).</summary>
    /// <param name="numeric">The numeric references.</param>
    /// <param name="categorical">The categorical references.</param>
    /// <returns>The references.</returns>
    /// <exception cref="ValidationException">Two references have the same name.</exception>
    public static DriftReferences Create(IEnumerable<NumericReference> numeric, IEnumerable<CategoricalReference>? categorical = null)
    {
        Throw.IfNull(numeric);
        var n = new Dictionary<string, NumericReference>(StringComparer.Ordinal);
        var c = new Dictionary<string, CategoricalReference>(StringComparer.Ordinal);
        foreach (var r in numeric)
            if (!n.TryAdd(Throw.IfNull(r).Feature, r)) throw Duplicate(r.Feature);
        foreach (var r in categorical ?? [])
            if (n.ContainsKey(Throw.IfNull(r).Feature) || !c.TryAdd(r.Feature, r)) throw Duplicate(r.Feature);
        return new DriftReferences(n, c);
    }

    /// <summary>Builds the references of every numeric (double, float, 8 to 64-bit integer) and categorical (string, boolean) column
    /// of the batches from their values (numeric: histogram and seeded sample); other columns are left out.</summary>
    /// <param name="batches">The training data.</param>
    /// <param name="options">Bins, sample size and seed; null for the defaults.</param>
    /// <returns>The references.</returns>
    /// <exception cref="ValidationException">A numeric column has no finite value, or a categorical one no present value (the message names it).</exception>
    public static DriftReferences FromBatches(IEnumerable<RecordBatch> batches, NumericReferenceOptions? options = null)
    {
        Throw.IfNull(batches);
        var list = batches as IReadOnlyList<RecordBatch> ?? [.. batches];
        var columns = new Dictionary<string, FeatureKind>(StringComparer.Ordinal);
        foreach (var batch in list)
        {
            foreach (var field in batch.Schema.FieldsList)
            {
                if (ColumnValues.KindOf(field.DataType) is { } kind) columns.TryAdd(field.Name, kind);
            }
        }
        var numeric = new List<NumericReference>();
        var categorical = new List<CategoricalReference>();
        foreach (var (column, kind) in columns)
        {
            var arrays = ColumnValues.Arrays(list, column);
            if (kind == FeatureKind.Numeric) numeric.Add(NumericReference.Create(column, ColumnValues.Numbers(column, arrays), options));
            else categorical.Add(CategoricalReference.Create(column, ColumnValues.Categories(column, arrays)));
        }
        return Create(numeric, categorical);
    }

    /// <summary>Reads a dataset artifact (<c>project.Artifacts.ReadDatasetAsync</c>) and builds the references of its columns, as
    /// <see cref="FromBatches"/>.</summary>
    /// <param name="project">The project.</param>
    /// <param name="uri">The dataset's URI or key.</param>
    /// <param name="options">Bins, sample size and seed; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The references.</returns>
    public static async Task<DriftReferences> FromDatasetAsync(MLOpsProject project, string uri, NumericReferenceOptions? options = null, CancellationToken cancellationToken = default)
    {
        Throw.IfNull(project);
        Throw.IfNullOrWhitespace(uri);
        var batches = new List<RecordBatch>();
        try
        {
            await foreach (var batch in project.Artifacts.ReadDatasetAsync(uri, cancellationToken: cancellationToken).ConfigureAwait(false))
                batches.Add(batch);
            return FromBatches(batches, options);
        }
        finally
        {
            foreach (var batch in batches) batch.Dispose();
        }
    }

    /// <summary>Builds the references from a profile: numeric columns from their 20-bin histogram (no sample, so the sample tests are
    /// unavailable and a detector that needs them says so), string and boolean columns from their top values (the other categories
    /// pooled, so no category can be called unseen); other columns are left out.</summary>
    /// <param name="profile">The profile.</param>
    /// <returns>The references.</returns>
    /// <exception cref="ValidationException">A numeric column has no histogram, or a string column no top values (the message names it).</exception>
    public static DriftReferences FromProfile(DatasetProfile profile)
    {
        Throw.IfNull(profile);
        var numeric = new List<NumericReference>();
        var categorical = new List<CategoricalReference>();
        foreach (var column in profile.Schema)
        {
            var stats = profile.Statistics.FirstOrDefault(s => s.Name == column.Name);
            switch (ProfileKind(column.Type))
            {
                case FeatureKind.Numeric:
                    if (stats?.Histogram is not { } histogram)
                        throw new ValidationException(
                            $"The reference profile has no numeric histogram for feature '{column.Name}' (type {column.Type}, {stats?.Count ?? 0} values): numeric drift compares the window with the reference's bins. Profile the training data with values in this column, give the endpoint a reference dataset, or leave the feature out (DriftOptions.Features).");
                    double std = stats.Std is { } s && stats.Count > 1 ? s * Math.Sqrt((stats.Count - 1.0) / stats.Count) : double.NaN;
                    numeric.Add(NumericReference.FromHistogram(column.Name, histogram.Edges, histogram.Counts, stats.NullCount, stats.Mean ?? double.NaN, std));
                    break;
                case FeatureKind.Categorical:
                    if (stats?.TopValues is not { Count: > 0 } top)
                        throw new ValidationException(
                            $"The reference profile has no top values for categorical feature '{column.Name}' (type {column.Type}): categorical drift compares category shares. Profile the training data with values in this column, or leave the feature out (DriftOptions.Features).");
                    categorical.Add(CategoricalReference.FromTopValues(column.Name, top.Select(v => KeyValuePair.Create(v.Value, v.Count)), stats.Count, stats.NullCount));
                    break;
            }
        }
        return Create(numeric, categorical);
    }

    private static FeatureKind? ProfileKind(string type) => type switch
    {
        "double" or "float" or "float16" or "decimal" or "int8" or "int16" or "int32" or "int64" or "uint8" or "uint16" or "uint32" or "uint64" => FeatureKind.Numeric,
        "string" or "bool" => FeatureKind.Categorical,
        _ => null,
    };

    private static ValidationException Duplicate(string name)
        => new($"DriftReferences: column '{name}' has two references. Give each column one reference (numeric or categorical).");
}
