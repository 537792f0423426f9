using Microsoft.Extensions.Logging;

namespace MLOps.Monitoring.Drift;

/// <summary>The drift application's log messages (source-generated; category <c>MLOps.Monitoring</c>; event ids 3100-3199).</summary>
internal static partial class DriftLog
{
    [LoggerMessage(EventId = 3101, Level = LogLevel.Information,
        Message = "Drift references of model endpoint {Endpoint} built from {Source}: {Numeric} numeric and {Categorical} categorical columns")]
    public static partial void ReferencesBuilt(ILogger logger, string endpoint, string source, int numeric, int categorical);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning,
        Message = "No drift analysis for model endpoint {Endpoint}: {Reason}")]
    public static partial void NoReference(ILogger logger, string endpoint, string reason);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information,
        Message = "No prediction drift for output {Output} of model endpoint {Endpoint}: {Reason}")]
    public static partial void NoOutputReference(ILogger logger, string output, string endpoint, string reason);
}
