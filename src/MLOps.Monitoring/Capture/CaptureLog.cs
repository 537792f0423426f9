using Microsoft.Extensions.Logging;

namespace MLOps.Monitoring.Capture;

/// <summary>The capture's log messages (source-generated; category <c>MLOps.Monitoring</c>).</summary>
internal static partial class CaptureLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information,
        Message = "Capture started on {Endpoints} model endpoints of project {Project} (sampling rate {SamplingRate}, buffer {Capacity})")]
    public static partial void Started(ILogger logger, int endpoints, string project, double samplingRate, int capacity);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error,
        Message = "Capture could not store {Records} records of model endpoint {Endpoint} ({EndpointId}); they are lost")]
    public static partial void WriteFailed(ILogger logger, Exception exception, int records, string endpoint, string endpointId);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error,
        Message = "Capture could not update the counters of model endpoint {Endpoint} ({EndpointId})")]
    public static partial void CountersFailed(ILogger logger, Exception exception, string endpoint, string endpointId);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning,
        Message = "The capture buffer is full: a record of model endpoint {Endpoint} was dropped ({Dropped} so far)")]
    public static partial void Dropped(ILogger logger, string endpoint, long dropped);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning,
        Message = "No reference statistics for model endpoint {Endpoint}: {Reason}")]
    public static partial void NoReference(ILogger logger, string endpoint, string reason);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information,
        Message = "Capture stopped on project {Project}: {Written} records written, {Dropped} dropped, {Failed} failed writes")]
    public static partial void Stopped(ILogger logger, string project, long written, long dropped, long failed);

    [LoggerMessage(EventId = 3470, Level = LogLevel.Information,
        Message = "Capture follows model endpoint {Endpoint} ({EndpointId}) of project {Project}: the server now answers with a version it did not serve when the capture started")]
    public static partial void Following(ILogger logger, string endpoint, string endpointId, string project);

    [LoggerMessage(EventId = 3471, Level = LogLevel.Error,
        Message = "Capture could not register model endpoint {Endpoint} of project {Project}; its sampled records are lost until it can (tried again at the next flush, its counters are kept)")]
    public static partial void RegisterFailed(ILogger logger, Exception exception, string endpoint, string project);
}
