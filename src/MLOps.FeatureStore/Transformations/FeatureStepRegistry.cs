using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace MLOps.FeatureStore.Transformations;

/// <summary>
/// Rebuilds transformation steps from stored feature-set specs. The built-in kinds (<c>impute</c>, <c>map-values</c>,
/// <c>one-hot</c>, <c>date-parts</c>, <c>drop</c>, <c>validate</c>) are always known. Register custom step kinds with
/// <see cref="Register"/>; computed columns and filters (user code) are registered by the feature-set builder that defines
/// them, under <c>compute:&lt;feature set&gt;/&lt;name&gt;</c> (or <c>filter:...</c>), so a process that defines a feature set
/// can reload it from the store, and two sets may use one name for different code.
/// </summary>
/// <remarks>Thread-safe.</remarks>
public sealed class FeatureStepRegistry
{
    private readonly ConcurrentDictionary<string, Func<JsonObject, IFeatureStep>> _factories = new(StringComparer.Ordinal);

    internal FeatureStepRegistry()
    {
        _factories["impute"] = ImputeStep.FromOptions;
        _factories["map-values"] = MapValuesStep.FromOptions;
        _factories["one-hot"] = OneHotStep.FromOptions;
        _factories["date-parts"] = DatePartsStep.FromOptions;
        _factories["drop"] = DropColumnsStep.FromOptions;
        _factories["validate"] = ValidateStep.FromOptions;
    }

    /// <summary>Registers (or replaces) the factory of a custom step kind.</summary>
    /// <param name="kind">The kind, as returned by <see cref="IFeatureStep.Kind"/>.</param>
    /// <param name="factory">Builds the step from its stored <see cref="IFeatureStep.Options"/>.</param>
    /// <exception cref="ValidationException">The kind is a built-in kind.</exception>
    public void Register(string kind, Func<JsonObject, IFeatureStep> factory)
    {
        Throw.IfNullOrWhitespace(kind);
        ArgumentNullException.ThrowIfNull(factory);
        if (kind is "impute" or "map-values" or "one-hot" or "date-parts" or "drop" or "validate" or "compute" or "filter")
            throw new ValidationException($"Step kind '{kind}' is built in. Give the custom step another kind, such as 'my-company.{kind}'.");
        _factories[kind] = factory;
    }

    /// <summary>Whether a kind (or a code step, <c>compute:&lt;feature set&gt;/&lt;name&gt;</c>) can be rebuilt.</summary>
    /// <param name="kind">The kind.</param>
    /// <returns>Whether it is registered.</returns>
    public bool IsRegistered(string kind) => _factories.ContainsKey(kind);

    // code steps are keyed by feature set too: another set's step of the same name is other code
    internal void RegisterCode(string featureSet, IFeatureStep step)
    {
        var name = (string?)step.Options["name"];
        if (name is not null) _factories[$"{step.Kind}:{featureSet}/{name}"] = _ => step;
    }

    internal IFeatureStep Create(string featureSet, string kind, JsonObject options)
    {
        var key = kind is "compute" or "filter" ? $"{kind}:{featureSet}/{(string?)options["name"]}" : kind;
        if (_factories.TryGetValue(key, out var factory)) return factory(options);
        if (kind is "compute" or "filter")
            throw new InvalidStateException(
                $"The stored feature set uses the {kind} step '{(string?)options["name"]}', which is user code. Define the feature set with its builder in this process (FeatureStore.FeatureSet(...).{(kind == "compute" ? "Compute" : "Filter")}(\"{(string?)options["name"]}\", ...)) before loading it.");
        throw new InvalidStateException($"The stored feature set uses the step kind '{kind}', which is not registered. Register it with FeatureStore.Steps.Register(\"{kind}\", options => new YourStep(options)).");
    }
}
