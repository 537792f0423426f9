using System.Collections.Concurrent;
using System.Globalization;
using Apache.Arrow;
using Microsoft.Extensions.Logging;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Capture;
using MLOps.Monitoring.Endpoints;

namespace MLOps.Monitoring.Drift;

/// <summary>
/// The built-in drift analysis, a monitoring application named <c>drift</c>: per window, every <c>input.{feature}</c> column is
/// compared with the reference column of the same name (data drift) and every <c>output.{name}</c> column with its reference column
/// (prediction drift: <see cref="DriftOptions.OutputReferences"/>, else the column of the same name), with the detectors of the
/// <see cref="DriftOptions"/>. Results: one per feature (name = feature) and per output (<c>output.{name}</c>), <c>general_drift</c>
/// (MLRun's value over the features) and <c>drift_status</c> (the endpoint-level status over the features; value = share of
/// decided features that are detected). See docs/monitoring.md, "Drift status".
/// </summary>
/// <remarks>The references are built once per endpoint and reference and kept: from the values of the reference dataset when
/// <see cref="EndpointReference.Source"/> is a dataset URI (<c>store://datasets/...</c>, so the sample tests have a seeded sample),
/// else from the <see cref="EndpointReference.Profile"/> (histograms and top values, no sample). Thread-safe.</remarks>
public sealed class DriftApplication : IMonitoringApplication
{
    /// <summary>The application's name.</summary>
    public const string ApplicationName = "drift";

    /// <summary>The name of the endpoint-level result.</summary>
    public const string StatusResult = "drift_status";

    /// <summary>The name of MLRun's general drift result.</summary>
    public const string GeneralDriftResult = "general_drift";

    private const string DatasetScheme = "store://datasets/";

    private readonly DriftAnalysis _analysis;
    private readonly ConcurrentDictionary<(string Endpoint, EndpointReference Reference), Lazy<Task<DriftReferences>>> _references = new();

    /// <summary>Creates the application.</summary>
    /// <param name="options">The detectors and thresholds; null for the defaults.</param>
    /// <exception cref="ValidationException">The options are invalid (every problem is listed).</exception>
    public DriftApplication(DriftOptions? options = null) => _analysis = new DriftAnalysis(options);

    /// <inheritdoc />
    public string Name => ApplicationName;

    /// <summary>The options.</summary>
    public DriftOptions Options => _analysis.Options;

    /// <inheritdoc />
    public async Task<ApplicationOutput> AnalyzeAsync(MonitoringWindow window, CancellationToken cancellationToken)
    {
        Throw.IfNull(window);
        if (Unusable(window.Reference) is { } reason)
        {
            DriftLog.NoReference(window.Project.LoggerFactory.CreateLogger("MLOps.Monitoring"), window.Endpoint.Name, reason);
            return new ApplicationOutput
            {
                Results = [new MonitoringResult(StatusResult, double.NaN, ResultKind.DataDrift, ResultStatus.InsufficientData) { Message = reason }],
            };
        }
        var evaluation = await EvaluateAsync(window, cancellationToken).ConfigureAwait(false);
        var features = evaluation.Drift.Features;
        var report = evaluation.Drift;
        var results = new List<MonitoringResult>(evaluation.Results);
        results.Add(new MonitoringResult(GeneralDriftResult, report.GeneralDrift, ResultKind.DataDrift, ResultStatus.Irrelevant)
        {
            Message = "MLRun's general drift: the mean of the features' mean total variation and mean Hellinger distance",
        });
        int detected = features.Count(f => f.Status == ResultStatus.Detected);
        results.Add(new MonitoringResult(StatusResult, report.DetectedShare, ResultKind.DataDrift, report.Status)
        {
            Message = string.Create(CultureInfo.InvariantCulture,
                $"{detected} of {features.Count(f => f.Status >= ResultStatus.None)} decided features detected ({features.Count} analysed); detected when the share is >= {Options.DetectedShare:G4} with at least one: {report.Status}"),
            Statistics = new Dictionary<string, double>
            {
                ["features"] = features.Count,
                ["detected"] = detected,
                ["possible"] = features.Count(f => f.Status == ResultStatus.Possible),
                ["insufficient"] = features.Count(f => f.Status == ResultStatus.InsufficientData),
                ["general_drift"] = report.GeneralDrift,
            },
        });
        return new ApplicationOutput { Results = results };
    }

    /// <summary>Analyses a window whose endpoint has a usable reference (<see cref="Unusable"/> is null): the references, the
    /// per-feature drift with the endpoint-level summary, and the per-feature and per-output results in order (without
    /// <c>general_drift</c> and <c>drift_status</c>). The drift report (<c>CreateDriftReportAsync</c>) uses it too.</summary>
    internal async Task<DriftEvaluation> EvaluateAsync(MonitoringWindow window, CancellationToken cancellationToken)
    {
        var logger = window.Project.LoggerFactory.CreateLogger("MLOps.Monitoring");
        var endpoint = window.Endpoint;
        var references = await ReferencesAsync(window, logger, cancellationToken).ConfigureAwait(false);

        var results = new List<MonitoringResult>();
        var features = new List<FeatureDrift>();
        foreach (string column in Columns(window.Data, CaptureColumns.InputPrefix))
        {
            cancellationToken.ThrowIfCancellationRequested();
            string feature = column[CaptureColumns.InputPrefix.Length..];
            if (Options.Features is { } only && !only.Contains(feature, StringComparer.Ordinal)) continue;
            if (references.KindOf(feature) is null)
            {
                results.Add(NoDrift(feature, ResultKind.DataDrift, $"feature '{feature}' has no column in the endpoint's reference ({string.Join(", ", references.Columns)}): not analysed"));
                continue;
            }
            var drift = _analysis.Analyze(references, feature, feature, ColumnValues.Arrays(window.Data, column));
            features.Add(drift);
            results.Add(ToResult(drift, ResultKind.DataDrift));
        }
        foreach (string column in Columns(window.Data, CaptureColumns.OutputPrefix))
        {
            cancellationToken.ThrowIfCancellationRequested();
            string output = column[CaptureColumns.OutputPrefix.Length..];
            string referenceColumn = Options.OutputReferences.GetValueOrDefault(output) ?? output;
            if (references.KindOf(referenceColumn) is null)
            {
                string why = Options.OutputReferences.ContainsKey(output)
                    ? $"its reference column '{referenceColumn}' (DriftOptions.OutputReferences) is not in the endpoint's reference ({string.Join(", ", references.Columns)})"
                    : $"the reference has no column '{output}' and DriftOptions.OutputReferences maps no column to it (e.g. {output} -> the label column)";
                DriftLog.NoOutputReference(logger, output, endpoint.Name, why);
                results.Add(NoDrift(column, ResultKind.ConceptDrift, $"no prediction drift for output '{output}': {why}"));
                continue;
            }
            results.Add(ToResult(_analysis.Analyze(references, referenceColumn, column, ColumnValues.Arrays(window.Data, column)), ResultKind.ConceptDrift));
        }
        return new DriftEvaluation(references, _analysis.Summarize(features), results);
    }

    /// <summary>Why the drift of an endpoint with this reference cannot be analysed (naming the fix), or null when it can.</summary>
    internal static string? Unusable(EndpointReference? reference)
    {
        if (reference is null)
            return "the endpoint has no reference: link the training dataset to the model version (ModelLogOptions.TrainingData) or register the endpoint with a reference (EndpointReference.FromProfile)";
        if (reference.Source?.StartsWith(DatasetScheme, StringComparison.Ordinal) == true || reference.Profile is not null)
            return null;
        return $"the endpoint's reference '{reference.Source}' is not a dataset (store://datasets/...) and carries no profile: give the endpoint a reference dataset or a profile";
    }

    private async Task<DriftReferences> ReferencesAsync(MonitoringWindow window, ILogger logger, CancellationToken cancellationToken)
    {
        var reference = window.Reference!;
        var key = (window.Endpoint.Id, reference);
        var lazy = _references.GetOrAdd(key, _ => new Lazy<Task<DriftReferences>>(() => BuildAsync(window, reference, logger, cancellationToken)));
        try
        {
            return await lazy.Value.ConfigureAwait(false);
        }
        catch
        {
            _references.TryRemove(KeyValuePair.Create(key, lazy));
            throw;
        }
    }

    private async Task<DriftReferences> BuildAsync(MonitoringWindow window, EndpointReference reference, ILogger logger, CancellationToken cancellationToken)
    {
        bool dataset = reference.Source?.StartsWith(DatasetScheme, StringComparison.Ordinal) == true;
        var references = dataset
            ? await DriftReferences.FromDatasetAsync(window.Project, reference.Source!, Options.Reference, cancellationToken).ConfigureAwait(false)
            : DriftReferences.FromProfile(reference.Profile!);
        DriftLog.ReferencesBuilt(logger, window.Endpoint.Name, dataset ? reference.Source! : "its profile", references.Numeric.Count, references.Categorical.Count);
        return references;
    }

    private static IEnumerable<string> Columns(IReadOnlyList<RecordBatch> data, string prefix)
        => data.SelectMany(b => b.Schema.FieldsList).Select(f => f.Name).Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal);

    private static MonitoringResult NoDrift(string name, ResultKind kind, string message)
        => new(name, double.NaN, kind, ResultStatus.Irrelevant) { Message = message };

    private static MonitoringResult ToResult(FeatureDrift drift, ResultKind kind)
        => new(drift.Feature, drift.Value, kind, drift.Status) { Message = drift.Message, Statistics = drift.Statistics() };
}

/// <summary>What <see cref="DriftApplication"/> found in a window: the references it compared with, the per-feature drift and its
/// endpoint-level summary, and the per-feature and per-output results in order.</summary>
internal sealed record DriftEvaluation(DriftReferences References, WindowDrift Drift, IReadOnlyList<MonitoringResult> Results);
