using MLOps.Runs.Internal;

namespace MLOps.Runs;

/// <summary>
/// Configures and runs a hyper-parameter search (MLRun's hyper-params, MLflow's nested runs): a parent run and one
/// child run per parameter set, the best child picked by a selector. Start one with <c>project.Runs.Hyper("train")</c>:
/// <code>
/// var result = await project.Runs.Hyper("train")
///     .Grid(h =&gt; h.Add("trees", 20, 100).Add("leaves", 16, 64))
///     .SelectBy("max:auc")
///     .StopWhen("results.auc &gt;= 0.95")
///     .Parallelism(2)
///     .RunAsync(async (run, ct) =&gt; { ...; await run.LogResultAsync("auc", auc, ct); return model; });
/// </code>
/// </summary>
/// <remarks>
/// <para>The parent is a run with the search's name, the shared parameters and the labels <c>kind=hyper</c>,
/// <c>strategy=grid|list|random</c>, <c>selector</c> (when set) and <c>seed</c> (random searches). Each child is a run with
/// the same name, <see cref="RunRecord.ParentId"/> the parent and <see cref="RunRecord.Iteration"/> 1..N, the shared
/// parameters plus its iteration's parameters and the shared labels.</para>
/// <para>When the search completes, the parent gets the best child's results plus <c>best_iteration</c> (and the
/// selector's key when it came from a metric), the best child's outputs under the same names, and the output
/// <c>iteration_results</c>: a table artifact with key <c>&lt;name&gt;/iteration_results</c> and one row per iteration.</para>
/// <para>Not thread-safe. A builder runs one search: every validation problem is reported at once by
/// <c>RunAsync</c> in a <see cref="ValidationException"/>, and any use after <c>RunAsync</c> throws
/// <see cref="InvalidOperationException"/>.</para>
/// </remarks>
public sealed class HyperRunBuilder
{
    /// <summary>The most iterations a grid may expand to.</summary>
    public const int MaxIterationCount = 100_000;

    private readonly RunCatalog _catalog;
    private readonly string _name;
    private readonly List<HyperStrategy> _strategies = [];
    private HyperValues? _values;
    private HyperDistributions? _distributions;
    private int? _seed;
    private int _randomIterations = 10;
    private string? _selectorText;
    private HyperSelector? _selector;
    private string? _stopText;
    private RunFilter? _stopFilter;
    private int _maxErrors = 3;
    private int _parallelism = 1;
    private readonly Dictionary<string, object?> _parameters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string?> _labels = new(StringComparer.Ordinal);
    private bool _used;

    internal HyperRunBuilder(RunCatalog catalog, string name)
    {
        _catalog = catalog;
        _name = name;
    }

    /// <summary>Tries every combination of the value lists (cartesian product) in a deterministic order: the first
    /// parameter varies slowest, the last fastest. <c>Grid(h =&gt; h.Add("trees", 20, 100).Add("leaves", 16, 64))</c> runs 4 iterations.</summary>
    /// <param name="configure">Adds the parameters and their values.</param>
    /// <returns>This builder.</returns>
    public HyperRunBuilder Grid(Action<HyperValues> configure)
    {
        Throw.IfNull(configure);
        Check();
        var values = new HyperValues();
        configure(values);
        _strategies.Add(HyperStrategy.Grid);
        _values = values;
        return this;
    }

    /// <summary>Zips the value lists by position: iteration <c>i</c> takes the <c>i</c>-th value of every list, so every list
    /// must have the same length. <c>List(h =&gt; h.Add("trees", 20, 50, 100).Add("leaves", 16, 32, 64))</c> runs 3 iterations.</summary>
    /// <param name="configure">Adds the parameters and their values.</param>
    /// <returns>This builder.</returns>
    public HyperRunBuilder List(Action<HyperValues> configure)
    {
        Throw.IfNull(configure);
        Check();
        var values = new HyperValues();
        configure(values);
        _strategies.Add(HyperStrategy.List);
        _values = values;
        return this;
    }

    /// <summary>Samples <paramref name="maxIterations"/> parameter sets from ranges and choices:
    /// <c>Random(h =&gt; h.Add("trees", 10, 200).Add("lr", 0.01, 0.3).Add("booster", "gbtree", "dart"), seed: 42)</c>.
    /// The same seed gives the same parameter sets.</summary>
    /// <param name="configure">Adds the parameters and how to sample them.</param>
    /// <param name="seed">The seed; when omitted one is drawn and recorded as the parent's <c>seed</c> label, so the search can be repeated.</param>
    /// <param name="maxIterations">How many parameter sets to sample. <value>Defaults to 10.</value></param>
    /// <returns>This builder.</returns>
    public HyperRunBuilder Random(Action<HyperDistributions> configure, int? seed = null, int maxIterations = 10)
    {
        Throw.IfNull(configure);
        Check();
        var distributions = new HyperDistributions();
        configure(distributions);
        _strategies.Add(HyperStrategy.Random);
        _distributions = distributions;
        _seed = seed;
        _randomIterations = maxIterations;
        return this;
    }

    /// <summary>Picks the best iteration by the largest or smallest value of a key: <c>max:auc</c> or <c>min:loss</c>. The key is
    /// read from each completed iteration's results, else its latest metrics; iterations that failed or lack it are skipped,
    /// and when none has it the parent fails. Without a selector no best iteration is picked.</summary>
    /// <param name="selector"><c>max:&lt;key&gt;</c> or <c>min:&lt;key&gt;</c>.</param>
    /// <returns>This builder.</returns>
    public HyperRunBuilder SelectBy(string selector)
    {
        Check();
        _selectorText = selector;
        _selector = null;
        return this;
    }

    /// <summary>Picks the best iteration with a selector: <c>SelectBy(HyperSelector.Max("auc"))</c>.</summary>
    /// <param name="selector">The selector.</param>
    /// <returns>This builder.</returns>
    public HyperRunBuilder SelectBy(HyperSelector selector)
    {
        Throw.IfNull(selector);
        Check();
        _selector = selector;
        _selectorText = null;
        return this;
    }

    /// <summary>Stops starting iterations once a completed iteration matches a run filter such as
    /// <c>results.auc &gt;= 0.95</c> (see <see cref="RunFilter.Parse"/>; results, metrics, parameters and labels can be used).
    /// Running iterations finish and the parent completes with the best iteration so far.</summary>
    /// <param name="condition">The filter text.</param>
    /// <returns>This builder.</returns>
    public HyperRunBuilder StopWhen(string condition)
    {
        Check();
        _stopText = condition;
        _stopFilter = null;
        return this;
    }

    /// <summary>Stops starting iterations once a completed iteration matches a filter: <c>StopWhen(RunField.Result("auc") &gt;= 0.95)</c>.</summary>
    /// <param name="condition">The filter.</param>
    /// <returns>This builder.</returns>
    public HyperRunBuilder StopWhen(RunFilter condition)
    {
        Throw.IfNull(condition);
        Check();
        _stopFilter = condition;
        _stopText = null;
        return this;
    }

    /// <summary>How many failed iterations fail the search: once reached, no new iteration starts (running ones finish)
    /// and the parent fails. <value>Defaults to 3.</value></summary>
    /// <param name="maxErrors">1 or more.</param>
    /// <returns>This builder.</returns>
    public HyperRunBuilder MaxErrors(int maxErrors)
    {
        Check();
        _maxErrors = maxErrors;
        return this;
    }

    /// <summary>How many iterations run at the same time. <value>Defaults to 1 (one after the other, in order).</value></summary>
    /// <param name="parallelism">1 or more.</param>
    /// <returns>This builder.</returns>
    public HyperRunBuilder Parallelism(int parallelism)
    {
        Check();
        _parallelism = parallelism;
        return this;
    }

    /// <summary>Adds parameters shared by the parent and every iteration (such as the dataset or the number of epochs).</summary>
    /// <param name="parameters">The parameters; their keys must differ from the searched ones.</param>
    /// <returns>This builder.</returns>
    public HyperRunBuilder WithParameters(IReadOnlyDictionary<string, object> parameters)
    {
        Throw.IfNull(parameters);
        Check();
        foreach (var (k, v) in parameters) _parameters[k] = v;
        return this;
    }

    /// <summary>Adds a parameter shared by the parent and every iteration.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <returns>This builder.</returns>
    public HyperRunBuilder WithParameter(string key, object value)
    {
        Check();
        _parameters[key ?? ""] = value;
        return this;
    }

    /// <summary>Adds labels set on the parent and every iteration. On the parent, <c>kind</c>, <c>strategy</c>,
    /// <c>selector</c> and <c>seed</c> are set by the search and win.</summary>
    /// <param name="labels">The labels.</param>
    /// <returns>This builder.</returns>
    public HyperRunBuilder WithLabels(IReadOnlyDictionary<string, string> labels)
    {
        Throw.IfNull(labels);
        Check();
        foreach (var (k, v) in labels) _labels[k] = v;
        return this;
    }

    /// <summary>Adds a label set on the parent and every iteration.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <returns>This builder.</returns>
    public HyperRunBuilder WithLabel(string key, string value)
    {
        Check();
        _labels[key ?? ""] = value;
        return this;
    }

    /// <summary>Runs the search: validates the configuration (listing every problem at once), starts the parent, runs the
    /// handler once per parameter set as a child run (an exception marks that child failed), then picks the best
    /// iteration and ends the parent.</summary>
    /// <typeparam name="T">What the handler returns, such as a trained model.</typeparam>
    /// <param name="handler">The training work; read the iteration's parameters with <see cref="RunContext.GetParameter{T}(string)"/>
    /// and log the score the selector reads with <see cref="RunContext.LogResultAsync"/>.</param>
    /// <param name="cancellationToken">Cancels the search: running children and the parent are stored as aborted.</param>
    /// <returns>The parent, every iteration with its handler's value, and the best one.</returns>
    /// <exception cref="ValidationException">The configuration is invalid; <see cref="ValidationException.Errors"/> lists every problem.</exception>
    /// <exception cref="InvalidOperationException">The builder has already run a search.</exception>
    /// <exception cref="HyperRunFailedException">The parent failed: <see cref="MaxErrors"/> iterations failed, none succeeded, or none
    /// had the selector's key. The exception carries the failed parent and every iteration.</exception>
    /// <exception cref="OperationCanceledException">The search was cancelled; the parent and running children are stored as aborted.</exception>
    public Task<HyperRunResult<T>> RunAsync<T>(Func<RunContext, CancellationToken, Task<T>> handler, CancellationToken cancellationToken = default)
    {
        Throw.IfNull(handler);
        var plan = Build();
        return HyperRunner.RunAsync(_catalog, plan, handler, cancellationToken);
    }

    /// <summary>Runs the search with a handler that returns nothing (see <see cref="RunAsync{T}"/>).</summary>
    /// <param name="handler">The training work.</param>
    /// <param name="cancellationToken">Cancels the search: running children and the parent are stored as aborted.</param>
    /// <returns>The parent, every iteration and the best one.</returns>
    /// <exception cref="ValidationException">The configuration is invalid; <see cref="ValidationException.Errors"/> lists every problem.</exception>
    /// <exception cref="InvalidOperationException">The builder has already run a search.</exception>
    /// <exception cref="HyperRunFailedException">The parent failed (see <see cref="RunAsync{T}"/>).</exception>
    /// <exception cref="OperationCanceledException">The search was cancelled.</exception>
    public Task<HyperRunResult> RunAsync(Func<RunContext, CancellationToken, Task> handler, CancellationToken cancellationToken = default)
    {
        Throw.IfNull(handler);
        var plan = Build();
        return RunCoreAsync();

        async Task<HyperRunResult> RunCoreAsync() => await HyperRunner.RunAsync<object?>(_catalog, plan, async (run, ct) =>
        {
            await handler(run, ct).ConfigureAwait(false);
            return null;
        }, cancellationToken).ConfigureAwait(false);
    }

    private void Check()
    {
        if (_used)
            throw new InvalidOperationException($"This builder has already run the hyper-parameter search '{_name}'. Start a new one with project.Runs.Hyper(name).");
    }

    private HyperPlan Build()
    {
        Check();
        _used = true;
        var errors = new List<string>();
        Collect(errors, () => Names.Name(_name, "run name"));

        HyperStrategy strategy = HyperStrategy.Grid;
        var names = new List<string>();
        IReadOnlyList<IReadOnlyDictionary<string, object>> sets = [];
        int? seed = null;
        if (_strategies.Count == 0)
        {
            errors.Add("No search strategy was chosen. Call Grid(...), List(...) or Random(...) with the parameters to search.");
        }
        else
        {
            if (_strategies.Count > 1)
                errors.Add($"More than one search strategy was chosen ({string.Join(", then ", _strategies)}). Call only one of Grid(...), List(...) or Random(...).");
            strategy = _strategies[^1];
            if (strategy == HyperStrategy.Random)
            {
                seed = _seed ?? System.Random.Shared.Next();
                sets = BuildRandom(errors, names, seed.Value);
            }
            else
            {
                sets = BuildValues(strategy, errors, names);
            }
        }

        HyperSelector? selector = _selector;
        if (_selectorText is not null)
            selector = Collect(errors, () => HyperSelector.Parse(_selectorText));
        RunFilter? stop = _stopFilter;
        if (_stopText is not null)
        {
            try { stop = RunFilter.Parse(_stopText); }
            catch (ValidationException e) { errors.Add($"The stop condition '{_stopText}' is invalid: {e.Message}"); }
        }
        if (_maxErrors < 1) errors.Add($"MaxErrors is {_maxErrors}; use 1 or more (default 3): that many failed iterations fail the search.");
        if (_parallelism < 1) errors.Add($"Parallelism is {_parallelism}; use 1 or more (default 1): how many iterations run at the same time.");

        var fixedParameters = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (k, v) in _parameters)
        {
            if (Collect(errors, () => Names.Key(k, "shared parameter key")) is null) continue;
            if (v is null) errors.Add($"Shared parameter '{k}' is null. Pass a value, or leave it out.");
            else if (names.Contains(k, StringComparer.Ordinal)) errors.Add($"Parameter '{k}' is both shared (WithParameters) and searched. Remove it from one of them.");
            else fixedParameters[k] = v;
        }
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in _labels)
        {
            if (Collect(errors, () => Names.Key(k, "label key")) is null) continue;
            if (v is null) errors.Add($"Label '{k}' is null. Pass a value, or leave it out.");
            else labels[k] = v;
        }

        if (errors.Count > 0) throw new ValidationException($"The hyper-parameter search '{_name}' is invalid", errors);
        return new HyperPlan(_name, strategy, names, sets, selector, stop, _maxErrors, _parallelism, fixedParameters, labels, seed);
    }

    private List<IReadOnlyDictionary<string, object>> BuildValues(HyperStrategy strategy, List<string> errors, List<string> names)
    {
        var entries = _values!.Entries;
        var lists = new List<IReadOnlyList<object>>();
        if (entries.Count == 0)
            errors.Add($"The {strategy.ToString().ToLowerInvariant()} has no parameters. Add them with h => h.Add(\"trees\", 20, 100).");
        foreach (var (name, values) in entries)
        {
            if (!CheckName(name, errors, names)) continue;
            if (values is null || values.Count == 0)
                errors.Add($"Parameter '{name}' has no values. Pass at least one, e.g. Add(\"{name}\", 20, 100).");
            else if (values.Any(v => v is null))
                errors.Add($"Parameter '{name}' has a null value. Remove it, or use a text such as \"none\".");
            else if (values.Count == 1 && values[0] is System.Collections.IEnumerable and not string)
                errors.Add($"Parameter '{name}' was given one value that is a sequence ({values[0]!.GetType().Name}). Pass the values themselves, or a list or array (call .ToList()).");
            else
            {
                lists.Add(values!);
                continue;
            }
            lists.Add([]);
        }
        if (errors.Count > 0) return [];

        var sets = new List<IReadOnlyDictionary<string, object>>();
        if (strategy == HyperStrategy.List)
        {
            if (lists.Select(l => l.Count).Distinct().Count() > 1)
            {
                errors.Add($"A list search zips the value lists by position, so they must have the same length; found {string.Join(", ", names.Select((n, i) => $"{n}: {lists[i].Count}"))}. Use Grid(...) to try every combination.");
                return [];
            }
            for (var i = 0; i < lists[0].Count; i++)
                sets.Add(names.Select((n, p) => (n, lists[p][i])).ToDictionary(x => x.n, x => x.Item2, StringComparer.Ordinal));
            return sets;
        }

        long total = lists.Aggregate(1L, (acc, l) => Math.Min(acc * l.Count, long.MaxValue / 2));
        if (total > MaxIterationCount)
        {
            errors.Add($"The grid has {total:N0} combinations ({string.Join(" x ", lists.Select(l => l.Count))}), more than {MaxIterationCount:N0}. Use fewer values, or Random(...) with maxIterations.");
            return [];
        }
        var index = new int[lists.Count];
        for (var n = 0; n < total; n++)
        {
            sets.Add(names.Select((name, p) => (name, lists[p][index[p]])).ToDictionary(x => x.name, x => x.Item2, StringComparer.Ordinal));
            for (var p = lists.Count - 1; p >= 0; p--)
            {
                if (++index[p] < lists[p].Count) break;
                index[p] = 0;
            }
        }
        return sets;
    }

    private List<IReadOnlyDictionary<string, object>> BuildRandom(List<string> errors, List<string> names, int seed)
    {
        var entries = _distributions!.Entries;
        if (entries.Count == 0)
            errors.Add("The random search has no parameters. Add them with h => h.Add(\"trees\", 10, 200).Add(\"lr\", 0.01, 0.3).");
        if (_randomIterations < 1)
            errors.Add($"The random search's maxIterations is {_randomIterations}; use 1 or more (default 10).");
        else if (_randomIterations > MaxIterationCount)
            errors.Add($"The random search's maxIterations is {_randomIterations:N0}; use at most {MaxIterationCount:N0}.");
        foreach (var d in entries)
        {
            if (CheckName(d.Name, errors, names)) d.Validate(d.Name!, errors);
        }
        if (errors.Count > 0) return [];

        // System.Random with a seed is deterministic across runs and platforms: the same seed gives the same sets.
        var random = new System.Random(seed);
        var sets = new List<IReadOnlyDictionary<string, object>>(_randomIterations);
        for (var i = 0; i < _randomIterations; i++)
        {
            var set = new Dictionary<string, object>(StringComparer.Ordinal);
            foreach (var d in entries) set[d.Name!] = d.Sample(random);
            sets.Add(set);
        }
        return sets;
    }

    private static bool CheckName(string? name, List<string> errors, List<string> names)
    {
        if (Collect(errors, () => Names.Key(name, "hyper-parameter name")) is null) return false;
        if (names.Contains(name!, StringComparer.Ordinal))
        {
            errors.Add($"Parameter '{name}' is added more than once. Give each searched parameter one entry with all its values.");
            return false;
        }
        names.Add(name!);
        return true;
    }

    private static T? Collect<T>(List<string> errors, Func<T> check) where T : class
    {
        try
        {
            return check();
        }
        catch (ValidationException e)
        {
            errors.Add(e.Message);
            return null;
        }
    }
}

/// <summary>A validated, immutable hyper-parameter search.</summary>
internal sealed record HyperPlan(
    string Name,
    HyperStrategy Strategy,
    IReadOnlyList<string> ParameterNames,
    IReadOnlyList<IReadOnlyDictionary<string, object>> Sets,
    HyperSelector? Selector,
    RunFilter? StopCondition,
    int MaxErrors,
    int Parallelism,
    IReadOnlyDictionary<string, object> Parameters,
    IReadOnlyDictionary<string, string> Labels,
    int? Seed);
