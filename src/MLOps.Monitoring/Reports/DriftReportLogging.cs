using Microsoft.Extensions.Logging;
using MLOps.Artifacts;

namespace MLOps.Monitoring.Reports;

/// <summary>Logs a <see cref="DriftReport"/> to the project as an artifact (<c>project.Monitoring.LogDriftReportAsync</c>).</summary>
public static class DriftReportLogging
{
    extension(MonitoringCatalog monitoring)
    {
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
    [LoggerMessage(EventId = 3401, Level = LogLevel.Information,
        Message = "Drift report of model endpoint {Endpoint} logged as {Uri} ({Features} features, {Bytes} bytes)")]
    public static partial void Logged(ILogger logger, string endpoint, string uri, int features, int bytes);
}
