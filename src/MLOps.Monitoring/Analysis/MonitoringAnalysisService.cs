using Microsoft.Extensions.Hosting;

namespace MLOps.Monitoring.Analysis;

/// <summary>
/// The scheduled analysis in a host (registered by <c>AddMonitoring()</c> unless <see cref="MonitoringOptions.ScheduledAnalysis"/>
/// is false): runs an <see cref="AnalysisSchedule"/> of the project's monitoring from host start to host stop.
/// </summary>
public sealed class MonitoringAnalysisService : BackgroundService
{
    private readonly Func<CancellationToken, Task<MonitoringCatalog>> _catalog;

    internal MonitoringAnalysisService(Func<CancellationToken, Task<MonitoringCatalog>> catalog) => _catalog = catalog;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var catalog = await _catalog(stoppingToken).ConfigureAwait(false);
            var schedule = await catalog.StartAnalysisAsync(stoppingToken).ConfigureAwait(false);
            await using (schedule.ConfigureAwait(false))
                await Task.Delay(Timeout.InfiniteTimeSpan, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // the host stops
        }
    }
}
