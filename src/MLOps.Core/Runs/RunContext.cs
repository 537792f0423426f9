using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using MLOps.Runs.Internal;

namespace MLOps.Runs;

/// <summary>
/// A running, tracked run: log parameters, results, metrics, labels, inputs, outputs, artifacts and models to it.
/// Start one with <c>await using var run = await project.Runs.StartAsync("train")</c> (disposing completes it) or
/// let <c>project.Runs.RunAsync("train", handler)</c> manage it (an exception marks it failed, cancellation aborted).
/// </summary>
/// <remarks>
/// Thread-safe. <see cref="LogMetric"/> is cheap: points are buffered and written in one transaction when
/// <see cref="MetricBufferOptions.FlushSize"/> points wait or every <see cref="MetricBufferOptions.FlushInterval"/>;
/// nothing buffered is lost when the run completes, fails or is disposed.
/// </remarks>
public sealed partial class RunContext : IAsyncDisposable
{
    private readonly MLOpsProject _project;
    private readonly RunCatalog _catalog;
    private readonly MetricBufferOptions _buffer;
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _flushLock = new(1, 1);
    private readonly Dictionary<string, long> _nextStep = new(StringComparer.Ordinal);
    private readonly HashSet<string> _validKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _parameters;
    private readonly ITimer _timer;
    private List<MetricEntry> _metrics = [];
    private List<RunLogEntry> _logs = [];
    private int _flushScheduled;
    private int _ended;
    private Exception? _backgroundError;
    private Task _pendingFlush = Task.CompletedTask;
    private Exception? _failure;

    internal RunContext(MLOpsProject project, RunCatalog catalog, RunRecord record, Activity? activity = null)
    {
        Activity = activity;
        _project = project;
        _catalog = catalog;
        _buffer = project.Options.Metrics;
        Id = record.Id;
        Name = record.Name;
        ParentId = record.ParentId;
        Iteration = record.Iteration;
        StartTime = record.StartTime;
        _parameters = new Dictionary<string, string>(record.Parameters, StringComparer.Ordinal);
        var category = "MLOps.Run." + record.Name;
        Logger = new RunLogger(this, project.LoggerFactory.CreateLogger(category), category);
        _timer = project.TimeProvider.CreateTimer(static s => ((RunContext)s!).ScheduleFlush(), this, _buffer.FlushInterval, _buffer.FlushInterval);
    }

    /// <summary>The run's span while it runs (null without a listener of <see cref="MLOpsDiagnostics.ActivitySourceName"/>).</summary>
    internal Activity? Activity { get; }

    /// <summary>The sortable run id.</summary>
    public string Id { get; }

    /// <summary>The run name.</summary>
    public string Name { get; }

    /// <summary>The project.</summary>
    public MLOpsProject Project => _project;

    /// <summary>The parent of a nested run.</summary>
    public string? ParentId { get; }

    /// <summary>The iteration of a hyper-parameter child run (1-based), else <see langword="null"/>.</summary>
    public int? Iteration { get; }

    /// <summary>When it started (UTC).</summary>
    public DateTimeOffset StartTime { get; }

    /// <summary>Whether the run has ended (completed, failed or aborted).</summary>
    public bool HasEnded => Volatile.Read(ref _ended) != 0;

    /// <summary>A logger whose lines are stored with the run (see <c>project.Runs.GetLogsAsync</c>) and forwarded to the project's logger factory.</summary>
    public ILogger Logger { get; }

    /// <summary>The parameters logged so far, in invariant string form.</summary>
    public IReadOnlyDictionary<string, string> Parameters
    {
        get { lock (_lock) return new Dictionary<string, string>(_parameters); }
    }

    /// <summary>Reads a parameter converted to <typeparamref name="T"/> (numbers, bool, string, enums, <see cref="DateTimeOffset"/>).</summary>
    /// <typeparam name="T">The type.</typeparam>
    /// <param name="key">The parameter key.</param>
    /// <returns>The value.</returns>
    /// <exception cref="NotFoundException">The parameter was not logged.</exception>
    /// <exception cref="ValidationException">The value does not convert to <typeparamref name="T"/>.</exception>
    public T GetParameter<T>(string key)
    {
        RequireKey(key);
        string? text;
        lock (_lock) _parameters.TryGetValue(key, out text);
        if (text is null)
            throw new NotFoundException("parameter", key, $"Run '{Name}' ({Id}) has no parameter '{key}'. Its parameters are: {string.Join(", ", Parameters.Keys.Order())}. Pass it when starting the run or use GetParameter(key, defaultValue).");
        return ParameterValues.Convert<T>(text, key);
    }

    /// <summary>Reads a parameter, or returns <paramref name="defaultValue"/> when it was not logged.</summary>
    /// <typeparam name="T">The type.</typeparam>
    /// <param name="key">The parameter key.</param>
    /// <param name="defaultValue">The value to use when the parameter is missing.</param>
    /// <returns>The value.</returns>
    public T GetParameter<T>(string key, T defaultValue)
    {
        RequireKey(key);
        string? text;
        lock (_lock) _parameters.TryGetValue(key, out text);
        return text is null ? defaultValue : ParameterValues.Convert<T>(text, key);
    }

    private static void RequireKey(string key)
        => Names.Required(key, "parameter key", "Pass the key of a parameter of the run, e.g. GetParameter<int>(\"trees\").");

    /// <summary>Logs a parameter. Parameters are immutable: the same value again is fine, another value throws <see cref="ParameterConflictException"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value (stored in invariant string form).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    public Task LogParameterAsync(string key, object value, CancellationToken cancellationToken = default)
        => LogParametersAsync(new Dictionary<string, object> { [key] = value }, cancellationToken);

    /// <summary>Logs parameters in one transaction (all or nothing).</summary>
    /// <param name="parameters">The parameters.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    public async Task LogParametersAsync(IReadOnlyDictionary<string, object> parameters, CancellationToken cancellationToken = default)
    {
        Throw.IfNull(parameters);
        EnsureActive();
        var text = ParameterValues.ToStrings(parameters);
        await _project.Store.Runs.LogParametersAsync(Id, text, cancellationToken).ConfigureAwait(false);
        lock (_lock) foreach (var (k, v) in text) _parameters[k] = v;
    }

    /// <summary>Logs a result (a scalar outcome such as the final accuracy). A result logged again is overwritten.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    public Task LogResultAsync(string key, double value, CancellationToken cancellationToken = default)
        => LogResultsAsync(new Dictionary<string, double> { [key] = value }, cancellationToken);

    /// <summary>Logs results in one transaction.</summary>
    /// <param name="results">The results.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    public Task LogResultsAsync(IReadOnlyDictionary<string, double> results, CancellationToken cancellationToken = default)
    {
        Throw.IfNull(results);
        EnsureActive();
        foreach (var k in results.Keys) Names.Key(k, "result key");
        return _project.Store.Runs.LogResultsAsync(Id, results, cancellationToken);
    }

    /// <summary>Sets a label (tag); labels can be overwritten.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value, or <see langword="null"/> to remove it.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    public Task SetLabelAsync(string key, string? value, CancellationToken cancellationToken = default)
        => _project.Store.Runs.SetLabelsAsync(Id, new Dictionary<string, string?> { [Names.Key(key, "label key")] = value }, cancellationToken);

    /// <summary>Buffers one metric point. Cheap: the point is written with others in one transaction.</summary>
    /// <param name="key">The metric key, e.g. <c>auc</c> or <c>train/loss</c>.</param>
    /// <param name="value">The value (NaN and infinities are kept).</param>
    /// <param name="step">The step; by default the next step of this key (0, 1, 2, ...).</param>
    /// <param name="timestamp">When it was measured; by default now.</param>
    /// <exception cref="InvalidStateException">The run has ended.</exception>
    public void LogMetric(string key, double value, long? step = null, DateTimeOffset? timestamp = null)
    {
        EnsureActive();
        var ts = timestamp ?? _project.TimeProvider.GetUtcNow();
        int count;
        lock (_lock)
        {
            if (!_validKeys.Contains(key))
            {
                Names.Key(key, "metric key");
                _validKeys.Add(key);
            }
            long s;
            if (step is { } given)
            {
                s = given;
                _nextStep[key] = Math.Max(_nextStep.GetValueOrDefault(key), given + 1);
            }
            else
            {
                s = _nextStep.GetValueOrDefault(key);
                _nextStep[key] = s + 1;
            }
            _metrics.Add(new MetricEntry(Id, key, value, s, ts));
            count = _metrics.Count;
        }
        if (count >= _buffer.MaxBuffered) FlushAsync().GetAwaiter().GetResult();
        else if (count >= _buffer.FlushSize) ScheduleFlush();
    }

    /// <summary>Writes a batch of metric points now, in one transaction (after whatever is buffered).</summary>
    /// <param name="points">The points: key, value and step.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    public async Task LogMetricsAsync(IEnumerable<(string Key, double Value, long Step)> points, CancellationToken cancellationToken = default)
    {
        Throw.IfNull(points);
        EnsureActive();
        var now = _project.TimeProvider.GetUtcNow();
        var batch = new List<MetricEntry>();
        lock (_lock)
        {
            foreach (var (key, value, step) in points)
            {
                if (!_validKeys.Contains(key))
                {
                    Names.Key(key, "metric key");
                    _validKeys.Add(key);
                }
                _nextStep[key] = Math.Max(_nextStep.GetValueOrDefault(key), step + 1);
                batch.Add(new MetricEntry(Id, key, value, step, now));
            }
        }
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        await _project.Store.Runs.LogMetricsAsync(batch, cancellationToken).ConfigureAwait(false);
        if (_project.Telemetry.MetricPointsWritten.Enabled)
            _project.Telemetry.MetricPointsWritten.Add(batch.Count, new KeyValuePair<string, object?>(MLOps.Internal.Telemetry.ProjectTag, _project.Name));
    }

    /// <summary>Records an input of the run (lineage), e.g. the training dataset.</summary>
    /// <param name="name">The name under which the run knows it, e.g. <c>training-data</c>.</param>
    /// <param name="uri">The artifact or model URI (<c>store://...</c>).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    public Task LogInputAsync(string name, string uri, CancellationToken cancellationToken = default)
        => LinkAsync(RunLinkDirection.Input, name, uri, cancellationToken);

    /// <summary>Records an output of the run that was stored elsewhere.</summary>
    /// <param name="name">The output name.</param>
    /// <param name="uri">The URI.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    public Task LogOutputAsync(string name, string uri, CancellationToken cancellationToken = default)
        => LinkAsync(RunLinkDirection.Output, name, uri, cancellationToken);

    private Task LinkAsync(RunLinkDirection direction, string name, string uri, CancellationToken cancellationToken)
    {
        Names.Key(name, direction == RunLinkDirection.Input ? "input name" : "output name");
        StoreUri.Parse(uri);
        return _project.Store.Runs.AddLinksAsync(Id, [new RunLink(direction, name, uri)], cancellationToken);
    }

    /// <summary>Logs a file (or plot, table, model file) artifact produced by this run and records it as an output.</summary>
    /// <param name="key">The artifact key.</param>
    /// <param name="path">The file.</param>
    /// <param name="kind">The kind (inferred from the extension when omitted).</param>
    /// <param name="options">Description and tags.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The artifact version.</returns>
    public Task<ArtifactRecord> LogArtifactAsync(string key, string path, ArtifactKind? kind = null, ArtifactOptions? options = null, CancellationToken cancellationToken = default)
        => LogOutputAsync(key, produced => _project.Artifacts.LogFileAsync(key, path, kind, produced, cancellationToken), options, cancellationToken);

    /// <summary>Logs bytes (a plot, a report, a model file) produced by this run and records it as an output.</summary>
    /// <param name="key">The artifact key.</param>
    /// <param name="content">The bytes.</param>
    /// <param name="fileName">The file name to give it.</param>
    /// <param name="kind">The kind.</param>
    /// <param name="options">Description and tags.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The artifact version.</returns>
    public Task<ArtifactRecord> LogArtifactAsync(string key, ReadOnlyMemory<byte> content, string fileName, ArtifactKind kind = ArtifactKind.File, ArtifactOptions? options = null, CancellationToken cancellationToken = default)
        => LogOutputAsync(key, produced => _project.Artifacts.LogBytesAsync(key, content, fileName, kind, produced, cancellationToken), options, cancellationToken);

    /// <summary>Logs an artifact with this run as its producer and records it as the run's output <paramref name="key"/>.</summary>
    private async Task<ArtifactRecord> LogOutputAsync(string key, Func<ArtifactOptions, Task<ArtifactRecord>> log, ArtifactOptions? options, CancellationToken cancellationToken)
    {
        EnsureActive();
        var record = await log(Produced(options)).ConfigureAwait(false);
        await _project.Store.Runs.AddLinksAsync(Id, [new RunLink(RunLinkDirection.Output, key, record.Uri)], cancellationToken).ConfigureAwait(false);
        return record;
    }

    /// <summary>A copy of <paramref name="options"/> naming this run as the producer.</summary>
    internal ArtifactOptions Produced(ArtifactOptions? options)
    {
        var o = new ArtifactOptions { Description = options?.Description, ProducerRunId = Id };
        if (options is not null) foreach (var t in options.Tags) o.Tags.Add(t);
        return o;
    }

    /// <summary>Starts a nested run whose parent is this run.</summary>
    /// <param name="name">The child run name.</param>
    /// <param name="options">Parameters and labels.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The child run; dispose it to complete it.</returns>
    public Task<RunContext> StartChildAsync(string name, RunOptions? options = null, CancellationToken cancellationToken = default)
        => _catalog.StartAsync(name, (options ?? new RunOptions()) with { ParentRunId = Id }, cancellationToken);

    /// <summary>Writes the buffered metric points and log lines now.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when they are stored.</returns>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _flushLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            List<MetricEntry> metrics;
            List<RunLogEntry> logs;
            lock (_lock)
            {
                if (_metrics.Count == 0 && _logs.Count == 0) return;
                metrics = _metrics;
                logs = _logs;
                _metrics = new List<MetricEntry>(Math.Min(metrics.Capacity, _buffer.FlushSize));
                _logs = [];
            }
            try
            {
                var started = Stopwatch.GetTimestamp();
                await _project.Store.Runs.LogMetricsAsync(metrics, CancellationToken.None).ConfigureAwait(false);
                var telemetry = _project.Telemetry;
                if (telemetry.MetricPointsWritten.Enabled || telemetry.FlushDuration.Enabled)
                {
                    var tag = new KeyValuePair<string, object?>(MLOps.Internal.Telemetry.ProjectTag, _project.Name);
                    telemetry.MetricPointsWritten.Add(metrics.Count, tag);
                    telemetry.FlushDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tag);
                }
                metrics.Clear();
                await _project.Store.Runs.AppendLogsAsync(logs, CancellationToken.None).ConfigureAwait(false);
            }
            catch
            {
                lock (_lock)
                {
                    // Put back what was not written, before anything logged since, so nothing is lost or reordered.
                    metrics.AddRange(_metrics);
                    _metrics = metrics;
                    logs.AddRange(_logs);
                    _logs = logs;
                }
                throw;
            }
        }
        finally
        {
            _flushLock.Release();
        }
    }

    private void ScheduleFlush()
    {
        if (Interlocked.Exchange(ref _flushScheduled, 1) != 0) return;
        _pendingFlush = Task.Run(async () =>
        {
            try
            {
                await FlushAsync().ConfigureAwait(false);
                _backgroundError = null;
            }
            catch (Exception e) when (e is MLOpsException or IOException or ObjectDisposedException)
            {
                _backgroundError = e;
                CoreLog.RunFlushFailed(_project.Logger, e, Id);
            }
            finally
            {
                Volatile.Write(ref _flushScheduled, 0);
            }
        });
    }

    /// <summary>The latest background flush (tests await it instead of sleeping).</summary>
    internal Task PendingFlush => Volatile.Read(ref _pendingFlush);

    internal void BufferLog(string level, string category, string message)
    {
        if (HasEnded) return;
        lock (_lock) _logs.Add(new RunLogEntry(Id, _project.TimeProvider.GetUtcNow(), level, category, message));
    }

    /// <summary>Flushes and marks the run completed.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    public Task CompleteAsync(CancellationToken cancellationToken = default) => EndAsync(RunState.Completed, null, null, cancellationToken);

    /// <summary>Flushes and marks the run failed with the exception's message and stack trace.</summary>
    /// <param name="exception">The error.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    public Task FailAsync(Exception exception, CancellationToken cancellationToken = default)
    {
        Throw.IfNull(exception);
        _failure = exception;
        return EndAsync(RunState.Failed, $"{exception.GetType().Name}: {exception.Message}", exception.ToString(), cancellationToken);
    }

    /// <summary>Flushes and marks the run failed with a message.</summary>
    /// <param name="error">The error message.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    public Task FailAsync(string error, CancellationToken cancellationToken = default)
        => EndAsync(RunState.Failed, Names.Required(error, "error message", "Pass a message saying why the run failed, or call FailAsync(exception)."), null, cancellationToken);

    /// <summary>Flushes and marks the run aborted (cancelled).</summary>
    /// <param name="reason">Why it was aborted.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    public Task AbortAsync(string? reason = null, CancellationToken cancellationToken = default)
        => EndAsync(RunState.Aborted, reason ?? "Aborted", null, cancellationToken);

    private async Task EndAsync(RunState state, string? error, string? stack, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
            throw new InvalidStateException($"Run '{Name}' ({Id}) has already ended; it cannot end again as {state}.");
        await _timer.DisposeAsync().ConfigureAwait(false);
        Exception? flushError = null;
        try
        {
            await FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MLOpsException or IOException)
        {
            flushError = e;
        }
        if (flushError is not null && state == RunState.Completed)
        {
            state = RunState.Failed;
            error = $"Buffered metrics could not be written: {flushError.Message}";
            stack = flushError.ToString();
        }
        try
        {
            await _project.Store.Runs.EndAsync(Id, state, _project.TimeProvider.GetUtcNow(), error, stack, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Activity?.AddException(e);
            throw;
        }
        finally
        {
            _catalog.Forget(this);
            Ended(state, error, flushError ?? _failure);
        }
        if (flushError is not null) throw flushError;
    }

    /// <summary>Records the end in the run's span, Core's meters and log.</summary>
    private void Ended(RunState state, string? error, Exception? exception)
    {
        var duration = _project.TimeProvider.GetUtcNow() - StartTime;
        if (Activity is { } activity)
        {
            activity.SetTag(MLOps.Internal.Telemetry.RunStateTag, state.ToString().ToLowerInvariant());
            if (state == RunState.Failed)
            {
                if (exception is not null) activity.AddException(exception);
                activity.SetStatus(ActivityStatusCode.Error, error);
            }
            activity.Stop();
        }
        var telemetry = _project.Telemetry;
        if (telemetry.RunsEnded.Enabled || telemetry.RunDuration.Enabled)
        {
            var tags = new TagList
            {
                { MLOps.Internal.Telemetry.ProjectTag, _project.Name },
                { MLOps.Internal.Telemetry.RunStateTag, state.ToString().ToLowerInvariant() },
            };
            telemetry.RunsEnded.Add(1, tags);
            telemetry.RunDuration.Record(Math.Max(0, duration.TotalSeconds), tags);
        }
        if (state == RunState.Failed) CoreLog.RunFailed(_project.Logger, exception, Name, Id, _project.Name, duration, error);
        else CoreLog.RunEnded(_project.Logger, Name, Id, _project.Name, state, duration);
    }

    /// <summary>Completes the run when it has not ended yet (writing everything buffered).</summary>
    /// <returns>A task that completes when stored.</returns>
    public async ValueTask DisposeAsync()
    {
        if (!HasEnded) await CompleteAsync().ConfigureAwait(false);
    }

    private void EnsureActive()
    {
        if (HasEnded)
            throw new InvalidStateException($"Run '{Name}' ({Id}) has ended; nothing more can be logged to it. Start a new run, or log before completing it.");
    }

    /// <summary>The latest error of a background flush (the points stay buffered and are retried), or <see langword="null"/>.</summary>
    public Exception? LastFlushError => _backgroundError;

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"Run {Name} ({Id})");
}
