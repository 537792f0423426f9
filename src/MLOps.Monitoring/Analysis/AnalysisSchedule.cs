using Microsoft.Extensions.Logging;

namespace MLOps.Monitoring.Analysis;

/// <summary>
/// The scheduled analysis of a project (<see cref="MonitoringCatalog.StartAnalysisAsync"/>, or <see cref="MonitoringAnalysisService"/>
/// in a host): a pass at once, then one every <see cref="MonitoringOptions.AnalysisInterval"/> on the project's
/// <see cref="MLOpsProject.TimeProvider"/>, each analysing the closed windows of every endpoint not analysed yet. A failing
/// endpoint or pass is logged and retried on the next pass. Dispose it to stop (a running pass is cancelled).
/// </summary>
public sealed class AnalysisSchedule : IAsyncDisposable
{
    private readonly MonitoringCatalog _catalog;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<(long Pass, TaskCompletionSource Done)> _waiters = [];
    private IReadOnlyList<WindowAnalysis> _lastPass = [];
    private long _passes;
    private Task _loop = Task.CompletedTask;
    private int _disposed;

    internal AnalysisSchedule(MonitoringCatalog catalog)
    {
        _catalog = catalog;
        _logger = catalog.Project.LoggerFactory.CreateLogger("MLOps.Monitoring");
    }

    /// <summary>The number of passes completed (successful or not).</summary>
    public long CompletedPasses => Interlocked.Read(ref _passes);

    /// <summary>The windows analysed by the last completed pass.</summary>
    public IReadOnlyList<WindowAnalysis> LastPass
    {
        get
        {
            lock (_lock) return _lastPass;
        }
    }

    /// <summary>Waits until <paramref name="pass"/> passes have completed (the first pass is 1).</summary>
    /// <param name="pass">The pass to wait for.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes with the pass (or at once when it is done), or is cancelled when the schedule stops first.</returns>
    public Task WaitForPassAsync(long pass, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (CompletedPasses >= pass) return Task.CompletedTask;
            if (_stop.IsCancellationRequested) return Task.FromCanceled(_stop.Token);
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((pass, done));
            return done.Task.WaitAsync(cancellationToken);
        }
    }

    internal void Start()
    {
        var options = _catalog.Options;
        AnalysisLog.ScheduleStarted(_logger, _catalog.Project.Name, options.AnalysisWindow, options.AnalysisInterval, _catalog.Engine.Owner);
        var timer = new PeriodicTimer(options.AnalysisInterval, _catalog.Project.TimeProvider); // created now: ticks count from the start
        _loop = Task.Run(() => RunAsync(timer));
    }

    private async Task RunAsync(PeriodicTimer timer)
    {
        using var _ = timer;
        var token = _stop.Token;
        try
        {
            do
            {
                IReadOnlyList<WindowAnalysis> pass = [];
                try
                {
                    pass = await _catalog.Engine.AnalyzeAsync(new AnalysisRequest(), isolateEndpoints: true, token).ConfigureAwait(false);
                }
                catch (Exception ex) when (!token.IsCancellationRequested && ex is not OutOfMemoryException)
                {
                    AnalysisLog.PassFailed(_logger, ex, _catalog.Project.Name, _catalog.Options.AnalysisInterval);
                }
                Completed(pass);
            }
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // stopped
        }
    }

    private void Completed(IReadOnlyList<WindowAnalysis> pass)
    {
        List<TaskCompletionSource> done;
        lock (_lock)
        {
            _lastPass = pass;
            var passes = Interlocked.Increment(ref _passes);
            done = [.. _waiters.Where(w => w.Pass <= passes).Select(w => w.Done)];
            _waiters.RemoveAll(w => w.Pass <= passes);
        }
        foreach (var waiter in done) waiter.TrySetResult();
    }

    /// <summary>Stops the schedule: cancels a running pass and waits for it to end.</summary>
    /// <returns>A task that completes when the schedule has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        List<TaskCompletionSource> waiters;
        lock (_lock)
        {
            _stop.Cancel();
            waiters = [.. _waiters.Select(w => w.Done)];
            _waiters.Clear();
        }
        foreach (var waiter in waiters) waiter.TrySetCanceled(_stop.Token);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
