using System.Diagnostics.Metrics;

namespace MLOps.Monitoring.Capture;

/// <summary>The capture's instruments, from the project's <see cref="MLOpsOptions.MeterFactory"/> when set, else from a process-wide meter.</summary>
internal sealed class CaptureTelemetry
{
    private static readonly Meter s_meter = new(MonitoringDiagnostics.MeterName);

    public CaptureTelemetry(IMeterFactory? factory)
    {
        var meter = factory?.Create(new MeterOptions(MonitoringDiagnostics.MeterName)) ?? s_meter;
        Dropped = meter.CreateCounter<long>(MonitoringDiagnostics.CaptureDroppedInstrument, "{record}", "Captured inference records dropped because the capture buffer was full.");
        Failed = meter.CreateCounter<long>(MonitoringDiagnostics.CaptureFailedInstrument, "{record}", "Captured inference records lost because the capture writer failed to store them.");
    }

    public Counter<long> Dropped { get; }

    public Counter<long> Failed { get; }
}
