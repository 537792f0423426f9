namespace MLOps.Monitoring.Applications;

/// <summary>
/// A monitoring application (MLRun's model-monitoring application): it gets each closed window of an endpoint's captured data,
/// with the endpoint and its reference, and returns named results (a value, a kind and a status) and metrics, which are stored
/// and queried like the built-in ones. The built-in drift and operations analyses are applications too.
/// </summary>
/// <remarks>
/// An application runs isolated: an exception or a run longer than its time-out is recorded as one result with
/// <see cref="ResultStatus.Error"/> for that window and never stops the other applications or later windows.
/// Implementations must be thread-safe when one instance is registered for several endpoints.
/// </remarks>
public interface IMonitoringApplication
{
    /// <summary>The application's name, unique within a project (lower case, for example <c>drift</c>); results are stored under it.</summary>
    string Name { get; }

    /// <summary>Analyses one window.</summary>
    /// <param name="window">The window: the endpoint, its reference, the time range and the captured rows.</param>
    /// <param name="cancellationToken">Cancelled on shutdown or when the application's time-out expires.</param>
    /// <returns>The results and metrics of the window.</returns>
    Task<ApplicationOutput> AnalyzeAsync(MonitoringWindow window, CancellationToken cancellationToken);
}
