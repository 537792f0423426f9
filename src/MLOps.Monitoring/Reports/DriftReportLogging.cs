using System.Globalization;
using Microsoft.Extensions.Logging;
using MLOps.Artifacts;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Capture;
using MLOps.Monitoring.Drift;

namespace MLOps.Monitoring.Reports;

/// <summary>Builds the <see cref="DriftReport"/> of an endpoint's window from its captured data (<c>project.Monitoring.CreateDriftReportAsync</c>)
/// and logs a report to the project as an artifact (<c>project.Monitoring.LogDriftReportAsync</c>).</summary>
public static class DriftReportLogging
{
    /// <summary>How many windows before the reported one <c>CreateDriftReportAsync</c> reads stored drift results of, for the time series.</summary>
    public const int HistoryWindows = 48;

    extension(MonitoringCatalog monitoring)
    {
        /// <summary>Builds the drift report of one window of an endpoint: reads the window's captured rows and the endpoint's reference
        /// and analyses them as the built-in <c>drift</c> application does (the registered one, with its options and its cached references;
        /// <see cref="MonitoringOptions.Drift"/> when it was removed), one section per analysed feature with the detector's status and
        /// message, the overall status of the window, and per feature a time series of its PSI over the stored <c>drift</c> results of up to
        /// <see cref="HistoryWindows"/> previous windows and this one (markers coloured by each window's status). Log it with
        /// <c>LogDriftReportAsync(key, report)</c>.</summary>
        /// <param name="endpointId">The endpoint's id.</param>
        /// <param name="windowStart">The window's start: a multiple of <see cref="MonitoringOptions.AnalysisWindow"/> (UTC), as in
        /// <see cref="Analysis.WindowAnalysis.Start"/>. The window need not be closed or analysed yet.</param>
        /// <param name="cancellationToken">Cancels the operation.</param>
        /// <returns>The report, titled <c>Drift of {endpoint name}</c>.</returns>
        /// <exception cref="NotFoundException">No endpoint of this project has the id (an endpoint of another project is not found either).</exception>
        /// <exception cref="ValidationException"><paramref name="windowStart"/> is not the start of a window, the endpoint has no usable
        /// reference, or the window has no captured row (each message names the fix).</exception>
        public async Task<DriftReport> CreateDriftReportAsync(string endpointId, DateTimeOffset windowStart, CancellationToken cancellationToken = default)
        {
            var endpoint = await monitoring.GetEndpointAsync(endpointId, cancellationToken).ConfigureAwait(false);
            var length = monitoring.Options.AnalysisWindow;
            var start = monitoring.Engine.WindowStart(windowStart);
            if (start != windowStart)
                throw new ValidationException($"windowStart {windowStart:O} is not the start of an analysis window (MonitoringOptions.AnalysisWindow is {length}). Pass {start:O}, the start of the window holding it.");
            if (DriftApplication.Unusable(endpoint.Reference) is { } reason)
                throw new ValidationException($"No drift report for model endpoint '{endpoint.Name}' (endpoint id {endpoint.Id}): {reason}.");
            var end = start + length;
            var data = await monitoring.Engine.ReadWindowAsync(endpoint.Id, start, end, cancellationToken).ConfigureAwait(false);
            try
            {
                var window = new MonitoringWindow(monitoring.Project, endpoint, start, end, data);
                if (window.RowCount == 0)
                    throw new ValidationException($"Model endpoint '{endpoint.Name}' has no captured row in the window [{start:O}, {end:O}) (windowStart). Pass the start of a window with traffic (its first request: {endpoint.FirstRequest?.ToString("O", CultureInfo.InvariantCulture) ?? "none yet"}; ReadCapturedAsync lists the rows).");
                var application = monitoring.Applications.For(endpoint).OfType<DriftApplication>().FirstOrDefault() ?? new DriftApplication(monitoring.Options.Drift);
                var evaluation = await application.EvaluateAsync(window, cancellationToken).ConfigureAwait(false);
                var history = (await monitoring.GetResultsAsync(endpoint.Id, DriftApplication.ApplicationName, null, start - HistoryWindows * length, start, cancellationToken).ConfigureAwait(false))
                    .ToLookup(r => r.Name, StringComparer.Ordinal);
                var report = new DriftReport($"Drift of {endpoint.Name}", endpoint.Name, start, end, evaluation.Drift.Status);
                foreach (var feature in evaluation.Drift.Features)
                {
                    string name = feature.Feature;
                    if (feature.Numeric is { } numeric)
                        report.AddNumeric(evaluation.References.Numeric[name], numeric, feature.Status, feature.Message);
                    else
                        report.AddCategorical(evaluation.References.Categorical[name], feature.Categorical!,
                            ColumnValues.Categories(name, ColumnValues.Arrays(data, CaptureColumns.Input(name))), feature.Status, feature.Message);
                    var points = history[name].GroupBy(r => r.WindowStart).OrderBy(g => g.Key)
                        .Select(g => new DriftReportPoint(g.Key, g.Last().Statistics.GetValueOrDefault("psi", double.NaN), g.Last().Status))
                        .Append(new DriftReportPoint(start, feature.Statistics().GetValueOrDefault("psi", double.NaN), feature.Status));
                    report.AddTimeSeries($"{name} PSI per window", [.. points]);
                }
                var logger = monitoring.Project.LoggerFactory.CreateLogger("MLOps.Monitoring");
                if (logger.IsEnabled(LogLevel.Information))
                    ReportLog.Created(logger, endpoint.Name, start, window.RowCount, report.Features.Count, report.Status);
                return report;
            }
            finally
            {
                foreach (var batch in data) batch.Dispose();
            }
        }

        /// <summary>Logs a drift report as a new version of the artifact <paramref name="key"/>, without artifact options: a
        /// <see cref="ArtifactKind.Plot"/> named <c>{last key segment}.html</c> (see the overload with <see cref="ArtifactOptions"/>).</summary>
        /// <param name="key">A relative artifact key, e.g. <c>monitoring/delay-3/drift-2001-02-01</c>.</param>
        /// <param name="report">The report.</param>
        /// <param name="cancellationToken">Cancels the operation.</param>
        /// <returns>The new artifact version.</returns>
        /// <exception cref="ValidationException">The key is not a valid artifact key.</exception>
        public Task<ArtifactRecord> LogDriftReportAsync(string key, DriftReport report, CancellationToken cancellationToken = default)
            => monitoring.LogDriftReportAsync(key, report, null, cancellationToken);

        /// <summary>Logs a drift report as a new version of the artifact <paramref name="key"/>: a <see cref="ArtifactKind.Plot"/>
        /// named <c>{last key segment}.html</c> holding <see cref="DriftReport.ToHtml"/> as UTF-8 (no byte order mark).</summary>
        /// <param name="key">A relative artifact key, e.g. <c>monitoring/delay-3/drift-2001-02-01</c>.</param>
        /// <param name="report">The report.</param>
        /// <param name="options">Description, tags and producer run (<see cref="ArtifactOptions.ProducerRunId"/>); <see langword="null"/> for none.</param>
        /// <param name="cancellationToken">Cancels the operation.</param>
        /// <returns>The new artifact version (read it back with <c>project.Artifacts.OpenReadAsync(record.Uri)</c>).</returns>
        /// <exception cref="ValidationException">The key is not a valid artifact key.</exception>
        public async Task<ArtifactRecord> LogDriftReportAsync(string key, DriftReport report, ArtifactOptions? options, CancellationToken cancellationToken = default)
        {
            Throw.IfNull(report);
            Names.ArtifactKey(key);
            byte[] page = report.ToUtf8();
            var record = await monitoring.Project.Artifacts.LogBytesAsync(key, page, key.Split('/')[^1] + ".html", ArtifactKind.Plot, options, cancellationToken).ConfigureAwait(false);
            var logger = monitoring.Project.LoggerFactory.CreateLogger("MLOps.Monitoring");
            if (logger.IsEnabled(LogLevel.Information))
                ReportLog.Logged(logger, report.Endpoint, record.Uri, report.Features.Count, page.Length);
            return record;
        }
    }
}

/// <summary>The reports' log messages (source-generated; category <c>MLOps.Monitoring</c>; event ids 3400-3499).</summary>
internal static partial class ReportLog
{
    [LoggerMessage(EventId = 3450, Level = LogLevel.Information,
        Message = "Drift report of model endpoint {Endpoint} for the window starting {WindowStart:O} built from {Rows} captured rows: {Features} features, status {Status}")]
    public static partial void Created(ILogger logger, string endpoint, DateTimeOffset windowStart, long rows, int features, ResultStatus status);

    [LoggerMessage(EventId = 3401, Level = LogLevel.Information,
        Message = "Drift report of model endpoint {Endpoint} logged as {Uri} ({Features} features, {Bytes} bytes)")]
    public static partial void Logged(ILogger logger, string endpoint, string uri, int features, int bytes);
}
