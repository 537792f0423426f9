using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using MLOps.Monitoring.Capture;
using MLOps.Monitoring.Endpoints;
using MLOps.Serving.Protocol;

namespace MLOps.Monitoring.Tests.Capture;

[Parallelizable(ParallelScope.All)]
public sealed class CaptureSessionTests
{
    [Test]
    public async Task StartCaptureAsync_ServedRegistryModel_RegistersEndpointWithVersionAndTrainingProfile()
    {
        await using var served = await ServedFlights.StartAsync();

        await using var session = await served.Project.Monitoring.StartCaptureAsync(served.Server);

        var endpoint = (await served.Project.Monitoring.ListEndpointsAsync()).Single();
        Assert.That(session.Endpoints.Single().Id, Is.EqualTo(endpoint.Id));
        Assert.That(endpoint.Model, Is.EqualTo("delay"));
        Assert.That(endpoint.ModelVersion, Is.EqualTo("1"));
        Assert.That(endpoint.Name, Is.EqualTo("delay:1"));
        Assert.That(endpoint.Project, Is.EqualTo(served.Project.Name));
        Assert.That(endpoint.State, Is.EqualTo(EndpointState.Active));
        Assert.That(endpoint.Created, Is.EqualTo(ServedFlights.T0));
        Assert.That(endpoint.RequestCount, Is.Zero);
        Assert.That(endpoint.FirstRequest, Is.Null);
        Assert.That(endpoint.LatestDrift, Is.Null);
        Assert.That(endpoint.Reference!.Source, Is.EqualTo(served.TrainingDataUri));
        var distance = endpoint.Reference.Profile!.Statistics.Single(s => s.Name == "distance");
        Assert.That(distance.Count, Is.EqualTo(3000));
        Assert.That(distance.Mean, Is.EqualTo(ServedFlights.Rows.Take(3000).Average(r => (double)r.Distance)).Within(1e-6));
        Assert.That(distance.Histogram, Is.Not.Null);
    }

    [Test]
    public async Task StartCaptureAsync_Twice_ReusesTheEndpoint()
    {
        await using var served = await ServedFlights.StartAsync();
        await (await served.Project.Monitoring.StartCaptureAsync(served.Server)).DisposeAsync();

        await using var second = await served.Project.Monitoring.StartCaptureAsync(served.Server);

        Assert.That(await served.Project.Monitoring.ListEndpointsAsync(), Has.Count.EqualTo(1));
        Assert.That(second.Endpoints.Single().State, Is.EqualTo(EndpointState.Active));
    }

    [Test]
    public async Task StartCaptureAsync_ReferenceGivenByHand_WinsOverTheRegistry()
    {
        await using var served = await ServedFlights.StartAsync();
        var profile = DatasetProfiler.Profile([new Apache.Arrow.RecordBatch.Builder().Append("distance", false, c => c.Float(a => a.AppendRange([1f, 2f, 3f]))).Build()], "arrow");

        await using var session = await served.Project.Monitoring.StartCaptureAsync(served.Server, new CaptureOptions { References = new Dictionary<string, EndpointReference> { ["delay"] = EndpointReference.FromProfile(profile) } });

        var endpoint = await served.Project.Monitoring.GetEndpointAsync(session.Endpoints.Single().Id);
        Assert.That(endpoint.Reference!.Source, Is.Null);
        Assert.That(endpoint.Reference.Profile!.RowCount, Is.EqualTo(3));
    }

    [Test]
    public async Task FlushAsync_ServedRequests_RowsReadBackEqualInputsAndOutputs()
    {
        await using var served = await ServedFlights.StartAsync();
        await using var session = await served.Project.Monitoring.StartCaptureAsync(served.Server);
        var responses = new List<(InferenceRequest Request, InferenceResponse Response, DateTimeOffset Time)>();
        for (int r = 0; r < 3; r++)
        {
            var request = ServedFlights.Request($"req-{r}", r * 10, 10);
            responses.Add((request, await served.Server.InferAsync("delay", request), served.Time.GetUtcNow()));
            served.Time.Advance(TimeSpan.FromSeconds(1));
        }

        await session.FlushAsync();

        var endpoint = session.Endpoints.Single();
        var rows = await served.ReadRowsAsync(endpoint.Id);
        Assert.That(rows, Has.Count.EqualTo(30));
        foreach (var (request, response, time) in responses)
        {
            var mine = rows.Where(row => (string)row[CaptureColumns.RequestId]! == request.Id).OrderBy(row => (int)row[CaptureColumns.Row]!).ToList();
            Assert.That(mine, Has.Count.EqualTo(10));
            Assert.That(mine.Select(row => row[CaptureColumns.Input("distance")]), Is.EqualTo(request.Inputs[0].Data.AsSingles().ToArray().Cast<object>()));
            Assert.That(mine.Select(row => row[CaptureColumns.Input("hour")]), Is.EqualTo(request.Inputs[1].Data.AsSingles().ToArray().Cast<object>()));
            response.TryGetOutput("Probability", out var probability);
            response.TryGetOutput("PredictedLabel", out var label);
            Assert.That(mine.Select(row => row[CaptureColumns.Output("Probability")]), Is.EqualTo(probability!.Data.AsSingles().ToArray().Cast<object>()));
            Assert.That(mine.Select(row => row[CaptureColumns.Output("PredictedLabel")]), Is.EqualTo(label!.Data.AsBooleans().ToArray().Cast<object>()));
            Assert.That(mine.Select(row => row[CaptureColumns.Time]), Has.All.EqualTo(time));
            Assert.That(mine.Select(row => row[CaptureColumns.StatusCode]), Has.All.EqualTo(200));
            Assert.That(mine.Select(row => row[CaptureColumns.Error]), Has.All.Null);
        }
        var stored = await served.Project.Monitoring.GetEndpointAsync(endpoint.Id);
        Assert.That(stored.RequestCount, Is.EqualTo(3));
        Assert.That(stored.ErrorCount, Is.Zero);
        Assert.That(stored.FirstRequest, Is.EqualTo(ServedFlights.T0));
        Assert.That(stored.LastRequest, Is.EqualTo(ServedFlights.T0.AddSeconds(2)));
        Assert.That(session.WrittenCount, Is.EqualTo(3));
    }

    [Test]
    public async Task FlushAsync_FailedRequest_IsCountedAndStoredWithItsStatusAndError()
    {
        await using var served = await ServedFlights.StartAsync();
        await using var session = await served.Project.Monitoring.StartCaptureAsync(served.Server);

        var response = await served.Server.SendAsync("POST", "/v2/models/delay/infer", "{\"id\":\"bad\",\"inputs\":[{\"name\":\"distance\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[500]}]}"u8.ToArray());
        await session.FlushAsync();

        Assert.That(response.StatusCode, Is.EqualTo(400), response.Text);
        var endpoint = await served.Project.Monitoring.GetEndpointAsync(session.Endpoints.Single().Id);
        Assert.That(endpoint.RequestCount, Is.EqualTo(1));
        Assert.That(endpoint.ErrorCount, Is.EqualTo(1));
        var row = (await served.ReadRowsAsync(endpoint.Id)).Single();
        Assert.That(row[CaptureColumns.RequestId], Is.EqualTo("bad"));
        Assert.That(row[CaptureColumns.StatusCode], Is.EqualTo(400));
        Assert.That((string?)row[CaptureColumns.Error], Does.Contain("hour"));
        Assert.That(row[CaptureColumns.Input("distance")], Is.EqualTo(500f));
    }

    [TestCase("{\"id\":\"rows\",\"inputs\":[{\"distance\":500,\"hour\":8},{\"hour\":18,\"distance\":1200}]}")]
    [TestCase("{\"id\":\"rows\",\"inputs\":[[500,8],[1200,18]]}")]
    public async Task FlushAsync_RowsRequest_StoresOneColumnPerFeature(string body)
    {
        await using var served = await ServedFlights.StartAsync();
        await using var session = await served.Project.Monitoring.StartCaptureAsync(served.Server);

        var response = await served.Server.SendAsync("POST", "/v2/models/delay/infer", System.Text.Encoding.UTF8.GetBytes(body));
        await session.FlushAsync();

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Text);
        var rows = await served.ReadRowsAsync(session.Endpoints.Single().Id);
        Assert.That(rows.Select(r => Convert.ToDouble(r[CaptureColumns.Input("distance")], System.Globalization.CultureInfo.InvariantCulture)), Is.EqualTo(new[] { 500.0, 1200.0 }));
        Assert.That(rows.Select(r => Convert.ToDouble(r[CaptureColumns.Input("hour")], System.Globalization.CultureInfo.InvariantCulture)), Is.EqualTo(new[] { 8.0, 18.0 }));
        Assert.That(rows.Select(r => r[CaptureColumns.Output("Probability")]), Has.All.Not.Null);
    }

    [Test]
    public async Task OnInference_FullBuffer_DropsCountsAndMeters()
    {
        await using var served = await ServedFlights.StartAsync();
        using var dropped = new DroppedMeter(served.Project.Name);
        // the writer starts after the requests, so the buffer of 2 holds exactly 2 of 5
        var session = await served.Project.Monitoring.StartCaptureCoreAsync(served.Server, new CaptureOptions { BufferCapacity = 2 }, startWriter: false, default);
        await using (session)
        {
            for (int r = 0; r < 5; r++)
                Assert.That((await served.Server.InferAsync("delay", ServedFlights.Request($"d-{r}", r, 1))).Outputs, Is.Not.Empty);

            Assert.That(session.DroppedCount, Is.EqualTo(3));
            Assert.That(dropped.Total, Is.EqualTo(3));
            session.StartWriter();
            await session.FlushAsync();
            Assert.That(session.WrittenCount, Is.EqualTo(2));
        }
        var endpoint = await served.Project.Monitoring.GetEndpointAsync(session.Endpoints.Single().Id);
        Assert.That(endpoint.RequestCount, Is.EqualTo(5));
        Assert.That(endpoint.DroppedCount, Is.EqualTo(3));
        Assert.That((await served.ReadRowsAsync(endpoint.Id)).Select(r => r[CaptureColumns.RequestId]), Is.EquivalentTo(new[] { "d-0", "d-1" }));
        Assert.That(served.Log.Entries.Any(e => e.EventId.Id == 3004 && e.Level == LogLevel.Warning), Is.True);
    }

    [Test]
    public async Task Capture_SeededSamplingRate_StoresTheSameRequestsAsTheSeedChooses()
    {
        const int requests = 200;
        var random = new Random(7);
        var expected = Enumerable.Range(0, requests).Where(_ => random.NextDouble() < 0.3).Select(r => $"s-{r}").ToList();
        await using var served = await ServedFlights.StartAsync();
        await using var session = await served.Project.Monitoring.StartCaptureAsync(served.Server, new CaptureOptions { SamplingRate = 0.3, SamplingSeed = 7 });

        for (int r = 0; r < requests; r++)
            await served.Server.InferAsync("delay", ServedFlights.Request($"s-{r}", r, 1));
        await session.FlushAsync();

        var endpoint = await served.Project.Monitoring.GetEndpointAsync(session.Endpoints.Single().Id);
        Assert.That(endpoint.RequestCount, Is.EqualTo(requests));
        Assert.That((await served.ReadRowsAsync(endpoint.Id)).Select(r => (string)r[CaptureColumns.RequestId]!), Is.EquivalentTo(expected));
        Assert.That(expected.Count, Is.InRange(40, 80));
    }

    [Test]
    public async Task DisposeAsync_BufferedRecords_AreWrittenAndTheEndpointStopped()
    {
        await using var served = await ServedFlights.StartAsync();
        var session = await served.Project.Monitoring.StartCaptureAsync(served.Server, new CaptureOptions { BatchSize = 1000 });
        for (int r = 0; r < 20; r++)
            await served.Server.InferAsync("delay", ServedFlights.Request($"x-{r}", r, 2));

        await session.DisposeAsync();
        await served.Server.InferAsync("delay", ServedFlights.Request("after", 0, 1));

        var endpoint = await served.Project.Monitoring.GetEndpointAsync(session.Endpoints.Single().Id);
        Assert.That(endpoint.State, Is.EqualTo(EndpointState.Stopped));
        Assert.That(endpoint.RequestCount, Is.EqualTo(20));
        Assert.That(await served.ReadRowsAsync(endpoint.Id), Has.Count.EqualTo(40));
        Assert.ThrowsAsync<ObjectDisposedException>(() => session.FlushAsync());
    }

    [Test]
    public async Task FlushAsync_UnwritableCaptureFolder_LogsCountsAndServingStillAnswers()
    {
        using var folder = new TempFolder();
        var blocker = folder.File("not-a-folder");
        await File.WriteAllTextAsync(blocker, "a file where the capture folder should be");
        await using var served = await ServedFlights.StartAsync(monitoring: new MonitoringOptions { CaptureRoot = Path.Combine(blocker, "capture") }, folder: folder);
        using var failed = new DroppedMeter(served.Project.Name, MonitoringDiagnostics.CaptureFailedInstrument);
        await using var session = await served.Project.Monitoring.StartCaptureAsync(served.Server);

        var responses = new List<InferenceResponse>();
        for (int r = 0; r < 4; r++)
            responses.Add(await served.Server.InferAsync("delay", ServedFlights.Request($"f-{r}", r, 3)));
        await session.FlushAsync();

        Assert.That(responses.Select(r => r.Outputs.Count), Has.All.EqualTo(3));
        Assert.That(session.FailedWriteCount, Is.EqualTo(1));
        Assert.That(session.LostCount, Is.EqualTo(4));
        Assert.That(session.WrittenCount, Is.Zero);
        Assert.That(failed.Total, Is.EqualTo(4));
        var entry = served.Log.Entries.Single(e => e.EventId.Id == 3002);
        Assert.That(entry.Level, Is.EqualTo(LogLevel.Error));
        Assert.That(entry.Exception, Is.InstanceOf<IOException>());
        Assert.That(entry.Message, Does.Contain("delay:1"));
        var endpoint = await served.Project.Monitoring.GetEndpointAsync(session.Endpoints.Single().Id);
        Assert.That(endpoint.RequestCount, Is.EqualTo(4));
        Assert.That(endpoint.DroppedCount, Is.EqualTo(4));
    }

    [Test]
    public async Task FlushInterval_TimerTick_WritesWithoutAFlush()
    {
        await using var served = await ServedFlights.StartAsync();
        await using var session = await served.Project.Monitoring.StartCaptureAsync(served.Server, new CaptureOptions { FlushInterval = TimeSpan.FromMinutes(1) });
        await served.Server.InferAsync("delay", ServedFlights.Request("tick", 0, 1));

        served.Time.Advance(TimeSpan.FromMinutes(1));
        // the tick is queued behind the record; a flush queued after it returns once both are handled
        await session.FlushAsync();

        Assert.That(session.WrittenCount, Is.EqualTo(1));
    }

    [Test]
    public async Task ReadCapturedAsync_TimeRange_ReturnsOnlyRowsInside()
    {
        await using var served = await ServedFlights.StartAsync();
        await using var session = await served.Project.Monitoring.StartCaptureAsync(served.Server);
        foreach (var (id, offset) in new[] { ("at-0", 0), ("at-30m", 30), ("at-2h", 120) })
        {
            served.Time.SetUtcNow(ServedFlights.T0.AddMinutes(offset));
            await served.Server.InferAsync("delay", ServedFlights.Request(id, offset, 1));
        }
        await session.FlushAsync();

        var id0 = session.Endpoints.Single().Id;
        var inside = await served.ReadRowsAsync(id0, ServedFlights.T0.AddMinutes(10), ServedFlights.T0.AddHours(1));
        var all = await served.ReadRowsAsync(id0);

        Assert.That(inside.Select(r => r[CaptureColumns.RequestId]), Is.EqualTo(new[] { "at-30m" }));
        Assert.That(all.Select(r => r[CaptureColumns.RequestId]), Is.EqualTo(new[] { "at-0", "at-30m", "at-2h" }));
    }

    [Test]
    public void StartCaptureAsync_SamplingRateAboveOne_ThrowsValidationNamingIt()
    {
        var ex = Assert.ThrowsAsync<ValidationException>(async () =>
        {
            await using var served = await ServedFlights.StartAsync();
            await served.Project.Monitoring.StartCaptureAsync(served.Server, new CaptureOptions { SamplingRate = 1.5 });
        });
        Assert.That(ex!.Message, Does.Contain("SamplingRate").And.Contain("1.5"));
    }

    /// <summary>Sums a monitoring counter's measurements tagged with one project.</summary>
    private sealed class DroppedMeter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _total;

        public DroppedMeter(string project, string instrument = MonitoringDiagnostics.CaptureDroppedInstrument)
        {
            _listener.InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Name == MonitoringDiagnostics.MeterName && i.Name == instrument) l.EnableMeasurementEvents(i);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                    if (tag.Key == "mlops.project" && (string?)tag.Value == project) Interlocked.Add(ref _total, value);
            });
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);

        public void Dispose() => _listener.Dispose();
    }
}
