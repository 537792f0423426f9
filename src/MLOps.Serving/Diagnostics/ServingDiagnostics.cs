namespace MLOps.Serving;

/// <summary>
/// The names of the serving package's telemetry, for OpenTelemetry (<c>AddSource(ServingDiagnostics.ActivitySourceName)</c>,
/// <c>AddMeter(ServingDiagnostics.MeterName)</c>, or <c>"MLOps.*"</c> for every package) and for listeners in tests.
/// See docs/serving.md, "Observability", for the spans, instruments and tags.
/// </summary>
public static class ServingDiagnostics
{
    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> of inference, step, model load and swap spans.</summary>
    public const string ActivitySourceName = "MLOps.Serving";

    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> of the serving instruments.</summary>
    public const string MeterName = "MLOps.Serving";
}
