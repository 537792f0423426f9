using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MLOps.Serving;

/// <summary>
/// The serving package's <see cref="ActivitySource"/> and instruments (<see cref="ServingDiagnostics"/> has the names).
/// Instruments come from an <see cref="IMeterFactory"/> when one is given (dependency injection), else from one
/// process-wide meter. Callers check <see cref="ActivitySource.HasListeners"/> / <see cref="Instrument.Enabled"/> before
/// building tags, so that with no listener the cost is a field read.
/// </summary>
internal sealed class ServingTelemetry
{
    /// <summary>The source of every serving span.</summary>
    public static readonly ActivitySource Source = new(ServingDiagnostics.ActivitySourceName, PackageInstruments<ServingTelemetry>.Version);

    private ServingTelemetry(Meter meter)
    {
        Inferences = meter.CreateCounter<long>("mlops.serving.inference.count", "{inference}", "Inference requests answered, by model, version and outcome.");
        Duration = meter.CreateHistogram<double>("mlops.serving.inference.duration", "s", "Duration of inference requests, from the parsed request to the response.");
        Errors = meter.CreateCounter<long>("mlops.serving.inference.errors", "{error}", "Inference requests that failed, by model, version and error.type (the status code).");
        Swaps = meter.CreateCounter<long>("mlops.serving.model.swaps", "{swap}", "Model versions swapped in by model handles (alias moves and deployments).");
        CaptureDropped = meter.CreateCounter<long>("mlops.serving.capture.dropped", "{record}", "Inference records an observer failed to take (the observer threw).");
    }

    /// <summary>The instruments of the process-wide meter.</summary>
    public static ServingTelemetry Shared => For(null);

    /// <summary>The instruments of a meter factory's meter, or the process-wide ones.</summary>
    public static ServingTelemetry For(IMeterFactory? factory)
        => PackageInstruments<ServingTelemetry>.For(factory, ServingDiagnostics.MeterName, static meter => new ServingTelemetry(meter));

    /// <summary><c>mlops.serving.inference.count</c>: tags <c>mlops.model.name</c>, <c>mlops.model.version</c>, <c>mlops.serving.graph</c>.</summary>
    public Counter<long> Inferences { get; }

    /// <summary><c>mlops.serving.inference.duration</c> in seconds: the same tags.</summary>
    public Histogram<double> Duration { get; }

    /// <summary><c>mlops.serving.inference.errors</c>: the same tags and <c>error.type</c>.</summary>
    public Counter<long> Errors { get; }

    /// <summary><c>mlops.serving.model.swaps</c>: tags <c>mlops.project</c>, <c>mlops.model.name</c>, <c>mlops.model.version</c> (the new one).</summary>
    public Counter<long> Swaps { get; }

    /// <summary><c>mlops.serving.capture.dropped</c>: tags <c>mlops.serving.graph</c>, <c>mlops.serving.observer</c>.</summary>
    public Counter<long> CaptureDropped { get; }

    /// <summary>Whether any inference instrument is listened to.</summary>
    public bool InferenceEnabled => Inferences.Enabled || Duration.Enabled || Errors.Enabled;

    /// <summary>Records one inference.</summary>
    public void RecordInference(string graph, string model, string? version, double seconds, string? errorType)
    {
        var tags = new TagList
        {
            { "mlops.model.name", model },
            { "mlops.model.version", version },
            { "mlops.serving.graph", graph },
        };
        Inferences.Add(1, tags);
        Duration.Record(seconds, tags);
        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
            Errors.Add(1, tags);
        }
    }

    /// <summary>Marks a span failed with its exception (status Error, an <c>exception</c> event, <c>error.type</c>).</summary>
    public static void Fail(Activity? activity, Exception e)
    {
        if (activity is null)
            return;
        activity.SetStatus(ActivityStatusCode.Error, e.Message);
        activity.SetTag("error.type", e is ServingException serving ? serving.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : e.GetType().FullName);
        activity.AddException(e);
    }
}
