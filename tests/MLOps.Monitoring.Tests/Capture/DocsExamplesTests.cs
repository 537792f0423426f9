using Apache.Arrow;
using MLOps.Monitoring.Capture;
using MLOps.Monitoring.Endpoints;

namespace MLOps.Monitoring.Tests.Capture;

/// <summary>The examples of docs/monitoring.md ("Model endpoints and capture"), compiled and run.</summary>
public sealed class DocsExamplesTests
{
    [Test]
    public async Task MonitoringGuide_CaptureExample_Runs()
    {
        await using var served = await ServedFlights.StartAsync();
        var project = served.Project;
        var server = served.Server;
        var request = ServedFlights.Request("doc-1", 0, 10);
        var since = ServedFlights.T0;
        var output = new StringWriter();

        await using CaptureSession capture = await project.Monitoring.StartCaptureAsync(server, new CaptureOptions { SamplingRate = 1.0 });

        await server.InferAsync("delay", request);

        await capture.FlushAsync();
        ModelEndpoint endpoint = await project.Monitoring.FindEndpointAsync("delay", "1");
        output.WriteLine($"{endpoint.Name}: {endpoint.RequestCount} requests, {endpoint.ErrorCount} errors, reference {endpoint.Reference?.Source}");
        await foreach (RecordBatch batch in project.Monitoring.ReadCapturedAsync(endpoint.Id, from: since))
            output.WriteLine($"{batch.Length} rows: {string.Join(", ", batch.Schema.FieldsList.Select(f => f.Name))}");

        Assert.That(output.ToString().ReplaceLineEndings("\n"), Is.EqualTo(
            $"delay:1: 1 requests, 0 errors, reference {served.TrainingDataUri}\n" +
            "10 rows: request_id, row, time, latency_ms, status_code, error, input.distance, input.hour, output.PredictedLabel, output.Score, output.Probability\n"));
    }
}
