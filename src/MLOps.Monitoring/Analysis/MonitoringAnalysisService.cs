using Microsoft.Extensions.Hosting;

namespace MLOps.Monitoring.Analysis;

/// <summary>
/// The scheduled analysis in a host (registered by <c>AddMonitoring()</c> unless <see cref="MonitoringOptions.ScheduledAnalysis"/>
/// is false): runs an <see cref="AnalysisSchedule"/> of the project's monitoring from host start to host stop.
/// </summary>
public sealed class MonitoringAnalysisService : BackgroundService
{
    private readonly Func<CancellationToken, Task<MonitoringCatalog>> _catalog;

    private readonly TaskCompletionSource<AnalysisSchedule> _schedule = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal MonitoringAnalysisService(Func<CancellationToken, Task<MonitoringCatalog>> catalog) => _catalog = catalog;

    /// <summary>The running schedule, once the host has started it (for example to wait for a pass with
    /// <see cref="AnalysisSchedule.WaitForPassAsync"/>); cancelled when the host stops before it started.</summary>
    public Task<AnalysisSchedule> Schedule => _schedule.Task;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var catalog = await _catalog(stoppingToken).ConfigureAwait(false);
            var schedule = await catalog.StartAnalysisAsync(stoppingToken).ConfigureAwait(false);
            await using (schedule.ConfigureAwait(false))
            {
                _schedule.TrySetResult(schedule);
                await Task.Delay(Timeout.InfiniteTimeSpan, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // the host stops
        }
        catch (Exception ex)
        {
            _schedule.TrySetException(ex);
            throw;
        }
        finally
        {
            _schedule.TrySetCanceled(stoppingToken);
        }
    }
}
