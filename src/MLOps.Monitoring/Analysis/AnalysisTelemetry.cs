using System.Diagnostics.Metrics;

namespace MLOps.Monitoring.Analysis;

/// <summary>The analysis's instruments, from the project's <see cref="MLOpsOptions.MeterFactory"/> when set, else from a process-wide meter.</summary>
internal sealed class AnalysisTelemetry
{
    /// <summary>The instruments of the factory's meter, or the process-wide ones when it is null.</summary>
    public static AnalysisTelemetry For(IMeterFactory? factory)
        => PackageInstruments<AnalysisTelemetry>.For(factory, MonitoringDiagnostics.MeterName, static meter => new AnalysisTelemetry(meter));

    private AnalysisTelemetry(Meter meter)
    {
        Windows = meter.CreateCounter<long>(MonitoringDiagnostics.AnalysisWindowsInstrument, "{window}", "Windows analysed per endpoint.");
        ApplicationErrors = meter.CreateCounter<long>(MonitoringDiagnostics.AnalysisApplicationErrorsInstrument, "{error}", "Monitoring applications that failed on a window (threw, timed out or returned invalid output).");
        Requests = meter.CreateGauge<long>(MonitoringDiagnostics.WindowRequestsInstrument, "{request}", "Requests of the latest analysed window (every request, sampled or not).");
        Errors = meter.CreateGauge<long>(MonitoringDiagnostics.WindowErrorsInstrument, "{request}", "Failed requests of the latest analysed window.");
        ErrorRate = meter.CreateGauge<double>(MonitoringDiagnostics.WindowErrorRateInstrument, "1", "Error rate of the latest analysed window.");
        Dropped = meter.CreateGauge<long>(MonitoringDiagnostics.WindowDroppedInstrument, "{record}", "Capture records dropped in the latest analysed window.");
        PredictionsPerSecond = meter.CreateGauge<double>(MonitoringDiagnostics.WindowPredictionsPerSecondInstrument, "{prediction}/s", "Predictions per second of the latest analysed window.");
        Latency = meter.CreateHistogram<double>(MonitoringDiagnostics.WindowLatencyInstrument, "ms", "Latency percentiles (tag mlops.monitoring.quantile: 0.5, 0.9, 0.99) of each analysed window, from the captured requests.");
    }

    public Counter<long> Windows { get; }

    public Counter<long> ApplicationErrors { get; }

    public Gauge<long> Requests { get; }

    public Gauge<long> Errors { get; }

    public Gauge<double> ErrorRate { get; }

    public Gauge<long> Dropped { get; }

    public Gauge<double> PredictionsPerSecond { get; }

    public Histogram<double> Latency { get; }
}
