namespace MLOps.Monitoring.Drift;

/// <summary>The reference (training) counts of one categorical feature, by category (ordinal string comparison); null is missing,
/// counted apart and excluded from the distributions.</summary>
public sealed class CategoricalReference
{
    private readonly Dictionary<string, long> _counts;

    private CategoricalReference(string feature, Dictionary<string, long> counts, long missing)
    {
        Feature = feature;
        _counts = counts;
        MissingCount = missing;
        Count = counts.Values.Sum();
    }

    /// <summary>The feature's name.</summary>
    public string Feature { get; }

    /// <summary>The count of each category in the reference.</summary>
    public IReadOnlyDictionary<string, long> Counts => _counts;

    /// <summary>Reference values that are not missing.</summary>
    public long Count { get; }

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
