using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLOps.Serving.Graphs;

/// <summary>How an ensemble combines the outputs of its routes.</summary>
public enum EnsembleMode
{
    /// <summary>Majority vote over class labels (weighted when weights are given); a tie goes to the label of the first route that voted for it. Arrays vote element by element.</summary>
    Vote,

    /// <summary>Mean of numeric outputs (weighted when weights are given); arrays are averaged element by element into a <see cref="double"/> array.</summary>
    Mean,
}

/// <summary>How a router picks the route of an event.</summary>
public enum RoutingMode
{
    /// <summary>By <see cref="ServingEvent.Path"/> (the model name); an unknown name is a 404.</summary>
    Path,

    /// <summary>By a user rule returning the route name; an unknown name is a 404.</summary>
    Rule,

    /// <summary>At random by weights (canary releases); an event whose <see cref="ServingEvent.Path"/> names a route goes to that route.</summary>
    Weights,
}

/// <summary>
/// Builds a <see cref="ServingRouter"/>: named routes (models), how to pick one (path, rule or weights), shadow routes that
/// receive a copy of every event in the background, and ensembles combining several routes. Problems are collected and
/// reported all at once by <see cref="Build"/>.
/// </summary>
public sealed class RouterGraphBuilder
{
    private readonly string _name;
    private readonly List<(string Name, IServingStep Step)> _routes = [];
    private readonly List<(string Name, IServingStep Step)> _shadows = [];
    private readonly List<EnsembleSpec> _ensembles = [];
    private readonly List<string> _problems = [];
    private Func<ServingEvent, string>? _rule;
    private Dictionary<string, double>? _weights;
    private int? _seed;
    private ServingErrorHandler? _onError;

    internal RouterGraphBuilder(string name) => _name = name;

    /// <summary>Adds a route (a model) under a name.</summary>
    /// <param name="name">The route name, matched against <see cref="ServingEvent.Path"/>.</param>
    /// <param name="step">The step serving the route.</param>
    /// <returns>This builder.</returns>
    public RouterGraphBuilder Route(string name, IServingStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        _routes.Add((name ?? "", step));
        return this;
    }

    /// <summary>Adds a route under the step's own name.</summary>
    /// <param name="step">The step.</param>
    /// <returns>This builder.</returns>
    public RouterGraphBuilder Route(IServingStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        return Route(step.Name, step);
    }

    /// <summary>Adds a lambda route.</summary>
    /// <param name="name">The route name.</param>
    /// <param name="process">Returns the response event.</param>
    /// <returns>This builder.</returns>
    public RouterGraphBuilder Route(string name, Func<ServingEvent, ServingEvent> process) => Route(name, ServingStep.Create(name, process));

    /// <summary>Routes by a rule returning the route name instead of by path.</summary>
    /// <param name="rule">Returns the route name of an event.</param>
    /// <returns>This builder.</returns>
    public RouterGraphBuilder ByRule(Func<ServingEvent, string> rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        _rule = rule;
        return this;
    }

    /// <summary>Routes at random by weights (a canary: <c>{ ["v1"] = 90, ["v2"] = 10 }</c>); change them at run time with <see cref="ServingRouter.SetWeights"/>.</summary>
    /// <param name="weights">The weight of each route (routes not listed get 0); relative, need not sum to 1.</param>
    /// <param name="seed">Seeds the random choice for reproducible tests; <see langword="null"/> for a random seed.</param>
    /// <returns>This builder.</returns>
    public RouterGraphBuilder ByWeights(IReadOnlyDictionary<string, double> weights, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        _weights = new Dictionary<string, double>(weights, StringComparer.Ordinal);
        _seed = seed;
        return this;
    }

    /// <summary>Adds a shadow route: it receives a copy of every event in the background; its output and errors never affect the response.</summary>
    /// <param name="name">The shadow's name.</param>
    /// <param name="step">The step.</param>
    /// <returns>This builder.</returns>
    public RouterGraphBuilder Shadow(string name, IServingStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        _shadows.Add((name ?? "", step));
        return this;
    }

    /// <summary>Adds an ensemble route combining the outputs of other routes with equal weights.</summary>
    /// <param name="name">The ensemble's route name.</param>
    /// <param name="mode">Vote over labels or mean of numbers.</param>
    /// <param name="routes">The routes it combines (declared with <c>Route</c>).</param>
    /// <returns>This builder.</returns>
    public RouterGraphBuilder Ensemble(string name, EnsembleMode mode, params string[] routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        _ensembles.Add(new EnsembleSpec(name ?? "", mode, [.. routes], null));
        return this;
    }

    /// <summary>Adds a weighted ensemble route.</summary>
    /// <param name="name">The ensemble's route name.</param>
    /// <param name="mode">Vote over labels or mean of numbers.</param>
    /// <param name="routes">The routes it combines (declared with <c>Route</c>).</param>
    /// <param name="weights">One weight per route (relative); <see langword="null"/> for equal weights.</param>
    /// <returns>This builder.</returns>
    public RouterGraphBuilder Ensemble(string name, EnsembleMode mode, IReadOnlyList<string> routes, IReadOnlyList<double>? weights)
    {
        ArgumentNullException.ThrowIfNull(routes);
        _ensembles.Add(new EnsembleSpec(name ?? "", mode, [.. routes], weights is null ? null : [.. weights]));
        return this;
    }

    /// <summary>Sets the graph-level error handler: it may return an event to use as the response; it also receives the errors of shadows.</summary>
    /// <param name="handler">The handler.</param>
    /// <returns>This builder.</returns>
    public RouterGraphBuilder OnError(ServingErrorHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _onError = handler;
        return this;
    }

    /// <summary>Validates the router and builds it.</summary>
    /// <returns>The graph.</returns>
    /// <exception cref="ValidationException">Every problem found (no routes, duplicate names, unknown routes in weights or ensembles, weights not summing to more than 0, ...).</exception>
    public ServingRouter Build()
    {
        var errors = new List<string>(_problems);
        if (string.IsNullOrWhiteSpace(_name))
            errors.Add("The router has no name; pass a name to ServingGraph.Router(name).");
        if (_routes.Count == 0)
            errors.Add("The router has no routes; add one with Route(name, step).");
        var all = _routes.Select(r => r.Name).Concat(_ensembles.Select(e => e.Name)).Concat(_shadows.Select(s => s.Name)).ToList();
        if (all.Any(string.IsNullOrWhiteSpace))
            errors.Add("A route, ensemble or shadow has an empty name; every one needs a unique name.");
        foreach (var group in all.Where(n => !string.IsNullOrWhiteSpace(n)).GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1))
            errors.Add($"The name '{group.Key}' is used {group.Count()} times among routes, ensembles and shadows; names must be unique.");
        var routeNames = _routes.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        var targets = routeNames.Concat(_ensembles.Select(e => e.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var e in _ensembles)
            ValidateEnsemble(e, routeNames, errors);
        if (_rule is not null && _weights is not null)
            errors.Add("The router has both a rule (ByRule) and weights (ByWeights); choose one.");
        if (_weights is not null)
            errors.AddRange(ServingRouter.ValidateWeights(_weights, targets));
        if (errors.Count > 0)
            throw new ValidationException($"The serving router '{_name}' is invalid", errors);
        return new ServingRouter(_name, _routes, _shadows, _ensembles, _rule, _weights, _seed, _onError);
    }

    private static void ValidateEnsemble(EnsembleSpec e, HashSet<string> routeNames, List<string> errors)
    {
        if (e.Routes.Length == 0)
            errors.Add($"The ensemble '{e.Name}' has no routes; list the routes it combines.");
        foreach (var r in e.Routes.Where(r => !routeNames.Contains(r)))
            errors.Add($"The ensemble '{e.Name}' names the unknown route '{r}'; known routes: {(routeNames.Count == 0 ? "(none)" : string.Join(", ", routeNames))}.");
        if (e.Weights is null)
            return;
        if (e.Weights.Length != e.Routes.Length)
            errors.Add($"The ensemble '{e.Name}' has {e.Weights.Length} weights for {e.Routes.Length} routes; give one weight per route.");
        if (e.Weights.Any(w => w < 0 || !double.IsFinite(w)))
            errors.Add($"The ensemble '{e.Name}' has a negative or non-finite weight; weights must be finite and >= 0.");
        else if (e.Weights.Sum() <= 0)
            errors.Add($"The weights of the ensemble '{e.Name}' sum to {e.Weights.Sum().ToString(CultureInfo.InvariantCulture)}; they must sum to more than 0.");
    }

    internal static ServingRouter FromSpec(JsonObject root, ServingStepRegistry registry, ServingErrorHandler? onError)
    {
        var errors = new List<string>();
        var builder = new RouterGraphBuilder((string?)root["name"] ?? "");
        if (onError is not null)
            builder.OnError(onError);
        try
        {
            foreach (var (item, i) in (root["routes"] as JsonArray ?? []).Select((r, i) => (r, i)))
            {
                var name = (string?)item?["name"] ?? "";
                if (ServingFlow.CreateStep(item, registry, errors, $"Route {i} ('{name}')") is { } step)
                    builder.Route(name, step);
            }
            foreach (var (item, i) in (root["shadows"] as JsonArray ?? []).Select((r, i) => (r, i)))
            {
                var name = (string?)item?["name"] ?? "";
                if (ServingFlow.CreateStep(item, registry, errors, $"Shadow {i} ('{name}')") is { } step)
                    builder.Shadow(name, step);
            }
            foreach (var item in (root["ensembles"] as JsonArray ?? []).OfType<JsonObject>())
            {
                var mode = Enum.TryParse<EnsembleMode>((string?)item["mode"], true, out var m) ? m : EnsembleMode.Mean;
                var routes = (item["routes"] as JsonArray ?? []).Select(r => (string?)r ?? "").ToArray();
                var weights = (item["weights"] as JsonArray)?.Select(w => (double?)w ?? 0).ToArray();
                builder.Ensemble((string?)item["name"] ?? "", mode, routes, weights);
            }
            var routing = (string?)root["routing"] ?? "path";
            if (routing == "weights")
            {
                var weights = (root["weights"] as JsonObject ?? []).ToDictionary(p => p.Key, p => (double?)p.Value ?? 0, StringComparer.Ordinal);
                builder.ByWeights(weights, (int?)root["seed"]);
            }
            else if (routing != "path")
            {
                errors.Add($"The router JSON has the routing '{routing}'; only \"path\" and \"weights\" can be stored (a rule is code).");
            }
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or JsonException)
        {
            errors.Add($"The router JSON has a value of the wrong type: {e.Message}");
        }
        if (errors.Count > 0)
            throw new ValidationException($"The serving router JSON '{builder._name}' is invalid", errors);
        return builder.Build();
    }

    internal sealed record EnsembleSpec(string Name, EnsembleMode Mode, string[] Routes, double[]? Weights);
}

/// <summary>
/// A router of models (see <see cref="ServingGraph.Router"/>): picks one route per event by path, rule or weights, sends
/// copies to shadow routes in the background, and serves ensembles combining several routes.
/// </summary>
public sealed class ServingRouter : ServingGraph
{
    private readonly Dictionary<string, Target> _targets = new(StringComparer.Ordinal);
    private readonly List<Target> _routes = [];
    private readonly List<Target> _shadows = [];
    private readonly List<Ensemble> _ensembles = [];
    private readonly Func<ServingEvent, string>? _rule;
    private readonly int? _seed;
    private readonly Random _random;
    private readonly Lock _randomLock = new();
    private volatile WeightTable? _weights;

    internal ServingRouter(
        string name,
        List<(string Name, IServingStep Step)> routes,
        List<(string Name, IServingStep Step)> shadows,
        List<RouterGraphBuilder.EnsembleSpec> ensembles,
        Func<ServingEvent, string>? rule,
        Dictionary<string, double>? weights,
        int? seed,
        ServingErrorHandler? onError)
        : base(name, onError)
    {
        foreach (var (routeName, step) in routes)
        {
            var target = new Target(routeName, step, null, new StepContext(name, routeName));
            _routes.Add(target);
            _targets[routeName] = target;
        }
        foreach (var e in ensembles)
        {
            var ensemble = new Ensemble(e.Name, e.Mode, [.. e.Routes.Select(r => _targets[r])], e.Weights ?? [.. e.Routes.Select(_ => 1.0)], e.Weights is not null);
            _ensembles.Add(ensemble);
            _targets[e.Name] = new Target(e.Name, null, ensemble, new StepContext(name, e.Name));
        }
        _shadows.AddRange(shadows.Select(s => new Target(s.Name, s.Step, null, new StepContext(name, s.Name))));
        _rule = rule;
        _seed = seed;
#pragma warning disable CA5394 // Routing traffic, not security: a seedable pseudo-random choice is what a canary needs.
        _random = seed is null ? new Random() : new Random(seed.Value);
#pragma warning restore CA5394
        if (weights is not null)
            _weights = new WeightTable(weights);
    }

    /// <summary>How the router picks a route.</summary>
    public RoutingMode Mode => _weights is not null ? RoutingMode.Weights : _rule is not null ? RoutingMode.Rule : RoutingMode.Path;

    /// <summary>The names of the routes and ensembles (what <see cref="ServingEvent.Path"/> may name), in declaration order.</summary>
    public IReadOnlyList<string> RouteNames => [.. _targets.Keys];

    /// <summary>The current weights (empty unless <see cref="Mode"/> is <see cref="RoutingMode.Weights"/>).</summary>
    public IReadOnlyDictionary<string, double> Weights => new Dictionary<string, double>(_weights?.Map ?? [], StringComparer.Ordinal);

    private protected override IEnumerable<IServingStep> Steps
        => _routes.Concat(_shadows).Select(t => t.Step!).Distinct(ReferenceEqualityComparer.Instance).Cast<IServingStep>();

    /// <summary>Replaces the weights at run time (thread-safe; events already routed are not affected).</summary>
    /// <param name="weights">The weight of each route (routes not listed get 0).</param>
    /// <exception cref="InvalidStateException">The router does not route by weights.</exception>
    /// <exception cref="ValidationException">A route is unknown, a weight is negative, or the weights do not sum to more than 0.</exception>
    public void SetWeights(IReadOnlyDictionary<string, double> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (_weights is null)
            throw new InvalidStateException($"The serving router '{Name}' routes by {Mode.ToString().ToLowerInvariant()}, not by weights; build it with ByWeights(...) to change weights at run time.");
        var errors = ValidateWeights(weights, _targets.Keys.ToHashSet(StringComparer.Ordinal));
        if (errors.Count > 0)
            throw new ValidationException($"The weights of the serving router '{Name}' are invalid", errors);
        _weights = new WeightTable(weights);
    }

    internal static List<string> ValidateWeights(IReadOnlyDictionary<string, double> weights, HashSet<string> targets)
    {
        var errors = new List<string>();
        foreach (var name in weights.Keys.Where(k => !targets.Contains(k)))
            errors.Add($"The weights name the unknown route '{name}'; known routes: {(targets.Count == 0 ? "(none)" : string.Join(", ", targets))}.");
        if (weights.Values.Any(w => w < 0 || !double.IsFinite(w)))
            errors.Add("A weight is negative or not finite; weights must be finite and >= 0.");
        else if (weights.Values.Sum() <= 0)
            errors.Add($"The weights sum to {weights.Values.Sum().ToString(CultureInfo.InvariantCulture)}; they must sum to more than 0.");
        return errors;
    }

    /// <inheritdoc />
    public override string ToMermaid()
    {
        var text = MermaidHeader();
        text.Append("    request([\"request\"])\n");
        text.Append("    router{").Append(Label(Name)).Append("}\n");
        text.Append("    request --> router\n");
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        var weights = _weights;
        var i = 0;
        foreach (var route in _routes)
        {
            var id = ids[route.Name] = "r" + (i++).ToString(CultureInfo.InvariantCulture);
            text.Append("    ").Append(id).Append('[').Append(Label(route.Name)).Append("]\n");
        }
        var e = 0;
        foreach (var ensemble in _ensembles)
        {
            var id = ids[ensemble.Name] = "e" + (e++).ToString(CultureInfo.InvariantCulture);
            text.Append("    ").Append(id).Append("[[").Append(Label($"{ensemble.Name} ({ensemble.Mode.ToString().ToLowerInvariant()})")).Append("]]\n");
        }
        foreach (var name in _targets.Keys)
        {
            var label = weights is null
                ? name
                : (weights.Share(name) * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";
            text.Append("    router -->|").Append(Label(label)).Append("| ").Append(ids[name]).Append('\n');
        }
        foreach (var ensemble in _ensembles)
        {
            foreach (var member in ensemble.Members)
                text.Append("    ").Append(ids[ensemble.Name]).Append(" --> ").Append(ids[member.Name]).Append('\n');
        }
        var s = 0;
        foreach (var shadow in _shadows)
        {
            var id = "sh" + (s++).ToString(CultureInfo.InvariantCulture);
            text.Append("    ").Append(id).Append('[').Append(Label(shadow.Name + " (shadow)")).Append("]\n");
            text.Append("    router -.->|\"copy\"| ").Append(id).Append('\n');
        }
        return text.ToString();
    }

    private protected override JsonObject ToSpec(List<string> errors)
    {
        var root = new JsonObject { ["type"] = "router", ["name"] = Name };
        if (_rule is not null)
            errors.Add($"The router '{Name}' routes by a rule, which is code; route by path or weights to store it as JSON.");
        root["routing"] = Mode == RoutingMode.Weights ? "weights" : "path";
        if (_weights is { } weights)
        {
            root["weights"] = new JsonObject(weights.Map.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value))));
            if (_seed is not null)
                root["seed"] = _seed.Value;
        }
        root["routes"] = new JsonArray([.. _routes.Select(r => (JsonNode)StepSpec(r.Name, r.Step!, errors))]);
        if (_shadows.Count > 0)
            root["shadows"] = new JsonArray([.. _shadows.Select(r => (JsonNode)StepSpec(r.Name, r.Step!, errors))]);
        if (_ensembles.Count > 0)
        {
            root["ensembles"] = new JsonArray([.. _ensembles.Select(e =>
            {
                var node = new JsonObject
                {
                    ["name"] = e.Name,
                    ["mode"] = e.Mode.ToString().ToLowerInvariant(),
                    ["routes"] = new JsonArray([.. e.Members.Select(m => (JsonNode?)JsonValue.Create(m.Name))]),
                };
                if (e.Weighted)
                    node["weights"] = new JsonArray([.. e.Weights.Select(w => (JsonNode?)JsonValue.Create(w))]);
                return (JsonNode)node;
            })]);
        }
        return root;
    }

    private protected override async ValueTask<ServingEvent> InvokeCoreAsync(ServingEvent servingEvent, CancellationToken cancellationToken)
    {
        var target = Select(servingEvent);
        foreach (var shadow in _shadows)
        {
            var copy = servingEvent.Clone();
            RunInBackground(() => RunBackgroundStepAsync(shadow.Name, shadow.Step!, shadow.Context, null, copy));
        }
        if (target.Ensemble is null)
            return (await RunStepAsync(target.Name, target.Step!, target.Context, null, servingEvent, cancellationToken).ConfigureAwait(false)).Event;
        return await RunEnsembleAsync(target.Ensemble, servingEvent, cancellationToken).ConfigureAwait(false);
    }

    private Target Select(ServingEvent servingEvent)
    {
        string? name;
        var weights = _weights;
        if (weights is not null)
        {
            if (servingEvent.Path is { } path && _targets.TryGetValue(path, out var direct))
                return direct;
            double draw;
            lock (_randomLock)
            {
#pragma warning disable CA5394 // Routing traffic, not security.
                draw = _random.NextDouble();
#pragma warning restore CA5394
            }
            return _targets[weights.Pick(draw)];
        }
        if (_rule is not null)
        {
            try
            {
                name = _rule(servingEvent);
            }
            catch (Exception e) when (e is not ServingException)
            {
                throw new ServingException(500, $"The routing rule of the serving router '{Name}' failed: {e.GetType().Name}: {e.Message}", e);
            }
        }
        else
        {
            name = servingEvent.Path;
        }
        if (name is not null && _targets.TryGetValue(name, out var target))
            return target;
        throw new ServingException(404, $"The serving router '{Name}' has no route '{name ?? "(none)"}'; known routes: {string.Join(", ", _targets.Keys)}.");
    }

    private async ValueTask<ServingEvent> RunEnsembleAsync(Ensemble ensemble, ServingEvent servingEvent, CancellationToken cancellationToken)
    {
        var runs = ensemble.Members
            .Select(m => RunStepAsync(m.Name, m.Step!, m.Context, null, servingEvent.Clone(), cancellationToken).AsTask())
            .ToArray();
        var results = await Task.WhenAll(runs).ConfigureAwait(false);
        if (results.FirstOrDefault(r => r.Final) is { Final: true } final)
            return final.Event;
        var bodies = results.Select(r => r.Event.Body).ToArray();
        return servingEvent.WithBody(EnsembleCombiner.Combine(Name, ensemble, bodies));
    }

    internal sealed record Target(string Name, IServingStep? Step, Ensemble? Ensemble, StepContext Context);

    internal sealed record Ensemble(string Name, EnsembleMode Mode, Target[] Members, double[] Weights, bool Weighted)
    {
        public IEnumerable<string> MemberNames => Members.Select(m => m.Name);
    }

    private sealed class WeightTable
    {
        private readonly string[] _names;
        private readonly double[] _cumulative;
        private readonly double _total;

        public WeightTable(IReadOnlyDictionary<string, double> weights)
        {
            Map = new Dictionary<string, double>(weights, StringComparer.Ordinal);
            _names = [.. weights.Where(p => p.Value > 0).Select(p => p.Key)];
            _cumulative = new double[_names.Length];
            var sum = 0.0;
            for (var i = 0; i < _names.Length; i++)
                _cumulative[i] = sum += weights[_names[i]];
            _total = sum;
        }

        public Dictionary<string, double> Map { get; }

        public double Share(string name) => Map.TryGetValue(name, out var w) ? w / _total : 0;

        public string Pick(double draw)
        {
            var x = draw * _total;
            for (var i = 0; i < _cumulative.Length; i++)
            {
                if (x < _cumulative[i])
                    return _names[i];
            }
            return _names[^1];
        }
    }
}

/// <summary>Combines the bodies of an ensemble's routes.</summary>
internal static class EnsembleCombiner
{
    public static object? Combine(string graph, ServingRouter.Ensemble ensemble, object?[] bodies)
    {
        var names = ensemble.MemberNames.ToArray();
        var arrays = bodies.All(b => b is IEnumerable and not string);
        if (arrays)
        {
            var lists = bodies.Select(b => ((IEnumerable)b!).Cast<object?>().ToArray()).ToArray();
            var length = lists[0].Length;
            for (var i = 1; i < lists.Length; i++)
            {
                if (lists[i].Length != length)
                    throw new ServingException(500, $"The ensemble '{ensemble.Name}' of the serving router '{graph}' got arrays of different lengths ({length} from '{names[0]}', {lists[i].Length} from '{names[i]}').");
            }
            if (ensemble.Mode == EnsembleMode.Mean)
            {
                var means = new double[length];
                for (var j = 0; j < length; j++)
                    means[j] = Mean(graph, ensemble, names, [.. lists.Select(l => l[j])]);
                return means;
            }
            var votes = new object?[length];
            for (var j = 0; j < length; j++)
                votes[j] = Vote(ensemble, [.. lists.Select(l => l[j])]);
            return votes;
        }
        return ensemble.Mode == EnsembleMode.Mean ? Mean(graph, ensemble, names, bodies) : Vote(ensemble, bodies);
    }

    private static double Mean(string graph, ServingRouter.Ensemble ensemble, string[] names, object?[] values)
    {
        double sum = 0, weight = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (!TryNumber(values[i], out var x))
                throw new ServingException(500, $"The mean ensemble '{ensemble.Name}' of the serving router '{graph}' needs numbers, but the route '{names[i]}' returned {values[i]?.GetType().Name ?? "null"}; use EnsembleMode.Vote for labels.");
            sum += ensemble.Weights[i] * x;
            weight += ensemble.Weights[i];
        }
        return sum / weight;
    }

    private static object? Vote(ServingRouter.Ensemble ensemble, object?[] labels)
    {
        var tally = new List<(object? Label, double Score)>();
        for (var i = 0; i < labels.Length; i++)
        {
            var at = tally.FindIndex(t => Equals(t.Label, labels[i]));
            if (at < 0)
                tally.Add((labels[i], ensemble.Weights[i]));
            else
                tally[at] = (tally[at].Label, tally[at].Score + ensemble.Weights[i]);
        }
        var best = tally[0];
        foreach (var t in tally.Skip(1))
        {
            if (t.Score > best.Score)
                best = t;
        }
        return best.Label;
    }

    private static bool TryNumber(object? value, out double number)
    {
        switch (value)
        {
            case double d: number = d; return true;
            case float f: number = f; return true;
            case int i: number = i; return true;
            case long l: number = l; return true;
            case decimal m: number = (double)m; return true;
            case short s: number = s; return true;
            case byte b: number = b; return true;
            case uint u: number = u; return true;
            case ulong ul: number = ul; return true;
            case JsonElement { ValueKind: JsonValueKind.Number } e: number = e.GetDouble(); return true;
            case JsonValue v when v.TryGetValue(out double dv): number = dv; return true;
            default: number = 0; return false;
        }
    }
}
