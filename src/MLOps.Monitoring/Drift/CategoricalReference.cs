namespace MLOps.Monitoring.Drift;

/// <summary>The reference (training) counts of one categorical feature, by category (ordinal string comparison); null is missing,
/// counted apart and excluded from the distributions.</summary>
public sealed class CategoricalReference
{
    private readonly Dictionary<string, long> _counts;

    private CategoricalReference(string feature, Dictionary<string, long> counts, long missing, long otherCount = 0)
    {
        Feature = feature;
        _counts = counts;
        MissingCount = missing;
        OtherCount = otherCount;
        Count = counts.Values.Sum() + otherCount;
    }

    /// <summary>The feature's name.</summary>
    public string Feature { get; }

    /// <summary>The count of each category in the reference.</summary>
    public IReadOnlyDictionary<string, long> Counts => _counts;

    /// <summary>Reference values that are not missing (including <see cref="OtherCount"/>).</summary>
    public long Count { get; }

    /// <summary>Reference values in categories that are not listed in <see cref="Counts"/> (a reference built from the top values of a
    /// profile, <see cref="FromTopValues"/>); 0 when every category is known. When it is above 0, current values in unlisted categories
    /// are compared with this pooled bin and no category can be called unseen.</summary>
    public long OtherCount { get; }

    /// <summary>Whether every reference category is listed (<see cref="OtherCount"/> is 0), so that unseen categories are known.</summary>
    public bool IsComplete => OtherCount == 0;

    /// <summary>Missing (null) reference values.</summary>
    public long MissingCount { get; }

    /// <summary>Builds the reference of one feature from its values.</summary>
    /// <param name="feature">The feature's name.</param>
    /// <param name="values">The reference values; null is missing.</param>
    /// <returns>The reference.</returns>
    /// <exception cref="ValidationException">No reference value is present.</exception>
    public static CategoricalReference Create(string feature, ReadOnlySpan<string?> values)
    {
        Throw.IfNullOrWhitespace(feature);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        long missing = Tally(values, counts);
        if (counts.Count == 0)
            throw new ValidationException(
                $"Reference values of categorical feature '{feature}' are all missing ({values.Length} values): a category distribution needs at least one category. Pass the feature's training values.");
        return new CategoricalReference(feature, counts, missing);
    }

    /// <summary>Builds the reference of one feature from the most frequent values of a profile (for example
    /// <see cref="MLOps.Data.ColumnStatistics.TopValues"/>): the listed categories with their counts, and the rest of the count pooled
    /// into one "other" bin (<see cref="OtherCount"/>).</summary>
    /// <param name="feature">The feature's name.</param>
    /// <param name="topValues">The most frequent categories and their counts.</param>
    /// <param name="count">The number of non-missing reference values (at least the sum of the listed counts).</param>
    /// <param name="missing">The number of missing reference values.</param>
    /// <returns>The reference.</returns>
    /// <exception cref="ValidationException">No category is listed, a count is negative, a category is listed twice, or
    /// <paramref name="count"/> is below the sum of the listed counts.</exception>
    public static CategoricalReference FromTopValues(string feature, IEnumerable<KeyValuePair<string, long>> topValues, long count, long missing = 0)
    {
        Throw.IfNullOrWhitespace(feature);
        Throw.IfNull(topValues);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (category, n) in topValues)
        {
            if (category is null || n < 0 || !counts.TryAdd(category, n))
                throw new ValidationException(
                    $"Top values of categorical feature '{feature}': the entry ('{category}', {n}) is null, negative or listed twice. Pass each category once with a count of at least 0.");
        }
        long listed = counts.Values.Sum();
        if (counts.Count == 0 || listed == 0)
            throw new ValidationException(
                $"Top values of categorical feature '{feature}' list no category with a count above 0: a category distribution needs at least one. Pass the profile's top values (ColumnStatistics.TopValues), or build the reference from the training values.");
        if (count < listed || missing < 0)
            throw new ValidationException(
                $"Top values of categorical feature '{feature}': count {count} is below the {listed} values listed (or missing {missing} is negative). Pass the column's non-missing count (ColumnStatistics.Count).");
        return new CategoricalReference(feature, counts, missing, count - listed);
    }

    internal static long Tally(ReadOnlySpan<string?> values, Dictionary<string, long> counts)
    {
        long missing = 0;
        foreach (string? v in values)
        {
            if (v is null) { missing++; continue; }
            System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(counts, v, out _)++;
        }
        return missing;
    }
}
