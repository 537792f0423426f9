using System.Text.Json.Nodes;

namespace MLOps.Serving.Graphs;

/// <summary>
/// A step of a serving graph: pre-processing, enrichment, a model, post-processing. Steps must be thread-safe: a graph
/// calls them concurrently for concurrent requests. Implement <see cref="IServingStepLifetime"/> to load a model once
/// before the first event and <see cref="IAsyncDisposable"/> to release it when the graph is disposed.
/// </summary>
public interface IServingStep
{
    /// <summary>The step's name (a graph may register it under another name).</summary>
    string Name { get; }

    /// <summary>Processes one event.</summary>
    /// <param name="servingEvent">The event produced by the previous step (or the request).</param>
    /// <param name="context">The graph and the name the step is registered under.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The event to pass on: the same instance, changed, or a new one.</returns>
    ValueTask<ServingEvent> ProcessAsync(ServingEvent servingEvent, StepContext context, CancellationToken cancellationToken);
}

/// <summary>A step that needs initialization (loading a model, warming a cache) once before the first event.</summary>
public interface IServingStepLifetime
{
    /// <summary>Initializes the step; a graph calls it once, before its first event or from <see cref="ServingGraph.InitializeAsync"/>.</summary>
    /// <param name="cancellationToken">Cancels the initialization.</param>
    /// <returns>A task that completes when the step is ready.</returns>
    ValueTask InitializeAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A step that a graph can write to JSON: its registered kind and options. <see cref="ServingStepRegistry.Create"/>
/// returns such steps; <see cref="ServingGraph.FromJson"/> rebuilds them with the same registry.
/// </summary>
public interface ISerializableServingStep : IServingStep
{
    /// <summary>The kind the step's factory is registered under in a <see cref="ServingStepRegistry"/>.</summary>
    string Kind { get; }

    /// <summary>The options the factory builds the step from.</summary>
    JsonObject Options { get; }
}

/// <summary>What a step knows about where it runs.</summary>
public sealed class StepContext
{
    /// <summary>Creates a context.</summary>
    /// <param name="graphName">The graph's name.</param>
    /// <param name="stepName">The name the step is registered under in the graph.</param>
    public StepContext(string graphName, string stepName)
    {
        GraphName = graphName;
        StepName = stepName;
    }

    /// <summary>The graph's name.</summary>
    public string GraphName { get; }

    /// <summary>The name the step is registered under in the graph (a route name for routers).</summary>
    public string StepName { get; }
}

/// <summary>Creates steps from delegates.</summary>
public static class ServingStep
{
    /// <summary>Creates a step from a synchronous function of the event.</summary>
    /// <param name="name">The step's name.</param>
    /// <param name="process">Returns the event to pass on.</param>
    /// <returns>The step.</returns>
    public static IServingStep Create(string name, Func<ServingEvent, ServingEvent> process)
    {
        ArgumentNullException.ThrowIfNull(process);
        return new LambdaStep(name, (e, _, _) => ValueTask.FromResult(process(e)));
    }

    /// <summary>Creates a step from an asynchronous function.</summary>
    /// <param name="name">The step's name.</param>
    /// <param name="process">Returns the event to pass on.</param>
    /// <returns>The step.</returns>
    public static IServingStep Create(string name, Func<ServingEvent, StepContext, CancellationToken, ValueTask<ServingEvent>> process)
        => new LambdaStep(name, process);

    /// <summary>Creates a step that replaces the event's body by a function of it.</summary>
    /// <param name="name">The step's name.</param>
    /// <param name="map">Maps the body.</param>
    /// <returns>The step.</returns>
    public static IServingStep Map(string name, Func<object?, object?> map)
    {
        ArgumentNullException.ThrowIfNull(map);
        return new LambdaStep(name, (e, _, _) =>
        {
            e.Body = map(e.Body);
            return ValueTask.FromResult(e);
        });
    }

    private sealed class LambdaStep : IServingStep
    {
        private readonly Func<ServingEvent, StepContext, CancellationToken, ValueTask<ServingEvent>> _process;

        public LambdaStep(string name, Func<ServingEvent, StepContext, CancellationToken, ValueTask<ServingEvent>> process)
        {
            Throw.IfNullOrWhitespace(name);
            ArgumentNullException.ThrowIfNull(process);
            Name = name;
            _process = process;
        }

        public string Name { get; }

        public ValueTask<ServingEvent> ProcessAsync(ServingEvent servingEvent, StepContext context, CancellationToken cancellationToken)
            => _process(servingEvent, context, cancellationToken);

        public override string ToString() => $"lambda step '{Name}'";
    }
}

/// <summary>
/// Handles an exception of a step. Return an event to use it instead (as the step's output for a per-step handler, as
/// the response for a graph-level handler), or <see langword="null"/> to let the exception propagate.
/// <see cref="ServingEvent.Items"/>[<see cref="ServingEvent.ErrorStepItem"/>] names the failing step.
/// </summary>
/// <param name="servingEvent">The event the step received.</param>
/// <param name="exception">The exception the step threw.</param>
/// <returns>The replacement event, or <see langword="null"/>.</returns>
public delegate ServingEvent? ServingErrorHandler(ServingEvent servingEvent, Exception exception);
