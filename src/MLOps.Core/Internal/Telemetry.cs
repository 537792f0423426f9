using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace MLOps
{
    /// <summary>The names of MLOps.Core's <see cref="ActivitySource"/> and <see cref="Meter"/>, for OpenTelemetry:
    /// <c>tracing.AddSource(MLOpsDiagnostics.ActivitySourceName)</c> / <c>metrics.AddMeter(MLOpsDiagnostics.MeterName)</c>, or
    /// <c>AddSource("MLOps.*")</c> / <c>AddMeter("MLOps.*")</c> for every package. See docs/observability.md.</summary>
    public static class MLOpsDiagnostics
    {
        /// <summary>The name of Core's activity source (spans <c>mlops.run</c> and <c>mlops.hyper.iteration</c>).</summary>
        public const string ActivitySourceName = "MLOps.Core";

        /// <summary>The name of Core's meter (<c>mlops.runs.*</c>, <c>mlops.run.duration</c>, <c>mlops.metrics.*</c>).</summary>
        public const string MeterName = "MLOps.Core";
    }
}

namespace MLOps.Internal
{
    /// <summary>Core's spans and instruments. The activity source is process-wide; the instruments belong to the meter of the
    /// project's <see cref="MLOpsOptions.MeterFactory"/> (one set per factory) or, without one, to a process-wide meter.
    /// With no listener they cost a branch: callers check <see cref="Instrument.Enabled"/> before building tags.</summary>
    internal sealed class Telemetry
    {
        public const string ProjectTag = "mlops.project";
        public const string RunStateTag = "mlops.run.state";

        public static readonly ActivitySource Source = new(MLOpsDiagnostics.ActivitySourceName, PackageInstruments<Telemetry>.Version);

        private Telemetry(Meter meter)
        {
            RunsStarted = meter.CreateCounter<long>("mlops.runs.started", "{run}", "Tracked runs started.");
            RunsEnded = meter.CreateCounter<long>("mlops.runs.ended", "{run}", "Tracked runs ended, by final state (mlops.run.state).");
            RunDuration = meter.CreateHistogram<double>("mlops.run.duration", "s", "Duration of tracked runs from start to end, by final state.");
            MetricPointsWritten = meter.CreateCounter<long>("mlops.metrics.points_written", "{point}", "Metric points written to the metadata store.");
            FlushDuration = meter.CreateHistogram<double>("mlops.metrics.flush.duration", "s", "Duration of one write of buffered metric points and log lines.");
        }

        /// <summary>The instruments of a project's meter factory, or the process-wide ones.</summary>
        public static Telemetry For(IMeterFactory? factory)
            => PackageInstruments<Telemetry>.For(factory, MLOpsDiagnostics.MeterName, static meter => new Telemetry(meter));

        public Counter<long> RunsStarted { get; }

        public Counter<long> RunsEnded { get; }

        public Histogram<double> RunDuration { get; }

        public Counter<long> MetricPointsWritten { get; }

        public Histogram<double> FlushDuration { get; }
    }

    /// <summary>Core's log messages (source-generated).</summary>
    internal static partial class CoreLog
    {
        [LoggerMessage(EventId = 1, EventName = "ProjectOpened", Level = LogLevel.Information, Message = "Opened MLOps project {Project} (artifacts in {ArtifactRoot})")]
        public static partial void ProjectOpened(ILogger logger, string project, string artifactRoot);

        [LoggerMessage(EventId = 2, EventName = "ExtensionDisposeFailed", Level = LogLevel.Error, Message = "Disposing the extension {Extension} of project {Project} failed: {Reason}")]
        public static partial void ExtensionDisposeFailed(ILogger logger, Exception exception, string? extension, string project, string reason);

        [LoggerMessage(EventId = 3, EventName = "RunStarted", Level = LogLevel.Debug, Message = "Run {RunName} ({RunId}) of project {Project} started")]
        public static partial void RunStarted(ILogger logger, string runName, string runId, string project);

        [LoggerMessage(EventId = 4, EventName = "RunEnded", Level = LogLevel.Information, Message = "Run {RunName} ({RunId}) of project {Project} ended {State} after {Duration}")]
        public static partial void RunEnded(ILogger logger, string runName, string runId, string project, RunState state, TimeSpan duration);

        [LoggerMessage(EventId = 5, EventName = "RunFailed", Level = LogLevel.Warning, Message = "Run {RunName} ({RunId}) of project {Project} failed after {Duration}: {Error}")]
        public static partial void RunFailed(ILogger logger, Exception? exception, string runName, string runId, string project, TimeSpan duration, string? error);

        [LoggerMessage(EventId = 6, EventName = "RunFlushFailed", Level = LogLevel.Warning, Message = "Writing buffered metrics of run {RunId} failed; they stay buffered and are retried")]
        public static partial void RunFlushFailed(ILogger logger, Exception exception, string runId);

        [LoggerMessage(EventId = 7, EventName = "StoreWriteRetry", Level = LogLevel.Warning, Message = "The metadata store {Store} is busy; retrying the write transaction (attempt {Attempt}) in {Delay}")]
        public static partial void StoreWriteRetry(ILogger logger, Exception? exception, string store, int attempt, TimeSpan delay);
    }
}
