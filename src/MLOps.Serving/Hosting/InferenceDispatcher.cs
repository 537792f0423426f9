using Microsoft.Extensions.Logging;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Hosting;

/// <summary>
/// Answers one endpoint of the Open Inference Protocol for an <see cref="InferenceServer"/>, once the route is known: the
/// HTTP endpoints of <c>MapServingGraph</c> (one per route, matched by ASP.NET Core) and
/// <see cref="InferenceServer.SendAsync"/> (which parses the path itself) both come here. Never throws for a bad request:
/// a <see cref="ServingException"/> becomes an <c>{"error"}</c> answer with its status, any other exception a 500 naming
/// its type; every 5xx is logged with its exception. Only the caller's cancellation is thrown.
/// </summary>
internal sealed class InferenceDispatcher(InferenceServer server)
{
    /// <summary>Answers a GET endpoint (health, metadata, readiness).</summary>
    public InferenceAnswer Get(OpenInferenceEndpoint endpoint, string? model, string? version)
    {
        try
        {
            return endpoint switch
            {
                OpenInferenceEndpoint.ServerLive => InferenceAnswer.Live(),
                OpenInferenceEndpoint.ServerReady => InferenceAnswer.Ready(null, server.IsReady),
                OpenInferenceEndpoint.ServerMetadata => InferenceAnswer.Of(server.GetServerMetadata()),
                OpenInferenceEndpoint.ModelList => InferenceAnswer.Of(server.Models),
                OpenInferenceEndpoint.ModelMetadata => InferenceAnswer.Of(server.GetModelMetadata(model!, version)),
                OpenInferenceEndpoint.ModelReady => InferenceAnswer.Ready(model, server.IsModelReady(model!, version)),
                _ => throw new ServingException(405, $"The endpoint {endpoint} answers POST, not GET."),
            };
        }
        catch (Exception e)
        {
            return Fail(e, model, version);
        }
    }

    /// <summary>Answers <c>POST .../infer</c> or <c>POST .../explain</c> with the request body.</summary>
    /// <param name="explain">Whether the endpoint is <c>explain</c>.</param>
    /// <param name="model">The model name from the path.</param>
    /// <param name="version">The version from the path, or null.</param>
    /// <param name="body">The UTF-8 JSON body; only read before the first await.</param>
    /// <param name="cancellationToken">The request's cancellation, thrown when it fires.</param>
    public async ValueTask<InferenceAnswer> PostAsync(bool explain, string model, string? version, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        try
        {
            var response = explain
                ? await server.InferBodyAsync(model, version, body, null, cancellationToken, explain: true).ConfigureAwait(false)
                : server.Publisher.HasObservers
                    ? await server.ObserveBodyAsync(model, version, body, cancellationToken).ConfigureAwait(false)
                    : await server.InferBodyAsync(model, version, body, null, cancellationToken).ConfigureAwait(false);
            return InferenceAnswer.Of(response);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            return Fail(e, model, version);
        }
    }

    /// <summary>Writes an answer's JSON and hands it to <paramref name="consume"/>; when the body cannot be written (an FP
    /// output holding NaN, which JSON cannot carry), the error answer of that exception is written instead.</summary>
    public TResult Render<TTarget, TResult>(InferenceAnswer answer, TTarget target, JsonBody.BodyConsumer<(int StatusCode, TTarget Target), TResult> consume)
    {
        try
        {
            return JsonBody.Write(answer, InferenceAnswer.Write, (answer.StatusCode, target), consume);
        }
        catch (Exception e) when (answer.Kind != InferenceAnswerKind.Error)
        {
            var error = Fail(e, (answer.Value as InferenceResponse)?.ModelName, (answer.Value as InferenceResponse)?.ModelVersion);
            return JsonBody.Write(error, InferenceAnswer.Write, (error.StatusCode, target), consume);
        }
    }

    /// <summary>The answer as <see cref="InferenceServer.SendAsync"/> returns it: the status code and an exact-size body.</summary>
    public InferenceHttpResponse ToHttpResponse(InferenceAnswer answer)
        => Render(answer, 0, static (body, s) => new InferenceHttpResponse(s.StatusCode, body.ToArray()));

    /// <summary>The error answer of an exception; a 5xx is logged with it.</summary>
    internal InferenceAnswer Fail(Exception e, string? model, string? version)
    {
        int status = e is ServingException serving ? serving.StatusCode : 500;
        string message = e is ServingException ? e.Message : $"The server failed: {e.GetType().Name}: {e.Message}";
        if (status >= 500)
            ServingLog.ServerError(server.Logger, status == 503 ? LogLevel.Warning : LogLevel.Error, e, status, server.Graph.Name, model, version, message);
        return InferenceAnswer.Error(status, message);
    }
}
