using System.Diagnostics;
using System.Diagnostics.Metrics;
using D = MLOps.FeatureStore.FeatureStoreDiagnostics;

namespace MLOps.FeatureStore;

/// <summary>
/// The feature store's activity source and instruments (names in <see cref="FeatureStoreDiagnostics"/>). The
/// instruments come from the project's <see cref="MLOpsOptions.MeterFactory"/> when it has one, else from one
/// process-wide meter.
/// </summary>
internal sealed class FeatureStoreTelemetry
{
    public static readonly ActivitySource Source = new(D.ActivitySourceName, PackageInstruments<FeatureStoreTelemetry>.Version);

    private FeatureStoreTelemetry(Meter meter)
    {
        IngestedRows = meter.CreateCounter<long>(D.IngestedRows, "{row}", "Rows written by completed feature-set ingestions.");
        IngestionDuration = meter.CreateHistogram<double>(D.IngestionDuration, "s", "Duration of feature-set ingestions.");
        OnlineLookupDuration = meter.CreateHistogram<double>(D.OnlineLookupDuration, "s", "Duration of online feature lookups (one per call).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1] });
        OnlineLookupEntities = meter.CreateCounter<long>(D.OnlineLookupEntities, "{entity}", "Entities looked up online.");
        PushFlushes = meter.CreateCounter<long>(D.PushFlushes, "{flush}", "Flushes of buffered real-time pushes to the offline store.");
        PushFlushedRows = meter.CreateCounter<long>(D.PushFlushedRows, "{row}", "Pushed rows written to the offline store by flushes.");
    }

    /// <summary>The instruments of a project: from its meter factory, or the process-wide ones.</summary>
    public static FeatureStoreTelemetry For(MLOpsProject project)
        => PackageInstruments<FeatureStoreTelemetry>.For(project.Options.MeterFactory, D.MeterName, static meter => new FeatureStoreTelemetry(meter));

    public Counter<long> IngestedRows { get; }

    public Histogram<double> IngestionDuration { get; }

    public Histogram<double> OnlineLookupDuration { get; }

    public Counter<long> OnlineLookupEntities { get; }

    public Counter<long> PushFlushes { get; }

    public Counter<long> PushFlushedRows { get; }

    /// <summary>Whether anything listens to online lookups (checked before any tag or timestamp is made).</summary>
    public bool OnlineLookupObserved => Source.HasListeners() || OnlineLookupDuration.Enabled || OnlineLookupEntities.Enabled;

    /// <summary>Starts an internal span with the project tag, or returns null when nobody samples it.</summary>
    public static Activity? Start(string name, string project)
    {
        if (!Source.HasListeners()) return null;
        var activity = Source.StartActivity(name, ActivityKind.Internal);
        activity?.SetTag(D.ProjectTag, project);
        return activity;
    }

    /// <summary>Marks a span failed with the exception.</summary>
    public static void Fail(Activity? activity, Exception exception)
    {
        if (activity is null) return;
        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity.SetTag(D.ErrorTypeTag, exception.GetType().FullName);
        activity.AddException(exception);
    }

    /// <summary>The error.type of a failure: the exception's type name.</summary>
    public static string ErrorType(Exception exception) => exception.GetType().FullName ?? exception.GetType().Name;
}
