namespace MLOps.Monitoring;

/// <summary>The names of the monitoring package's <see cref="System.Diagnostics.ActivitySource"/> and
/// <see cref="System.Diagnostics.Metrics.Meter"/>, for OpenTelemetry's <c>AddSource</c>/<c>AddMeter</c> (or <c>"MLOps.*"</c>).</summary>
public static class MonitoringDiagnostics
{
    /// <summary>The activity source's name.</summary>
    public const string ActivitySourceName = "MLOps.Monitoring";

    /// <summary>The meter's name.</summary>
    public const string MeterName = "MLOps.Monitoring";

    /// <summary>The counter of captured records dropped because the capture buffer was full (tags <c>mlops.project</c>,
    /// <c>mlops.model.name</c>, <c>mlops.model.version</c>).</summary>
    public const string CaptureDroppedInstrument = "mlops.monitoring.capture.dropped";

    /// <summary>The counter of captured records lost because the writer failed to store them (same tags, and <c>error.type</c>).</summary>
    public const string CaptureFailedInstrument = "mlops.monitoring.capture.failed";
}
