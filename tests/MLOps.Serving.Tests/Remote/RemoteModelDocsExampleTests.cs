using System.Net;
using System.Net.Http.Headers;
using MLOps.Serving.Graphs;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;
using MLOps.Serving.Remote;
using MLOps.Serving.Resilience;
using MLOps.Serving.Tests.Models;

namespace MLOps.Serving.Tests.Remote;

/// <summary>The "Remote models" example of docs/serving.md, run as two real hosts: a gateway in Kestrel in front of a remote V2 server in Kestrel.</summary>
public class RemoteModelDocsExampleTests
{
    [Test]
    public async Task ServingGuide_RemoteModelsExample_AnswersThroughTwoHttpHops()
    {
        var delay = new DelayRiskModel("delay", "3");
        await using var scoring = await RemoteHost.ServeAsync(delay);

        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
        {
            BaseAddress = scoring.Address,
            Timeout = TimeSpan.FromSeconds(10),
        };
        var remote = new RemoteModel("delay-model", http, new RemoteModelOptions { RemoteName = "delay", RemoteVersion = null });

        await using var graph = ServingGraph.Router("gateway")
            .Route(new ModelStep(remote).WithResilience(new StepResilienceOptions { MaxRetryAttempts = 2, Timeout = TimeSpan.FromSeconds(2) }))
            .Build();
        await using var gateway = await RemoteHost.ServeGraphAsync(graph, remote);

        var request = DelayRiskModel.Request("flight-7", [1750f, 300f], [18, 6]);
        using var body = new ByteArrayContent(InferenceJson.SerializeRequest(request));
        body.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var answer = await gateway.Client.PostAsync("/v2/models/delay-model/infer", body);
        var response = InferenceJson.ParseResponse(await answer.Content.ReadAsByteArrayAsync());

        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.ModelName, Is.EqualTo("delay-model"));
        Assert.That(response.ModelVersion, Is.EqualTo("3"));
        Assert.That(response.Id, Is.EqualTo("flight-7"));
        Assert.That(response.Outputs[0].Data.AsSingles().ToArray(), Is.EqualTo(new[] { delay.Score(1750f, 18), delay.Score(300f, 6) }));
        Assert.That(remote.Version, Is.EqualTo("3"));
    }
}
