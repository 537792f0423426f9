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

    /// <summary>The counter of windows analysed (tags <c>mlops.project</c>, <c>mlops.model.name</c>, <c>mlops.model.version</c>).</summary>
    public const string AnalysisWindowsInstrument = "mlops.monitoring.analysis.windows";

    /// <summary>The counter of monitoring applications that failed on a window (same tags, and <c>mlops.monitoring.application</c>).</summary>
    public const string AnalysisApplicationErrorsInstrument = "mlops.monitoring.analysis.application_errors";

    /// <summary>The gauge of the requests of the latest window analysed by the <c>operations</c> application (endpoint tags).</summary>
    public const string WindowRequestsInstrument = "mlops.monitoring.window.requests";

    /// <summary>The gauge of the failed requests of the latest analysed window (endpoint tags).</summary>
    public const string WindowErrorsInstrument = "mlops.monitoring.window.errors";

    /// <summary>The gauge of the error rate of the latest analysed window (endpoint tags).</summary>
    public const string WindowErrorRateInstrument = "mlops.monitoring.window.error_rate";

    /// <summary>The gauge of the capture records dropped in the latest analysed window (endpoint tags).</summary>
    public const string WindowDroppedInstrument = "mlops.monitoring.window.dropped";

    /// <summary>The gauge of the predictions per second of the latest analysed window (endpoint tags).</summary>
    public const string WindowPredictionsPerSecondInstrument = "mlops.monitoring.window.predictions_per_second";

    /// <summary>The histogram of the latency percentiles of each analysed window in milliseconds (endpoint tags and
    /// <c>mlops.monitoring.quantile</c>: 0.5, 0.9, 0.99).</summary>
    public const string WindowLatencyInstrument = "mlops.monitoring.window.latency";
}
