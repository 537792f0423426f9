using System.Globalization;
using System.Runtime.ExceptionServices;

namespace MLOps.Runs.Internal;

/// <summary>Executes a validated <see cref="HyperPlan"/>: the parent run, bounded-parallel child runs, the stop rules, the
/// best-iteration selection and the iteration table.</summary>
internal static class HyperRunner
{
    public const string IterationTableOutput = "iteration_results";

    public static async Task<HyperRunResult<T>> RunAsync<T>(RunCatalog catalog, HyperPlan plan, Func<RunContext, CancellationToken, Task<T>> handler, CancellationToken cancellationToken)
    {
        var project = catalog.Project;
        var labels = new Dictionary<string, string>(plan.Labels, StringComparer.Ordinal)
        {
            ["kind"] = "hyper",
            ["strategy"] = plan.Strategy.ToString().ToLowerInvariant(),
        };
        if (plan.Selector is not null) labels["selector"] = plan.Selector.ToString();
        if (plan.Seed is { } seed) labels["seed"] = seed.ToString(CultureInfo.InvariantCulture);
        var parent = await catalog.StartAsync(plan.Name, new RunOptions { Parameters = plan.Parameters, Labels = labels }, cancellationToken).ConfigureAwait(false);

        try
        {
            var search = new Search<T>(catalog, plan, parent.Id, handler);
            using (var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                var workers = new Task[Math.Min(plan.Parallelism, plan.Sets.Count)];
                for (var w = 0; w < workers.Length; w++) workers[w] = Task.Run(() => search.WorkAsync(abort), CancellationToken.None);
                await Task.WhenAll(workers).ConfigureAwait(false);
            }
            cancellationToken.ThrowIfCancellationRequested();
            search.Fatal?.Throw();

            var iterations = search.Iterations;
            var best = SelectBest(plan.Selector, iterations);
            var failures = iterations.Count(i => i.State == RunState.Failed);
            var stopReason = failures >= plan.MaxErrors ? HyperStopReason.MaxErrors : search.StopReason;
            var failure = Failure(plan, iterations, best, failures);

            var artifact = await project.Artifacts.LogTableAsync(plan.Name + "/" + IterationTableOutput,
                HyperTable.Header(plan.ParameterNames, iterations), HyperTable.Rows(plan.ParameterNames, iterations),
                parent.Produced(new ArtifactOptions { Description = $"Iterations of the hyper-parameter search '{plan.Name}' ({parent.Id})." }), cancellationToken).ConfigureAwait(false);

            if (failure is null && best is not null)
            {
                var results = new Dictionary<string, double>(best.Results, StringComparer.Ordinal);
                if (!results.ContainsKey(plan.Selector!.Key)) results[plan.Selector.Key] = best.Objective!.Value;
                results["best_iteration"] = best.Number;
                await parent.LogResultsAsync(results, cancellationToken).ConfigureAwait(false);
                var outputs = best.Run.Links.Where(l => l.Direction == RunLinkDirection.Output && l.Name != IterationTableOutput).ToList();
                if (outputs.Count > 0) await project.Store.Runs.AddLinksAsync(parent.Id, outputs, cancellationToken).ConfigureAwait(false);
            }
            await parent.LogOutputAsync(IterationTableOutput, artifact.Uri, cancellationToken).ConfigureAwait(false);

            if (failure is not null) await parent.FailAsync(failure.Message, CancellationToken.None).ConfigureAwait(false);
            else await parent.CompleteAsync(CancellationToken.None).ConfigureAwait(false);
            var record = await catalog.GetAsync(parent.Id, CancellationToken.None).ConfigureAwait(false);
            var result = new HyperRunResult<T>(record, plan.Strategy, plan.ParameterNames, plan.Selector, stopReason, iterations, best);
            if (failure is not null) throw new HyperRunFailedException(result, failure);
            return result;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (!parent.HasEnded) await parent.AbortAsync("Cancelled: the hyper-parameter search was cancelled.", CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        catch (Exception e) when (e is not HyperRunFailedException && !parent.HasEnded)
        {
            try
            {
                await parent.FailAsync(e, CancellationToken.None).ConfigureAwait(false);
            }
            catch (MLOpsException)
            {
                // The store failed too; the original error is what matters.
            }
            throw;
        }
    }

    private static HyperIteration<T>? SelectBest<T>(HyperSelector? selector, IReadOnlyList<HyperIteration<T>> iterations)
    {
        if (selector is null) return null;
        HyperIteration<T>? best = null;
        foreach (var it in iterations)
        {
            if (it.Objective is not { } value) continue;
            if (best is null || selector.IsBetter(value, best.Objective!.Value)) best = it;
        }
        return best;
    }

    private static MLOpsException? Failure<T>(HyperPlan plan, IReadOnlyList<HyperIteration<T>> iterations, HyperIteration<T>? best, int failures)
    {
        var lastFailed = iterations.Where(i => i.State == RunState.Failed).MaxBy(i => i.Run.EndTime);
        var last = lastFailed is null ? "" : $" Last error (iteration {lastFailed.Number}): {lastFailed.Error}";
        if (failures >= plan.MaxErrors)
            return new MLOpsException($"{failures} of {iterations.Count} iterations of the hyper-parameter search '{plan.Name}' failed, reaching MaxErrors ({plan.MaxErrors}); no further iterations were started.{last}", lastFailed?.Exception);
        var completed = iterations.Where(i => i.State == RunState.Completed).ToList();
        if (completed.Count == 0)
            return new MLOpsException($"All {iterations.Count} iterations of the hyper-parameter search '{plan.Name}' failed.{last}", lastFailed?.Exception);
        if (plan.Selector is { } selector && best is null)
        {
            var results = completed.SelectMany(i => i.Results.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
            var metrics = completed.SelectMany(i => i.Run.Metrics.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
            return new MLOpsException($"None of the {completed.Count} completed iterations of the hyper-parameter search '{plan.Name}' has a result or metric '{selector.Key}' to select by ({selector}). "
                + $"Their results: {(results.Count == 0 ? "none" : string.Join(", ", results))}; metrics: {(metrics.Count == 0 ? "none" : string.Join(", ", metrics))}. "
                + $"Log it in the handler with run.LogResultAsync(\"{selector.Key}\", value), or change SelectBy(...).");
        }
        return null;
    }

    /// <summary>The shared state of the workers: the next parameter set, the iterations that ended and the stop rules.</summary>
    private sealed class Search<T>(RunCatalog catalog, HyperPlan plan, string parentId, Func<RunContext, CancellationToken, Task<T>> handler)
    {
        private readonly Lock _lock = new();
        private readonly List<HyperIteration<T>> _iterations = [];
        private int _next;
        private int _failures;
        private HyperStopReason? _stop;

        public ExceptionDispatchInfo? Fatal { get; private set; }

        public HyperStopReason StopReason
        {
            get { lock (_lock) return _stop ?? HyperStopReason.AllIterations; }
        }

        public IReadOnlyList<HyperIteration<T>> Iterations
        {
            get { lock (_lock) return _iterations.OrderBy(i => i.Number).ToList(); }
        }

        public async Task WorkAsync(CancellationTokenSource abort)
        {
            var token = abort.Token;
            while (true)
            {
                int index;
                lock (_lock)
                {
                    if (_stop is not null || Fatal is not null || token.IsCancellationRequested || _next >= plan.Sets.Count) return;
                    index = _next++;
                }
                try
                {
                    await RunIterationAsync(index, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    lock (_lock) Fatal ??= ExceptionDispatchInfo.Capture(e);
                    await abort.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
        }

        private async Task RunIterationAsync(int index, CancellationToken token)
        {
            var number = index + 1;
            var parameters = plan.Sets[index];
            var options = new RunOptions { Parameters = plan.Parameters, Labels = plan.Labels, ParentRunId = parentId, Iteration = number };
            var (run, value, error) = await catalog.ExecuteAsync(plan.Name, handler, parameters, options, token).ConfigureAwait(false);
            if (error is OperationCanceledException && token.IsCancellationRequested)
                throw new OperationCanceledException("The hyper-parameter search was cancelled.", error, token);

            var objective = run.State == RunState.Completed ? plan.Selector?.ValueOf(run) : null;
            var iteration = new HyperIteration<T>(number, run, parameters, objective, error, error is null ? value : default);
            lock (_lock)
            {
                _iterations.Add(iteration);
                if (run.State == RunState.Failed && ++_failures >= plan.MaxErrors) _stop ??= HyperStopReason.MaxErrors;
            }
            if (run.State == RunState.Completed && plan.StopCondition is not null && await MatchesAsync(run, token).ConfigureAwait(false))
            {
                lock (_lock) _stop ??= HyperStopReason.StopCondition;
            }
        }

        private async Task<bool> MatchesAsync(RunRecord run, CancellationToken token)
        {
            var filter = RunField.Attribute("id").Is(run.Id) & plan.StopCondition!;
            var page = await catalog.SearchAsync(filter, pageSize: 1, cancellationToken: token).ConfigureAwait(false);
            return page.Runs.Count > 0;
        }
    }
}
