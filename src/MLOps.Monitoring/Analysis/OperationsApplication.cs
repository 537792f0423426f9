using Apache.Arrow;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Capture;

namespace MLOps.Monitoring.Analysis;

/// <summary>
/// The built-in <c>operations</c> application: per window, the requests, predictions per second, errors and error rate, dropped
/// capture records (all from the unsampled per-minute traffic counters of the capture), and the latency percentiles (from the
/// captured, possibly sampled, requests); also exported as the <c>mlops.monitoring.window.*</c> instruments.
/// </summary>
internal sealed class OperationsApplication(MonitoringCatalog catalog) : IMonitoringApplication
{
    /// <summary>The application's name.</summary>
    public const string ApplicationName = "operations";

    private readonly AnalysisTelemetry _telemetry = AnalysisTelemetry.For(catalog.Project.Options.MeterFactory);

    public string Name => ApplicationName;

    public async Task<ApplicationOutput> AnalyzeAsync(MonitoringWindow window, CancellationToken cancellationToken)
    {
        var thresholds = catalog.Options.Operations;
        var captured = Captured.Of(window.Data);
        var traffic = await TrafficFiles.SumAsync(catalog.CaptureRoot, window.Endpoint.Id, window.Start, window.End, cancellationToken).ConfigureAwait(false);
        // without traffic counters (data recorded before they existed) the captured rows are all there is
        var (requests, errors, dropped) = traffic.Any ? (traffic.Requests, traffic.Errors, traffic.Dropped) : (captured.Requests, captured.Errors, 0L);
        var seconds = (window.End - window.Start).TotalSeconds;
        var rowsPerRequest = captured.SuccessfulRequests == 0 ? 1.0 : (double)captured.SuccessfulRows / captured.SuccessfulRequests;
        var predictionsPerSecond = (requests - errors) * rowsPerRequest / seconds;
        var errorRate = requests == 0 ? 0 : (double)errors / requests;
        var latencies = captured.Latencies.ToArray();
        System.Array.Sort(latencies);
        double p50 = Percentile(latencies, 0.5), p90 = Percentile(latencies, 0.9), p99 = Percentile(latencies, 0.99);
        var source = traffic.Any ? "every request (traffic counters)" : "the captured requests (no traffic counters for the window)";
        var statistics = new Dictionary<string, double>
        {
            ["captured_requests"] = captured.Requests,
            ["captured_rows"] = captured.Rows,
            ["window_seconds"] = seconds,
        };
        var results = new List<MonitoringResult>
        {
            Measure("requests", requests, $"requests of the window, counted over {source}") with { Statistics = statistics },
            Measure("predictions_per_second", predictionsPerSecond, $"successful requests x {rowsPerRequest:0.###} rows per captured successful request / {seconds} s"),
            Measure("errors", errors, "requests with a status other than 200"),
            Threshold("error_rate", errorRate, thresholds.MaxErrorRate, "errors / requests"),
            Measure("latency_p50_ms", p50, Latency(latencies.Length)),
            Measure("latency_p90_ms", p90, Latency(latencies.Length)),
            Threshold("latency_p99_ms", p99, thresholds.MaxLatencyP99Ms, Latency(latencies.Length)),
            Measure("dropped", dropped, "capture records dropped (full buffer) or lost (failed write)"),
        };
        var tags = AnalysisEngine.EndpointTags(window.Project, window.Endpoint);
        _telemetry.Requests.Record(requests, tags);
        _telemetry.Errors.Record(errors, tags);
        _telemetry.ErrorRate.Record(errorRate, tags);
        _telemetry.Dropped.Record(dropped, tags);
        _telemetry.PredictionsPerSecond.Record(predictionsPerSecond, tags);
        if (latencies.Length > 0)
        {
            foreach (var (quantile, value) in new[] { ("0.5", p50), ("0.9", p90), ("0.99", p99) })
            {
                var latencyTags = tags;
                latencyTags.Add("mlops.monitoring.quantile", quantile);
                _telemetry.Latency.Record(value, latencyTags);
            }
        }
        return new ApplicationOutput { Results = results };
    }

    private static string Latency(int count) => count == 0
        ? "no captured request with a latency in the window"
        : $"linear-interpolation percentile of the latency of {count} captured requests (sampled with the capture's SamplingRate)";

    private static MonitoringResult Measure(string name, double value, string message)
        => new(name, value, ResultKind.SystemPerformance, ResultStatus.Irrelevant) { Message = message };

    private static MonitoringResult Threshold(string name, double value, double? threshold, string message)
    {
        if (threshold is not { } max || double.IsNaN(value)) return Measure(name, value, message);
        var detected = value > max;
        return new MonitoringResult(name, value, ResultKind.SystemPerformance, detected ? ResultStatus.Detected : ResultStatus.None)
        {
            Message = $"{message}; {(detected ? "above" : "within")} the threshold {max}",
        };
    }

    /// <summary>The percentile with linear interpolation between the closest ranks (numpy's default); NaN when empty.</summary>
    internal static double Percentile(double[] sorted, double q)
    {
        if (sorted.Length == 0) return double.NaN;
        var h = (sorted.Length - 1) * q;
        var lo = (int)Math.Floor(h);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }

    /// <summary>What the captured rows of a window say: requests (row 0 of each), errors, rows of successful requests, latencies.</summary>
    private sealed class Captured
    {
        public long Requests;
        public long Errors;
        public long Rows;
        public long SuccessfulRequests;
        public long SuccessfulRows;
        public List<double> Latencies { get; } = [];

        public static Captured Of(IReadOnlyList<RecordBatch> data)
        {
            var captured = new Captured();
            foreach (var batch in data)
            {
                var row = batch.Column(CaptureColumns.Row) as Int32Array;
                var status = batch.Column(CaptureColumns.StatusCode) as Int32Array;
                var latency = batch.Column(CaptureColumns.LatencyMs) as DoubleArray;
                for (int i = 0; i < batch.Length; i++)
                {
                    var ok = status?.GetValue(i) is null or 200;
                    captured.Rows++;
                    if (ok) captured.SuccessfulRows++;
                    if (row?.GetValue(i) is not (null or 0)) continue; // one entry per request
                    captured.Requests++;
                    if (ok) captured.SuccessfulRequests++;
                    else captured.Errors++;
                    if (latency?.GetValue(i) is { } ms && double.IsFinite(ms)) captured.Latencies.Add(ms);
                }
            }
            return captured;
        }
    }
}
