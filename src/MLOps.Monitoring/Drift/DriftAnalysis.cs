using System.Globalization;
using Apache.Arrow;
using MLOps.Monitoring.Applications;

namespace MLOps.Monitoring.Drift;

/// <summary>
/// Decides the drift status of features and of a whole window from the exact metrics, with the detectors of a <see cref="DriftOptions"/>:
/// per feature the detector of its kind (or its override), <see cref="ResultStatus.InsufficientData"/> below
/// <see cref="DriftOptions.MinimumCount"/> values, and the endpoint-level status from the share of detected features. Thread-safe.
/// </summary>
public sealed class DriftAnalysis
{
    /// <summary>Creates an analysis.</summary>
    /// <param name="options">The options; null for the defaults.</param>
    /// <exception cref="ValidationException">The options are invalid (every problem is listed).</exception>
    public DriftAnalysis(DriftOptions? options = null)
    {
        Options = options ?? new DriftOptions();
        Options.Validate();
    }

    /// <summary>The options.</summary>
    public DriftOptions Options { get; }

    /// <summary>Decides one numeric feature.</summary>
    /// <param name="reference">The feature's reference.</param>
    /// <param name="window">The window's values; NaN is missing.</param>
    /// <param name="feature">The name results and overrides use; null for the reference's <see cref="NumericReference.Feature"/>.</param>
    /// <returns>The feature's drift.</returns>
    public FeatureDrift Analyze(NumericReference reference, ReadOnlySpan<double> window, string? feature = null)
    {
        Throw.IfNull(reference);
        feature ??= reference.Feature;
        var detector = Detector(feature, FeatureKind.Numeric);
        // one binning pass gives the count; the sample tests (a sort of the window) run only when the detector needs them at that count
        var metrics = DriftMetrics.Compare(reference, window, Options.AlwaysRunSampleTests);
        long count = metrics.Count;
        if (!Options.AlwaysRunSampleTests && count >= Options.MinimumCount && detector.NeedsSampleTests(count))
            metrics = DriftMetrics.Compare(reference, window, sampleTests: true);
        var decision = count < Options.MinimumCount ? TooFew(detector, count) : detector.Decide(metrics, reference);
        return Result(feature, FeatureKind.Numeric, detector, decision, count) with { Numeric = metrics };
    }

    /// <summary>Decides one categorical feature.</summary>
    /// <param name="reference">The feature's reference.</param>
    /// <param name="window">The window's values; null is missing.</param>
    /// <param name="feature">The name results and overrides use; null for the reference's <see cref="CategoricalReference.Feature"/>.</param>
    /// <returns>The feature's drift.</returns>
    public FeatureDrift Analyze(CategoricalReference reference, ReadOnlySpan<string?> window, string? feature = null)
    {
        Throw.IfNull(reference);
        feature ??= reference.Feature;
        var detector = Detector(feature, FeatureKind.Categorical);
        var metrics = DriftMetrics.Compare(reference, window);
        var decision = metrics.Count < Options.MinimumCount ? TooFew(detector, metrics.Count) : detector.Decide(metrics, reference);
        return Result(feature, FeatureKind.Categorical, detector, decision, metrics.Count) with { Categorical = metrics };
    }

    /// <summary>Analyses every column of the window that has a reference (and is in <see cref="DriftOptions.Features"/> when that is set);
    /// the column names are the feature names.</summary>
    /// <param name="references">The references by column.</param>
    /// <param name="window">The window's batches (a column may be missing from some).</param>
    /// <returns>The report.</returns>
    /// <exception cref="ValidationException">A column's type does not match its reference's kind.</exception>
    public WindowDrift Analyze(DriftReferences references, IReadOnlyList<RecordBatch> window)
    {
        Throw.IfNull(references);
        Throw.IfNull(window);
        var features = new List<FeatureDrift>();
        foreach (string column in references.Columns)
        {
            if (Options.Features is { } only && !only.Contains(column, StringComparer.Ordinal)) continue;
            var arrays = ColumnValues.Arrays(window, column);
            if (arrays.Count == 0) continue;
            features.Add(Analyze(references, column, column, arrays));
        }
        return Summarize(features);
    }

    /// <summary>The endpoint-level result of per-feature results (see <see cref="WindowDrift.Status"/>).</summary>
    /// <param name="features">The per-feature results.</param>
    /// <returns>The report.</returns>
    public WindowDrift Summarize(IReadOnlyList<FeatureDrift> features)
    {
        Throw.IfNull(features);
        int decided = 0, detected = 0, possible = 0, withValues = 0;
        double tvd = 0, hellinger = 0;
        foreach (var f in features)
        {
            if (f.Status is ResultStatus.None or ResultStatus.Possible or ResultStatus.Detected) decided++;
            if (f.Status == ResultStatus.Detected) detected++;
            if (f.Status == ResultStatus.Possible) possible++;
            var (t, h) = f.Numeric is { } n ? (n.TotalVariation, n.Hellinger) : f.Categorical is { } c ? (c.TotalVariation, c.Hellinger) : (double.NaN, double.NaN);
            if (f.Count == 0 || double.IsNaN(t)) continue;
            tvd += t;
            hellinger += h;
            withValues++;
        }
        double share = decided == 0 ? double.NaN : (double)detected / decided;
        var status = decided == 0 ? ResultStatus.InsufficientData
            : detected > 0 && share >= Options.DetectedShare ? ResultStatus.Detected
            : detected + possible > 0 ? ResultStatus.Possible
            : ResultStatus.None;
        return new WindowDrift
        {
            Status = status,
            Features = features,
            DetectedShare = share,
            GeneralDrift = withValues == 0 ? double.NaN : (tvd / withValues + hellinger / withValues) / 2,
        };
    }

    /// <summary>Analyses one column of the window against the reference column <paramref name="referenceColumn"/>, under the name <paramref name="feature"/>.</summary>
    internal FeatureDrift Analyze(DriftReferences references, string referenceColumn, string feature, IReadOnlyList<IArrowArray> arrays)
    {
        if (references.Numeric.TryGetValue(referenceColumn, out var numeric))
            return Analyze(numeric, ColumnValues.Numbers(feature, arrays), feature);
        if (references.Categorical.TryGetValue(referenceColumn, out var categorical))
            return Analyze(categorical, ColumnValues.Categories(feature, arrays), feature);
        throw new NotFoundException("drift reference", referenceColumn,
            $"Column '{referenceColumn}' has no drift reference (references: {string.Join(", ", references.Columns)}). Compare a column the reference holds.");
    }

    private DriftDetector Detector(string feature, FeatureKind kind)
    {
        var detector = Options.DetectorFor(feature, kind);
        if (!detector.Supports(kind))
            throw new ValidationException($"DriftOptions.Detectors['{feature}'] is {detector.Name}, which does not decide {kind.ToString().ToLowerInvariant()} features. Configure a detector of that kind for the feature.");
        return detector;
    }

    private DriftDecision TooFew(DriftDetector detector, long count) => new(ResultStatus.InsufficientData, "count", count, Options.MinimumCount,
        string.Create(CultureInfo.InvariantCulture, $"{detector.Name}: {count} values, below the minimum count {Options.MinimumCount} (DriftOptions.MinimumCount): insufficient data"));

    private static FeatureDrift Result(string feature, FeatureKind kind, DriftDetector detector, DriftDecision decision, long count) => new()
    {
        Feature = feature,
        Kind = kind,
        Status = decision.Status,
        Detector = detector.Name,
        Statistic = decision.Statistic,
        Value = decision.Value,
        Threshold = decision.Threshold,
        Count = count,
        Message = decision.Message,
    };
}
