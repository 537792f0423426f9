using System.Diagnostics;
using System.Globalization;
using Apache.Arrow;
using Microsoft.Extensions.Logging;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Capture;
using MLOps.Monitoring.Endpoints;

namespace MLOps.Monitoring.Analysis;

/// <summary>Analyses windows of endpoints: reads each window's captured data once, runs the endpoint's applications on it
/// concurrently and isolated (exceptions, time-outs and invalid output become <see cref="ResultStatus.Error"/> results), stores
/// the results per application and window, then moves the endpoint's watermark and latest drift.</summary>
#pragma warning disable CA1001 // the semaphore has no wait handle to release (AvailableWaitHandle is never used); it lives as long as the project
internal sealed class AnalysisEngine
#pragma warning restore CA1001
{
    /// <summary>The name of the result that stands for a failed application.</summary>
    public const string ErrorResult = "error";

    private readonly MonitoringCatalog _catalog;
    private readonly ILogger _logger;
    private readonly AnalysisTelemetry _telemetry;
    private readonly SemaphoreSlim _pendingGate = new(1, 1);

    public AnalysisEngine(MonitoringCatalog catalog)
    {
        _catalog = catalog;
        _logger = catalog.Project.LoggerFactory.CreateLogger("MLOps.Monitoring");
        _telemetry = AnalysisTelemetry.For(catalog.Project.Options.MeterFactory);
        Owner = catalog.Options.AnalysisOwner ?? Environment.MachineName;
    }

    private MonitoringOptions Options => _catalog.Options;

    private TimeProvider Time => _catalog.Project.TimeProvider;

    /// <summary>Who claims windows in the metadata store.</summary>
    public string Owner { get; }

    /// <summary>The start of the window holding <paramref name="time"/>.</summary>
    public DateTimeOffset WindowStart(DateTimeOffset time)
    {
        var ticks = time.UtcTicks;
        return new DateTimeOffset(ticks - ticks % Options.AnalysisWindow.Ticks, TimeSpan.Zero);
    }

    /// <summary>The end of the last closed window (its end plus the grace period is past).</summary>
    public DateTimeOffset ClosedUntil() => WindowStart(Time.GetUtcNow() - Options.AnalysisGracePeriod);

    public async Task<IReadOnlyList<WindowAnalysis>> AnalyzeAsync(AnalysisRequest request, bool isolateEndpoints, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var endpoints = request.EndpointId is null
            ? await _catalog.ListEndpointsAsync(cancellationToken).ConfigureAwait(false)
            : [await _catalog.GetEndpointAsync(request.EndpointId, cancellationToken).ConfigureAwait(false)];
        var subset = Subset(request.Applications);
        var pending = request.From is null && request.To is null;
        if (request.From is { } f && request.To is { } t && t <= f)
            throw new ValidationException($"AnalysisRequest.To ({t:O}) is not after From ({f:O}); pass a range whose end is later than its start, or neither for the windows not analysed yet.");
        if (pending) await _pendingGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var analyses = new List<WindowAnalysis>();
            foreach (var endpoint in endpoints)
            {
                try
                {
                    analyses.AddRange(await AnalyzeEndpointAsync(endpoint, request, subset, pending, cancellationToken).ConfigureAwait(false));
                }
                catch (Exception ex) when (isolateEndpoints && ex is not OperationCanceledException && ex is not OutOfMemoryException)
                {
                    AnalysisLog.EndpointFailed(_logger, ex, endpoint.Name, endpoint.Id);
                }
            }
            return analyses;
        }
        finally
        {
            if (pending) _pendingGate.Release();
        }
    }

    private HashSet<string>? Subset(IReadOnlyCollection<string>? applications)
    {
        if (applications is null) return null;
        var names = _catalog.Applications.Names;
        var unknown = applications.Where(a => a is null || !names.Contains(a)).ToList();
        if (unknown.Count > 0)
            throw new ValidationException($"AnalysisRequest.Applications names {string.Join(", ", unknown.Select(u => u is null ? "null" : $"'{u}'"))}, which {(unknown.Count == 1 ? "is" : "are")} not registered; the project's applications are {Names.ListSome(names)} (project.Monitoring.Applications).");
        return new HashSet<string>(applications, StringComparer.Ordinal);
    }

    private async Task<List<WindowAnalysis>> AnalyzeEndpointAsync(ModelEndpoint endpoint, AnalysisRequest request, HashSet<string>? subset, bool pending, CancellationToken cancellationToken)
    {
        var analyses = new List<WindowAnalysis>();
        var applications = _catalog.Applications.Entries(endpoint).Where(a => subset is null || subset.Contains(a.Application.Name)).ToList();
        if (applications.Count == 0) return analyses;
        var closedUntil = ClosedUntil();
        DateTimeOffset start, end;
        if (pending)
        {
            if (endpoint.AnalyzedUntil is { } until) start = WindowStart(until); // aligned again when AnalysisWindow changed
            else if (endpoint.FirstRequest is { } first) start = WindowStart(first);
            else return analyses; // no traffic yet
            end = closedUntil;
        }
        else
        {
            start = WindowStart(request.From ?? endpoint.FirstRequest ?? closedUntil);
            var to = request.To ?? closedUntil;
            end = WindowStart(to) == to ? to : WindowStart(to) + Options.AnalysisWindow;
            if (end > closedUntil) end = closedUntil;
        }
        var moveWatermark = pending && subset is null;
        var length = Options.AnalysisWindow;
        for (var windowStart = start; windowStart + length <= end; windowStart += length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var windowEnd = windowStart + length;
            var data = await ReadWindowAsync(endpoint.Id, windowStart, windowEnd, cancellationToken).ConfigureAwait(false);
            if (data.Count == 0 && !(await TrafficFiles.SumAsync(_catalog.CaptureRoot, endpoint.Id, windowStart, windowEnd, cancellationToken).ConfigureAwait(false)).Any)
                continue; // an empty window: nothing to analyse, the watermark moves past it below
            if (pending && !await ClaimAsync(endpoint.Id, windowStart, cancellationToken).ConfigureAwait(false))
            {
                AnalysisLog.ClaimedElsewhere(_logger, endpoint.Id, windowStart, windowEnd);
                return analyses; // the owner moves the watermark; later windows wait for it
            }
            var window = new MonitoringWindow(_catalog.Project, endpoint, windowStart, windowEnd, data);
            var analysis = await AnalyzeWindowAsync(window, applications, cancellationToken).ConfigureAwait(false);
            analyses.Add(analysis);
            endpoint = await _catalog.Records.SetAnalysisAsync(endpoint.Id, moveWatermark ? windowEnd : null, Drift(analysis), cancellationToken).ConfigureAwait(false);
        }
        if (moveWatermark && end > start)
            await _catalog.Records.SetAnalysisAsync(endpoint.Id, end, null, cancellationToken).ConfigureAwait(false);
        return analyses;
    }

    /// <summary>The captured rows of an endpoint whose time is in [<paramref name="start"/>, <paramref name="end"/>), file by file, as
    /// an analysed window holds them.</summary>
    internal async Task<List<RecordBatch>> ReadWindowAsync(string endpointId, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken)
    {
        var data = new List<RecordBatch>();
        await foreach (var batch in CaptureFiles.ReadAsync(_catalog.CaptureRoot, endpointId, start, end, cancellationToken).ConfigureAwait(false))
            data.Add(batch);
        return data;
    }

    /// <summary>Claims a window for this owner: the first owner to claim it gets sequence 1 and analyses it; the same owner
    /// claiming again (after a restart) gets 1 again.</summary>
    private async Task<bool> ClaimAsync(string endpointId, DateTimeOffset start, CancellationToken cancellationToken)
    {
        var scope = $"monitoring-window/{endpointId}/{start.UtcDateTime.ToString("yyyyMMdd'T'HHmm", CultureInfo.InvariantCulture)}";
        var sequence = await _catalog.Project.Store.Specs.ClaimSequenceAsync(_catalog.Project.Name, scope, Owner, Time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return sequence == 1;
    }

    /// <summary>Runs the applications on a window concurrently and stores what each returned.</summary>
    public async Task<WindowAnalysis> AnalyzeWindowAsync(MonitoringWindow window, IReadOnlyList<(IMonitoringApplication Application, TimeSpan? Timeout)> applications, CancellationToken cancellationToken)
    {
        var outputs = await Task.WhenAll(applications.Select(a => RunIsolatedAsync(a.Application, a.Timeout ?? Options.ApplicationTimeout, window, cancellationToken))).ConfigureAwait(false);
        var now = Time.GetUtcNow().UtcTicks;
        var analyzedAt = new DateTimeOffset(now - now % 10, TimeSpan.Zero); // microseconds, as stored
        var results = new List<MonitoringResultRecord>();
        var metrics = new List<MonitoringMetricRecord>();
        for (int i = 0; i < applications.Count; i++)
        {
            var name = applications[i].Application.Name;
            var appResults = outputs[i].Results.Select(r => new MonitoringResultRecord
            {
                EndpointId = window.Endpoint.Id, Application = name, WindowStart = window.Start, WindowEnd = window.End,
                Name = r.Name, Value = r.Value, Kind = r.Kind, Status = r.Status, Message = r.Message, Statistics = r.Statistics, AnalyzedAt = analyzedAt,
            }).ToList();
            var appMetrics = outputs[i].Metrics.Select(m => new MonitoringMetricRecord
            {
                EndpointId = window.Endpoint.Id, Application = name, WindowStart = window.Start, WindowEnd = window.End,
                Name = m.Key, Value = m.Value, AnalyzedAt = analyzedAt,
            }).OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
            await ResultFiles.WriteAsync(_catalog.CaptureRoot, appResults, appMetrics, window.Endpoint.Id, name, window.Start, window.End, analyzedAt, cancellationToken).ConfigureAwait(false);
            results.AddRange(appResults);
            metrics.AddRange(appMetrics);
        }
        _telemetry.Windows.Add(1, EndpointTags(window.Project, window.Endpoint));
        AnalysisLog.WindowAnalyzed(_logger, window.Endpoint.Id, window.Start, window.RowCount, applications.Count, results.Count);
        return new WindowAnalysis { EndpointId = window.Endpoint.Id, Start = window.Start, End = window.End, RowCount = window.RowCount, Results = results, Metrics = metrics };
    }

    /// <summary>Runs one application on a window on the thread pool with its time-out; never throws but for the caller's cancellation.</summary>
    private async Task<ApplicationOutput> RunIsolatedAsync(IMonitoringApplication application, TimeSpan timeout, MonitoringWindow window, CancellationToken cancellationToken)
    {
        var timeoutSource = new CancellationTokenSource(timeout, Time);
        var linked = CancellationTokenSource.CreateLinkedTokenSource(timeoutSource.Token, cancellationToken);
        var task = Task.Run(() => application.AnalyzeAsync(window, linked.Token), CancellationToken.None);
        try
        {
            var output = await task.WaitAsync(linked.Token).ConfigureAwait(false);
            var problem = Problem(output);
            return problem is null ? output : Failed(application, window, null, $"invalid output: {problem}");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException) when (timeoutSource.IsCancellationRequested)
        {
            AnalysisLog.ApplicationTimedOut(_logger, application.Name, timeout, window.ToString());
            Count(application, window);
            return Error($"timed out after {timeout} (its time-out, MonitoringOptions.ApplicationTimeout by default); the application was cancelled and abandoned");
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return Failed(application, window, ex, $"{ex.GetType().FullName}: {ex.Message}");
        }
        finally
        {
            // an abandoned application may still use its token: dispose the sources once it ends, and observe its exception
            _ = task.ContinueWith(ended =>
            {
                _ = ended.Exception;
                linked.Dispose();
                timeoutSource.Dispose();
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private ApplicationOutput Failed(IMonitoringApplication application, MonitoringWindow window, Exception? exception, string message)
    {
        AnalysisLog.ApplicationFailed(_logger, exception, application.Name, window.ToString(), message);
        Count(application, window);
        return Error(message);
    }

    private void Count(IMonitoringApplication application, MonitoringWindow window)
    {
        var tags = EndpointTags(window.Project, window.Endpoint);
        tags.Add("mlops.monitoring.application", application.Name);
        _telemetry.ApplicationErrors.Add(1, tags);
    }

    private static ApplicationOutput Error(string message)
        => new() { Results = [new MonitoringResult(ErrorResult, double.NaN, ResultKind.Custom, ResultStatus.Error) { Message = message }] };

    /// <summary>What is wrong with an application's output, or null.</summary>
    private static string? Problem(ApplicationOutput? output)
    {
        if (output is null) return "the application returned null instead of an ApplicationOutput";
        if (output.Results is null) return "Results is null";
        if (output.Metrics is null) return "Metrics is null";
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < output.Results.Count; i++)
        {
            var result = output.Results[i];
            if (result is null) return $"result {i} is null";
            if (string.IsNullOrWhiteSpace(result.Name)) return $"result {i} has a name that is {Names.Describe(result.Name)}";
            if (!seen.Add(result.Name)) return $"two results are named '{result.Name}'; result names must be unique within an application's output";
            if (!Enum.IsDefined(result.Kind)) return $"result '{result.Name}' has an undefined kind {(int)result.Kind}";
            if (!Enum.IsDefined(result.Status)) return $"result '{result.Name}' has an undefined status {(int)result.Status}";
            if (result.Statistics is null) return $"result '{result.Name}' has null Statistics";
        }
        foreach (var name in output.Metrics.Keys)
            if (string.IsNullOrWhiteSpace(name)) return $"a metric has a name that is {Names.Describe(name)}";
        return null;
    }

    /// <summary>The drift status of an analysed window: the <c>drift_status</c> results of kind data or concept drift (the most
    /// severe), else the most severe status of the data and concept drift results; null when there is none.</summary>
    internal static (ResultStatus, DateTimeOffset)? Drift(WindowAnalysis analysis)
    {
        var drift = analysis.Results.Where(r => r.Kind is ResultKind.DataDrift or ResultKind.ConceptDrift && r.Status != ResultStatus.Irrelevant).ToList();
        var named = drift.Where(r => r.Name == "drift_status").ToList();
        var chosen = named.Count > 0 ? named : drift;
        return chosen.Count == 0 ? null : (chosen.Max(r => r.Status), analysis.Start);
    }

    /// <summary>The endpoint tags of the package's instruments.</summary>
    internal static TagList EndpointTags(MLOpsProject project, ModelEndpoint endpoint) => new()
    {
        { "mlops.project", project.Name },
        { "mlops.model.name", endpoint.Model },
        { "mlops.model.version", endpoint.ModelVersion },
    };
}
