using MLOps.Monitoring.Capture;
using MLOps.Monitoring.Tests.Capture;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;

namespace MLOps.Monitoring.Tests.Endpoints;

public sealed class ReferenceLinkTests
{
    [Test]
    public async Task StartCaptureAsync_ModelServedUnderAnotherName_LinksTheRegistryVersionsTrainingData()
    {
        await using var served = await ServedFlights.StartAsync();
        // the registry model is "delay"; the graph serves it as "flight-delay"
        await using var renamed = MLNetModel.Create<FlightFeatures, DelayPrediction>(served.Project, "flight-delay", $"store://models/{served.Project.Name}/delay:production");
        await using var graph = ServingGraph.Router("renamed").Route(new ModelStep(renamed)).Build();
        var server = graph.ToMockServer(new InferenceServerOptions { TimeProvider = served.Time }, renamed);
        await server.LoadAsync();

        await using (await served.Project.Monitoring.StartCaptureAsync(server, new CaptureOptions()))
        {
        }

        var endpoint = await served.Project.Monitoring.FindEndpointAsync("flight-delay", "1");
        Assert.That(endpoint.Reference, Is.Not.Null);
        Assert.That(endpoint.Reference!.Source, Is.EqualTo(served.TrainingDataUri));
        Assert.That(endpoint.Reference.Profile!.Statistics.Select(s => s.Name), Is.EquivalentTo(new[] { "distance", "hour" }));
        Assert.That(renamed.RegistryVersion!.Name, Is.EqualTo("delay"));
    }
}
