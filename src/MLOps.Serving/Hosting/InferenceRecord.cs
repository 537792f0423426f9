using MLOps.Serving.Protocol;

namespace MLOps.Serving.Hosting;

/// <summary>
/// What one inference request of a <see cref="InferenceServer"/> (or of the HTTP host that shares its code) did: published to
/// every <see cref="IInferenceObserver"/> subscribed with <see cref="InferenceServer.Subscribe"/>, for successes and errors.
/// </summary>
/// <param name="RequestId">The request id: the request's <see cref="InferenceRequest.Id"/>, or the id the server generated
/// for the event when the request has none; <see langword="null"/> when the body could not be parsed.</param>
/// <param name="Model">The model name the request addressed (possibly one that is not served, for a 404).</param>
/// <param name="ModelVersion">The version asked for, or the served model's version when none was asked; <see langword="null"/> for none.</param>
/// <param name="Started">When the server received the request, from <see cref="InferenceServerOptions.TimeProvider"/>.</param>
/// <param name="Latency">How long the server took to answer (or to fail), measured with <see cref="InferenceServerOptions.TimeProvider"/>.</param>
/// <param name="Request">The request as the model received it: when a <see cref="Models.ModelStep"/> ran, the request it
/// took from the event (after any enrichment by earlier steps of the graph); otherwise the incoming request.
/// <see langword="null"/> when the body could not be parsed.</param>
/// <param name="Response">The response, or <see langword="null"/> for an error.</param>
/// <param name="StatusCode">200 for a success, otherwise the status of the error (400, 404, 413, 503, 500, ...).</param>
/// <param name="Error">The error message sent to the client, or <see langword="null"/> for a success.</param>
public sealed record InferenceRecord(
    string? RequestId,
    string Model,
    string? ModelVersion,
    DateTimeOffset Started,
    TimeSpan Latency,
    InferenceRequest? Request,
    InferenceResponse? Response,
    int StatusCode,
    string? Error)
{
    /// <summary>Whether the request succeeded (<see cref="StatusCode"/> 200).</summary>
    public bool IsSuccess => StatusCode == 200;
}
