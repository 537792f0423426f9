using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace MLOps.Serving.Graphs;

/// <summary>
/// Maps step kinds (such as <c>"mlnet-model"</c> or <c>"enrich"</c>) to factories that build a step from JSON options,
/// so that a graph can be stored as JSON (<see cref="ServingGraph.ToJson"/>) and rebuilt (<see cref="ServingGraph.FromJson"/>).
/// Thread-safe.
/// </summary>
public sealed class ServingStepRegistry
{
    private readonly ConcurrentDictionary<string, Func<JsonObject, IServingStep>> _factories = new(StringComparer.Ordinal);

    /// <summary>The registered kinds, sorted.</summary>
    public IReadOnlyList<string> Kinds => [.. _factories.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Registers (or replaces) the factory of a kind.</summary>
    /// <param name="kind">The kind.</param>
    /// <param name="factory">Builds a step from its options (an empty object when none were given).</param>
    /// <returns>This registry, for chaining.</returns>
    public ServingStepRegistry Register(string kind, Func<JsonObject, IServingStep> factory)
    {
        Throw.IfNullOrWhitespace(kind);
        ArgumentNullException.ThrowIfNull(factory);
        _factories[kind] = factory;
        return this;
    }

    /// <summary>Whether a kind is registered.</summary>
    /// <param name="kind">The kind.</param>
    /// <returns><see langword="true"/> when registered.</returns>
    public bool Contains(string kind) => kind is not null && _factories.ContainsKey(kind);

    /// <summary>Builds a step of a registered kind; the step remembers its kind and options so that graphs can write it to JSON.</summary>
    /// <param name="kind">The kind.</param>
    /// <param name="options">The options (copied); an empty object when <see langword="null"/>.</param>
    /// <returns>The step.</returns>
    /// <exception cref="ValidationException">The kind is not registered.</exception>
    public ISerializableServingStep Create(string kind, JsonObject? options = null)
    {
        Throw.IfNullOrWhitespace(kind);
        if (!_factories.TryGetValue(kind, out var factory))
            throw new ValidationException($"The step kind '{kind}' is not registered; known kinds: {Known()}. Register it with ServingStepRegistry.Register(\"{kind}\", options => ...).");
        var copy = options is null ? [] : (JsonObject)options.DeepClone();
        var step = factory((JsonObject)copy.DeepClone())
                   ?? throw new ValidationException($"The factory of the step kind '{kind}' returned null; it must return a step.");
        return step as ISerializableServingStep is { } s && s.Kind == kind ? s : new RegisteredStep(kind, copy, step);
    }

    private string Known() => _factories.IsEmpty ? "(none)" : string.Join(", ", Kinds);

    /// <summary>A step built by a registry: delegates to the built step and remembers the kind and options.</summary>
    private sealed class RegisteredStep(string kind, JsonObject options, IServingStep inner)
        : ISerializableServingStep, IServingStepLifetime, IAsyncDisposable
    {
        public string Kind { get; } = kind;

        public JsonObject Options => (JsonObject)options.DeepClone();

        public string Name => inner.Name;

        public ValueTask<ServingEvent> ProcessAsync(ServingEvent servingEvent, StepContext context, CancellationToken cancellationToken)
            => inner.ProcessAsync(servingEvent, context, cancellationToken);

        public ValueTask InitializeAsync(CancellationToken cancellationToken)
            => inner is IServingStepLifetime l ? l.InitializeAsync(cancellationToken) : ValueTask.CompletedTask;

        public ValueTask DisposeAsync()
        {
            if (inner is IAsyncDisposable a)
                return a.DisposeAsync();
            (inner as IDisposable)?.Dispose();
            return ValueTask.CompletedTask;
        }

        public override string ToString() => $"{Kind} step '{Name}'";
    }
}
