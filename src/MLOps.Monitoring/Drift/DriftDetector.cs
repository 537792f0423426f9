using MLOps.Monitoring.Applications;

namespace MLOps.Monitoring.Drift;

/// <summary>The kind of a monitored feature.</summary>
public enum FeatureKind
{
    /// <summary>A number: compared on the reference's histogram bins and, on request, against its sample.</summary>
    Numeric,

    /// <summary>A category (strings and booleans): compared category by category.</summary>
    Categorical,
}

/// <summary>What a <see cref="DriftDetector"/> decided for one feature and window.</summary>
/// <param name="Status">The status: <see cref="ResultStatus.None"/>, <see cref="ResultStatus.Possible"/>, <see cref="ResultStatus.Detected"/>,
/// or <see cref="ResultStatus.InsufficientData"/> when the detector cannot decide (for example a sample test on a reference without sample).</param>
/// <param name="Statistic">The name of the deciding statistic (for example <c>ks_pvalue</c> or <c>psi</c>).</param>
/// <param name="Value">The deciding statistic's value (NaN when there is none).</param>
/// <param name="Threshold">The threshold of "detected" on that statistic.</param>
/// <param name="Message">The detector, thresholds and verdict, in words.</param>
public sealed record DriftDecision(ResultStatus Status, string Statistic, double Value, double Threshold, string Message);

/// <summary>
/// Decides the drift status of one feature from its exact drift metrics (<see cref="NumericDriftResult"/>, <see cref="CategoricalDriftResult"/>).
/// Built-in detectors come from the static factories; the defaults (<see cref="DefaultNumeric"/>, <see cref="DefaultCategorical"/>) are the
/// ones measured on the real flights to meet the drift-quality targets (see docs/monitoring.md, "Drift status"). A custom detector
/// derives from this class.
/// </summary>
public abstract class DriftDetector
{
    /// <summary>The detector's name with its thresholds (for example <c>ks(p&lt;0.001)</c>), shown in results.</summary>
    public abstract string Name { get; }

    /// <summary>Whether the detector decides features of a kind.</summary>
    /// <param name="kind">The feature kind.</param>
    /// <returns>True when <see cref="Decide(NumericDriftResult, NumericReference)"/> (numeric) or
    /// <see cref="Decide(CategoricalDriftResult, CategoricalReference)"/> (categorical) may be called.</returns>
    public abstract bool Supports(FeatureKind kind);

    /// <summary>Whether the detector needs the Kolmogorov-Smirnov and Wasserstein results (which sort a copy of the window) for a
    /// numeric window of <paramref name="count"/> non-missing values.</summary>
    /// <param name="count">The window's non-missing count.</param>
    /// <returns>True to have <see cref="DriftMetrics.Compare(NumericReference, ReadOnlySpan{double}, bool)"/> run the sample tests.</returns>
    public virtual bool NeedsSampleTests(long count) => false;

    /// <summary>Decides a numeric feature.</summary>
    /// <param name="result">The window's metrics (with the sample tests when <see cref="NeedsSampleTests"/> said so and the reference has a sample).</param>
    /// <param name="reference">The feature's reference.</param>
    /// <returns>The decision.</returns>
    public virtual DriftDecision Decide(NumericDriftResult result, NumericReference reference)
        => throw new NotSupportedException($"Drift detector {Name} does not decide numeric features; configure a numeric detector for feature '{result?.Feature}'.");

    /// <summary>Decides a categorical feature.</summary>
    /// <param name="result">The window's metrics.</param>
    /// <param name="reference">The feature's reference.</param>
    /// <returns>The decision.</returns>
    public virtual DriftDecision Decide(CategoricalDriftResult result, CategoricalReference reference)
        => throw new NotSupportedException($"Drift detector {Name} does not decide categorical features; configure a categorical detector for feature '{result?.Feature}'.");

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>The default numeric detector: below 1,000 values Kolmogorov-Smirnov p &lt; 0.0005 or Mann-Whitney p &lt; 0.0025 (a
    /// significance level of 0.003 split between the two; possible at 10 times those); from 1,000 values PSI &gt;= 0.25 (possible
    /// &gt;= 0.1) on the reference bins (see docs/monitoring.md, "Drift status", for the measurements behind it).</summary>
    public static DriftDetector DefaultNumeric { get; } = BySize(AnyOf(KolmogorovSmirnov(0.0005, 0.005), MannWhitney(0.0025, 0.025)), PopulationStability(0.1, 0.25), 1_000);

    /// <summary>The default categorical detector: <see cref="PooledChiSquare"/> with p &lt; 0.001 (possible &lt; 0.01), a minimum total
    /// variation of 0.03, and a category unseen in the reference in at least 1% of the rows detected on its own.</summary>
    public static DriftDetector DefaultCategorical { get; } = PooledChiSquare(0.001, 0.01, 0.03, 0.01);

    /// <summary>The two-sample Kolmogorov-Smirnov test of the window against the reference sample (numeric only): detected when p &lt;
    /// <paramref name="alpha"/>, possible when p &lt; <paramref name="possibleAlpha"/>. A reference without a sample gives
    /// <see cref="ResultStatus.InsufficientData"/> (the test is unavailable).</summary>
    /// <param name="alpha">The p-value below which drift is detected, in (0, 1).</param>
    /// <param name="possibleAlpha">The p-value below which drift is possible, in [<paramref name="alpha"/>, 1); null for <paramref name="alpha"/> (no possible level).</param>
    /// <returns>The detector.</returns>
    public static DriftDetector KolmogorovSmirnov(double alpha = 0.01, double? possibleAlpha = null)
        => PValue(DriftStatistic.KolmogorovSmirnovPValue, "ks", alpha, possibleAlpha);

    /// <summary>The two-sided Mann-Whitney U (Wilcoxon rank-sum) test of the window against the reference sample (numeric only): a
    /// rank test, so heavy tails (delays) do not inflate its false alarms, and powerful on shifts of location and scale that
    /// Kolmogorov-Smirnov misses in small windows (e.g. <c>distance x 1.5</c>); detected when p &lt; <paramref name="alpha"/>. A
    /// reference without a sample gives <see cref="ResultStatus.InsufficientData"/>.</summary>
    /// <param name="alpha">The p-value below which drift is detected, in (0, 1).</param>
    /// <param name="possibleAlpha">The p-value below which drift is possible; null for <paramref name="alpha"/>.</param>
    /// <returns>The detector.</returns>
    public static DriftDetector MannWhitney(double alpha = 0.001, double? possibleAlpha = null)
        => PValue(DriftStatistic.MannWhitneyPValue, "mann-whitney", alpha, possibleAlpha);

    /// <summary>Several detectors on the same feature: the most severe status wins (detected when any detects), and its statistic
    /// decides; a detector that cannot decide (<see cref="ResultStatus.InsufficientData"/>) is skipped when another can. With
    /// significance levels a1, a2, ... the false-alarm rate is at most a1 + a2 + ....</summary>
    /// <param name="detectors">The detectors, at least one, all supporting a common kind.</param>
    /// <returns>The detector.</returns>
    public static DriftDetector AnyOf(params DriftDetector[] detectors)
    {
        Throw.IfNull(detectors);
        if (detectors.Length == 0 || detectors.Any(d => d is null))
            throw new ValidationException($"DriftDetector.AnyOf: got {detectors.Length} detectors, some null or none. Pass at least one detector, none null.");
        return new AnyOfDetector([.. detectors]);
    }

    /// <summary>The population stability index on the reference bins (both kinds): detected when PSI &gt;= <paramref name="detected"/>,
    /// possible when &gt;= <paramref name="possible"/> (Evidently's and the usual readings are 0.1 and 0.25).</summary>
    /// <param name="possible">The "possible" threshold.</param>
    /// <param name="detected">The "detected" threshold, at least <paramref name="possible"/>.</param>
    /// <returns>The detector.</returns>
    public static DriftDetector PopulationStability(double possible = 0.1, double detected = 0.25)
        => Threshold(DriftStatistic.PopulationStability, possible, detected);

    /// <summary>MLRun's rule per feature (both kinds): the mean of the total variation and Hellinger distances on the bins, possible
    /// at &gt;= <paramref name="possible"/>, detected at &gt;= <paramref name="detected"/> (MLRun's 0.5 and 0.7).</summary>
    /// <param name="possible">The "possible" threshold.</param>
    /// <param name="detected">The "detected" threshold, at least <paramref name="possible"/>.</param>
    /// <returns>The detector.</returns>
    public static DriftDetector MLRun(double possible = 0.5, double detected = 0.7)
        => Threshold(DriftStatistic.MLRunDrift, possible, detected);

    /// <summary>Pearson's chi-square homogeneity test of the reference and window counts over every category (categorical only, an
    /// unseen category counts, no pooling): detected when p &lt; <paramref name="alpha"/>.</summary>
    /// <param name="alpha">The p-value below which drift is detected, in (0, 1).</param>
    /// <param name="possibleAlpha">The p-value below which drift is possible; null for <paramref name="alpha"/>.</param>
    /// <returns>The detector.</returns>
    public static DriftDetector ChiSquare(double alpha = 0.01, double? possibleAlpha = null)
        => PValue(DriftStatistic.ChiSquarePValue, "chi2", alpha, possibleAlpha);

    /// <summary>
    /// The chi-square homogeneity test after pooling rare categories (categorical only): categories whose expected window count is
    /// below 5 are pooled into one bin (so the chi-square approximation holds on ~230 airports at 1,000 rows); drift is detected when
    /// p &lt; <paramref name="alpha"/> and the total variation distance (rare categories pooled, unseen ones apart) is at least
    /// <paramref name="minimumEffect"/> (so that real but tiny differences in very large windows do not flag), or when the share of
    /// rows in categories the reference never saw is at least <paramref name="unseenShare"/> (kept visible, never pooled away).
    /// </summary>
    /// <param name="alpha">The p-value below which drift is detected, in (0, 1).</param>
    /// <param name="possibleAlpha">The p-value below which drift is possible (with the same minimum effect); null for <paramref name="alpha"/>.</param>
    /// <param name="minimumEffect">The smallest total variation distance that counts, in [0, 1].</param>
    /// <param name="unseenShare">The share of rows in unseen categories that is drift on its own, in (0, 1].</param>
    /// <returns>The detector.</returns>
    public static DriftDetector PooledChiSquare(double alpha = 0.001, double? possibleAlpha = null, double minimumEffect = 0.03, double unseenShare = 0.01)
        => new PooledChiSquareDetector(Check.Probability(alpha, nameof(alpha)), Check.PossibleAlpha(alpha, possibleAlpha),
            Check.Share(minimumEffect, nameof(minimumEffect), allowZero: true), Check.Share(unseenShare, nameof(unseenShare), allowZero: false));

    private static ThresholdDetector PValue(DriftStatistic statistic, string test, double alpha, double? possibleAlpha)
        => new(statistic, Check.PossibleAlpha(Check.Probability(alpha, nameof(alpha)), possibleAlpha), alpha,
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{test}(p<{alpha:G4})"));

    /// <summary>A threshold on one metric (both kinds, except the Wasserstein distances and Kolmogorov-Smirnov, numeric only): detected
    /// when the metric reaches <paramref name="detected"/>, possible when it reaches <paramref name="possible"/>. For p-values
    /// (<see cref="DriftStatistic.KolmogorovSmirnovPValue"/>, <see cref="DriftStatistic.ChiSquarePValue"/>) "reaches" means "is below".</summary>
    /// <param name="statistic">The metric.</param>
    /// <param name="possible">The "possible" threshold.</param>
    /// <param name="detected">The "detected" threshold (not below <paramref name="possible"/>, or not above it for p-values).</param>
    /// <returns>The detector.</returns>
    public static DriftDetector Threshold(DriftStatistic statistic, double possible, double detected)
        => new ThresholdDetector(statistic, Check.Thresholds(statistic, possible, detected), detected);

    /// <summary>One detector for small windows and another from <paramref name="switchCount"/> non-missing values on (for example a
    /// test, which is powerful on small samples, then a distance on the bins, which does not flag tiny differences on large ones).</summary>
    /// <param name="small">The detector below <paramref name="switchCount"/> values.</param>
    /// <param name="large">The detector from <paramref name="switchCount"/> values.</param>
    /// <param name="switchCount">The window size at which <paramref name="large"/> takes over (at least 1).</param>
    /// <returns>The detector.</returns>
    public static DriftDetector BySize(DriftDetector small, DriftDetector large, long switchCount)
    {
        Throw.IfNull(small);
        Throw.IfNull(large);
        if (switchCount < 1)
            throw new ValidationException($"DriftDetector.BySize: switchCount is {switchCount}; it is the window size at which the large-window detector takes over. Use a count of at least 1 (the default detector uses 1,000).");
        return new BySizeDetector(small, large, switchCount);
    }
}

/// <summary>A drift metric a <see cref="DriftDetector.Threshold"/> detector decides on.</summary>
public enum DriftStatistic
{
    /// <summary>Population stability index on the bins (<c>psi</c>).</summary>
    PopulationStability,

    /// <summary>Total variation distance on the bins (<c>tvd</c>).</summary>
    TotalVariation,

    /// <summary>Hellinger distance on the bins (<c>hellinger</c>).</summary>
    Hellinger,

    /// <summary>Symmetric Kullback-Leibler divergence on the bins (<c>kld</c>).</summary>
    SymmetricKullbackLeibler,

    /// <summary>Jensen-Shannon distance on the bins (<c>js</c>).</summary>
    JensenShannon,

    /// <summary>MLRun's per-feature drift: the mean of TVD and Hellinger (<c>mlrun_drift</c>).</summary>
    MLRunDrift,

    /// <summary>Wasserstein distance divided by the reference's standard deviation (<c>wasserstein_normalized</c>, numeric only, needs the sample).</summary>
    WassersteinNormalized,

    /// <summary>Kolmogorov-Smirnov statistic (<c>ks_statistic</c>, numeric only, needs the sample).</summary>
    KolmogorovSmirnovStatistic,

    /// <summary>Kolmogorov-Smirnov p-value (<c>ks_pvalue</c>, numeric only, needs the sample; lower is more drift).</summary>
    KolmogorovSmirnovPValue,

    /// <summary>Mann-Whitney p-value (<c>mw_pvalue</c>, numeric only, needs the sample; lower is more drift).</summary>
    MannWhitneyPValue,

    /// <summary>Chi-square p-value over every category (<c>chi2_pvalue</c>, categorical only; lower is more drift).</summary>
    ChiSquarePValue,
}
