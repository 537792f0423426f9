using Apache.Arrow;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Endpoints;
using MLOps.Monitoring.GroundTruth;
using MLOps.Monitoring.Performance;
using MLOps.Monitoring.Tests.Capture;

namespace MLOps.Monitoring.Tests.Performance;

/// <summary>The example of docs/monitoring.md ("Ground truth and model performance"), compiled and run.</summary>
public sealed class PerformanceDocsExampleTests
{
    [Test]
    public async Task MonitoringGuide_GroundTruthExample_PrintsTheDocumentedOutput()
    {
        await using var served = await ServedFlights.StartAsync();
        var project = served.Project;
        await using (var capture = await project.Monitoring.StartCaptureAsync(served.Server))
        {
            await served.Server.InferAsync("delay", ServedFlights.Request("req-0", 0, 10));
            await served.Server.InferAsync("delay", ServedFlights.Request("req-1", 10, 10));
        }
        DateTimeOffset start = ServedFlights.T0, end = ServedFlights.T0.AddHours(1);
        var batches = new List<RecordBatch>();
        await foreach (var batch in project.Monitoring.ReadCapturedAsync((await project.Monitoring.FindEndpointAsync("delay", "1")).Id, start, end))
            batches.Add(batch);
        var cancellationToken = CancellationToken.None;
        var Console = new StringWriter();

        // Later, when the truth is known: the outcome of each served row, by request id and row within the request (default 0).
        ModelEndpoint endpoint = await project.Monitoring.FindEndpointAsync("delay", "1");
        GroundTruthLogResult logged = await project.Monitoring.LogGroundTruthAsync(endpoint.Id,
            requestIds: ["req-0", "req-0", "req-1"], labels: [false, true, false], rows: [0, 1, 0]);

        // The performance application joins a window's captured rows with their latest labels.
        var performance = new PerformanceApplication(new PerformanceOptions
        {
            Task = PerformanceTask.BinaryClassification,   // output.PredictedLabel vs label; ROC AUC and log loss from output.Probability
            MinimumLabelledRows = 3,
            Thresholds = new Dictionary<string, PerformanceThreshold> { ["accuracy"] = new() { Possible = 0.8, Detected = 0.7 } },
        });
        var window = new MonitoringWindow(project, endpoint, start, end, batches);   // batches: ReadCapturedAsync(endpoint.Id, start, end)
        ApplicationOutput output = await performance.AnalyzeAsync(window, cancellationToken);
        foreach (MonitoringResult result in output.Results)
            Console.WriteLine($"{result.Name} {result.Value:F3} {result.Status}");
        Console.WriteLine($"{output.Metrics["labelled_rows"]} labelled, {output.Metrics["unlabelled_rows"]} waiting for a label");

        Assert.That(logged.Matched, Is.EqualTo(3));
        Assert.That(Console.ToString().ReplaceLineEndings("\n"), Is.EqualTo(
            "accuracy 0.667 Detected\nprecision 0.000 Irrelevant\nrecall 0.000 Irrelevant\nf1 0.000 Irrelevant\nroc_auc 1.000 Irrelevant\n" +
            "log_loss 0.618 Irrelevant\n3 labelled, 17 waiting for a label\n"));
    }
}
