using System.Collections.Concurrent;
using System.Diagnostics;
using MLOps.Monitoring.Applications;

namespace MLOps.Monitoring.Tests.Analysis;

/// <summary>Returns the window's row count as a result and a metric, and remembers every window it saw.</summary>
public sealed class RowCountApplication(string name = "rows") : IMonitoringApplication
{
    public string Name { get; } = name;

    public ConcurrentQueue<(string EndpointId, DateTimeOffset Start)> Seen { get; } = new();

    public Task<ApplicationOutput> AnalyzeAsync(MonitoringWindow window, CancellationToken cancellationToken)
    {
        Seen.Enqueue((window.Endpoint.Id, window.Start));
        return Task.FromResult(new ApplicationOutput
        {
            Results = [new MonitoringResult("row_count", window.RowCount, ResultKind.Custom, ResultStatus.None) { Message = "rows", Statistics = new Dictionary<string, double> { ["batches"] = window.Data.Count } }],
            Metrics = new Dictionary<string, double> { ["rows"] = window.RowCount, ["batches"] = window.Data.Count },
        });
    }
}

/// <summary>Throws on every window.</summary>
public sealed class ThrowingApplication : IMonitoringApplication
{
    public string Name => "throws";

    public Task<ApplicationOutput> AnalyzeAsync(MonitoringWindow window, CancellationToken cancellationToken)
        => throw new InvalidOperationException("boom in " + window.Start.ToString("HH:mm"));
}

/// <summary>Waits for cancellation (honours its token); signals each start.</summary>
public sealed class HangingApplication(bool honoursCancellation, string name = "hangs") : IMonitoringApplication
{
    private readonly TaskCompletionSource<ApplicationOutput> _never = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Name { get; } = name;

    public SemaphoreSlim Started { get; } = new(0);

    private int _cancelled;

    public int Cancelled => Volatile.Read(ref _cancelled);

    public async Task<ApplicationOutput> AnalyzeAsync(MonitoringWindow window, CancellationToken cancellationToken)
    {
        cancellationToken.Register(() => Interlocked.Increment(ref _cancelled));
        Started.Release();
        if (honoursCancellation)
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            throw new UnreachableException();
        }
        return await _never.Task; // ignores its token: abandoned
    }
}

/// <summary>Returns an invalid output.</summary>
public sealed class InvalidApplication(string name, Func<ApplicationOutput?> output) : IMonitoringApplication
{
    public string Name { get; } = name;

    public Task<ApplicationOutput> AnalyzeAsync(MonitoringWindow window, CancellationToken cancellationToken) => Task.FromResult(output()!);
}

/// <summary>Returns fixed drift results.</summary>
public sealed class FixedResultsApplication(string name, params MonitoringResult[] results) : IMonitoringApplication
{
    public string Name { get; } = name;

    public Task<ApplicationOutput> AnalyzeAsync(MonitoringWindow window, CancellationToken cancellationToken)
        => Task.FromResult(new ApplicationOutput { Results = results });
}
