using Microsoft.Extensions.Logging;

namespace MLOps.Monitoring.GroundTruth;

/// <summary>The ground truth's and the performance application's log messages (source-generated; category <c>MLOps.Monitoring</c>).</summary>
internal static partial class GroundTruthLog
{
    [LoggerMessage(EventId = 3300, Level = LogLevel.Information,
        Message = "Ground truth logged for model endpoint {Endpoint} ({EndpointId}): {Rows} rows, {Matched} matching captured rows")]
    public static partial void Logged(ILogger logger, string endpoint, string endpointId, int rows, int matched);

    [LoggerMessage(EventId = 3301, Level = LogLevel.Warning,
        Message = "Ground truth stored for model endpoint {Endpoint} ({EndpointId}) with {Unmatched} rows that match no captured row yet: {Keys}")]
    public static partial void StoredUnmatched(ILogger logger, string endpoint, string endpointId, int unmatched, string keys);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Warning,
        Message = "Ground truth rejected for model endpoint {Endpoint} ({EndpointId}): {Unmatched} of {Rows} rows match no captured row")]
    public static partial void RejectedUnmatched(ILogger logger, string endpoint, string endpointId, int unmatched, int rows);
}
