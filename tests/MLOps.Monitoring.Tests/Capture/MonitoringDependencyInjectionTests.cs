using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MLOps.Monitoring.Endpoints;
using MLOps.Registry;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;

namespace MLOps.Monitoring.Tests.Capture;

/// <summary><c>AddMLOps(...).AddServing(...).AddMonitoring(...).AddMonitoringCapture()</c> in a real generic host.</summary>
public sealed class MonitoringDependencyInjectionTests
{
    [Test]
    public async Task AddMonitoringCapture_HostStartsAndStops_EndpointRegisteredAndTrafficFlushedOnStop()
    {
        using var folder = new TempFolder();
        var name = "di" + Guid.NewGuid().ToString("N")[..8];
        // the model version first, in the project the host will open
        await using (var served = await ServedFlights.StartAsync(name, folder: folder)) { }
        await using var setup = await MLOpsProject.Configure(name).UseHome(folder.Path).CaptureGit(false).OpenAsync();
        var model = MLNetModel.Create<FlightFeatures, DelayPrediction>(setup, "delay", $"store://models/{name}/delay:production");
        await using var graph = ServingGraph.Router("flights").Route(new ModelStep(model)).Build();
        var captureRoot = folder.File("capture");
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddMLOps(name, b => b.UseHome(folder.Path).CaptureGit(false))
            .AddServing(graph, model)
            .AddMonitoring(new MonitoringOptions { CaptureRoot = captureRoot })
            .AddMonitoringCapture();
        using var host = builder.Build();

        await host.StartAsync();
        var server = host.Services.GetRequiredService<InferenceServer>();
        for (int r = 0; r < 3; r++)
            await server.InferAsync("delay", ServedFlights.Request($"h-{r}", r, 2));
        await host.StopAsync();

        var catalog = host.Services.GetRequiredService<MonitoringCatalog>();
        Assert.That(catalog.CaptureRoot, Is.EqualTo(captureRoot));
        var endpoint = (await catalog.ListEndpointsAsync()).Single();
        Assert.That((endpoint.Name, endpoint.State, endpoint.RequestCount), Is.EqualTo(("delay:1", EndpointState.Stopped, 3L)));
        var rows = 0;
        await foreach (var batch in catalog.ReadCapturedAsync(endpoint.Id)) rows += batch.Length;
        Assert.That(rows, Is.EqualTo(6));
        await model.DisposeAsync();
    }
}
