using MLOps.Monitoring.Applications;

namespace MLOps.Monitoring.Drift;

/// <summary>The drift of one feature in one window: the status a detector decided and the exact metrics behind it.</summary>
public sealed record FeatureDrift
{
    /// <summary>The feature's name (<c>output.{name}</c> for an output).</summary>
    public required string Feature { get; init; }

    /// <summary>Its kind.</summary>
    public required FeatureKind Kind { get; init; }

    /// <summary>The status (<see cref="ResultStatus.InsufficientData"/> below <see cref="DriftOptions.MinimumCount"/> values).</summary>
    public required ResultStatus Status { get; init; }

    /// <summary>The detector's name with its thresholds.</summary>
    public required string Detector { get; init; }

    /// <summary>The name of the deciding statistic (for example <c>ks_pvalue</c>, <c>psi</c>, <c>chi2_pvalue</c>; <c>count</c> when
    /// there were too few values).</summary>
    public required string Statistic { get; init; }

    /// <summary>The deciding statistic's value.</summary>
    public required double Value { get; init; }

    /// <summary>The "detected" threshold on <see cref="Statistic"/>.</summary>
    public required double Threshold { get; init; }

    /// <summary>The window's non-missing values.</summary>
    public required long Count { get; init; }

    /// <summary>The detector, threshold and verdict, in words.</summary>
    public required string Message { get; init; }

    /// <summary>The metrics of a numeric feature, or null.</summary>
    public NumericDriftResult? Numeric { get; init; }

    /// <summary>The metrics of a categorical feature, or null.</summary>
    public CategoricalDriftResult? Categorical { get; init; }

    /// <summary>Every metric by name: <c>tvd</c>, <c>hellinger</c>, <c>kld</c>, <c>psi</c>, <c>js</c>, <c>count</c>, <c>missing</c>,
    /// <c>threshold</c>; numeric features also <c>ks_statistic</c>, <c>ks_pvalue</c>, <c>wasserstein</c>, <c>wasserstein_normalized</c>,
    /// <c>mw_pvalue</c> and <c>reference_sample_size</c> when the sample tests ran; categorical ones <c>chi2</c>, <c>chi2_pvalue</c>, <c>chi2_dof</c>, <c>unseen</c>.</summary>
    /// <returns>The metrics.</returns>
    public IReadOnlyDictionary<string, double> Statistics()
    {
        var s = new Dictionary<string, double>(StringComparer.Ordinal);
        if (Numeric is { } n)
        {
            Add(s, n.TotalVariation, n.Hellinger, n.SymmetricKullbackLeibler, n.PopulationStability, n.JensenShannon, n.Count, n.MissingCount);
            if (n.KolmogorovSmirnov is { } ks)
            {
                s["ks_statistic"] = ks.Statistic;
                s["ks_pvalue"] = ks.PValue;
                s["wasserstein"] = n.Wasserstein ?? double.NaN;
                s["wasserstein_normalized"] = n.WassersteinNormalized ?? double.NaN;
            }
            if (n.MannWhitney is { } mw) s["mw_pvalue"] = mw.PValue;
            s["reference_sample_size"] = n.ReferenceSampleSize;
        }
        if (Categorical is { } c)
        {
            Add(s, c.TotalVariation, c.Hellinger, c.SymmetricKullbackLeibler, c.PopulationStability, c.JensenShannon, c.Count, c.MissingCount);
            s["chi2"] = c.ChiSquare.Statistic;
            s["chi2_pvalue"] = c.ChiSquare.PValue;
            s["chi2_dof"] = c.ChiSquare.DegreesOfFreedom;
            s["unseen"] = c.UnseenCount;
        }
        s["count"] = Count;
        s["threshold"] = Threshold;
        if (!s.ContainsKey(Statistic)) s[Statistic] = Value;
        return s;
    }

    private static void Add(Dictionary<string, double> s, double tvd, double hellinger, double kld, double psi, double js, long count, long missing)
    {
        s["tvd"] = tvd;
        s["hellinger"] = hellinger;
        s["kld"] = kld;
        s["psi"] = psi;
        s["js"] = js;
        s["mlrun_drift"] = (tvd + hellinger) / 2;
        s["count"] = count;
        s["missing"] = missing;
    }
}

/// <summary>The drift of one window over every monitored feature.</summary>
public sealed record WindowDrift
{
    /// <summary>The endpoint-level status: <see cref="ResultStatus.Detected"/> when the share of decided features that are detected
    /// reaches <see cref="DriftOptions.DetectedShare"/> (at least one), <see cref="ResultStatus.Possible"/> when a feature is
    /// detected or possible below that, <see cref="ResultStatus.InsufficientData"/> when no feature could be decided, else
    /// <see cref="ResultStatus.None"/>.</summary>
    public required ResultStatus Status { get; init; }

    /// <summary>The per-feature results, in the order analysed.</summary>
    public required IReadOnlyList<FeatureDrift> Features { get; init; }

    /// <summary>The share of decided features (status None, Possible or Detected) that are detected; NaN when none was decided.</summary>
    public required double DetectedShare { get; init; }

    /// <summary>MLRun's general drift over the features with values: the mean of the mean TVD and the mean Hellinger distance; NaN when none.</summary>
    public required double GeneralDrift { get; init; }
}
