using System.Text.Json.Nodes;

namespace MLOps.Serving.Graphs;

/// <summary>
/// Builds a <see cref="ServingFlow"/>: <c>To</c> adds a step after the current one, <c>From</c> picks the step the next
/// <c>To</c> follows (a branch), <c>Respond</c> marks the current step as the responder. Problems are collected and
/// reported all at once by <see cref="Build"/>.
/// </summary>
public sealed class FlowGraphBuilder
{
    private readonly string _name;
    private readonly List<Node> _nodes = [];
    private readonly List<string> _problems = [];
    private readonly List<string> _froms = [];
    private string? _cursor;
    private string? _responder;
    private int _responderCalls;
    private ServingErrorHandler? _onError;

    internal FlowGraphBuilder(string name) => _name = name;

    /// <summary>Adds a step after the current step (or at the start of the flow), under a name, and makes it current.</summary>
    /// <param name="name">The step's name in the graph (unique).</param>
    /// <param name="step">The step.</param>
    /// <returns>This builder.</returns>
    public FlowGraphBuilder To(string name, IServingStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        _nodes.Add(new Node(name ?? "", step, _cursor));
        _cursor = name;
        return this;
    }

    /// <summary>Adds a step after the current step under its own <see cref="IServingStep.Name"/>.</summary>
    /// <param name="step">The step.</param>
    /// <returns>This builder.</returns>
    public FlowGraphBuilder To(IServingStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        return To(step.Name, step);
    }

    /// <summary>Adds a lambda step after the current step.</summary>
    /// <param name="name">The step's name.</param>
    /// <param name="process">Returns the event to pass on.</param>
    /// <returns>This builder.</returns>
    public FlowGraphBuilder To(string name, Func<ServingEvent, ServingEvent> process) => To(name, ServingStep.Create(name, process));

    /// <summary>Adds an asynchronous lambda step after the current step.</summary>
    /// <param name="name">The step's name.</param>
    /// <param name="process">Returns the event to pass on.</param>
    /// <returns>This builder.</returns>
    public FlowGraphBuilder To(string name, Func<ServingEvent, StepContext, CancellationToken, ValueTask<ServingEvent>> process)
        => To(name, ServingStep.Create(name, process));

    /// <summary>Makes a declared step current, so that the next <c>To</c> starts a branch from its output.</summary>
    /// <param name="stepName">The step's name.</param>
    /// <returns>This builder.</returns>
    public FlowGraphBuilder From(string stepName)
    {
        _froms.Add(stepName ?? "");
        _cursor = stepName;
        return this;
    }

    /// <summary>Marks the current step as the responder: its output is the response; only its branch delays the response.</summary>
    /// <returns>This builder.</returns>
    public FlowGraphBuilder Respond()
    {
        _responderCalls++;
        if (_cursor is null)
            _problems.Add("Respond() was called before any step; call it after the To(...) of the responding step.");
        else if (_responderCalls > 1)
            _problems.Add($"Respond() was called more than once (last on '{_cursor}'); a flow has one responder.");
        else
            _responder = _cursor;
        return this;
    }

    /// <summary>Sets the error handler of the current step: it may return an event to use as the step's output.</summary>
    /// <param name="handler">The handler.</param>
    /// <returns>This builder.</returns>
    public FlowGraphBuilder OnStepError(ServingErrorHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var node = _nodes.LastOrDefault(n => n.Name == _cursor);
        if (node is null)
            _problems.Add("OnStepError(...) was called before any step; call it after the To(...) of the step it handles.");
        else
            node.OnError = handler;
        return this;
    }

    /// <summary>Sets the graph-level error handler: it may return an event to use as the response; it also receives the errors of background branches.</summary>
    /// <param name="handler">The handler.</param>
    /// <returns>This builder.</returns>
    public FlowGraphBuilder OnError(ServingErrorHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _onError = handler;
        return this;
    }

    /// <summary>Validates the flow and builds it.</summary>
    /// <returns>The graph.</returns>
    /// <exception cref="ValidationException">Every problem found (no steps, duplicate or empty names, a From naming an unknown step, no responder in a flow with branches, ...).</exception>
    public ServingFlow Build()
    {
        var errors = new List<string>(_problems);
        if (string.IsNullOrWhiteSpace(_name))
            errors.Add("The flow has no name; pass a name to ServingGraph.Flow(name).");
        if (_nodes.Count == 0)
            errors.Add("The flow has no steps; add one with To(name, step).");
        foreach (var node in _nodes.Where(n => string.IsNullOrWhiteSpace(n.Name)))
            errors.Add($"A step ({node.Step.GetType().Name}) has an empty name; every step needs a unique name.");
        foreach (var group in _nodes.Where(n => !string.IsNullOrWhiteSpace(n.Name)).GroupBy(n => n.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
            errors.Add($"The step name '{group.Key}' is used {group.Count()} times; step names must be unique.");
        var names = _nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var from in _froms.Distinct(StringComparer.Ordinal).Where(f => !names.Contains(f)))
            errors.Add($"From(\"{from}\") names an unknown step; known steps: {(names.Count == 0 ? "(none)" : string.Join(", ", names))}.");
        var declared = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in _nodes)
        {
            if (node.After is not null && names.Contains(node.After) && !declared.Contains(node.After))
                errors.Add($"The step '{node.Name}' follows '{node.After}', which is declared after it; declare '{node.After}' first (a flow has no cycles).");
            declared.Add(node.Name);
        }
        var roots = _nodes.Count(n => n.After is null);
        var branching = roots > 1 || _nodes.GroupBy(n => n.After).Any(g => g.Key is not null && g.Count() > 1);
        if (branching && _responder is null && _responderCalls == 0)
            errors.Add("The flow has branches but no responder; call Respond() after the To(...) of the step whose output is the response.");
        if (errors.Count > 0)
            throw new ValidationException($"The serving flow '{_name}' is invalid", errors);
        return new ServingFlow(_name, _nodes, _responder ?? _nodes[^1].Name, _onError);
    }

    internal static ServingFlow FromSpec(JsonObject root, ServingStepRegistry registry, ServingErrorHandler? onError)
    {
        var errors = new List<string>();
        var builder = new FlowGraphBuilder((string?)root["name"] ?? "");
        if (onError is not null)
            builder.OnError(onError);
        var steps = root["steps"] as JsonArray;
        if (steps is null)
            errors.Add("The flow JSON has no \"steps\" array.");
        var responder = (string?)root["responder"];
        foreach (var (item, i) in (steps ?? []).Select((s, i) => (s, i)))
        {
            var name = (string?)item?["name"] ?? "";
            var step = StepFromSpecPublic(item, registry, errors, $"Step {i} ('{name}')");
            if (step is null)
                continue;
            if (item?["after"] is { } after)
                builder.From((string?)after ?? "");
            else
                builder._cursor = null;
            builder.To(name, step);
            if (name == responder)
                builder.Respond();
        }
        if (errors.Count > 0)
            throw new ValidationException($"The serving flow JSON '{builder._name}' is invalid", errors);
        return builder.Build();
    }

    private static IServingStep? StepFromSpecPublic(JsonNode? node, ServingStepRegistry registry, List<string> errors, string where)
        => ServingFlow.CreateStep(node, registry, errors, where);

    internal sealed class Node(string name, IServingStep step, string? after)
    {
        public string Name { get; } = name;
        public IServingStep Step { get; } = step;
        public string? After { get; } = after;
        public ServingErrorHandler? OnError { get; set; }
    }
}

/// <summary>
/// A flow of steps (see <see cref="ServingGraph.Flow"/>): each step's output feeds the steps that follow it; the response
/// is the responder's output, and branches off the responder's path run in the background (errors go to the error handler,
/// <see cref="ServingGraph.DrainAsync"/> and <see cref="ServingGraph.DisposeAsync"/> wait for them).
/// </summary>
public sealed class ServingFlow : ServingGraph
{
    private readonly FlowStep[] _steps;
    private readonly FlowStep[] _roots;
    private readonly FlowStep _responder;

    internal ServingFlow(string name, IReadOnlyList<FlowGraphBuilder.Node> nodes, string responder, ServingErrorHandler? onError)
        : base(name, onError)
    {
        _steps = [.. nodes.Select(n => new FlowStep(n.Name, n.Step, n.After, n.OnError, new StepContext(name, n.Name)))];
        var byName = _steps.ToDictionary(s => s.Name, StringComparer.Ordinal);
        foreach (var step in _steps.Where(s => s.After is not null))
            byName[step.After!].Children.Add(step);
        _roots = [.. _steps.Where(s => s.After is null)];
        _responder = byName[responder];
        for (var s = _responder; s is not null; s = s.After is null ? null : byName[s.After])
            s.OnResponsePath = true;
    }

    /// <summary>The step names in declaration order.</summary>
    public IReadOnlyList<string> StepNames => [.. _steps.Select(s => s.Name)];

    /// <summary>The name of the step whose output is the response.</summary>
    public string Responder => _responder.Name;

    private protected override IEnumerable<IServingStep> Steps => _steps.Select(s => s.Step).Distinct(ReferenceEqualityComparer.Instance).Cast<IServingStep>();

    internal static IServingStep? CreateStep(JsonNode? node, ServingStepRegistry registry, List<string> errors, string where)
        => StepFromSpec(node, registry, errors, where);

    /// <inheritdoc />
    public override string ToMermaid()
    {
        var text = MermaidHeader();
        text.Append("    request([\"request\"])\n");
        var ids = new Dictionary<FlowStep, string>();
        for (var i = 0; i < _steps.Length; i++)
        {
            ids[_steps[i]] = "s" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            text.Append("    ").Append(ids[_steps[i]]).Append('[').Append(Label(_steps[i].Name)).Append("]\n");
        }
        text.Append("    response([\"response\"])\n");
        foreach (var root in _roots)
            text.Append("    request ").Append(root.OnResponsePath ? "-->" : "-.->").Append(' ').Append(ids[root]).Append('\n');
        foreach (var step in _steps)
        {
            foreach (var child in step.Children)
                text.Append("    ").Append(ids[step]).Append(child.OnResponsePath ? " --> " : " -.-> ").Append(ids[child]).Append('\n');
        }
        text.Append("    ").Append(ids[_responder]).Append(" --> response\n");
        return text.ToString();
    }

    private protected override JsonObject ToSpec(List<string> errors)
    {
        var steps = new JsonArray();
        foreach (var step in _steps)
        {
            var node = StepSpec(step.Name, step.Step, errors);
            if (step.After is not null)
                node["after"] = step.After;
            steps.Add(node);
        }
        return new JsonObject { ["type"] = "flow", ["name"] = Name, ["responder"] = _responder.Name, ["steps"] = steps };
    }

    private protected override async ValueTask<ServingEvent> InvokeCoreAsync(ServingEvent servingEvent, CancellationToken cancellationToken)
    {
        FlowStep? current = null;
        foreach (var root in _roots)
        {
            if (root.OnResponsePath)
                current = root;
            else
                StartBranch(root, servingEvent.Clone());
        }
        var input = servingEvent;
        while (true)
        {
            var (output, final) = await RunStepAsync(current!.Name, current.Step, current.Context, current.OnError, input, cancellationToken).ConfigureAwait(false);
            if (final)
                return output;
            FlowStep? next = null;
            foreach (var child in current.Children)
            {
                if (child.OnResponsePath)
                    next = child;
                else
                    StartBranch(child, output.Clone());
            }
            if (ReferenceEquals(current, _responder))
                return output;
            input = output;
            current = next;
        }
    }

    private void StartBranch(FlowStep step, ServingEvent input) => RunInBackground(async () =>
    {
        var output = await RunBackgroundStepAsync(step.Name, step.Step, step.Context, step.OnError, input).ConfigureAwait(false);
        if (output is null)
            return;
        for (var i = 0; i < step.Children.Count; i++)
            StartBranch(step.Children[i], i == step.Children.Count - 1 ? output : output.Clone());
    });

    private sealed class FlowStep(string name, IServingStep step, string? after, ServingErrorHandler? onError, StepContext context)
    {
        public string Name { get; } = name;
        public IServingStep Step { get; } = step;
        public string? After { get; } = after;
        public ServingErrorHandler? OnError { get; } = onError;
        public StepContext Context { get; } = context;
        public List<FlowStep> Children { get; } = [];
        public bool OnResponsePath { get; set; }
    }
}
