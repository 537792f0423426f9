using Microsoft.Extensions.Logging;

namespace MLOps.Monitoring.Analysis;

/// <summary>The analysis's log messages (source-generated; category <c>MLOps.Monitoring</c>; event ids 3200-3299).</summary>
internal static partial class AnalysisLog
{
    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning,
        Message = "Monitoring application {Application} failed on {Window}: {Reason}")]
    public static partial void ApplicationFailed(ILogger logger, Exception? exception, string application, string window, string reason);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Warning,
        Message = "Monitoring application {Application} timed out after {Timeout} on {Window}; it was cancelled and abandoned")]
    public static partial void ApplicationTimedOut(ILogger logger, string application, TimeSpan timeout, string window);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Error,
        Message = "The analysis of model endpoint {Endpoint} ({EndpointId}) failed; the schedule retries it on its next pass")]
    public static partial void EndpointFailed(ILogger logger, Exception exception, string endpoint, string endpointId);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Information,
        Message = "Window [{Start:O}, {End:O}) of model endpoint {EndpointId} is claimed by another analysis owner; left to it")]
    public static partial void ClaimedElsewhere(ILogger logger, string endpointId, DateTimeOffset start, DateTimeOffset end);

    [LoggerMessage(EventId = 3205, Level = LogLevel.Debug,
        Message = "Analysed the window from {Start:O} of model endpoint {EndpointId} ({Rows} rows) with {Applications} applications: {Results} results")]
    public static partial void WindowAnalyzed(ILogger logger, string endpointId, DateTimeOffset start, long rows, int applications, int results);

    [LoggerMessage(EventId = 3206, Level = LogLevel.Error,
        Message = "A scheduled analysis pass of project {Project} failed; the next pass runs in {Interval}")]
    public static partial void PassFailed(ILogger logger, Exception exception, string project, TimeSpan interval);

    [LoggerMessage(EventId = 3207, Level = LogLevel.Information,
        Message = "Scheduled analysis of project {Project} started: windows of {Window}, every {Interval}, owner {Owner}")]
    public static partial void ScheduleStarted(ILogger logger, string project, TimeSpan window, TimeSpan interval, string owner);

    [LoggerMessage(EventId = 3208, Level = LogLevel.Warning,
        Message = "Capture could not store the per-minute traffic of model endpoint {Endpoint} ({EndpointId}); it is kept for the next flush")]
    public static partial void TrafficFailed(ILogger logger, Exception exception, string endpoint, string endpointId);
}
