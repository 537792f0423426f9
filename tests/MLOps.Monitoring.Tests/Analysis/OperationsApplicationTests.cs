using System.Diagnostics.Metrics;
using Apache.Arrow;
using Apache.Arrow.Types;
using MLOps.Monitoring.Analysis;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Capture;
using MLOps.Monitoring.Tests.Capture;

namespace MLOps.Monitoring.Tests.Analysis;

[Parallelizable(ParallelScope.All)]
public sealed class OperationsApplicationTests
{
    private const string BadBody = "{\"id\":\"bad\",\"inputs\":[{\"name\":\"distance\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[500]}]}";

    [Test]
    public async Task Operations_SampledCapture_CountsEveryRequestAndErrorWithThresholds()
    {
        await using var f = await AnalysisFixture.StartAsync(
            new MonitoringOptions { Operations = new OperationsThresholds { MaxErrorRate = 0.01, MaxLatencyP99Ms = 1000 } },
            new CaptureOptions { SamplingRate = 0.25, SamplingSeed = 3 });
        using var meter = new WindowMeter(f.Project.Name);
        await f.SendAsync(2, Enumerable.Range(0, 40).Select(i => 1 + i * 0.2), nowMinutes: 9);
        var failed = await f.Served.Server.SendAsync("POST", "/v2/models/delay/infer", System.Text.Encoding.UTF8.GetBytes(BadBody));
        Assert.That(failed.StatusCode, Is.EqualTo(400));
        await f.Session.FlushAsync();
        f.Served.Time.SetUtcNow(AnalysisFixture.At(11));

        var analysis = (await f.Monitoring.AnalyzeAsync(new AnalysisRequest { Applications = ["operations"] })).Single();

        var results = analysis.Results.ToDictionary(r => r.Name);
        var captured = (long)results["requests"].Statistics["captured_requests"];
        Assert.That(captured, Is.InRange(1, 30), "sampled");
        Assert.That(results["requests"].Value, Is.EqualTo(41), "every request counts, sampled or not");
        Assert.That(results["errors"].Value, Is.EqualTo(1));
        Assert.That(results["error_rate"].Value, Is.EqualTo(1 / 41.0).Within(1e-12));
        Assert.That(results["error_rate"].Status, Is.EqualTo(ResultStatus.Detected));
        Assert.That(results["latency_p99_ms"].Status, Is.EqualTo(ResultStatus.None), "the fake clock does not move during a request: 0 ms");
        Assert.That(results["predictions_per_second"].Value, Is.EqualTo(40 * 2 / 600.0).Within(1e-12));
        Assert.That(results["dropped"].Value, Is.Zero);
        Assert.That(results.Values.Where(r => r.Name is not ("error_rate" or "latency_p99_ms")).Select(r => r.Status), Has.All.EqualTo(ResultStatus.Irrelevant));
        Assert.That(results.Values.Select(r => r.Kind), Has.All.EqualTo(ResultKind.SystemPerformance));
        Assert.That(meter.Last(MonitoringDiagnostics.WindowRequestsInstrument), Is.EqualTo(41));
        Assert.That(meter.Last(MonitoringDiagnostics.WindowErrorRateInstrument), Is.EqualTo(1 / 41.0).Within(1e-12));
        Assert.That(meter.Last(MonitoringDiagnostics.WindowPredictionsPerSecondInstrument), Is.EqualTo(40 * 2 / 600.0).Within(1e-12));
        Assert.That(meter.Last(MonitoringDiagnostics.AnalysisWindowsInstrument), Is.EqualTo(1));
    }

    [Test]
    public async Task Operations_FullCaptureBuffer_DroppedRecordsCountInTheirWindow()
    {
        await using var served = await ServedFlights.StartAsync();
        var session = await served.Project.Monitoring.StartCaptureCoreAsync(served.Server, new CaptureOptions { BufferCapacity = 2 }, startWriter: false, default);
        await using (session)
        {
            for (int r = 0; r < 5; r++)
                await served.Server.InferAsync("delay", ServedFlights.Request($"d-{r}", r, 1));
            session.StartWriter();
            await session.FlushAsync();
        }
        served.Time.SetUtcNow(AnalysisFixture.At(11));

        var results = (await served.Project.Monitoring.AnalyzeAsync()).Single().Results.Where(r => r.Application == "operations").ToDictionary(r => r.Name);

        Assert.That((results["requests"].Value, results["dropped"].Value, results["requests"].Statistics["captured_requests"]), Is.EqualTo((5.0, 3.0, 2.0)));
    }

    [Test]
    public async Task FlushAsync_TrafficWriteFails_CountsKeptForTheNextFlush()
    {
        using var folder = new TempFolder();
        var root = folder.File("capture");
        await using var f = await AnalysisFixture.StartAsync(new MonitoringOptions { CaptureRoot = root }, folder: folder);
        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(root, "_traffic"), "a file where the traffic folder should be");
        await f.SendAsync(1, [1, 2, 3], nowMinutes: 4);
        Assert.That(f.Served.Log.Entries.Any(e => e.EventId.Id == 3208 && e.Category == "MLOps.Monitoring"), Is.True);

        File.Delete(Path.Combine(root, "_traffic"));
        await f.Session.FlushAsync();
        f.Served.Time.SetUtcNow(AnalysisFixture.At(11));
        var requests = (await f.Monitoring.AnalyzeAsync()).Single().Results.Single(r => r.Application == "operations" && r.Name == "requests");

        Assert.That((requests.Value, requests.Message), Is.EqualTo((3.0, (string?)"requests of the window, counted over every request (traffic counters)")));
    }

    [Test]
    public async Task Operations_CapturedLatencies_PercentilesOfOneLatencyPerRequest()
    {
        await using var served = await ServedFlights.StartAsync();
        var endpoint = await served.Project.Monitoring.RegisterEndpointAsync("manual");
        // 4 requests (one of 2 rows), latencies 10..40 ms, one failed; no traffic counters: counted from the captured rows
        var batch = Batch(rows: [0, 0, 1, 0, 0], status: [200, 200, 200, 500, 200], latency: [10, 20, 20, 30, 40]);
        var window = new MonitoringWindow(served.Project, endpoint, AnalysisFixture.At(0), AnalysisFixture.At(10), [batch]);

        var output = await new OperationsApplication(served.Project.Monitoring).AnalyzeAsync(window, default);

        var results = output.Results.ToDictionary(r => r.Name);
        // numpy.percentile([10, 20, 30, 40], [50, 90, 99]) = 25, 37, 39.7
        Assert.That((results["latency_p50_ms"].Value, results["latency_p90_ms"].Value, results["latency_p99_ms"].Value), Is.EqualTo((25.0, 37.0, 39.7)).Using<(double, double, double)>((a, b) => Math.Abs(a.Item1 - b.Item1) < 1e-12 && Math.Abs(a.Item2 - b.Item2) < 1e-12 && Math.Abs(a.Item3 - b.Item3) < 1e-12));
        Assert.That((results["requests"].Value, results["errors"].Value), Is.EqualTo((4.0, 1.0)));
        Assert.That(results["requests"].Message, Does.Contain("no traffic counters"));
        Assert.That(results["predictions_per_second"].Value, Is.EqualTo(3 * (4 / 3.0) / 600).Within(1e-12), "3 successful requests of 4/3 rows each");
    }

    [Test]
    public void Percentile_RandomSamples_MatchesTheClosestRanksInterpolationOracle()
    {
        for (int seed = 0; seed < 200; seed++)
        {
            var random = new Random(seed);
            var values = Enumerable.Range(0, random.Next(1, 60)).Select(_ => Math.Round(random.NextDouble() * 100, 2)).Order().ToArray();
            foreach (var q in new[] { 0.0, 0.5, 0.9, 0.99, 1.0 })
            {
                // oracle (numpy's 'linear'): the sorted values are the points (i / (n - 1), x[i]); scan for the segment holding q
                var expected = values[^1];
                for (int i = 0; i + 1 < values.Length; i++)
                {
                    double left = (double)i / (values.Length - 1), right = (double)(i + 1) / (values.Length - 1);
                    if (q >= left && q < right)
                    {
                        expected = values[i] + (values[i + 1] - values[i]) * (q - left) / (right - left);
                        break;
                    }
                }
                Assert.That(OperationsApplication.Percentile(values, q), Is.EqualTo(expected).Within(1e-9), $"seed {seed}, q {q}");
            }
        }
        Assert.That(OperationsApplication.Percentile([], 0.5), Is.NaN);
    }

    private static RecordBatch Batch(int[] rows, int[] status, double[] latency)
    {
        var ids = new StringArray.Builder();
        var times = new TimestampArray.Builder(new TimestampType(TimeUnit.Microsecond, "UTC"));
        var request = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            if (rows[i] == 0) request++;
            ids.Append($"q{request}");
            times.Append(AnalysisFixture.At(1 + i));
        }
        var schema = new Schema([
            new Field(CaptureColumns.RequestId, StringType.Default, false), new Field(CaptureColumns.Row, Int32Type.Default, false),
            new Field(CaptureColumns.Time, new TimestampType(TimeUnit.Microsecond, "UTC"), false), new Field(CaptureColumns.LatencyMs, DoubleType.Default, true),
            new Field(CaptureColumns.StatusCode, Int32Type.Default, false)], null);
        return new RecordBatch(schema, [ids.Build(), new Int32Array.Builder().AppendRange(rows).Build(), times.Build(),
            new DoubleArray.Builder().AppendRange(latency).Build(), new Int32Array.Builder().AppendRange(status).Build()], rows.Length);
    }

    /// <summary>The last value of each window instrument recorded for a project.</summary>
    private sealed class WindowMeter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, double> _last = new();

        public WindowMeter(string project)
        {
            _listener.InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Name == MonitoringDiagnostics.MeterName && i.Name.StartsWith("mlops.monitoring.", StringComparison.Ordinal)) l.EnableMeasurementEvents(i);
            };
            void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
            {
                foreach (var tag in tags)
                    if (tag.Key == "mlops.project" && (string?)tag.Value == project) _last[instrument.Name] = value;
            }
            _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
            _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
            _listener.Start();
        }

        public double Last(string instrument) => _last.TryGetValue(instrument, out var v) ? v : double.NaN;

        public void Dispose() => _listener.Dispose();
    }
}
