using MLOps.Registry;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Models;

/// <summary>
/// A model that answers Open Inference Protocol requests: the interface to implement for a custom model (a rule, a
/// scorer, a wrapper over another runtime). Wrap it in a <see cref="ModelStep"/> to put it in a serving graph.
/// </summary>
/// <remarks>
/// Implementations must be thread-safe: a graph and a server call <see cref="InferAsync"/> concurrently for concurrent
/// requests, and may read <see cref="IsReady"/> while <see cref="LoadAsync"/> runs. <see cref="LoadAsync"/> may be called
/// more than once and must do nothing when the model is already loaded.
/// </remarks>
public interface IInferenceModel
{
    /// <summary>The model's name, the <c>{name}</c> of <c>v2/models/{name}</c> (and the route name in a router graph).</summary>
    string Name { get; }

    /// <summary>The model's version, the <c>{version}</c> of <c>v2/models/{name}/versions/{version}</c>, or null when unversioned.</summary>
    string? Version { get; }

    /// <summary>The model's metadata: its inputs and outputs, platform and versions.</summary>
    ModelMetadata Metadata { get; }

    /// <summary>Whether the model is loaded and can answer requests.</summary>
    bool IsReady { get; }

    /// <summary>Loads the model (reads weights, warms caches); does nothing when it is already loaded.</summary>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>A task that completes when the model is ready.</returns>
    ValueTask LoadAsync(CancellationToken cancellationToken);

    /// <summary>Answers an inference request. Thread-safe.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The response; its id should be the request's id (<see cref="InferenceResponse.For"/> keeps it).</returns>
    /// <exception cref="ServingException">Status 400 for a request the model cannot take (a missing input, a wrong datatype); any other exception is reported as a 500.</exception>
    ValueTask<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// A served model that answers with a version of the project's model registry (as <see cref="MLNetModel{TInput, TOutput}"/>
/// does): monitoring reads the registry record to find the training data of the version being served, whatever name the
/// model is served under.
/// </summary>
public interface IRegistryModel : IInferenceModel
{
    /// <summary>The registry version new requests go to, or <see langword="null"/> before <see cref="IInferenceModel.LoadAsync"/>.</summary>
    ModelVersionRecord? RegistryVersion { get; }
}

/// <summary>A model that can also explain its predictions (feature attributions, contributions). Thread-safe, as <see cref="IInferenceModel"/>.</summary>
public interface IExplainableModel : IInferenceModel
{
    /// <summary>Explains the predictions for a request.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The explanation as output tensors (such as one attribution per input feature); its id should be the request's id.</returns>
    ValueTask<InferenceResponse> ExplainAsync(InferenceRequest request, CancellationToken cancellationToken);
}
