namespace MLOps.Monitoring.Drift;

/// <summary>The drift metrics of one categorical feature: distances on the distribution over every category seen in the reference
/// or the current window (a category unseen in the reference is a bin of its own with reference share 0), and the chi-square test.</summary>
public sealed record CategoricalDriftResult
{
    /// <summary>The feature's name.</summary>
    public required string Feature { get; init; }

    /// <summary>Non-missing current values.</summary>
    public required long Count { get; init; }

    /// <summary>Missing (null) current values, excluded from every metric.</summary>
    public required long MissingCount { get; init; }

    /// <summary>Current values in categories the reference never saw.</summary>
    public required long UnseenCount { get; init; }

    /// <summary>The current count of each category (a category the reference does not list, when the reference is not
    /// <see cref="CategoricalReference.IsComplete"/>, is counted under its own name too).</summary>
    public IReadOnlyDictionary<string, long> Counts { get; init; } = new Dictionary<string, long>();

    /// <summary>Total variation distance.</summary>
    public required double TotalVariation { get; init; }

    /// <summary>Hellinger distance.</summary>
    public required double Hellinger { get; init; }

    /// <summary>Symmetric Kullback-Leibler divergence (zero bins at 1e-4).</summary>
    public required double SymmetricKullbackLeibler { get; init; }

    /// <summary>Population stability index (zero bins at 1e-4).</summary>
    public required double PopulationStability { get; init; }

    /// <summary>Jensen-Shannon distance (natural log).</summary>
    public required double JensenShannon { get; init; }

    /// <summary>The chi-square homogeneity test of the reference and current counts.</summary>
    public required ChiSquareResult ChiSquare { get; init; }
}
