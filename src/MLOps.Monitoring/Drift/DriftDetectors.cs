using System.Globalization;
using MLOps.Monitoring.Applications;

namespace MLOps.Monitoring.Drift;

/// <summary>Argument checks of the detector factories (ValidationException naming the argument, the value and the fix).</summary>
internal static class Check
{
    public static double Probability(double value, string name)
    {
        if (!(value > 0 && value < 1))
            throw new ValidationException(F($"Drift detector: {name} is {value}; a significance level is a probability strictly between 0 and 1. Use for example 0.01 or 0.001."));
        return value;
    }

    public static double PossibleAlpha(double alpha, double? possible)
    {
        if (possible is not { } p) return alpha;
        if (!(p >= alpha && p < 1))
            throw new ValidationException(F($"Drift detector: possibleAlpha is {p}; the 'possible' level must be at least alpha ({alpha}) and below 1. Use for example 10 x alpha, or null for no 'possible' level."));
        return p;
    }

    public static double Share(double value, string name, bool allowZero)
    {
        if (!(value <= 1 && (allowZero ? value >= 0 : value > 0)))
            throw new ValidationException(F($"Drift detector: {name} is {value}; it is a share of rows, in {(allowZero ? "[0, 1]" : "(0, 1]")}. Use for example 0.03 (minimum effect) or 0.01 (unseen share)."));
        return value;
    }

    public static double Thresholds(DriftStatistic statistic, double possible, double detected)
    {
        bool lower = DriftStatistics.LowerIsDrift(statistic);
        bool ordered = lower ? possible >= detected : possible <= detected;
        if (double.IsNaN(possible) || double.IsNaN(detected) || !ordered)
        {
            string fix = lower ? "for a p-value 'detected' is the smaller level (e.g. possible 0.01, detected 0.001)." : "'detected' must be at least 'possible' (e.g. possible 0.1, detected 0.25).";
            throw new ValidationException(F($"Drift detector on {DriftStatistics.Key(statistic)}: possible {possible} and detected {detected} are out of order; {fix}"));
        }
        return possible;
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Names and readers of the statistics detectors decide on.</summary>
internal static class DriftStatistics
{
    public static bool LowerIsDrift(DriftStatistic s) => s is DriftStatistic.KolmogorovSmirnovPValue or DriftStatistic.ChiSquarePValue or DriftStatistic.MannWhitneyPValue;

    public static bool NeedsSample(DriftStatistic s)
        => s is DriftStatistic.WassersteinNormalized or DriftStatistic.KolmogorovSmirnovStatistic or DriftStatistic.KolmogorovSmirnovPValue or DriftStatistic.MannWhitneyPValue;

    public static string Key(DriftStatistic s) => s switch
    {
        DriftStatistic.PopulationStability => "psi",
        DriftStatistic.TotalVariation => "tvd",
        DriftStatistic.Hellinger => "hellinger",
        DriftStatistic.SymmetricKullbackLeibler => "kld",
        DriftStatistic.JensenShannon => "js",
        DriftStatistic.MLRunDrift => "mlrun_drift",
        DriftStatistic.WassersteinNormalized => "wasserstein_normalized",
        DriftStatistic.KolmogorovSmirnovStatistic => "ks_statistic",
        DriftStatistic.KolmogorovSmirnovPValue => "ks_pvalue",
        DriftStatistic.MannWhitneyPValue => "mw_pvalue",
        DriftStatistic.ChiSquarePValue => "chi2_pvalue",
        _ => s.ToString(),
    };

    /// <summary>The value, or null when the result does not carry it (a sample test that was not run or is unavailable).</summary>
    public static double? Read(DriftStatistic s, NumericDriftResult r) => s switch
    {
        DriftStatistic.PopulationStability => r.PopulationStability,
        DriftStatistic.TotalVariation => r.TotalVariation,
        DriftStatistic.Hellinger => r.Hellinger,
        DriftStatistic.SymmetricKullbackLeibler => r.SymmetricKullbackLeibler,
        DriftStatistic.JensenShannon => r.JensenShannon,
        DriftStatistic.MLRunDrift => (r.TotalVariation + r.Hellinger) / 2,
        DriftStatistic.WassersteinNormalized => r.WassersteinNormalized,
        DriftStatistic.KolmogorovSmirnovStatistic => r.KolmogorovSmirnov?.Statistic,
        DriftStatistic.KolmogorovSmirnovPValue => r.KolmogorovSmirnov?.PValue,
        DriftStatistic.MannWhitneyPValue => r.MannWhitney?.PValue,
        _ => null,
    };

    public static double? Read(DriftStatistic s, CategoricalDriftResult r) => s switch
    {
        DriftStatistic.PopulationStability => r.PopulationStability,
        DriftStatistic.TotalVariation => r.TotalVariation,
        DriftStatistic.Hellinger => r.Hellinger,
        DriftStatistic.SymmetricKullbackLeibler => r.SymmetricKullbackLeibler,
        DriftStatistic.JensenShannon => r.JensenShannon,
        DriftStatistic.MLRunDrift => (r.TotalVariation + r.Hellinger) / 2,
        DriftStatistic.ChiSquarePValue => r.ChiSquare.PValue,
        _ => null,
    };

    public static bool Supports(DriftStatistic s, FeatureKind kind) => kind == FeatureKind.Numeric
        ? s != DriftStatistic.ChiSquarePValue
        : !NeedsSample(s);

    /// <summary>A decision on one value against a possible and a detected threshold.</summary>
    public static DriftDecision Decide(string detector, string statistic, double value, double possible, double detected, bool lowerIsDrift)
    {
        bool hit(double t) => lowerIsDrift ? value < t : value >= t;
        var status = double.IsNaN(value) ? ResultStatus.None : hit(detected) ? ResultStatus.Detected : hit(possible) && possible != detected ? ResultStatus.Possible : ResultStatus.None;
        string op = lowerIsDrift ? "<" : ">=";
        string verdict = status switch
        {
            ResultStatus.Detected => "detected",
            ResultStatus.Possible => string.Create(CultureInfo.InvariantCulture, $"possible ({op} {possible:G4})"),
            _ => "none",
        };
        return new DriftDecision(status, statistic, value, detected,
            string.Create(CultureInfo.InvariantCulture, $"{detector}: {statistic} {value:G4}, detected when {op} {detected:G4}: {verdict}"));
    }

    public static DriftDecision Unavailable(string detector, string statistic, double threshold, string feature) => new(ResultStatus.InsufficientData, statistic, double.NaN, threshold,
        $"{detector}: {statistic} is unavailable for feature '{feature}': the reference has no sample of values (it was built from a histogram, e.g. a dataset profile), so the sample tests cannot run. Give the endpoint a reference dataset (its values), or configure a histogram detector such as DriftDetector.PopulationStability() for this feature.");
}

internal sealed class AnyOfDetector(DriftDetector[] detectors) : DriftDetector
{
    public override string Name { get; } = string.Join(" or ", detectors.Select(d => d.Name));

    public override bool Supports(FeatureKind kind) => detectors.All(d => d.Supports(kind));

    public override bool NeedsSampleTests(long count) => detectors.Any(d => d.NeedsSampleTests(count));

    public override DriftDecision Decide(NumericDriftResult result, NumericReference reference) => Combine(detectors.Select(d => d.Decide(result, reference)));

    public override DriftDecision Decide(CategoricalDriftResult result, CategoricalReference reference) => Combine(detectors.Select(d => d.Decide(result, reference)));

    private static DriftDecision Combine(IEnumerable<DriftDecision> decisions)
    {
        var all = decisions.ToList();
        var decided = all.Where(d => d.Status != ResultStatus.InsufficientData).ToList();
        if (decided.Count == 0) return all[0] with { Message = string.Join("; ", all.Select(d => d.Message)) };
        var worst = decided.MaxBy(d => d.Status)!;
        return worst with { Message = string.Join("; ", all.Select(d => d.Message)) };
    }
}

/// <summary>A threshold on one statistic (the tests are thresholds on their p-values): "possible" and "detected" levels, and the
/// statistic said to be unavailable when the result does not carry it (a sample test on a reference without sample).</summary>
internal sealed class ThresholdDetector(DriftStatistic statistic, double possible, double detected, string? name = null) : DriftDetector
{
    private readonly bool _lower = DriftStatistics.LowerIsDrift(statistic);

    public override string Name { get; } = name ?? string.Create(CultureInfo.InvariantCulture,
        $"{DriftStatistics.Key(statistic)}({(DriftStatistics.LowerIsDrift(statistic) ? "<" : ">=")}{detected:G4})");

    public override bool Supports(FeatureKind kind) => DriftStatistics.Supports(statistic, kind);

    public override bool NeedsSampleTests(long count) => DriftStatistics.NeedsSample(statistic);

    public override DriftDecision Decide(NumericDriftResult result, NumericReference reference)
    {
        Throw.IfNull(result);
        if (DriftStatistics.Read(statistic, result) is not { } value)
            return DriftStatistics.Unavailable(Name, DriftStatistics.Key(statistic), detected, result.Feature);
        return DriftStatistics.Decide(Name, DriftStatistics.Key(statistic), value, possible, detected, _lower);
    }

    public override DriftDecision Decide(CategoricalDriftResult result, CategoricalReference reference)
    {
        Throw.IfNull(result);
        double value = DriftStatistics.Read(statistic, result) ?? throw new NotSupportedException($"Drift detector {Name} does not decide categorical features.");
        return DriftStatistics.Decide(Name, DriftStatistics.Key(statistic), value, possible, detected, _lower);
    }
}

internal sealed class BySizeDetector(DriftDetector small, DriftDetector large, long switchCount) : DriftDetector
{
    public override string Name { get; } = string.Create(CultureInfo.InvariantCulture, $"{small.Name} below {switchCount} rows, else {large.Name}");

    public override bool Supports(FeatureKind kind) => small.Supports(kind) && large.Supports(kind);

    public override bool NeedsSampleTests(long count) => Pick(count).NeedsSampleTests(count);

    public override DriftDecision Decide(NumericDriftResult result, NumericReference reference) => Pick(Throw.IfNull(result).Count).Decide(result, reference);

    public override DriftDecision Decide(CategoricalDriftResult result, CategoricalReference reference) => Pick(Throw.IfNull(result).Count).Decide(result, reference);

    private DriftDetector Pick(long count) => count < switchCount ? small : large;
}

/// <summary>Chi-square on the categories after pooling those whose expected window count is below 5, with a minimum effect size and
/// unseen categories decided apart.</summary>
internal sealed class PooledChiSquareDetector(double alpha, double possibleAlpha, double minimumEffect, double unseenShare) : DriftDetector
{
    private const double MinimumExpected = 5;

    public override string Name { get; } = string.Create(CultureInfo.InvariantCulture, $"pooled-chi2(p<{alpha:G4}, tvd>={minimumEffect:G4}, unseen>={unseenShare:G4})");

    public override bool Supports(FeatureKind kind) => kind == FeatureKind.Categorical;

    public override DriftDecision Decide(CategoricalDriftResult result, CategoricalReference reference)
    {
        Throw.IfNull(result);
        Throw.IfNull(reference);
        var (test, effect) = Test(result, reference);
        double unseen = result.Count == 0 ? 0 : (double)result.UnseenCount / result.Count;
        if (unseen >= unseenShare)
        {
            return new DriftDecision(ResultStatus.Detected, "unseen_share", unseen, unseenShare, string.Create(CultureInfo.InvariantCulture,
                $"{Name}: {result.UnseenCount} rows ({unseen:P2}) in categories the reference never saw, detected when >= {unseenShare:P2}: detected (pooled chi2 p {test.PValue:G4}, tvd {effect:G4})"));
        }
        var decision = DriftStatistics.Decide(Name, "chi2_pvalue", test.PValue, possibleAlpha, alpha, lowerIsDrift: true);
        if (decision.Status > ResultStatus.None && effect < minimumEffect)
        {
            return decision with
            {
                Status = ResultStatus.None,
                Message = string.Create(CultureInfo.InvariantCulture,
                    $"{Name}: chi2_pvalue {test.PValue:G4} is below {alpha:G4} but the pooled tvd {effect:G4} is below the minimum effect {minimumEffect:G4}: none"),
            };
        }
        return decision with { Message = decision.Message + string.Create(CultureInfo.InvariantCulture, $" (pooled tvd {effect:G4}, {test.DegreesOfFreedom + 1} pooled categories)") };
    }

    /// <summary>The chi-square test of the seen categories, pooled, and the total variation distance over the pooled categories plus the unseen ones.</summary>
    internal static (ChiSquareResult Test, double Effect) Test(CategoricalDriftResult result, CategoricalReference reference)
    {
        long seen = result.Count - result.UnseenCount;
        if (seen <= 0 || reference.Count == 0) return (new ChiSquareResult(double.NaN, double.NaN, 0), result.Count == 0 ? double.NaN : 1);
        var r = new List<long>();
        var c = new List<long>();
        long rareR = reference.OtherCount, rareC = 0;
        long pooledCurrentOther = reference.IsComplete ? 0 : OtherCount(result, reference);
        rareC += pooledCurrentOther;
        foreach (var (category, refCount) in reference.Counts)
        {
            long cur = result.Counts.GetValueOrDefault(category);
            double expected = (double)seen * refCount / reference.Count;
            if (expected < MinimumExpected) { rareR += refCount; rareC += cur; }
            else { r.Add(refCount); c.Add(cur); }
        }
        if (rareR + rareC > 0)
        {
            double expected = (double)seen * rareR / reference.Count;
            if (expected >= MinimumExpected || r.Count == 0) { r.Add(rareR); c.Add(rareC); }
            else
            {
                // the pooled rare bin is still too small: merge it into the smallest category kept
                int smallest = 0;
                for (int i = 1; i < r.Count; i++) if (r[i] < r[smallest]) smallest = i;
                r[smallest] += rareR;
                c[smallest] += rareC;
            }
        }
        var test = Drift.ChiSquare.Test(r.ToArray(), c.ToArray());
        double tvd = (double)result.UnseenCount / result.Count;
        long total = result.Count;
        for (int i = 0; i < r.Count; i++) tvd += Math.Abs((double)r[i] / reference.Count - (double)c[i] / total);
        return (test, tvd / 2);
    }

    private static long OtherCount(CategoricalDriftResult result, CategoricalReference reference)
    {
        long n = 0;
        foreach (var (category, count) in result.Counts)
            if (!reference.Counts.ContainsKey(category)) n += count;
        return n;
    }
}
