using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MLOps.Internal;

/// <summary>The SDK's <see cref="ActivitySource"/> and <see cref="Meter"/>, both named <c>MLOps</c>, so OpenTelemetry
/// picks them up with <c>AddSource("MLOps")</c> / <c>AddMeter("MLOps")</c> and no dependency here. With no listener they cost nothing.</summary>
internal static class Telemetry
{
    public const string Name = "MLOps";

    public static readonly ActivitySource Source = new(Name);

    public static readonly Meter Meter = new(Name);

    /// <summary>Runs started.</summary>
    public static readonly Counter<long> RunsStarted = Meter.CreateCounter<long>("mlops.runs.started", "{run}", "Tracked runs started.");

    /// <summary>Runs ended, tagged with the final state.</summary>
    public static readonly Counter<long> RunsEnded = Meter.CreateCounter<long>("mlops.runs.ended", "{run}", "Tracked runs ended, by final state.");

    /// <summary>Metric points written to the metadata store.</summary>
    public static readonly Counter<long> MetricPointsWritten = Meter.CreateCounter<long>("mlops.metrics.points_written", "{point}", "Metric points written to the metadata store.");

    /// <summary>Duration of buffered metric flushes.</summary>
    public static readonly Histogram<double> FlushDuration = Meter.CreateHistogram<double>("mlops.metrics.flush.duration", "s", "Duration of one write of buffered metric points and log lines.");
}
