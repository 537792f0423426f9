using System.Globalization;

namespace MLOps.Monitoring.Drift;

/// <summary>How drift is decided per feature and per endpoint (see docs/monitoring.md, "Drift status").</summary>
public sealed record DriftOptions
{
    /// <summary>The default <see cref="MinimumCount"/>: the smallest window the default detectors were measured on.</summary>
    public const int DefaultMinimumCount = 100;

    /// <summary>Below this many non-missing values in the window a feature's status is
    /// <see cref="Applications.ResultStatus.InsufficientData"/> (at least 1; default 100).</summary>
    public long MinimumCount { get; init; } = DefaultMinimumCount;

    /// <summary>The detector of numeric features without an override (default <see cref="DriftDetector.DefaultNumeric"/>).</summary>
    public DriftDetector NumericDetector { get; init; } = DriftDetector.DefaultNumeric;

    /// <summary>The detector of categorical features (strings, booleans) without an override (default <see cref="DriftDetector.DefaultCategorical"/>).</summary>
    public DriftDetector CategoricalDetector { get; init; } = DriftDetector.DefaultCategorical;

    /// <summary>Detectors per feature (the feature's name, or <c>output.{name}</c> for an output), replacing the default of its kind.</summary>
    public IReadOnlyDictionary<string, DriftDetector> Detectors { get; init; } = new Dictionary<string, DriftDetector>();

    /// <summary>The endpoint is "detected" when the share of decided features that are detected is at least this (in [0, 1]); 0 (the
    /// default) means as soon as any feature is, like MLRun; 0.5 is Evidently's dataset drift. Below it but with a feature detected
    /// or possible the endpoint is "possible".</summary>
    public double DetectedShare { get; init; }

    /// <summary>The features to monitor (names without <c>input.</c>); null (the default) monitors every feature that has a reference.</summary>
    public IReadOnlyList<string>? Features { get; init; }

    /// <summary>The reference column of an output, by output name (MLRun's <c>label_names</c>, e.g. <c>PredictedLabel</c> -&gt;
    /// <c>delayed</c>). An output without an entry is compared with the reference column of its own name, if there is one.</summary>
    public IReadOnlyDictionary<string, string> OutputReferences { get; init; } = new Dictionary<string, string>();

    /// <summary>How numeric references are built from values (bins, sample size for Kolmogorov-Smirnov and Wasserstein, seed).</summary>
    public NumericReferenceOptions Reference { get; init; } = new();

    /// <summary>Run Kolmogorov-Smirnov and Wasserstein for every numeric feature, not only when the detector needs them (they sort a
    /// copy of each window; default false).</summary>
    public bool AlwaysRunSampleTests { get; init; }

    /// <summary>The detector of a feature of a kind: its override, else the default of its kind.</summary>
    /// <param name="feature">The feature's name.</param>
    /// <param name="kind">Its kind.</param>
    /// <returns>The detector.</returns>
    public DriftDetector DetectorFor(string feature, FeatureKind kind)
        => Detectors.TryGetValue(feature, out var detector) ? detector : kind == FeatureKind.Numeric ? NumericDetector : CategoricalDetector;

    /// <summary>Checks every option and reports every problem at once.</summary>
    /// <exception cref="ValidationException">One or more options are invalid; the message lists each with its value and fix.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        void Add(FormattableString s) => problems.Add(s.ToString(CultureInfo.InvariantCulture));
        if (MinimumCount < 1)
            Add($"MinimumCount is {MinimumCount}: a decision needs at least 1 value. Use a positive count (default {DefaultMinimumCount}).");
        if (NumericDetector is null)
            Add($"NumericDetector is null. Use DriftDetector.DefaultNumeric or another numeric detector.");
        else if (!NumericDetector.Supports(FeatureKind.Numeric))
            Add($"NumericDetector is {NumericDetector.Name}, which does not decide numeric features. Use DriftDetector.DefaultNumeric, KolmogorovSmirnov, PopulationStability or MLRun.");
        if (CategoricalDetector is null)
            Add($"CategoricalDetector is null. Use DriftDetector.DefaultCategorical or another categorical detector.");
        else if (!CategoricalDetector.Supports(FeatureKind.Categorical))
            Add($"CategoricalDetector is {CategoricalDetector.Name}, which does not decide categorical features. Use DriftDetector.DefaultCategorical, PooledChiSquare, ChiSquare, PopulationStability or MLRun.");
        if (Detectors is null)
            Add($"Detectors is null. Use an empty dictionary for no per-feature detector.");
        else
        {
            foreach (var (feature, detector) in Detectors)
            {
                if (string.IsNullOrWhiteSpace(feature)) Add($"Detectors has a blank feature name. Name each feature as in the data (output.{{name}} for outputs).");
                if (detector is null) Add($"Detectors['{feature}'] is null. Give a detector, or remove the entry to use the default of the feature's kind.");
            }
        }
        if (!(DetectedShare >= 0 && DetectedShare <= 1))
            Add($"DetectedShare is {DetectedShare}: it is a share of features, in [0, 1]. Use 0 for 'any feature' (the default) or e.g. 0.5 for Evidently's dataset drift.");
        if (Features is not null && Features.Any(string.IsNullOrWhiteSpace))
            Add($"Features holds a blank name. List feature names as in the data (without 'input.'), or null to monitor every feature.");
        if (OutputReferences is null)
            Add($"OutputReferences is null. Use an empty dictionary when every output is compared with the reference column of its own name.");
        else
        {
            foreach (var (output, column) in OutputReferences)
            {
                if (string.IsNullOrWhiteSpace(output) || string.IsNullOrWhiteSpace(column))
                    Add($"OutputReferences has the blank entry '{output}' -> '{column}'. Map an output name (without 'output.') to a reference column name, e.g. PredictedLabel -> delayed.");
            }
        }
        if (Reference is null)
            Add($"Reference is null. Use new NumericReferenceOptions() for the defaults.");
        else
        {
            if (Reference.Bins < 1) Add($"Reference.Bins is {Reference.Bins}: a histogram needs at least 1 bin. Use a positive count (default {NumericReferenceOptions.DefaultBins}).");
            if (Reference.SampleSize < 1) Add($"Reference.SampleSize is {Reference.SampleSize}: the sample needs at least 1 value. Use a positive size (default {NumericReferenceOptions.DefaultSampleSize}).");
        }
        if (problems.Count > 0)
            throw new ValidationException($"DriftOptions are invalid ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}): {string.Join(" ", problems)}");
    }
}
