using System.Net;
using System.Text.Json;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;
using MLOps.Serving.Tests.Models;

namespace MLOps.Serving.Tests.Hosting;

/// <summary><c>server.StartHttpAsync(...)</c>: a real Kestrel on 127.0.0.1, port 0, called with a real HttpClient.</summary>
[Parallelizable(ParallelScope.All)]
public class InferenceHttpHostTests
{
    private static async Task<JsonElement> GetJsonAsync(HttpClient client, string path, HttpStatusCode expected)
    {
        using var response = await client.GetAsync(path);
        Assert.That(response.StatusCode, Is.EqualTo(expected), path);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static async Task<InferenceResponse> InferAsync(HttpClient client, string path, InferenceRequest request)
    {
        using var content = new ByteArrayContent(InferenceJson.SerializeRequest(request));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync(path, content);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        return InferenceJson.ParseResponse(await response.Content.ReadAsByteArrayAsync());
    }

    [Test]
    public async Task StartHttpAsync_Port0_LoadsTheServerAndAnswersLiveReadyAndInfer()
    {
        var model = new DelayRiskModel("delay-risk", "1");
        await using var graph = ServingGraph.Router("flights").Route(new ModelStep(model)).Build();

        await using var host = await graph.ToMockServer(model).StartHttpAsync("http://127.0.0.1:0");
        using var client = host.CreateClient();

        Assert.That(host.BaseAddress.Host, Is.EqualTo("127.0.0.1"));
        Assert.That(host.BaseAddress.Port, Is.Not.Zero);
        Assert.That(host.Addresses.Select(a => a.Port), Does.Contain(host.BaseAddress.Port));
        Assert.That(model.Loads, Is.EqualTo(1));
        Assert.That((await GetJsonAsync(client, "/v2/health/live", HttpStatusCode.OK)).GetProperty("live").GetBoolean(), Is.True);
        Assert.That((await GetJsonAsync(client, "/v2/health/ready", HttpStatusCode.OK)).GetProperty("ready").GetBoolean(), Is.True);
        var answer = await InferAsync(client, "/v2/models/delay-risk/infer", DelayRiskModel.Request("flight-7", [1750f, 300f], [9, 18]));
        Assert.That(answer.Id, Is.EqualTo("flight-7"));
        Assert.That(answer.Outputs[0].Data.AsSingles().ToArray(), Is.EqualTo(new[] { model.Score(1750f, 9), model.Score(300f, 18) }));
        Assert.That(host.State.InFlight, Is.Zero);
    }

    [Test]
    public async Task ServingGuide_HostingWithoutAspNetCoreExample_Runs()
    {
        var model = new DelayRiskModel("delay-model", "3");
        await using var graph = ServingGraph.Router("models").Route(new ModelStep(model)).Build();
        var cancellationToken = CancellationToken.None;

        var server = graph.ToMockServer(model);
        await using var host = await server.StartHttpAsync("http://127.0.0.1:0", cancellationToken);
        using var http = host.CreateClient();
        using var ready = await http.GetAsync("/v2/health/ready");
        await host.StopAsync(cancellationToken);

        Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await ready.Content.ReadAsStringAsync(), Is.EqualTo("{\"ready\":true}"));
        Assert.That(host.State.IsStopping, Is.True);
    }

    [Test]
    public async Task StartHttpAsync_TwoHostsAtOnce_GetDifferentPortsAndServeTheirOwnServer()
    {
        var first = new DelayRiskModel("first", "1");
        var second = new DelayRiskModel("second", "2");
        await using var firstGraph = ServingGraph.Router("a").Route(new ModelStep(first)).Build();
        await using var secondGraph = ServingGraph.Router("b").Route(new ModelStep(second)).Build();

        await using var a = await firstGraph.ToMockServer(first).StartHttpAsync();
        await using var b = await secondGraph.ToMockServer(second).StartHttpAsync();
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();

        Assert.That(a.BaseAddress.Port, Is.Not.EqualTo(b.BaseAddress.Port));
        Assert.That((await GetJsonAsync(clientA, "/v2/models/first", HttpStatusCode.OK)).GetProperty("name").GetString(), Is.EqualTo("first"));
        Assert.That((await GetJsonAsync(clientB, "/v2/models/second", HttpStatusCode.OK)).GetProperty("name").GetString(), Is.EqualTo("second"));
        await GetJsonAsync(clientA, "/v2/models/second", HttpStatusCode.NotFound);
    }

    [Test]
    public async Task StartHttpAsync_WildcardAddress_BaseAddressIsTheLoopback()
    {
        var model = new DelayRiskModel();
        await using var graph = ServingGraph.Router("flights").Route(new ModelStep(model)).Build();

        await using var host = await graph.ToMockServer(model).StartHttpAsync("http://0.0.0.0:0");
        using var client = host.CreateClient();

        Assert.That(host.BaseAddress.Host, Is.EqualTo("127.0.0.1"));
        Assert.That(host.Addresses.Single().Host, Is.EqualTo("0.0.0.0"));
        await GetJsonAsync(client, "/v2/health/ready", HttpStatusCode.OK);
    }

    [Test]
    public async Task DisposeAsync_StopsAcceptingConnections()
    {
        var model = new DelayRiskModel();
        await using var graph = ServingGraph.Router("flights").Route(new ModelStep(model)).Build();
        var host = await graph.ToMockServer(model).StartHttpAsync();
        var address = host.BaseAddress;
        using (var client = host.CreateClient())
            await GetJsonAsync(client, "/v2/health/live", HttpStatusCode.OK);

        await host.DisposeAsync();
        await host.DisposeAsync();

        using var after = new HttpClient { BaseAddress = address };
        Assert.ThrowsAsync<HttpRequestException>(() => after.GetAsync("/v2/health/live"));
        Assert.That(host.State.IsStopping, Is.True);
        Assert.Throws<ObjectDisposedException>(() => host.CreateClient());
    }

    [Test]
    public async Task StopAsync_WhileARequestIsInFlight_MarksStoppingAndTheRequestCompletes()
    {
        var model = new DelayRiskModel();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var graph = ServingGraph.Flow("gated")
            .To("gate", async (e, _, ct) =>
            {
                entered.TrySetResult();
                await release.Task.WaitAsync(ct);
                return e;
            })
            .To(new ModelStep(model))
            .Build();
        await using var host = await graph.ToMockServer(model).StartHttpAsync();
        using var client = host.CreateClient();

        var inFlight = InferAsync(client, "/v2/models/delay-risk/infer", DelayRiskModel.Request("last", [2500f], [9]));
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var stop = host.StopAsync();

        Assert.That(host.State.IsStopping, Is.True);
        Assert.That(host.State.InFlight, Is.EqualTo(1));
        Assert.That(stop.IsCompleted, Is.False);
        release.SetResult();
        var answer = await inFlight.WaitAsync(TimeSpan.FromSeconds(30));
        await stop.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.That(answer.Id, Is.EqualTo("last"));
        Assert.That(host.State.InFlight, Is.Zero);
    }

    [TestCase("localhost:8080")]
    [TestCase("127.0.0.1:8080")]
    [TestCase("not a url")]
    [TestCase("ftp://127.0.0.1:21")]
    [TestCase("https://127.0.0.1:8443")]
    [TestCase("http://127.0.0.1:8080/models")]
    [TestCase("http://localhost:0")]
    [TestCase("http://127.0.0.1:0;/v2")]
    public async Task StartHttpAsync_InvalidUrl_ThrowsValidationExceptionNamingItAndTheFix(string url)
    {
        var model = new DelayRiskModel();
        await using var graph = ServingGraph.Router("flights").Route(new ModelStep(model)).Build();

        var e = Assert.Throws<ValidationException>(() => graph.ToMockServer(model).StartHttpAsync(url))!;

        Assert.That(e.Message, Does.Contain($"'{url.Split(';')[^1]}'").And.Contain("http://127.0.0.1:8080"));
        Assert.That(model.Loads, Is.Zero);
    }

    [TestCase("")]
    [TestCase(" ; ")]
    public async Task StartHttpAsync_NoUrl_ThrowsValidationException(string urls)
    {
        var model = new DelayRiskModel();
        await using var graph = ServingGraph.Router("flights").Route(new ModelStep(model)).Build();

        var e = Assert.Throws<ValidationException>(() => graph.ToMockServer(new InferenceServerOptions(), model).StartHttpAsync(new InferenceHttpHostOptions { Urls = urls }))!;

        Assert.That(e.Message, Does.Contain("InferenceHttpHostOptions.Urls").And.Contain("no URL to listen on"));
    }

    [Test]
    public async Task StartHttpAsync_SeveralBadUrlsAndTimeout_ListsEveryProblemAtOnce()
    {
        var model = new DelayRiskModel();
        await using var graph = ServingGraph.Router("flights").Route(new ModelStep(model)).Build();
        var options = new InferenceHttpHostOptions { Urls = "ftp://127.0.0.1:21;http://127.0.0.1:0;https://127.0.0.1:8443", ShutdownTimeout = TimeSpan.FromSeconds(-1) };

        var e = Assert.Throws<ValidationException>(() => graph.ToMockServer(model).StartHttpAsync(options))!;

        Assert.That(e.Errors, Is.EqualTo(options.Validate()));
        Assert.That(e.Errors, Has.Count.EqualTo(3));
        Assert.That(e.Errors, Has.One.Contain("'ftp://127.0.0.1:21'"));
        Assert.That(e.Errors, Has.One.Contain("'https://127.0.0.1:8443'"));
        Assert.That(e.Errors, Has.One.Contain("InferenceHttpHostOptions.ShutdownTimeout is -00:00:01"));
        Assert.That(model.Loads, Is.Zero);
    }

    [Test]
    public async Task StartHttpAsync_ModelFailsToLoad_ThrowsServingException503NamingTheModel()
    {
        var gate = new TaskCompletionSource();
        gate.SetException(new InvalidOperationException("the model file is missing"));
        var model = new DelayRiskModel("broken", loadGate: gate);
        await using var graph = ServingGraph.Router("flights").Route(new ModelStep(model)).Build();

        var e = Assert.ThrowsAsync<ServingException>(() => graph.ToMockServer(model).StartHttpAsync())!;

        Assert.That(e.StatusCode, Is.EqualTo(503));
        Assert.That(e.Message, Does.Contain("broken").And.Contain("the model file is missing"));
    }

    [Test]
    public async Task StartHttpAsync_PortInUse_ThrowsIOExceptionAndTheFirstHostKeepsServing()
    {
        var model = new DelayRiskModel();
        await using var graph = ServingGraph.Router("flights").Route(new ModelStep(model)).Build();
        var server = graph.ToMockServer(model);
        await using var first = await server.StartHttpAsync();

        Assert.ThrowsAsync(Is.InstanceOf<IOException>(), () => server.StartHttpAsync($"http://127.0.0.1:{first.BaseAddress.Port}"));

        using var client = first.CreateClient();
        await GetJsonAsync(client, "/v2/health/ready", HttpStatusCode.OK);
    }
}
