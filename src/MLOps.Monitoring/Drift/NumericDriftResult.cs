namespace MLOps.Monitoring.Drift;

/// <summary>The drift metrics of one numeric feature, a current window against its <see cref="NumericReference"/>.
/// Every metric is NaN when the window holds no non-missing value.</summary>
public sealed record NumericDriftResult
{
    /// <summary>The feature's name.</summary>
    public required string Feature { get; init; }

    /// <summary>Non-missing current values (the current histogram's total).</summary>
    public required long Count { get; init; }

    /// <summary>Missing (NaN or null) current values, excluded from every metric.</summary>
    public required long MissingCount { get; init; }

    /// <summary>The current counts on the reference bins (below, inner bins, above), as <see cref="NumericReference.Counts"/>.</summary>
    public required IReadOnlyList<long> Counts { get; init; }

    /// <summary>Total variation distance on the reference bins.</summary>
    public required double TotalVariation { get; init; }

    /// <summary>Hellinger distance on the reference bins.</summary>
    public required double Hellinger { get; init; }

    /// <summary>Symmetric Kullback-Leibler divergence on the reference bins (zero bins at 1e-4).</summary>
    public required double SymmetricKullbackLeibler { get; init; }

    /// <summary>Population stability index on the reference bins (zero bins at 1e-4).</summary>
    public required double PopulationStability { get; init; }

    /// <summary>Jensen-Shannon distance (natural log) on the reference bins.</summary>
    public required double JensenShannon { get; init; }

    /// <summary>Kolmogorov-Smirnov test of the reference sample against the current values; null when not requested.</summary>
    public KolmogorovSmirnovResult? KolmogorovSmirnov { get; init; }

    /// <summary>Mann-Whitney U test of the reference sample against the current values (normal approximation with tie and continuity
    /// corrections, as scipy's <c>mannwhitneyu(sample, window, method='asymptotic')</c>); null when not requested.</summary>
    public MannWhitneyResult? MannWhitney { get; init; }

    /// <summary>Wasserstein distance between the reference sample and the current values; null when not requested.</summary>
    public double? Wasserstein { get; init; }

    /// <summary><see cref="Wasserstein"/> divided by the reference's population standard deviation; when that is 0, 0 for a zero
    /// distance and +infinity otherwise. Null when not requested.</summary>
    public double? WassersteinNormalized { get; init; }

    /// <summary>The size of the reference sample the Kolmogorov-Smirnov and Wasserstein results used (0 when not requested).</summary>
    public int ReferenceSampleSize { get; init; }
}
