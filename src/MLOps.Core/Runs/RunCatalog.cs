using System.Diagnostics;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using MLOps.Runs.Internal;

namespace MLOps.Runs;

/// <summary>
/// Tracked runs of a project: start them, run handlers as runs, search, compare and read their history.
/// Reached through <c>project.Runs</c>.
/// </summary>
/// <remarks>Thread-safe.</remarks>
public sealed partial class RunCatalog
{
    private readonly MLOpsProject _project;
    private readonly ConcurrentDictionary<string, RunContext> _active = new(StringComparer.Ordinal);

    internal RunCatalog(MLOpsProject project) => _project = project;

    /// <summary>Starts a run. Dispose it (<c>await using</c>) to complete it; call <see cref="RunContext.FailAsync(Exception, CancellationToken)"/>
    /// or <see cref="RunContext.AbortAsync"/> to end it otherwise.</summary>
    /// <param name="name">The run name, e.g. <c>train</c>.</param>
    /// <param name="options">Parameters, labels and parent.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The running run.</returns>
    public async Task<RunContext> StartAsync(string name, RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        Names.Name(name, "run name");
        options ??= new RunOptions();
        var problems = options.Validate();
        if (problems.Count > 0)
            throw new ValidationException($"The RunOptions of the run '{name}' are invalid", problems);
        if (options.ParentRunId is not null)
            await GetAsync(Names.RunId(options.ParentRunId, "parent run id"), cancellationToken).ConfigureAwait(false);
        var parameters = ParameterValues.ToStrings(options.Parameters);
        foreach (var k in options.Labels.Keys) Names.Key(k, "label key");
        var (commit, dirty) = _project.Options.CaptureGit ? GitInfo.Detect(_project.Options.GitDirectory ?? Environment.CurrentDirectory) : (null, null);
        var id = Ids.New(_project.TimeProvider);
        var activity = StartActivity(id, name, options);
        RunRecord record;
        try
        {
            record = await _project.Store.Runs.CreateAsync(new NewRun
            {
                Id = id,
                Project = _project.Name,
                Name = name,
                StartTime = _project.TimeProvider.GetUtcNow(),
                ParentId = options.ParentRunId,
                Iteration = options.Iteration,
                Host = Environment.MachineName,
                GitCommit = commit,
                GitDirty = dirty,
                Labels = options.Labels,
                Parameters = parameters,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            activity?.AddException(e).SetStatus(ActivityStatusCode.Error, e.Message).Dispose();
            throw;
        }
        var run = new RunContext(_project, this, record, activity);
        _active[run.Id] = run;
        var telemetry = _project.Telemetry;
        if (telemetry.RunsStarted.Enabled) telemetry.RunsStarted.Add(1, new KeyValuePair<string, object?>(Telemetry.ProjectTag, _project.Name));
        CoreLog.RunStarted(_project.Logger, name, id, _project.Name);
        return run;
    }

    /// <summary>The span of a run (<c>mlops.run</c>, or <c>mlops.hyper.iteration</c> for an iteration of a search), a child of
    /// its parent run's span when that run is open in this process, else of the current activity.</summary>
    private Activity? StartActivity(string id, string name, RunOptions options)
    {
        var source = Telemetry.Source;
        if (!source.HasListeners()) return null;
        var parent = options.ParentRunId is { } parentId && _active.TryGetValue(parentId, out var parentRun) && parentRun.Activity is { } parentActivity
            ? parentActivity.Context
            : default;
        var activity = source.StartActivity(options.Iteration is null ? "mlops.run" : "mlops.hyper.iteration", ActivityKind.Internal, parent);
        if (activity is null) return null;
        activity.SetTag(Telemetry.ProjectTag, _project.Name);
        activity.SetTag("mlops.run.id", id);
        activity.SetTag("mlops.run.name", name);
        if (options.ParentRunId is not null) activity.SetTag("mlops.run.parent_id", options.ParentRunId);
        if (options.Iteration is { } iteration) activity.SetTag("mlops.hyper.iteration", iteration);
        return activity;
    }

    /// <summary>Starts a run with parameters.</summary>
    /// <param name="name">The run name.</param>
    /// <param name="parameters">The parameters.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The running run.</returns>
    public Task<RunContext> StartAsync(string name, IReadOnlyDictionary<string, object> parameters, CancellationToken cancellationToken = default)
        => StartAsync(name, new RunOptions { Parameters = parameters }, cancellationToken);

    /// <summary>Runs a handler as a tracked run: completes it when the handler returns, marks it failed (with the error and
    /// stack) when it throws and aborted when it is cancelled. Buffered metrics are written in every case.</summary>
    /// <param name="name">The run name.</param>
    /// <param name="handler">The work.</param>
    /// <param name="parameters">The parameters, readable through <see cref="RunContext.GetParameter{T}(string)"/>.</param>
    /// <param name="options">Labels and parent (its parameters are merged with <paramref name="parameters"/>).</param>
    /// <param name="cancellationToken">Cancels the run (it is then stored as aborted).</param>
    /// <returns>The stored run.</returns>
    /// <exception cref="RunFailedException">The handler threw; the run is stored as failed.</exception>
    /// <exception cref="OperationCanceledException">The run was cancelled; it is stored as aborted.</exception>
    public async Task<RunRecord> RunAsync(string name, Func<RunContext, CancellationToken, Task> handler, IReadOnlyDictionary<string, object>? parameters = null, RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        Throw.IfNull(handler);
        var outcome = await RunAsync<bool>(name, async (ctx, ct) => { await handler(ctx, ct).ConfigureAwait(false); return true; }, parameters, options, cancellationToken).ConfigureAwait(false);
        return outcome.Run;
    }

    /// <summary>Runs a handler that returns a value (such as a trained model) as a tracked run.</summary>
    /// <typeparam name="T">The handler's result.</typeparam>
    /// <param name="name">The run name.</param>
    /// <param name="handler">The work.</param>
    /// <param name="parameters">The parameters.</param>
    /// <param name="options">Labels and parent.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>The stored run and the handler's value.</returns>
    /// <exception cref="RunFailedException">The handler threw; the run is stored as failed.</exception>
    /// <exception cref="OperationCanceledException">The run was cancelled; it is stored as aborted.</exception>
    public async Task<RunOutcome<T>> RunAsync<T>(string name, Func<RunContext, CancellationToken, Task<T>> handler, IReadOnlyDictionary<string, object>? parameters = null, RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (run, value, error) = await ExecuteAsync(name, handler, parameters, options, cancellationToken).ConfigureAwait(false);
        if (error is OperationCanceledException oce) throw oce;
        if (error is not null) throw new RunFailedException(run, error);
        return new RunOutcome<T>(run, value!);
    }

    /// <summary>Runs a handler and reports its failure in the result instead of throwing (used by hyper-parameter searches).</summary>
    internal async Task<(RunRecord Run, T? Value, Exception? Error)> ExecuteAsync<T>(string name, Func<RunContext, CancellationToken, Task<T>> handler, IReadOnlyDictionary<string, object>? parameters, RunOptions? options, CancellationToken cancellationToken)
    {
        Throw.IfNull(handler);
        options ??= new RunOptions();
        if (parameters is not null)
        {
            var merged = new Dictionary<string, object>(options.Parameters);
            foreach (var (k, v) in parameters) merged[k] = v;
            options = options with { Parameters = merged };
        }
        var run = await StartAsync(name, options, cancellationToken).ConfigureAwait(false);
        T? value = default;
        Exception? error = null;
        // The handler's own spans nest under the run's (this method's change of the current activity stays in it).
        if (run.Activity is { } activity) Activity.Current = activity;
        try
        {
            value = await handler(run, cancellationToken).ConfigureAwait(false);
            if (!run.HasEnded) await run.CompleteAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
        {
            error = e;
            if (!run.HasEnded) await run.AbortAsync("Cancelled: " + e.Message, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            error = e;
            if (!run.HasEnded) await run.FailAsync(e, CancellationToken.None).ConfigureAwait(false);
        }
        var record = await GetAsync(run.Id, CancellationToken.None).ConfigureAwait(false);
        return (record, value, error);
    }

    /// <summary>Reads a run.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The run.</returns>
    /// <exception cref="NotFoundException">No run of this project has that id (a run of another project is not found either).</exception>
    /// <exception cref="ValidationException">The id is empty.</exception>
    public async Task<RunRecord> GetAsync(string runId, CancellationToken cancellationToken = default)
    {
        Names.RunId(runId);
        var run = await _project.Store.Runs.GetAsync(runId, cancellationToken).ConfigureAwait(false);
        return run is not null && run.Project == _project.Name
            ? run
            : throw new NotFoundException("run", runId, $"Run '{runId}' does not exist in project '{_project.Name}'. Find runs with project.Runs.SearchAsync().");
    }

    /// <summary>Searches the project's runs.</summary>
    /// <param name="filter">A filter such as <c>RunField.Metric("auc") &gt; 0.8</c>, or <see langword="null"/> for all.</param>
    /// <param name="orderBy">The order; by default newest first.</param>
    /// <param name="pageSize">Runs per page (1 to 10,000).</param>
    /// <param name="pageToken">The <see cref="RunPage.NextPageToken"/> of the previous page of the same search (same filter
    /// and order), or <see langword="null"/> for the first page. Pages are by keyset: together they are the runs that matched
    /// when the first page was read, each once and in order, whatever is created or deleted in between.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>One page.</returns>
    /// <exception cref="ValidationException">The page size is out of range, or the token was altered or belongs to another search.</exception>
    public Task<RunPage> SearchAsync(RunFilter? filter = null, IReadOnlyList<RunOrder>? orderBy = null, int pageSize = 100, string? pageToken = null, CancellationToken cancellationToken = default)
        => _project.Store.Runs.SearchAsync(new RunQuery { Project = _project.Name, Filter = filter, OrderBy = orderBy ?? [], PageSize = pageSize, PageToken = pageToken }, cancellationToken);

    /// <summary>Searches with MLflow-style text: <c>SearchAsync("metrics.auc &gt; 0.8 and params.trees = 100", "metrics.auc desc")</c>.</summary>
    /// <param name="filter">The filter text (see <see cref="RunFilter.Parse"/>), or empty for all runs.</param>
    /// <param name="orderBy">Comma-separated orders such as <c>metrics.auc desc, start_time</c>.</param>
    /// <param name="pageSize">Runs per page.</param>
    /// <param name="pageToken">The previous page's token.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>One page.</returns>
    public Task<RunPage> SearchAsync(string filter, string? orderBy = null, int pageSize = 100, string? pageToken = null, CancellationToken cancellationToken = default)
        => SearchAsync(string.IsNullOrWhiteSpace(filter) ? null : RunFilter.Parse(filter), ParseOrders(orderBy), pageSize, pageToken, cancellationToken);

    /// <summary>Streams every run matching the filter, page by page.</summary>
    /// <param name="filter">The filter, or <see langword="null"/> for all.</param>
    /// <param name="orderBy">The order.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The runs.</returns>
    public async IAsyncEnumerable<RunRecord> SearchAllAsync(RunFilter? filter = null, IReadOnlyList<RunOrder>? orderBy = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? token = null;
        do
        {
            var page = await SearchAsync(filter, orderBy, 1000, token, cancellationToken).ConfigureAwait(false);
            foreach (var r in page.Runs) yield return r;
            token = page.NextPageToken;
        }
        while (token is not null);
    }

    /// <summary>Lists the child runs of a run (nested runs, hyper-parameter iterations), by iteration then start time.</summary>
    /// <param name="parentRunId">The parent run id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The children.</returns>
    /// <exception cref="NotFoundException">No run of this project has that id.</exception>
    public async Task<IReadOnlyList<RunRecord>> GetChildrenAsync(string parentRunId, CancellationToken cancellationToken = default)
    {
        await GetAsync(parentRunId, cancellationToken).ConfigureAwait(false);
        var list = new List<RunRecord>();
        await foreach (var r in SearchAllAsync(RunField.ParentId.Is(parentRunId), [RunField.Iteration.Ascending(), RunField.StartTime.Ascending()], cancellationToken).ConfigureAwait(false))
            list.Add(r);
        return list;
    }

    /// <summary>Reads the full history of one metric of a run, ordered by step.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="key">The metric key.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The points; empty when the run never logged the metric.</returns>
    /// <exception cref="NotFoundException">No run of this project has that id.</exception>
    public async Task<IReadOnlyList<MetricPoint>> GetMetricHistoryAsync(string runId, string key, CancellationToken cancellationToken = default)
    {
        Names.Key(key, "metric key");
        var run = await GetAsync(runId, cancellationToken).ConfigureAwait(false);
        return await _project.Store.Runs.GetMetricHistoryAsync(run.Id, key, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the log lines a run wrote through <see cref="RunContext.Logger"/>.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The log lines in order.</returns>
    /// <exception cref="NotFoundException">No run of this project has that id.</exception>
    public async Task<IReadOnlyList<RunLogEntry>> GetLogsAsync(string runId, CancellationToken cancellationToken = default)
    {
        var run = await GetAsync(runId, cancellationToken).ConfigureAwait(false);
        return await _project.Store.Runs.GetLogsAsync(run.Id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Compares runs side by side: one row per parameter, result and latest metric, one column per run.</summary>
    /// <param name="runIds">The runs to compare.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The comparison table.</returns>
    public async Task<RunComparison> CompareAsync(IEnumerable<string> runIds, CancellationToken cancellationToken = default)
    {
        Throw.IfNull(runIds);
        var runs = new List<RunRecord>();
        foreach (var id in runIds) runs.Add(await GetAsync(id, cancellationToken).ConfigureAwait(false));
        if (runs.Count == 0) throw new ValidationException("CompareAsync needs at least one run id.");
        return RunComparison.Create(runs);
    }

    /// <summary>Deletes a run with its metrics, logs and links.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/>: the run was deleted.</returns>
    /// <exception cref="NotFoundException">No run of this project has that id (runs of other projects are never deleted).</exception>
    /// <exception cref="InvalidStateException">The run is still open in this process.</exception>
    public async Task<bool> DeleteAsync(string runId, CancellationToken cancellationToken = default)
    {
        var run = await GetAsync(runId, cancellationToken).ConfigureAwait(false);
        if (_active.ContainsKey(run.Id))
            throw new InvalidStateException($"Run '{runId}' is still running in this process. Complete or abort it before deleting it.");
        return await _project.Store.Runs.DeleteAsync(run.Id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Marks a run that is still running as aborted — typically one left <see cref="RunState.Running"/> by a process
    /// that was killed before it could end it. A run that is open in this process is aborted through its context, so its
    /// buffered metrics are written first.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="reason">Why, stored as the run's error.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The aborted run.</returns>
    /// <exception cref="NotFoundException">No run of this project has that id.</exception>
    /// <exception cref="InvalidStateException">The run has already ended.</exception>
    public async Task<RunRecord> AbortAsync(string runId, string? reason = null, CancellationToken cancellationToken = default)
    {
        var run = await GetAsync(runId, cancellationToken).ConfigureAwait(false);
        if (_active.TryGetValue(run.Id, out var open))
            await open.AbortAsync(reason, cancellationToken).ConfigureAwait(false);
        else
            await _project.Store.Runs.EndAsync(run.Id, RunState.Aborted, _project.TimeProvider.GetUtcNow(), reason ?? "Aborted", null, cancellationToken).ConfigureAwait(false);
        return await GetAsync(run.Id, cancellationToken).ConfigureAwait(false);
    }

    internal void Forget(RunContext run) => _active.TryRemove(run.Id, out _);

    internal async Task DisposeActiveRunsAsync()
    {
        foreach (var run in _active.Values)
        {
            try
            {
                if (!run.HasEnded) await run.AbortAsync("The project was disposed before the run ended.").ConfigureAwait(false);
            }
            catch (MLOpsException)
            {
                // the run ended concurrently, or the store is gone: nothing more to save
            }
        }
    }

    private static List<RunOrder> ParseOrders(string? orderBy)
        => string.IsNullOrWhiteSpace(orderBy) ? new List<RunOrder>() : orderBy.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(RunOrder.Parse).ToList();
}
