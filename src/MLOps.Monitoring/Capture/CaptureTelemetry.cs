using System.Diagnostics.Metrics;

namespace MLOps.Monitoring.Capture;

/// <summary>The capture's instruments, from the project's <see cref="MLOpsOptions.MeterFactory"/> when set, else from a process-wide meter.</summary>
internal sealed class CaptureTelemetry
{
    /// <summary>The instruments of the factory's meter, or the process-wide ones when it is null.</summary>
    public static CaptureTelemetry For(IMeterFactory? factory)
        => PackageInstruments<CaptureTelemetry>.For(factory, MonitoringDiagnostics.MeterName, static meter => new CaptureTelemetry(meter));

    private CaptureTelemetry(Meter meter)
    {
        Dropped = meter.CreateCounter<long>(MonitoringDiagnostics.CaptureDroppedInstrument, "{record}", "Captured inference records dropped because the capture buffer was full.");
        Failed = meter.CreateCounter<long>(MonitoringDiagnostics.CaptureFailedInstrument, "{record}", "Captured inference records lost because the capture writer failed to store them.");
    }

    public Counter<long> Dropped { get; }

    public Counter<long> Failed { get; }
}
