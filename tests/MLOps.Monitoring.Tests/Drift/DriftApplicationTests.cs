using Apache.Arrow;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Capture;
using MLOps.Monitoring.Drift;
using MLOps.Monitoring.Endpoints;
using MLOps.Monitoring.Tests.Capture;
using MLOps.Serving.Protocol;

namespace MLOps.Monitoring.Tests.Drift;

/// <summary>The drift application on real captured traffic of a real model served in-process (<see cref="ServedFlights"/>).</summary>
[Parallelizable(ParallelScope.All)]
public sealed class DriftApplicationTests
{
    [Test]
    public async Task AnalyzeAsync_SameDistributionTraffic_StatusNone()
    {
        await using var served = await ServedFlights.StartAsync();
        var window = await CaptureAsync(served, rows: 500, distanceFactor: 1.0);

        var output = await new DriftApplication().AnalyzeAsync(window, CancellationToken.None);

        var results = output.Results.ToDictionary(r => r.Name);
        Assert.That(results["drift_status"].Status, Is.EqualTo(ResultStatus.None), results["drift_status"].Message);
        Assert.That(results["drift_status"].Value, Is.Zero);
        Assert.That(results["distance"].Status, Is.EqualTo(ResultStatus.None), results["distance"].Message);
        Assert.That(results["hour"].Status, Is.EqualTo(ResultStatus.None), results["hour"].Message);
        Assert.That(results["distance"].Kind, Is.EqualTo(ResultKind.DataDrift));
        Assert.That(results["distance"].Statistics["count"], Is.EqualTo(500));
        Assert.That(results["distance"].Statistics["reference_sample_size"], Is.EqualTo(3000), "the training dataset's values, read whole (below the 10,000 sample size)");
        Assert.That(results["distance"].Statistics.Keys, Is.SupersetOf(new[] { "tvd", "hellinger", "kld", "psi", "js", "ks_statistic", "ks_pvalue", "wasserstein", "wasserstein_normalized", "missing", "threshold" }));
        Assert.That(results["general_drift"].Status, Is.EqualTo(ResultStatus.Irrelevant));
        Assert.That(results["general_drift"].Value, Is.GreaterThan(0).And.LessThan(0.5));
        Assert.That(results["output.PredictedLabel"].Status, Is.EqualTo(ResultStatus.Irrelevant), "the training data has no column for the output and no mapping is configured");
        Assert.That(results["output.PredictedLabel"].Message, Does.Contain("no prediction drift").And.Contain("OutputReferences"));
    }

    [Test]
    public async Task AnalyzeAsync_DistanceTimesOneAndAHalf_DetectedOnExactlyDistance()
    {
        await using var served = await ServedFlights.StartAsync();
        var window = await CaptureAsync(served, rows: 500, distanceFactor: 1.5);

        var output = await new DriftApplication().AnalyzeAsync(window, CancellationToken.None);

        var results = output.Results.ToDictionary(r => r.Name);
        Assert.That(results["distance"].Status, Is.EqualTo(ResultStatus.Detected), results["distance"].Message);
        Assert.That(results["hour"].Status, Is.EqualTo(ResultStatus.None), results["hour"].Message);
        Assert.That(results["drift_status"].Status, Is.EqualTo(ResultStatus.Detected));
        Assert.That(results["drift_status"].Value, Is.EqualTo(0.5), "1 of 2 features");
        Assert.That(results["distance"].Message, Does.Contain("detected"));
        Assert.That(results["distance"].Value, Is.LessThan(0.004), "the deciding p-value");
    }

    [Test]
    public async Task AnalyzeAsync_OutputMappedToTheLabel_PredictionDriftOnTheOutput()
    {
        await using var served = await ServedFlights.StartAsync();
        var training = ServedFlights.Rows.Take(3000).ToList();
        var labelled = await served.Project.Artifacts.LogDatasetAsync("delay-labelled", new RecordBatch.Builder()
            .Append("distance", false, c => c.Float(a => a.AppendRange(training.Select(r => r.Distance))))
            .Append("hour", false, c => c.Float(a => a.AppendRange(training.Select(r => r.Hour))))
            .Append("delayed", false, c => c.Boolean(a => a.AppendRange(training.Select(r => r.Delayed))))
            .Build());
        var window = await CaptureAsync(served, rows: 500, distanceFactor: 1.0, reference: new EndpointReference(labelled.Uri, null));
        var app = new DriftApplication(new DriftOptions { OutputReferences = new Dictionary<string, string> { ["PredictedLabel"] = "delayed" } });

        var output = await app.AnalyzeAsync(window, CancellationToken.None);

        var predicted = output.Results.Single(r => r.Name == "output.PredictedLabel");
        Assert.That(predicted.Kind, Is.EqualTo(ResultKind.ConceptDrift));
        Assert.That(predicted.Status, Is.AnyOf(ResultStatus.None, ResultStatus.Possible, ResultStatus.Detected), predicted.Message);
        Assert.That(predicted.Statistics["count"], Is.EqualTo(500));
        Assert.That(predicted.Statistics.Keys, Is.SupersetOf(new[] { "chi2", "chi2_pvalue", "unseen", "tvd" }));
        Assert.That(predicted.Message, Does.Contain("pooled-chi2"));
        var score = output.Results.Single(r => r.Name == "output.Score");
        Assert.That(score.Status, Is.EqualTo(ResultStatus.Irrelevant));
        Assert.That(output.Results.Single(r => r.Name == "drift_status").Statistics["features"], Is.EqualTo(2), "outputs are not features of the endpoint status");
    }

    [Test]
    public async Task AnalyzeAsync_ProfileOnlyReference_SmallWindowSaysTheTestIsUnavailableLargeWindowDecides()
    {
        await using var served = await ServedFlights.StartAsync();
        var training = ServedFlights.Rows.Take(3000).ToList();
        var profile = DatasetProfiler.Profile([new RecordBatch.Builder()
            .Append("distance", false, c => c.Float(a => a.AppendRange(training.Select(r => r.Distance))))
            .Append("hour", false, c => c.Float(a => a.AppendRange(training.Select(r => r.Hour))))
            .Build()], "arrow");
        var reference = EndpointReference.FromProfile(profile);
        var small = await CaptureAsync(served, rows: 300, distanceFactor: 1.5, reference: reference);
        var app = new DriftApplication();

        var smallOutput = await app.AnalyzeAsync(small, CancellationToken.None);
        var large = await CaptureAsync(served, rows: 1_500, distanceFactor: 1.5, reference: reference, skip: 300);
        var largeOutput = await app.AnalyzeAsync(large, CancellationToken.None);

        var smallDistance = smallOutput.Results.Single(r => r.Name == "distance");
        Assert.That(smallDistance.Status, Is.EqualTo(ResultStatus.InsufficientData));
        Assert.That(smallDistance.Message, Does.Contain("no sample"));
        var largeResults = largeOutput.Results.Where(r => r.Name is "distance" or "hour").ToDictionary(r => r.Name);
        Assert.That(largeResults["distance"].Status, Is.EqualTo(ResultStatus.Detected), largeResults["distance"].Message);
        Assert.That(largeResults["distance"].Statistics["reference_sample_size"], Is.Zero);
        Assert.That(largeResults["hour"].Status, Is.EqualTo(ResultStatus.None), largeResults["hour"].Message);
    }

    [Test]
    public async Task AnalyzeAsync_TwoWindows_ReadsTheReferenceDatasetOnce()
    {
        await using var served = await ServedFlights.StartAsync();
        var window = await CaptureAsync(served, rows: 200, distanceFactor: 1.0);
        var app = new DriftApplication();

        await app.AnalyzeAsync(window, CancellationToken.None);
        await app.AnalyzeAsync(window, CancellationToken.None);

        Assert.That(served.Log.Entries.Count(e => e.EventId.Id == 3101), Is.EqualTo(1));
        Assert.That(served.Log.Entries.Single(e => e.EventId.Id == 3101).Message, Does.Contain(served.TrainingDataUri));
    }

    [Test]
    public async Task AnalyzeAsync_EndpointWithoutReference_InsufficientDataSaysWhy()
    {
        await using var served = await ServedFlights.StartAsync();
        var endpoint = await served.Project.Monitoring.RegisterEndpointAsync("hand-made");
        var window = new MonitoringWindow(served.Project, endpoint, ServedFlights.T0, ServedFlights.T0.AddHours(1), []);

        var output = await new DriftApplication().AnalyzeAsync(window, CancellationToken.None);

        var status = output.Results.Single();
        Assert.That(status.Name, Is.EqualTo("drift_status"));
        Assert.That(status.Status, Is.EqualTo(ResultStatus.InsufficientData));
        Assert.That(status.Message, Does.Contain("no reference"));
        Assert.That(served.Log.Entries.Any(e => e.EventId.Id == 3102));
    }

    [Test]
    public void Constructor_InvalidOptions_ValidationException()
    {
        Assert.Throws<ValidationException>(() => new DriftApplication(new DriftOptions { MinimumCount = -1 }));
        Assert.That(new DriftApplication().Name, Is.EqualTo("drift"));
    }

    /// <summary>Serves <paramref name="rows"/> held-out flights (distance multiplied by <paramref name="distanceFactor"/>) in requests of
    /// 100 rows with capture on, and returns the window of the captured rows.</summary>
    private static async Task<MonitoringWindow> CaptureAsync(ServedFlights served, int rows, double distanceFactor, EndpointReference? reference = null, int skip = 0)
    {
        var from = served.Time.GetUtcNow();
        ModelEndpoint endpoint;
        await using (var capture = await served.Project.Monitoring.StartCaptureAsync(served.Server))
        {
            endpoint = capture.Endpoints.Single();
            if (reference is not null) endpoint = await served.Project.Monitoring.RegisterEndpointAsync(endpoint.Model, endpoint.ModelVersion, reference);
            await SendAsync(served, rows, distanceFactor, skip);
        }
        endpoint = await served.Project.Monitoring.GetEndpointAsync(endpoint.Id);
        var to = served.Time.GetUtcNow();
        var data = new List<RecordBatch>();
        await foreach (var batch in served.Project.Monitoring.ReadCapturedAsync(endpoint.Id, from, to)) data.Add(batch);
        return new MonitoringWindow(served.Project, endpoint, from, to, data);
    }

    /// <summary>Serves <paramref name="rows"/> held-out flights from <paramref name="skip"/> (distance multiplied by
    /// <paramref name="distanceFactor"/>) in requests of 100 rows, one second apart on the fake clock.</summary>
    internal static async Task SendAsync(ServedFlights served, int rows, double distanceFactor, int skip = 0)
    {
        for (int start = skip; start < skip + rows; start += 100)
        {
            var flights = ServedFlights.Rows.Skip(3000 + start).Take(100).ToList();
            await served.Server.InferAsync("delay", new InferenceRequest
            {
                Id = $"r{start}",
                Inputs =
                [
                    InferenceTensor.Singles("distance", [.. flights.Select(f => (float)(f.Distance * distanceFactor))]),
                    InferenceTensor.Singles("hour", [.. flights.Select(f => f.Hour)]),
                ],
            });
            served.Time.Advance(TimeSpan.FromSeconds(1));
        }
    }
}
