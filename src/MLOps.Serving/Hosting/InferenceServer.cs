using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MLOps.Serving.Graphs;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Hosting;

/// <summary>
/// An in-process server of the Open Inference Protocol (KServe V2) over a <see cref="ServingGraph"/>: health, server and
/// model metadata, readiness and inference, with the protocol's status codes and JSON. In process it is the mock server
/// of tests and notebooks (<c>graph.ToMockServer(models)</c>, no sockets); <c>app.MapServingGraph</c> hosts the very same
/// object over HTTP (<see cref="SendAsync"/>). Thread-safe.
/// </summary>
/// <remarks>
/// <para>
/// The server knows the models it serves from the list given to <see cref="Create(ServingGraph, IInferenceModel[])"/>
/// (a graph does not expose its steps): they give the metadata and readiness, and only their names are accepted for
/// inference. An inference request goes through <see cref="ServingGraph.InvokeAsync"/> with
/// <see cref="ServingEvent.Path"/> set to the model name, so in a router graph each model's route must be named after the
/// model (<c>.Route(new ModelStep(model))</c> does that), and the graph must answer with an <see cref="InferenceResponse"/>.
/// </para>
/// <para>
/// The server does not own the graph or the models: dispose the graph yourself. Call <see cref="LoadAsync"/> before
/// serving; until then the server and its models are not ready and inference answers 503.
/// </para>
/// </remarks>
public sealed class InferenceServer
{
    private readonly InferenceLimiter? _limiter;
    private readonly Dictionary<string, IInferenceModel> _models;
    private readonly ServerMetadata _metadata;
    private readonly long _maxRequestBytes;
    private readonly ServingTelemetry _telemetry;
    private ILogger _logger;

    private InferenceServer(ServingGraph graph, IReadOnlyList<IInferenceModel> models, InferenceServerOptions options)
    {
        Graph = graph;
        Models = models;
        _models = models.ToDictionary(m => m.Name, StringComparer.Ordinal);
        _metadata = new ServerMetadata { Name = options.Name, Version = options.Version, Extensions = [.. options.Extensions] };
        _maxRequestBytes = options.MaxRequestBytes;
        _logger = options.LoggerFactory?.CreateLogger(LoggerCategory) ?? NullLogger.Instance;
        _telemetry = ServingTelemetry.For(options.MeterFactory);
        if (options.MaxConcurrentRequests is { } limit)
            _limiter = new InferenceLimiter(limit, options.MaxQueuedRequests);
        Publisher = new InferencePublisher(this, options.TimeProvider);
        Dispatcher = new InferenceDispatcher(this);
    }

    /// <summary>The category of the server's log messages.</summary>
    internal const string LoggerCategory = "MLOps.Serving.InferenceServer";

    /// <summary>The server's logger: from <see cref="InferenceServerOptions.LoggerFactory"/>, else the one the host gives
    /// (<see cref="UseLoggerFactory"/>), else none.</summary>
    internal ILogger Logger => Volatile.Read(ref _logger);

    /// <summary>The server's instruments.</summary>
    internal ServingTelemetry Telemetry => _telemetry;

    /// <summary>Publishes inference records to the observers.</summary>
    internal InferencePublisher Publisher { get; }

    /// <summary>Answers the endpoints once their route is known.</summary>
    internal InferenceDispatcher Dispatcher { get; }

    /// <summary>Logs through the host's logger factory when the options gave none (<c>MapServingGraph</c> calls it).</summary>
    internal void UseLoggerFactory(ILoggerFactory factory)
    {
        if (ReferenceEquals(Logger, NullLogger.Instance))
            Volatile.Write(ref _logger, factory.CreateLogger(LoggerCategory));
    }

    /// <summary>The version of a served model, or null.</summary>
    internal string? VersionOf(string model) => _models.TryGetValue(model, out var served) ? served.Version : null;

    /// <summary>The graph requests go through.</summary>
    public ServingGraph Graph { get; }

    /// <summary>The models the server serves, in the order given.</summary>
    public IReadOnlyList<IInferenceModel> Models { get; }

    /// <summary>The largest inference request body accepted, in bytes (<see cref="InferenceServerOptions.MaxRequestBytes"/>).</summary>
    internal long MaxRequestBytes => _maxRequestBytes;

    /// <summary>Whether the server is live (it always is in process): <c>GET v2/health/live</c>.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "A member of the server, as IsReady; the HTTP host answers from its own state.")]
    public bool IsLive => true;

    /// <summary>Whether the graph is initialized and every model is ready: <c>GET v2/health/ready</c>.</summary>
    public bool IsReady => Graph.IsInitialized && Models.All(m => m.IsReady);

    /// <summary>Creates a server over a graph serving the given models, with default options.</summary>
    /// <param name="graph">The graph requests go through.</param>
    /// <param name="models">The models the graph serves (each model's name unique).</param>
    /// <returns>The server.</returns>
    /// <exception cref="ValidationException">A model is null, has no name, or two models share a name.</exception>
    public static InferenceServer Create(ServingGraph graph, params IInferenceModel[] models) => Create(graph, models, null);

    /// <summary>Creates a server over a graph serving the given models.</summary>
    /// <param name="graph">The graph requests go through.</param>
    /// <param name="models">The models the graph serves (each model's name unique).</param>
    /// <param name="options">The server's name, version, extensions and body size limit; defaults when null.</param>
    /// <returns>The server.</returns>
    /// <exception cref="ValidationException">A model is null, has no name, or two models share a name, or an option is invalid
    /// (<see cref="InferenceServerOptions.Validate"/>); the exception lists every problem at once.</exception>
    public static InferenceServer Create(ServingGraph graph, IEnumerable<IInferenceModel> models, InferenceServerOptions? options)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(models);
        var list = models.ToList();
        var problems = new List<string>();
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i] is null)
                problems.Add($"models[{i}] is null; pass only models.");
            else if (string.IsNullOrWhiteSpace(list[i].Name))
                problems.Add($"models[{i}] ({list[i].GetType().Name}) has no name ('{list[i].Name}'); give each model a name.");
        }
        foreach (var group in list.Where(m => m is not null && !string.IsNullOrWhiteSpace(m.Name)).GroupBy(m => m.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problems.Add($"the model name '{group.Key}' is used by {group.Count()} models; give each model its own name.");
        options ??= new InferenceServerOptions();
        problems.AddRange(options.Validate());
        if (problems.Count > 0)
            throw new ValidationException($"The inference server over '{graph.Name}' is invalid", problems);
        return new InferenceServer(graph, list, options);
    }

    /// <summary>Initializes the graph (which loads the models of its <see cref="ModelStep"/>s), then loads any model still not ready.</summary>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>A task that completes when the server is ready.</returns>
    /// <exception cref="ServingException">Status 503: a step or model failed to load.</exception>
    public async ValueTask LoadAsync(CancellationToken cancellationToken = default)
    {
        await Graph.InitializeAsync(cancellationToken).ConfigureAwait(false);
        foreach (var model in Models)
        {
            if (model.IsReady)
                continue;
            try
            {
                await model.LoadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException && e is not ServingException)
            {
                throw new ServingException(503, $"model '{model.Name}' failed to load: {e.Message}", e);
            }
        }
    }

    /// <summary>The server metadata: <c>GET v2</c>.</summary>
    /// <returns>The name, version and extensions.</returns>
    public ServerMetadata GetServerMetadata() => _metadata;

    /// <summary>The metadata of a model: <c>GET v2/models/{name}[/versions/{version}]</c>.</summary>
    /// <param name="name">The model name.</param>
    /// <param name="version">The version, or null for the model's version.</param>
    /// <returns>The metadata.</returns>
    /// <exception cref="ServingException">Status 404: the model or the version is unknown.</exception>
    public ModelMetadata GetModelMetadata(string name, string? version = null) => Find(name, version).Metadata;

    /// <summary>Whether a model is ready (and the graph initialized): <c>GET v2/models/{name}[/versions/{version}]/ready</c>.</summary>
    /// <param name="name">The model name.</param>
    /// <param name="version">The version, or null for the model's version.</param>
    /// <returns><see langword="true"/> when the model can answer.</returns>
    /// <exception cref="ServingException">Status 404: the model or the version is unknown.</exception>
    public bool IsModelReady(string name, string? version = null) => Find(name, version).IsReady && Graph.IsInitialized;

    /// <summary>Sends an inference request to a model through the graph: <c>POST v2/models/{name}[/versions/{version}]/infer</c>. Thread-safe.</summary>
    /// <param name="model">The model name (the event's <see cref="ServingEvent.Path"/>).</param>
    /// <param name="request">The request; its id is the event's id and is echoed in the response.</param>
    /// <param name="version">The version, or null for the model's version.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The response.</returns>
    /// <exception cref="ServingException">404 for an unknown model or version, 503 when it is not ready or the server is busy (<see cref="InferenceServerOptions.MaxConcurrentRequests"/>), 400 for a request it cannot take, 500 when it fails.</exception>
    /// <remarks>Every call, success or error, is published to the subscribed <see cref="IInferenceObserver"/>s (<see cref="Subscribe"/>).</remarks>
    public ValueTask<InferenceResponse> InferAsync(string model, InferenceRequest request, string? version = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!Publisher.HasObservers)
            return InferTypedAsync(model, request, version, null, cancellationToken);
        return Publisher.ObserveAsync(model, version, request, capture => InferTypedAsync(model, request, version, capture, cancellationToken), cancellationToken);
    }

    /// <summary>Asks a model to explain its predictions for a request, through the graph (so enrichment steps run first):
    /// <c>POST v2/models/{name}[/versions/{version}]/explain</c>, MLRun's extension of the protocol. The
    /// <see cref="ModelStep"/> calls <see cref="IExplainableModel.ExplainAsync"/>. Explanations are not published to
    /// observers (they are not predictions). Thread-safe.</summary>
    /// <param name="model">The model name.</param>
    /// <param name="request">The request whose predictions to explain.</param>
    /// <param name="version">The version, or null for the model's version.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The explanation (such as one attribution tensor per input feature).</returns>
    /// <exception cref="ServingException">404 for an unknown model or version, or a model that does not implement
    /// <see cref="IExplainableModel"/>; 503 when not ready or busy; 400 for a request it cannot take; 500 when it fails.</exception>
    public ValueTask<InferenceResponse> ExplainAsync(string model, InferenceRequest request, string? version = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return InferTypedAsync(model, request, version, null, cancellationToken, explain: true);
    }

    /// <summary>A typed request: the model is looked up first (an unknown one is a faulted task, as every error here).</summary>
    private ValueTask<InferenceResponse> InferTypedAsync(string model, InferenceRequest request, string? version,
        InferenceCapture? capture, CancellationToken cancellationToken, bool explain = false)
    {
        IInferenceModel target;
        try
        {
            target = Find(model, version);
        }
        catch (Exception e)
        {
            return ValueTask.FromException<InferenceResponse>(e);
        }
        long start = !explain && _telemetry.InferenceEnabled ? Stopwatch.GetTimestamp() : 0;
        return InferCoreAsync(target, request, version, capture, start, cancellationToken, explain);
    }

    /// <summary>
    /// Subscribes an observer to the <see cref="InferenceRecord"/> of every inference request (<see cref="InferAsync"/> and
    /// <c>POST .../infer</c> of <see cref="SendAsync"/>), successes and errors. Thread-safe. Without observers no record is built.
    /// </summary>
    /// <param name="observer">The observer; an exception it throws is caught and traced, never sent to the client.</param>
    /// <returns>Disposing it unsubscribes the observer (idempotent); requests already running may still publish to it.</returns>
    public IDisposable Subscribe(IInferenceObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        return Publisher.Subscribe(observer);
    }

    internal async ValueTask<InferenceResponse> InferBodyAsync(string model, string? version, ReadOnlyMemory<byte> body,
        InferenceCapture? capture, CancellationToken cancellationToken, bool explain = false)
    {
        if (body.Length > _maxRequestBytes)
            throw new ServingException(413, $"The request body has {body.Length} bytes; the limit is {_maxRequestBytes} (InferenceServerOptions.MaxRequestBytes).");
        var target = Find(model, version);
        long start = !explain && _telemetry.InferenceEnabled ? Stopwatch.GetTimestamp() : 0;
        InferenceRequest request;
        try
        {
            request = RequestJson.Parse(body.Span);
        }
        catch (ServingException e) when (start != 0)
        {
            Record(target, version, null, start, e);
            throw;
        }
        capture?.Incoming = request;
        return await InferCoreAsync(target, request, version, capture, start, cancellationToken, explain).ConfigureAwait(false);
    }

    /// <summary>Records the inference instruments (only called when one is listened to: <paramref name="start"/> is not 0).</summary>
    private void Record(IInferenceModel target, string? version, string? answeredVersion, long start, Exception? error)
        => _telemetry.RecordInference(Graph.Name, target.Name, answeredVersion ?? version ?? target.Version, Stopwatch.GetElapsedTime(start).TotalSeconds,
            error is null ? null : error is ServingException serving ? serving.StatusCode.ToString(CultureInfo.InvariantCulture) : error.GetType().FullName);

    private async ValueTask<InferenceResponse> InferCoreAsync(IInferenceModel target, InferenceRequest request, string? version,
        InferenceCapture? capture, long start, CancellationToken cancellationToken, bool explain = false)
    {
        try
        {
            if (!Graph.IsInitialized || !target.IsReady)
                throw new ServingException(503, $"The model '{target.Name}' is not ready; call InferenceServer.LoadAsync before sending requests.");
            var servingEvent = new ServingEvent(request, path: target.Name, id: request.Id);
            if (explain)
                servingEvent.Items[ModelStep.ExplainItem] = true;
            if (capture is not null)
            {
                capture.EventId = servingEvent.Id;
                servingEvent.Items[InferenceCapture.Item] = capture;
            }
            if (request.Parameters is { } parameters)
            {
                foreach (var (key, value) in parameters)
                    servingEvent.Parameters[key] = value;
            }
            ServingEvent result;
            if (_limiter is null)
            {
                result = await Graph.InvokeAsync(servingEvent, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                using var lease = await _limiter.EnterAsync(cancellationToken).ConfigureAwait(false);
                result = await Graph.InvokeAsync(servingEvent, cancellationToken).ConfigureAwait(false);
            }
            var response = result.Body is InferenceResponse answered
                ? ModelStep.EchoId(request, answered)
                : throw new ServingException(500,
                    $"The serving graph '{Graph.Name}' answered the model '{target.Name}' with {result.Body?.GetType().Name ?? "null"}, not an InferenceResponse; end its route with a ModelStep.");
            if (start != 0)
                Record(target, version, response.ModelVersion, start, null);
            return response;
        }
        catch (Exception e) when (start != 0 && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            Record(target, version, null, start, e);
            throw;
        }
    }

    /// <summary>
    /// Answers a raw REST request of the Open Inference Protocol, as the HTTP host does: <c>GET /v2/health/live</c>,
    /// <c>GET /v2/health/ready</c>, <c>GET /v2</c>, <c>GET /v2/models</c> (MLRun's list of model names,
    /// <c>{"models": [...]}</c>), <c>GET /v2/models/{name}[/versions/{version}]</c>, <c>GET .../ready</c>
    /// and <c>POST .../infer</c>. Never throws for a bad request: errors are <c>{"error": "..."}</c> with the status of the
    /// <see cref="ServingException"/> (404 for an unknown path, 405 for a wrong method, 413 for a body over the limit), and
    /// any other exception is a 500 whose message names its type, never its stack trace.
    /// </summary>
    /// <param name="method">The HTTP method (<c>GET</c> or <c>POST</c>, case-insensitive).</param>
    /// <param name="path">The path, such as <c>/v2/models/delay/infer</c>; a query string is ignored.</param>
    /// <param name="body">The request body (UTF-8 JSON) of an inference request; ignored otherwise.</param>
    /// <param name="cancellationToken">Cancels the request (the cancellation is thrown, not answered).</param>
    /// <returns>The status code and JSON body. Readiness answers 200 <c>{"ready": true}</c> or 503 <c>{"ready": false}</c>.</returns>
    public async ValueTask<InferenceHttpResponse> SendAsync(string method, string path, ReadOnlyMemory<byte> body = default, CancellationToken cancellationToken = default)
        => Dispatcher.ToHttpResponse(await AnswerAsync(method, path, body, cancellationToken).ConfigureAwait(false));

    /// <summary>Answers a raw request whose route is not known yet (<see cref="SendAsync"/>, and the HTTP fallback route).</summary>
    internal ValueTask<InferenceAnswer> AnswerAsync(string method, string path, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (!OpenInferenceRoute.TryParse(path, _models, out var route))
            return new(Dispatcher.Fail(new ServingException(404, $"No Open Inference Protocol endpoint at '{path}'; use /v2, /v2/health/live, /v2/health/ready, /v2/models/{{name}}[/versions/{{version}}][/ready|/infer]."), null, null));
        if (!string.Equals(method, route.Method, StringComparison.OrdinalIgnoreCase))
            return new(Dispatcher.Fail(new ServingException(405, $"'{path}' answers {route.Method}, not {method}."), route.Model, route.Version));
        if (route.Endpoint is OpenInferenceEndpoint.ModelInfer or OpenInferenceEndpoint.ModelExplain)
            return Dispatcher.PostAsync(route.Endpoint == OpenInferenceEndpoint.ModelExplain, route.Model!, route.Version, body, cancellationToken);
        return new(Dispatcher.Get(route.Endpoint, route.Model, route.Version));
    }

    /// <inheritdoc />
    public override string ToString() => $"mock server over '{Graph.Name}' ({Models.Count} models, {(IsReady ? "ready" : "not ready")})";

    private IInferenceModel Find(string name, string? version)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_models.TryGetValue(name, out var model))
            throw new ServingException(404, $"The model '{name}' is not served; served models: {(Models.Count == 0 ? "(none)" : string.Join(", ", Models.Select(m => m.Name)))}.");
        if (version is not null && !string.Equals(version, model.Version, StringComparison.Ordinal))
            throw new ServingException(404, $"The model '{name}' has no version '{version}'; it serves {(model.Version is null ? "no versions (omit /versions/...)" : $"version '{model.Version}'")}.");
        return model;
    }

    /// <summary>The inference of a body with observers (kept out of the dispatcher: its lambda captures the request).</summary>
    internal ValueTask<InferenceResponse> ObserveBodyAsync(string model, string? version, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
        => Publisher.ObserveAsync(model, version, null, capture => InferBodyAsync(model, version, body, capture, cancellationToken), cancellationToken);
}

/// <summary>Creates a <see cref="InferenceServer"/> from a graph.</summary>
public static class InferenceServerExtensions
{
    /// <summary>Creates an in-process Open Inference Protocol server over the graph, serving the given models.</summary>
    /// <param name="graph">The graph requests go through.</param>
    /// <param name="models">The models the graph serves.</param>
    /// <returns>The server; call <see cref="InferenceServer.LoadAsync"/> before sending requests.</returns>
    public static InferenceServer ToMockServer(this ServingGraph graph, params IInferenceModel[] models) => InferenceServer.Create(graph, models);

    /// <summary>Creates an in-process Open Inference Protocol server over the graph, serving the given models, with options.</summary>
    /// <param name="graph">The graph requests go through.</param>
    /// <param name="options">The server's name, version, extensions and body size limit.</param>
    /// <param name="models">The models the graph serves.</param>
    /// <returns>The server; call <see cref="InferenceServer.LoadAsync"/> before sending requests.</returns>
    public static InferenceServer ToMockServer(this ServingGraph graph, InferenceServerOptions options, params IInferenceModel[] models)
        => InferenceServer.Create(graph, models, options);
}
