using MLOps.Serving.Graphs;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Models;

/// <summary>
/// A serving step that runs an <see cref="IInferenceModel"/>: it takes an event whose body is an
/// <see cref="InferenceRequest"/> and passes on the event with the model's <see cref="InferenceResponse"/> (the request's
/// id echoed). A graph loads the model once, from <see cref="ServingGraph.InitializeAsync"/> or before its first event.
/// Thread-safe when the model is.
/// </summary>
/// <remarks>
/// Errors: a body of another type is a <see cref="ServingException"/> with status 400; a model that is not ready gives
/// 503; a <see cref="ServingException"/> of the model passes unchanged; any other exception becomes a 500
/// <c>model '&lt;name&gt;' failed: &lt;message&gt;</c>, with the exception kept as the inner exception for logs and never
/// sent to the client.
/// </remarks>
public sealed class ModelStep : IServingStep, IServingStepLifetime
{
    /// <summary>The <see cref="ServingEvent.Items"/> key that asks the step for an explanation instead of a prediction
    /// (set to <see langword="true"/> by <see cref="Hosting.InferenceServer.ExplainAsync"/> and <c>POST .../explain</c>).</summary>
    public const string ExplainItem = "mlops.explain";

    /// <summary>Creates the step, named after the model (the route name a router picks by <see cref="ServingEvent.Path"/>).</summary>
    /// <param name="model">The model.</param>
    public ModelStep(IInferenceModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Throw.IfNullOrWhitespace(model.Name);
        Model = model;
    }

    /// <summary>The model the step runs.</summary>
    public IInferenceModel Model { get; }

    /// <summary>The step's name: the model's name.</summary>
    public string Name => Model.Name;

    /// <summary>Loads the model unless it is already ready.</summary>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>A task that completes when the model is ready.</returns>
    public ValueTask InitializeAsync(CancellationToken cancellationToken)
        => Model.IsReady ? ValueTask.CompletedTask : Model.LoadAsync(cancellationToken);

    /// <summary>Runs the model on the event's <see cref="InferenceRequest"/> body and passes on its response.</summary>
    /// <param name="servingEvent">The event; its body must be an <see cref="InferenceRequest"/>.</param>
    /// <param name="context">Where the step runs.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A copy of the event with the <see cref="InferenceResponse"/> as its body.</returns>
    /// <exception cref="ServingException">400 for a body that is not a request, 503 when the model is not ready, 500 when the model fails.</exception>
    public async ValueTask<ServingEvent> ProcessAsync(ServingEvent servingEvent, StepContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(servingEvent);
        if (servingEvent.Body is not InferenceRequest request)
            throw new ServingException(400,
                $"The model '{Model.Name}' takes an inference request, but the event body is {servingEvent.Body?.GetType().Name ?? "null"}; send {{\"inputs\": [...]}} or make the previous step return an InferenceRequest.");
        if (!Model.IsReady)
            throw new ServingException(503, $"The model '{Model.Name}' is not ready; load it first (ServingGraph.InitializeAsync or InferenceServer.LoadAsync).");
        if (servingEvent.HasItems && servingEvent.Items.TryGetValue(Hosting.InferenceCapture.Item, out var item) && item is Hosting.InferenceCapture capture)
            capture.ModelRequest = request;
        InferenceResponse response;
        try
        {
            var task = IsExplain(servingEvent)
                ? Model is IExplainableModel explainable
                    ? explainable.ExplainAsync(request, cancellationToken)
                    : throw new ServingException(404, $"The model '{Model.Name}' cannot explain its predictions: it does not implement IExplainableModel. Use POST .../infer.")
                : Model.InferAsync(request, cancellationToken);
            response = await task.ConfigureAwait(false)
                       ?? throw new InvalidStateException("it returned no response");
        }
        catch (ServingException)
        {
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            throw new ServingException(500, $"model '{Model.Name}' failed: {e.Message}", e);
        }
        return servingEvent.WithBody(EchoId(request, response));
    }

    private static bool IsExplain(ServingEvent servingEvent)
        => servingEvent.HasItems && servingEvent.Items.TryGetValue(ExplainItem, out var explain) && explain is true;

    /// <summary>Returns the response with the request's id (a copy when the model did not keep it).</summary>
    internal static InferenceResponse EchoId(InferenceRequest request, InferenceResponse response)
        => string.Equals(response.Id, request.Id, StringComparison.Ordinal)
            ? response
            : new InferenceResponse
            {
                ModelName = response.ModelName,
                ModelVersion = response.ModelVersion,
                Id = request.Id,
                Parameters = response.Parameters,
                Outputs = response.Outputs,
            };

    /// <inheritdoc />
    public override string ToString() => $"model step '{Name}'";
}
