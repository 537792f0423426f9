using MLOps.Serving.Protocol;

namespace MLOps.Serving.Hosting;

/// <summary>
/// Collects what an observed inference request did, while it runs: put in the event's <see cref="Graphs.ServingEvent.Items"/>
/// (only when the server has observers) so that a <see cref="Models.ModelStep"/> records the request its model receives.
/// The dictionary copies of <see cref="Graphs.ServingEvent.WithBody"/> and <see cref="Graphs.ServingEvent.Clone"/> share it.
/// </summary>
internal sealed class InferenceCapture
{
    /// <summary>The <see cref="Graphs.ServingEvent.Items"/> key of the capture.</summary>
    internal const string Item = "mlops.inference.capture";

    /// <summary>The incoming request, once parsed.</summary>
    public InferenceRequest? Incoming { get; set; }

    /// <summary>The id of the serving event (the request's id, or a generated one).</summary>
    public string? EventId { get; set; }

    private InferenceRequest? _modelRequest;

    /// <summary>The request a model step gave its model (the last one, when several did).</summary>
    public InferenceRequest? ModelRequest
    {
        get => Volatile.Read(ref _modelRequest);
        set => Volatile.Write(ref _modelRequest, value);
    }
}
