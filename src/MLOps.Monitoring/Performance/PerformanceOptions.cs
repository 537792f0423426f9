using MLOps.Monitoring.Capture;

namespace MLOps.Monitoring.Performance;

/// <summary>What kind of model <see cref="PerformanceApplication"/> measures.</summary>
public enum PerformanceTask
{
    /// <summary>Two classes, one of them positive (<see cref="PerformanceOptions.PositiveClass"/>): accuracy, precision, recall,
    /// F1, and ROC AUC and log loss from the score and probability columns.</summary>
    BinaryClassification,

    /// <summary>Several classes: accuracy and macro-averaged precision, recall and F1.</summary>
    MulticlassClassification,

    /// <summary>A number: MAE, RMSE and R².</summary>
    Regression,
}

/// <summary>When a performance metric turns into a warning or an alarm. For metrics where higher is better (accuracy, precision,
/// recall, F1, ROC AUC, R²) a value below a level reaches it; for errors (MAE, RMSE, log loss) a value above it does.</summary>
public sealed record PerformanceThreshold
{
    /// <summary>The level for <see cref="Applications.ResultStatus.Possible"/>, or <see langword="null"/> for none.</summary>
    public double? Possible { get; init; }

    /// <summary>The level for <see cref="Applications.ResultStatus.Detected"/>, or <see langword="null"/> for none.</summary>
    public double? Detected { get; init; }
}

/// <summary>Options of a <see cref="PerformanceApplication"/>: the task, the columns to join, the minimum labelled rows and the
/// thresholds.</summary>
public sealed record PerformanceOptions
{
    /// <summary>The task (default <see cref="PerformanceTask.BinaryClassification"/>).</summary>
    public PerformanceTask Task { get; init; } = PerformanceTask.BinaryClassification;

    /// <summary>The ground-truth column holding the label (default <c>label</c>, the column of the typed
    /// <c>LogGroundTruthAsync</c>).</summary>
    public string LabelColumn { get; init; } = MonitoringCatalog.GroundTruthLabelColumn;

    /// <summary>The captured column holding the prediction; <see langword="null"/> (default) for <c>output.PredictedLabel</c>
    /// (classifiers) or <c>output.Score</c> (regressors), ML.NET's names.</summary>
    public string? PredictionColumn { get; init; }

    /// <summary>Binary classifiers: the captured column of the positive class's score, for ROC AUC (default
    /// <c>output.Probability</c>); <see langword="null"/> for no AUC. Ignored for other tasks.</summary>
    public string? ScoreColumn { get; init; } = CaptureColumns.Output("Probability");

    /// <summary>Binary classifiers: the captured column of the positive class's probability in [0, 1], for log loss (default
    /// <c>output.Probability</c>); <see langword="null"/> for no log loss. Ignored for other tasks.</summary>
    public string? ProbabilityColumn { get; init; } = CaptureColumns.Output("Probability");

    /// <summary>Binary classifiers: the positive class as text (default <c>true</c>; bool labels read <c>true</c>/<c>false</c>,
    /// numbers in invariant culture, e.g. <c>1</c>).</summary>
    public string PositiveClass { get; init; } = "true";

    /// <summary>Below this many labelled, predicted rows in a window every result is
    /// <see cref="Applications.ResultStatus.InsufficientData"/> with no value (default 100).</summary>
    public int MinimumLabelledRows { get; init; } = 100;

    /// <summary>Thresholds by result name (<see cref="PerformanceResultNames"/>); a metric without one has status
    /// <see cref="Applications.ResultStatus.Irrelevant"/>.</summary>
    public IReadOnlyDictionary<string, PerformanceThreshold> Thresholds { get; init; } = new Dictionary<string, PerformanceThreshold>();

    /// <summary>The prediction column in use: <see cref="PredictionColumn"/> or the task's default.</summary>
    public string ResolvedPredictionColumn => PredictionColumn ?? (Task == PerformanceTask.Regression ? CaptureColumns.Output("Score") : CaptureColumns.Output("PredictedLabel"));

    /// <summary>Checks the options and lists every problem at once.</summary>
    /// <exception cref="ValidationException">An option is invalid; <see cref="ValidationException.Errors"/> lists each problem.</exception>
    public void Validate()
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(Task))
            errors.Add($"PerformanceOptions.Task is {(int)Task}, not a defined value; use BinaryClassification, MulticlassClassification or Regression.");
        Column(errors, nameof(LabelColumn), LabelColumn, required: true, "the ground-truth label column, e.g. 'label'");
        Column(errors, nameof(PredictionColumn), PredictionColumn, required: false, "the captured prediction column, e.g. 'output.PredictedLabel', or null for the task's default");
        Column(errors, nameof(ScoreColumn), ScoreColumn, required: false, "the captured score column, e.g. 'output.Probability', or null for no ROC AUC");
        Column(errors, nameof(ProbabilityColumn), ProbabilityColumn, required: false, "the captured probability column, e.g. 'output.Probability', or null for no log loss");
        if (Task == PerformanceTask.BinaryClassification && string.IsNullOrWhiteSpace(PositiveClass))
            errors.Add($"PerformanceOptions.PositiveClass is {Names.Describe(PositiveClass)}; name the positive class, e.g. 'true' for bool labels or '1'.");
        if (MinimumLabelledRows < 1)
            errors.Add($"PerformanceOptions.MinimumLabelledRows is {MinimumLabelledRows}; use at least 1 (default 100).");
        if (Thresholds is null)
            errors.Add("PerformanceOptions.Thresholds is null; pass an empty dictionary for no thresholds.");
        else if (Enum.IsDefined(Task))
        {
            var known = PerformanceResultNames.Metrics(Task);
            foreach (var (name, threshold) in Thresholds)
                ThresholdProblems(errors, known, name, threshold);
        }
        if (errors.Count > 0)
            throw new ValidationException($"PerformanceOptions are invalid: {string.Join(" ", errors)}", errors);
    }

    private void ThresholdProblems(List<string> errors, IReadOnlyList<string> known, string name, PerformanceThreshold? threshold)
    {
        var at = $"PerformanceOptions.Thresholds['{name}']";
        if (!known.Contains(name))
        {
            errors.Add($"{at}: '{name}' is not a result of the {Task} task; use one of {string.Join(", ", known)}.");
            return;
        }
        if ((name == PerformanceResultNames.RocAuc && ScoreColumn is null) || (name == PerformanceResultNames.LogLoss && ProbabilityColumn is null))
            errors.Add($"{at}: '{name}' is not computed because {(name == PerformanceResultNames.RocAuc ? nameof(ScoreColumn) : nameof(ProbabilityColumn))} is null; set that column or remove the threshold.");
        if (threshold is null || (threshold.Possible is null && threshold.Detected is null))
        {
            errors.Add($"{at} sets no level; set Possible, Detected or both (e.g. new PerformanceThreshold {{ Detected = 0.7 }}), or remove it.");
            return;
        }
        foreach (var (level, value) in new[] { ("Possible", threshold.Possible), ("Detected", threshold.Detected) })
            if (value is { } v && !double.IsFinite(v))
                errors.Add($"{at}.{level} is {v}; use a finite number.");
        if (threshold.Possible is { } possible && threshold.Detected is { } detected && double.IsFinite(possible) && double.IsFinite(detected))
        {
            bool higherIsBetter = PerformanceResultNames.HigherIsBetter(name);
            if (higherIsBetter ? possible < detected : possible > detected)
                errors.Add($"{at}: Possible {possible} is {(higherIsBetter ? "below" : "above")} Detected {detected}, but '{name}' is {(higherIsBetter ? "better higher" : "better lower")}, so Possible must be reached first; set Possible {(higherIsBetter ? ">=" : "<=")} Detected.");
        }
    }

    private static void Column(List<string> errors, string property, string? value, bool required, string fix)
    {
        if ((required || value is not null) && string.IsNullOrWhiteSpace(value))
            errors.Add($"PerformanceOptions.{property} is {Names.Describe(value)}; pass {fix}.");
    }
}

/// <summary>The names of the results and metrics of <see cref="PerformanceApplication"/>.</summary>
public static class PerformanceResultNames
{
    /// <summary>Accuracy (classifiers).</summary>
    public const string Accuracy = "accuracy";

    /// <summary>Precision of the positive class (binary).</summary>
    public const string Precision = "precision";

    /// <summary>Recall of the positive class (binary).</summary>
    public const string Recall = "recall";

    /// <summary>F1 of the positive class (binary).</summary>
    public const string F1 = "f1";

    /// <summary>ROC AUC from the score column (binary).</summary>
    public const string RocAuc = "roc_auc";

    /// <summary>Log loss from the probability column (binary).</summary>
    public const string LogLoss = "log_loss";

    /// <summary>Macro-averaged precision (multi-class).</summary>
    public const string PrecisionMacro = "precision_macro";

    /// <summary>Macro-averaged recall (multi-class).</summary>
    public const string RecallMacro = "recall_macro";

    /// <summary>Macro-averaged F1 (multi-class).</summary>
    public const string F1Macro = "f1_macro";

    /// <summary>Mean absolute error (regression).</summary>
    public const string MeanAbsoluteError = "mae";

    /// <summary>Root mean squared error (regression).</summary>
    public const string RootMeanSquaredError = "rmse";

    /// <summary>R² (regression).</summary>
    public const string R2 = "r2";

    /// <summary>Metric: the window's captured rows.</summary>
    public const string CapturedRows = "captured_rows";

    /// <summary>Metric (and statistic of every result): captured rows with a prediction and a label, the rows the results use.</summary>
    public const string LabelledRows = "labelled_rows";

    /// <summary>Metric (and statistic of every result): captured rows with a prediction but no label (yet).</summary>
    public const string UnlabelledRows = "unlabelled_rows";

    /// <summary>Metric: captured rows without a prediction (failed requests), left out.</summary>
    public const string UnpredictedRows = "unpredicted_rows";

    /// <summary>Metric: labelled rows / (labelled + unlabelled rows); NaN when there is no predicted row.</summary>
    public const string LabelCoverage = "label_coverage";

    /// <summary>The results of a task, in the order they are returned.</summary>
    /// <param name="task">The task.</param>
    /// <returns>The result names.</returns>
    public static IReadOnlyList<string> Metrics(PerformanceTask task) => task switch
    {
        PerformanceTask.BinaryClassification => [Accuracy, Precision, Recall, F1, RocAuc, LogLoss],
        PerformanceTask.MulticlassClassification => [Accuracy, PrecisionMacro, RecallMacro, F1Macro],
        _ => [MeanAbsoluteError, RootMeanSquaredError, R2],
    };

    /// <summary>Whether a higher value of the result is better (false for the errors: MAE, RMSE, log loss).</summary>
    /// <param name="name">The result name.</param>
    /// <returns>Whether higher is better.</returns>
    public static bool HigherIsBetter(string name) => name is not (MeanAbsoluteError or RootMeanSquaredError or LogLoss);
}
