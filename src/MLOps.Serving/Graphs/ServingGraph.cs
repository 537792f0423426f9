using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLOps.Serving.Models;

namespace MLOps.Serving.Graphs;

/// <summary>
/// A serving graph (like an MLRun serving graph): a <see cref="ServingFlow"/> of steps with branches, or a
/// <see cref="ServingRouter"/> of models with weights, shadows and ensembles. Build one with <see cref="Flow"/> or
/// <see cref="Router"/>, call it in process with <see cref="InvokeAsync"/> (thread-safe), and dispose it to wait for
/// its background branches and release its steps.
/// </summary>
public abstract class ServingGraph : IAsyncDisposable
{
    private readonly ConcurrentDictionary<Task, byte> _background = new();
    private readonly SemaphoreSlim _initLock = new(1, 1);
    private readonly ServingErrorHandler? _onError;
    private volatile bool _initialized;
    private int _disposed;

    private protected ServingGraph(string name, ServingErrorHandler? onError)
    {
        Name = name;
        _onError = onError;
    }

    /// <summary>The graph's name.</summary>
    public string Name { get; }

    /// <summary>Whether the steps were initialized.</summary>
    public bool IsInitialized => _initialized;

    /// <summary>How many background branches (flow branches off the response path, shadow routes) are still running.</summary>
    public int PendingBackgroundTasks => _background.Count;

    /// <summary>The distinct steps of the graph, in declaration order.</summary>
    private protected abstract IEnumerable<IServingStep> Steps { get; }

    /// <summary>Starts a flow graph (steps chained with <c>To</c>, branches with <c>From</c>).</summary>
    /// <param name="name">The graph's name.</param>
    /// <returns>The builder.</returns>
    public static FlowGraphBuilder Flow(string name) => new(name);

    /// <summary>Starts a router graph (routes picked by path, rule or weights; shadows; ensembles).</summary>
    /// <param name="name">The graph's name.</param>
    /// <returns>The builder.</returns>
    public static RouterGraphBuilder Router(string name) => new(name);

    /// <summary>Rebuilds a graph written by <see cref="ToJson"/>, creating its steps with a registry.</summary>
    /// <param name="json">The JSON.</param>
    /// <param name="registry">The registry holding every step kind of the graph.</param>
    /// <param name="onError">A graph-level error handler (handlers are code and are not stored in the JSON).</param>
    /// <returns>The graph.</returns>
    /// <exception cref="ValidationException">The JSON is invalid, names unknown kinds, or describes an invalid graph; every problem is listed.</exception>
    public static ServingGraph FromJson(string json, ServingStepRegistry registry, ServingErrorHandler? onError = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(registry);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new ValidationException("A serving graph's JSON must be an object with \"type\", \"name\" and its steps or routes.");
        }
        catch (JsonException e)
        {
            throw new ValidationException($"The serving graph JSON is not valid JSON: {e.Message}", e);
        }
        var type = (string?)root["type"];
        return type switch
        {
            "flow" => FlowGraphBuilder.FromSpec(root, registry, onError),
            "router" => RouterGraphBuilder.FromSpec(root, registry, onError),
            _ => throw new ValidationException($"The serving graph JSON has type '{type}'; expected \"flow\" or \"router\"."),
        };
    }

    /// <summary>Initializes every step implementing <see cref="IServingStepLifetime"/> once; <see cref="InvokeAsync"/> calls it before the first event.</summary>
    /// <param name="cancellationToken">Cancels the initialization (steps already initialized stay so).</param>
    /// <returns>A task that completes when every step is ready.</returns>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        if (_initialized)
            return;
        await _initLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_initialized)
                return;
            foreach (var step in Steps)
            {
                if (step is IServingStepLifetime lifetime)
                {
                    try
                    {
                        await lifetime.InitializeAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException && e is not ServingException)
                    {
                        throw new ServingException(503, $"The step '{step.Name}' of the serving graph '{Name}' failed to initialize: {e.GetType().Name}: {e.Message}", e);
                    }
                }
            }
            _initialized = true;
        }
        finally
        {
            _initLock.Release();
        }
    }

    /// <summary>Sends an event through the graph and returns the response. Thread-safe.</summary>
    /// <param name="servingEvent">The request event.</param>
    /// <param name="cancellationToken">Cancels the request (background branches are not cancelled).</param>
    /// <returns>The response event.</returns>
    /// <exception cref="ServingException">A step failed and no handler produced a response (its own <see cref="ServingException"/>, or a 500 naming the step), a route is unknown (404), or the graph is disposed (503).</exception>
    public async ValueTask<ServingEvent> InvokeAsync(ServingEvent servingEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(servingEvent);
        if (Volatile.Read(ref _disposed) != 0)
            throw new ServingException(503, $"The serving graph '{Name}' is disposed; build a new one.");
        if (!_initialized)
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
        if (!ServingTelemetry.Source.HasListeners())
            return await InvokeCoreAsync(servingEvent, cancellationToken).ConfigureAwait(false);
        using var activity = ServingTelemetry.Source.StartActivity(InferenceSpan);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("mlops.serving.graph", Name);
            activity.SetTag("mlops.serving.path", servingEvent.Path);
            activity.SetTag("mlops.serving.event_id", servingEvent.Id);
        }
        try
        {
            return await InvokeCoreAsync(servingEvent, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            ServingTelemetry.Fail(activity, e);
            throw;
        }
    }

    /// <summary>The name of the span of one event through the graph (<see cref="ServingDiagnostics"/>).</summary>
    internal const string InferenceSpan = "mlops.serving.inference";

    /// <summary>The name of the span of one step, a child of <see cref="InferenceSpan"/>.</summary>
    internal const string StepSpan = "mlops.serving.step";

    /// <summary>Starts the span of a step when someone listens, with the graph, the step and, for a model step, the model.</summary>
    private Activity? StartStep(string stepName, IServingStep step, bool background)
    {
        if (!ServingTelemetry.Source.HasListeners())
            return null;
        var activity = ServingTelemetry.Source.StartActivity(StepSpan);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("mlops.serving.graph", Name);
            activity.SetTag("mlops.serving.step", stepName);
            if (background)
                activity.SetTag("mlops.serving.background", true);
            if (step is ModelStep modelStep)
            {
                activity.SetTag("mlops.model.name", modelStep.Model.Name);
                activity.SetTag("mlops.model.version", modelStep.Model.Version);
            }
        }
        return activity;
    }

    /// <summary>Waits until every background branch started so far (and the branches they start) has finished.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when no background branch is running.</returns>
    public async Task DrainAsync(CancellationToken cancellationToken = default)
    {
        while (!_background.IsEmpty)
            await Task.WhenAll(_background.Keys).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the topology as a Mermaid flowchart (<c>flowchart LR</c>) for docs and notebooks.</summary>
    /// <returns>The Mermaid text.</returns>
    public abstract string ToMermaid();

    /// <summary>Writes the graph as JSON; every step must be an <see cref="ISerializableServingStep"/> (see <see cref="ServingStepRegistry.Create"/>).</summary>
    /// <returns>The JSON (indented).</returns>
    /// <exception cref="ValidationException">Some steps (lambdas) or a routing rule cannot be stored; every one is listed.</exception>
    public string ToJson()
    {
        var errors = new List<string>();
        var spec = ToSpec(errors);
        if (errors.Count > 0)
            throw new ValidationException($"The serving graph '{Name}' cannot be written as JSON", errors);
        return spec.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Waits for background branches, then disposes every step implementing <see cref="IAsyncDisposable"/> or <see cref="IDisposable"/>.</summary>
    /// <returns>A task that completes when done.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await DrainAsync().ConfigureAwait(false);
        foreach (var step in Steps)
        {
            if (step is IAsyncDisposable a)
                await a.DisposeAsync().ConfigureAwait(false);
            else
                (step as IDisposable)?.Dispose();
        }
        _initLock.Dispose();
        GC.SuppressFinalize(this);
    }

    private protected abstract ValueTask<ServingEvent> InvokeCoreAsync(ServingEvent servingEvent, CancellationToken cancellationToken);

    private protected abstract JsonObject ToSpec(List<string> errors);

    /// <summary>Runs a step on the response path. Returns the output and whether a graph-level handler produced the final response.</summary>
    private protected async ValueTask<(ServingEvent Event, bool Final)> RunStepAsync(
        string stepName, IServingStep step, StepContext context, ServingErrorHandler? stepHandler, ServingEvent input, CancellationToken cancellationToken)
    {
        Exception error;
        using var activity = StartStep(stepName, step, background: false);
        try
        {
            var output = await step.ProcessAsync(input, context, cancellationToken).ConfigureAwait(false);
            return output is null
                ? throw new ServingException(500, $"The step '{stepName}' of the serving graph '{Name}' returned no event; a step must return the event to pass on.")
                : (output, false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            error = e;
            ServingTelemetry.Fail(activity, e);
        }
        input.Items[ServingEvent.ErrorStepItem] = stepName;
        if (CallHandler(stepHandler, stepName, input, error) is { } replaced)
            return (replaced, false);
        if (CallHandler(_onError, stepName, input, error) is { } response)
            return (response, true);
        throw Wrap(stepName, error);
    }

    /// <summary>Runs work off the response path, tracked by <see cref="DrainAsync"/>; it must not throw.</summary>
    private protected void RunInBackground(Func<Task> work)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var task = Task.Run(async () =>
        {
            await gate.Task.ConfigureAwait(false);
            await work().ConfigureAwait(false);
        });
        _background.TryAdd(task, 0);
        _ = task.ContinueWith(t => _background.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        gate.SetResult();
    }

    /// <summary>Runs a step off the response path: errors go to the step's and the graph's handlers, never to the caller.</summary>
    private protected async Task<ServingEvent?> RunBackgroundStepAsync(
        string stepName, IServingStep step, StepContext context, ServingErrorHandler? stepHandler, ServingEvent input)
    {
        using var activity = StartStep(stepName, step, background: true);
        try
        {
            return await step.ProcessAsync(input, context, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            ServingTelemetry.Fail(activity, e);
            input.Items[ServingEvent.ErrorStepItem] = stepName;
            try
            {
                if (stepHandler?.Invoke(input, e) is { } replaced)
                    return replaced;
                if (_onError is null)
                    Trace.TraceError($"The background step '{stepName}' of the serving graph '{Name}' failed: {e.GetType().Name}: {e.Message}");
                else
                    _onError(input, e);
            }
            catch (Exception handlerError)
            {
                Trace.TraceError($"The error handler of the serving graph '{Name}' failed for the background step '{stepName}': {handlerError.GetType().Name}: {handlerError.Message}");
            }
            return null;
        }
    }

    /// <summary>The exception the caller sees: a <see cref="ServingException"/> is kept, anything else becomes a 500 naming the step.</summary>
    private protected Exception Wrap(string stepName, Exception error) => error switch
    {
        ServingException => error,
        OperationCanceledException => error,
        _ => new ServingException(500, $"The step '{stepName}' of the serving graph '{Name}' failed: {error.GetType().Name}: {error.Message}", error),
    };

    private ServingEvent? CallHandler(ServingErrorHandler? handler, string stepName, ServingEvent input, Exception error)
    {
        if (handler is null)
            return null;
        try
        {
            return handler(input, error);
        }
        catch (Exception e) when (e is not ServingException)
        {
            throw new ServingException(500, $"The error handler for the step '{stepName}' of the serving graph '{Name}' failed: {e.GetType().Name}: {e.Message}", e);
        }
    }

    /// <summary>A Mermaid node label: quotes escaped.</summary>
    private protected static string Label(string text) => "\"" + text.Replace("\"", "#quot;", StringComparison.Ordinal) + "\"";

    /// <summary>Starts a Mermaid flowchart.</summary>
    private protected static StringBuilder MermaidHeader() => new StringBuilder().Append("flowchart LR\n");

    /// <summary>A step's JSON: name, kind and options, or an error when it is not serializable.</summary>
    private protected static JsonObject StepSpec(string name, IServingStep step, List<string> errors)
    {
        var node = new JsonObject { ["name"] = name };
        if (step is ISerializableServingStep s)
        {
            node["kind"] = s.Kind;
            node["options"] = s.Options;
        }
        else
        {
            errors.Add($"The step '{name}' ({step.GetType().Name}) has no registered kind; create it with ServingStepRegistry.Create(kind, options) to store the graph as JSON.");
        }
        return node;
    }

    /// <summary>Creates a step from its JSON, or records why it cannot.</summary>
    private protected static IServingStep? StepFromSpec(JsonNode? node, ServingStepRegistry registry, List<string> errors, string where)
    {
        if (node is not JsonObject o || o["kind"] is null)
        {
            errors.Add($"{where} has no \"kind\".");
            return null;
        }
        var kind = (string?)o["kind"] ?? "";
        if (!registry.Contains(kind))
        {
            errors.Add($"{where} has the kind '{kind}', which is not registered; known kinds: {(registry.Kinds.Count == 0 ? "(none)" : string.Join(", ", registry.Kinds))}.");
            return null;
        }
        try
        {
            return registry.Create(kind, o["options"] as JsonObject);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            errors.Add($"{where}: the factory of the kind '{kind}' failed: {e.Message}");
            return null;
        }
    }
}
