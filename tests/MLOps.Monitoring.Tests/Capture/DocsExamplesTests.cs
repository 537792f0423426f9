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

    [Test]
    public async Task MonitoringGuide_UpgradeExample_Runs()
    {
        await using var served = await ServedFlights.StartAsync();
        var project = served.Project;
        var server = served.Server;
        var model = served.Model;
        var request = ServedFlights.Request("doc-2", 0, 10);
        var (_, v2Data) = await served.RegisterVersionAsync("delay-training-v2", 5000, 2000);

        await using CaptureSession capture = await project.Monitoring.StartCaptureAsync(server);   // endpoint delay:1
        await project.Models.SetAliasAsync("delay", "production", 2);
        await model.RefreshAsync();                                   // new requests are answered by v2
        await server.InferAsync("delay", request);                    // creates endpoint delay:2 (reference: v2's training data)
        await capture.FlushAsync();
        ModelEndpoint v2 = await project.Monitoring.FindEndpointAsync("delay", "2");   // RequestCount 1; delay:1 keeps its counts

        Assert.That((v2.RequestCount, v2.Reference!.Source), Is.EqualTo((1L, v2Data)));
        Assert.That((await project.Monitoring.FindEndpointAsync("delay", "1")).RequestCount, Is.Zero);
    }
}
