namespace MLOps.Monitoring;

/// <summary>The names of the monitoring package's <see cref="System.Diagnostics.ActivitySource"/> and
/// <see cref="System.Diagnostics.Metrics.Meter"/>, for OpenTelemetry's <c>AddSource</c>/<c>AddMeter</c> (or <c>"MLOps.*"</c>).</summary>
public static class MonitoringDiagnostics
{
    /// <summary>The activity source's name.</summary>
    public const string ActivitySourceName = "MLOps.Monitoring";

    /// <summary>The meter's name.</summary>
    public const string MeterName = "MLOps.Monitoring";
}
