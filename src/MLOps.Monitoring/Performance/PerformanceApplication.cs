using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Types;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Capture;
using MLOps.Monitoring.GroundTruth;

namespace MLOps.Monitoring.Performance;

/// <summary>
/// The built-in model-performance application (<see cref="Name"/> <c>performance</c>): joins each captured row of the window
/// (<c>request_id</c>, <c>row</c>) with the latest ground truth logged for it
/// (<see cref="MonitoringCatalog.LogGroundTruthAsync(string, RecordBatch, GroundTruthOptions?, CancellationToken)"/>) and computes
/// <see cref="PerformanceMetrics"/> over the labelled rows: one <see cref="ResultKind.ModelPerformance"/> result per metric, and
/// the row counts as metrics.
/// </summary>
/// <remarks>Rows without a prediction (failed requests) and rows without a label are left out and counted. Labels logged
/// before their request was captured are joined too: the join happens when the window is analysed. Thread-safe.</remarks>
public sealed class PerformanceApplication : IMonitoringApplication
{
    /// <summary>Creates the application.</summary>
    /// <param name="options">The options (default: a binary classifier with ML.NET's output columns, bool labels in <c>label</c>).</param>
    /// <exception cref="ValidationException">The options are invalid (every problem listed).</exception>
    public PerformanceApplication(PerformanceOptions? options = null)
    {
        Options = options ?? new PerformanceOptions();
        Options.Validate();
    }

    /// <summary>The application's name: <c>performance</c>.</summary>
    public string Name => "performance";

    /// <summary>The options.</summary>
    public PerformanceOptions Options { get; }

    /// <summary>Computes the window's performance.</summary>
    /// <param name="window">The window.</param>
    /// <param name="cancellationToken">Cancels the analysis.</param>
    /// <returns>One result per metric (<see cref="PerformanceResultNames.Metrics"/>; ROC AUC and log loss only with their
    /// columns), each with the labelled and unlabelled row counts in its statistics, and the counts as metrics.</returns>
    /// <exception cref="ValidationException">A configured column is in none of the window's files (the message lists the columns
    /// there are), or the label and prediction columns hold different kinds of values (bool, number, text).</exception>
    public async Task<ApplicationOutput> AnalyzeAsync(MonitoringWindow window, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(window);
        var rows = Joinable(window);
        var (labels, labelKind) = await LabelsAsync(window, rows.Rows.Keys, cancellationToken).ConfigureAwait(false);
        if (Options.Task != PerformanceTask.Regression && labelKind is { } k && rows.PredictionKind is { } p && k != p)
            throw new ValidationException($"PerformanceApplication: the ground-truth column '{Options.LabelColumn}' holds {k} values but the prediction column '{Options.ResolvedPredictionColumn}' holds {p} values, so no label could equal a prediction; log labels of the prediction's type (e.g. bool for output.PredictedLabel of a binary classifier).");
        var joined = Join(rows, labels);
        var counts = new Dictionary<string, double>
        {
            [PerformanceResultNames.CapturedRows] = window.RowCount,
            [PerformanceResultNames.LabelledRows] = joined.Labelled,
            [PerformanceResultNames.UnlabelledRows] = joined.Unlabelled,
            [PerformanceResultNames.UnpredictedRows] = rows.Unpredicted,
            [PerformanceResultNames.LabelCoverage] = joined.Labelled + joined.Unlabelled == 0 ? double.NaN : (double)joined.Labelled / (joined.Labelled + joined.Unlabelled),
        };
        var statistics = new Dictionary<string, double>
        {
            [PerformanceResultNames.LabelledRows] = joined.Labelled,
            [PerformanceResultNames.UnlabelledRows] = joined.Unlabelled,
        };
        var values = joined.Labelled < Options.MinimumLabelledRows ? null : Compute(joined, counts);
        var results = new List<MonitoringResult>();
        foreach (var name in ReturnedResults())
        {
            results.Add(values is null
                ? new MonitoringResult(name, double.NaN, ResultKind.ModelPerformance, ResultStatus.InsufficientData)
                {
                    Message = $"{joined.Labelled} labelled rows in the window (labels from ground-truth column '{Options.LabelColumn}'), below the minimum of {Options.MinimumLabelledRows} (PerformanceOptions.MinimumLabelledRows); log more ground truth or use longer windows.",
                    Statistics = statistics,
                }
                : Result(name, values[name], statistics));
        }
        return new ApplicationOutput { Results = results, Metrics = counts };
    }

    private IEnumerable<string> ReturnedResults() => PerformanceResultNames.Metrics(Options.Task).Where(name =>
        Options.Task != PerformanceTask.BinaryClassification
        || (name != PerformanceResultNames.RocAuc || Options.ScoreColumn is not null) && (name != PerformanceResultNames.LogLoss || Options.ProbabilityColumn is not null));

    private MonitoringResult Result(string name, double value, IReadOnlyDictionary<string, double> statistics)
    {
        if (double.IsNaN(value))
            return new MonitoringResult(name, value, ResultKind.ModelPerformance, ResultStatus.InsufficientData)
            {
                Message = $"'{name}' is undefined for this window: ROC AUC needs both classes among the labels, R² at least two labelled rows.",
                Statistics = statistics,
            };
        if (!Options.Thresholds.TryGetValue(name, out var threshold))
            return new MonitoringResult(name, value, ResultKind.ModelPerformance, ResultStatus.Irrelevant) { Statistics = statistics };
        bool higherIsBetter = PerformanceResultNames.HigherIsBetter(name);
        bool Reached(double? level) => level is { } l && (higherIsBetter ? value < l : value > l);
        var status = Reached(threshold.Detected) ? ResultStatus.Detected : Reached(threshold.Possible) ? ResultStatus.Possible : ResultStatus.None;
        var comparison = higherIsBetter ? "below" : "above";
        return new MonitoringResult(name, value, ResultKind.ModelPerformance, status)
        {
            Message = $"{name} {value.ToString("G6", CultureInfo.InvariantCulture)}: status {status} (Possible when {comparison} {Level(threshold.Possible)}, Detected when {comparison} {Level(threshold.Detected)}).",
            Statistics = statistics,
        };
    }

    private static string Level(double? level) => level?.ToString("G6", CultureInfo.InvariantCulture) ?? "(none)";

    private Dictionary<string, double> Compute(Joined joined, Dictionary<string, double> counts)
    {
        var values = new Dictionary<string, double>();
        switch (Options.Task)
        {
            case PerformanceTask.BinaryClassification:
            {
                var binary = PerformanceMetrics.BinaryClassification<string>(joined.ActualClasses.ToArray(), joined.PredictedClasses.ToArray(), Options.PositiveClass);
                values[PerformanceResultNames.Accuracy] = binary.Accuracy;
                values[PerformanceResultNames.Precision] = binary.Precision;
                values[PerformanceResultNames.Recall] = binary.Recall;
                values[PerformanceResultNames.F1] = binary.F1;
                counts["true_positives"] = binary.TruePositives;
                counts["false_positives"] = binary.FalsePositives;
                counts["true_negatives"] = binary.TrueNegatives;
                counts["false_negatives"] = binary.FalseNegatives;
                var positive = joined.ActualClasses.Select(c => c == Options.PositiveClass).ToArray();
                if (Options.ScoreColumn is not null) values[PerformanceResultNames.RocAuc] = PerformanceMetrics.RocAuc(positive, joined.Scores.ToArray());
                if (Options.ProbabilityColumn is not null) values[PerformanceResultNames.LogLoss] = PerformanceMetrics.LogLoss(positive, joined.Probabilities.ToArray());
                break;
            }
            case PerformanceTask.MulticlassClassification:
            {
                var multi = PerformanceMetrics.MulticlassClassification<string>(joined.ActualClasses.ToArray(), joined.PredictedClasses.ToArray());
                values[PerformanceResultNames.Accuracy] = multi.Accuracy;
                values[PerformanceResultNames.PrecisionMacro] = multi.MacroPrecision;
                values[PerformanceResultNames.RecallMacro] = multi.MacroRecall;
                values[PerformanceResultNames.F1Macro] = multi.MacroF1;
                counts["class_count"] = multi.ClassCount;
                break;
            }
            default:
            {
                var regression = PerformanceMetrics.Regression(joined.ActualNumbers.ToArray(), joined.PredictedNumbers.ToArray());
                values[PerformanceResultNames.MeanAbsoluteError] = regression.MeanAbsoluteError;
                values[PerformanceResultNames.RootMeanSquaredError] = regression.RootMeanSquaredError;
                values[PerformanceResultNames.R2] = regression.R2;
                break;
            }
        }
        return values;
    }

    /// <summary>The window's rows that have a prediction (and score and probability when configured), by key; the last
    /// occurrence of a key wins.</summary>
    private WindowRows Joinable(MonitoringWindow window)
    {
        var prediction = Options.ResolvedPredictionColumn;
        bool binary = Options.Task == PerformanceTask.BinaryClassification;
        string? score = binary ? Options.ScoreColumn : null, probability = binary ? Options.ProbabilityColumn : null;
        var rows = new WindowRows();
        foreach (var column in new[] { prediction, score, probability })
            if (column is not null && window.RowCount > 0 && !window.Data.Any(b => b.Length > 0 && b.Schema.GetFieldIndex(column) >= 0))
                throw new ValidationException($"PerformanceApplication: column '{column}' is in none of the captured files of {window}; its columns are {Names.ListSome(window.Data.SelectMany(b => b.Schema.FieldsList.Select(f => f.Name)).Distinct())}. Set PerformanceOptions.{(column == prediction ? nameof(PerformanceOptions.PredictionColumn) : column == score ? nameof(PerformanceOptions.ScoreColumn) : nameof(PerformanceOptions.ProbabilityColumn))} to one of them.");
        foreach (var batch in window.Data)
        {
            if (batch.Column(CaptureColumns.RequestId) is not StringArray ids || batch.Column(CaptureColumns.Row) is not Int32Array rowIndexes)
                throw new ValidationException($"PerformanceApplication: a batch of {window} has no '{CaptureColumns.RequestId}' (string) and '{CaptureColumns.Row}' (int32) columns; pass the batches of ReadCapturedAsync.");
            var predicted = Column(batch, prediction);
            var scores = score is null ? null : Column(batch, score);
            var probabilities = probability is null ? null : Column(batch, probability);
            if (predicted is not null) rows.PredictionKind ??= KindOf(predicted.Data.DataType);
            for (int i = 0; i < batch.Length; i++)
            {
                if (predicted is null || predicted.IsNull(i) || (score is not null && (scores is null || scores.IsNull(i))) || (probability is not null && (probabilities is null || probabilities.IsNull(i))))
                {
                    rows.Unpredicted++;
                    continue;
                }
                var key = new GroundTruthKey(ids.GetString(i), rowIndexes.GetValue(i) ?? 0);
                rows.Rows[key] = new PredictedRow(
                    Options.Task == PerformanceTask.Regression ? null : ClassOf(predicted, i),
                    Options.Task == PerformanceTask.Regression ? NumberOf(predicted, i) : double.NaN,
                    scores is null ? double.NaN : NumberOf(scores, i),
                    probabilities is null ? double.NaN : NumberOf(probabilities, i));
            }
        }
        return rows;
    }

    /// <summary>The latest label of each key of the window (files in logging order, rows in order: later wins).</summary>
    private async Task<(Dictionary<GroundTruthKey, (string? Class, double Number)> Labels, ValueKind? Kind)> LabelsAsync(MonitoringWindow window, ICollection<GroundTruthKey> keys, CancellationToken cancellationToken)
    {
        var labels = new Dictionary<GroundTruthKey, (string?, double)>();
        ValueKind? kind = null;
        if (keys.Count == 0) return (labels, kind);
        await foreach (var batch in window.Project.Monitoring.ReadGroundTruthAsync(window.Endpoint.Id, cancellationToken).ConfigureAwait(false))
        {
            if (batch.Schema.GetFieldIndex(Options.LabelColumn) < 0) continue;
            var label = batch.Column(Options.LabelColumn);
            kind ??= KindOf(label.Data.DataType);
            var ids = (StringArray)batch.Column(CaptureColumns.RequestId);
            var rows = (Int32Array)batch.Column(CaptureColumns.Row);
            for (int i = 0; i < batch.Length; i++)
            {
                var key = new GroundTruthKey(ids.GetString(i), rows.GetValue(i) ?? 0);
                if (!keys.Contains(key) || label.IsNull(i)) continue;
                labels[key] = Options.Task == PerformanceTask.Regression ? (null, NumberOf(label, i)) : (ClassOf(label, i), double.NaN);
            }
        }
        return (labels, kind);
    }

    private static Joined Join(WindowRows rows, Dictionary<GroundTruthKey, (string? Class, double Number)> labels)
    {
        var joined = new Joined();
        foreach (var (key, row) in rows.Rows)
        {
            if (!labels.TryGetValue(key, out var label))
            {
                joined.Unlabelled++;
                continue;
            }
            joined.Labelled++;
            joined.ActualClasses.Add(label.Class!);
            joined.PredictedClasses.Add(row.Class!);
            joined.ActualNumbers.Add(label.Number);
            joined.PredictedNumbers.Add(row.Number);
            joined.Scores.Add(row.Score);
            joined.Probabilities.Add(row.Probability);
        }
        return joined;
    }

    private static IArrowArray? Column(RecordBatch batch, string name) => batch.Schema.GetFieldIndex(name) >= 0 ? batch.Column(name) : null;

    private enum ValueKind { Bool, Number, Text }

    private static ValueKind KindOf(IArrowType type) => type.TypeId switch
    {
        ArrowTypeId.Boolean => ValueKind.Bool,
        ArrowTypeId.String => ValueKind.Text,
        _ => ValueKind.Number,
    };

    /// <summary>A class as text: bool as <c>true</c>/<c>false</c>, numbers in invariant culture (integral doubles as integers).</summary>
    private static string ClassOf(IArrowArray array, int i) => array switch
    {
        BooleanArray a => a.GetValue(i)!.Value ? "true" : "false",
        StringArray a => a.GetString(i),
        _ => NumberOf(array, i).ToString("R", CultureInfo.InvariantCulture),
    };

    private static double NumberOf(IArrowArray array, int i) => array switch
    {
        DoubleArray a => a.GetValue(i)!.Value,
        FloatArray a => a.GetValue(i)!.Value,
        Int8Array a => a.GetValue(i)!.Value,
        Int16Array a => a.GetValue(i)!.Value,
        Int32Array a => a.GetValue(i)!.Value,
        Int64Array a => a.GetValue(i)!.Value,
        UInt8Array a => a.GetValue(i)!.Value,
        UInt16Array a => a.GetValue(i)!.Value,
        UInt32Array a => a.GetValue(i)!.Value,
        UInt64Array a => a.GetValue(i)!.Value,
        BooleanArray a => a.GetValue(i)!.Value ? 1 : 0,
        _ => throw new ValidationException($"PerformanceApplication: a column of type {array.Data.DataType.Name} holds no number; use a numeric prediction, score, probability or label column."),
    };

    private readonly record struct PredictedRow(string? Class, double Number, double Score, double Probability);

    private sealed class WindowRows
    {
        public Dictionary<GroundTruthKey, PredictedRow> Rows { get; } = [];

        public long Unpredicted { get; set; }

        public ValueKind? PredictionKind { get; set; }
    }

    private sealed class Joined
    {
        public long Labelled { get; set; }

        public long Unlabelled { get; set; }

        public List<string> ActualClasses { get; } = [];

        public List<string> PredictedClasses { get; } = [];

        public List<double> ActualNumbers { get; } = [];

        public List<double> PredictedNumbers { get; } = [];

        public List<double> Scores { get; } = [];

        public List<double> Probabilities { get; } = [];
    }
}
