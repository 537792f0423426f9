using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;
using MLOps.Serving.Remote;
using MLOps.Serving.Resilience;
using MLOps.Serving.Tests.Models;

namespace MLOps.Serving.Tests.Remote;

/// <summary>
/// RemoteModel against real remote V2 servers: an InferenceServer hosted in Kestrel on 127.0.0.1 (or stub endpoints),
/// called with a real HttpClient. Every test starts its own remote, so the tests share nothing.
/// </summary>
public class RemoteModelTests
{
    private static InferenceRequest Flights(string id = "flight-42") => DelayRiskModel.Request(id, [1000f, 4000f, 2500f], [8, 18, 23]);

    private static readonly StepResilienceOptions TwoRetries = new() { MaxRetryAttempts = 2, RetryDelay = TimeSpan.Zero };

    /// <summary>The local model "delay-model" over a remote model (not loaded).</summary>
    private static RemoteModel Remote(HttpClient client, string remoteName = "delay-risk", string? remoteVersion = null)
        => new("delay-model", client, new RemoteModelOptions { RemoteName = remoteName, RemoteVersion = remoteVersion });

    private static async Task<RemoteModel> LoadedAsync(RemoteHost host, string remoteName = "delay-risk", string? remoteVersion = null)
    {
        var model = Remote(host.Client, remoteName, remoteVersion);
        await model.LoadAsync(CancellationToken.None);
        return model;
    }

    /// <summary>The local model "gateway" over the stub remote, loaded.</summary>
    private static async Task<RemoteModel> LoadedStubAsync(RemoteHost host, long maxResponseBytes = RemoteModelOptions.DefaultMaxResponseBytes)
    {
        var model = new RemoteModel("gateway", host.Client, new RemoteModelOptions { RemoteName = RemoteHost.StubModel, MaxResponseBytes = maxResponseBytes });
        await model.LoadAsync(CancellationToken.None);
        return model;
    }

    private static void AssertSameOutputs(InferenceResponse expected, InferenceResponse actual)
    {
        Assert.That(actual.Outputs.Select(o => o.ToString()), Is.EqualTo(expected.Outputs.Select(o => o.ToString())));
        for (int t = 0; t < expected.Outputs.Count; t++)
        {
            var (want, got) = (expected.Outputs[t].Data, actual.Outputs[t].Data);
            Assert.That(Enumerable.Range(0, got.Length).Select(got.GetValue), Is.EqualTo(Enumerable.Range(0, want.Length).Select(want.GetValue)));
        }
    }

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    // ---------------------------------------------------------------- the happy path

    [Test]
    public async Task InferAsync_Tensors_AnswersTheOutputsOfTheModelInProcess()
    {
        var delay = new DelayRiskModel("delay-risk", "1");
        await using var host = await RemoteHost.ServeAsync(delay);
        var remote = await LoadedAsync(host);

        var response = await remote.InferAsync(Flights(), CancellationToken.None);
        var inProcess = await delay.InferAsync(Flights(), CancellationToken.None);

        AssertSameOutputs(inProcess, response);
        Assert.That(response.ModelName, Is.EqualTo("delay-model"));
        Assert.That(response.ModelVersion, Is.EqualTo("1"));
        Assert.That(response.Id, Is.EqualTo("flight-42"));
        Assert.That(delay.Calls, Is.EqualTo(2));
    }

    [TestCase(RowsFormat.Lists)]
    [TestCase(RowsFormat.Objects)]
    public async Task InferAsync_Rows_AnswersTheOutputsOfTheModelInProcess(RowsFormat format)
    {
        var rows = new RowsRiskModel("rows-risk");
        await using var host = await RemoteHost.ServeAsync(rows);
        var remote = await LoadedAsync(host, "rows-risk");
        string[]? names = format == RowsFormat.Objects ? ["distance", "hour"] : null;
        var request = new InferenceRequest
        {
            Id = "rows",
            Rows = new RowsRequest(format, [
                new InferenceRow([RowValue.FromNumber(1000), RowValue.FromNumber(8)], names),
                new InferenceRow([RowValue.FromNumber(4000), RowValue.FromNumber(18)], names)]),
        };

        var response = await remote.InferAsync(request, CancellationToken.None);

        AssertSameOutputs(await rows.InferAsync(request, CancellationToken.None), response);
        Assert.That(response.Id, Is.EqualTo("rows"));
    }

    [Test]
    public async Task InferAsync_32ConcurrentRequests_EachAnswersItsOwnId()
    {
        var delay = new DelayRiskModel("delay-risk", "1");
        await using var host = await RemoteHost.ServeAsync(delay);
        var remote = await LoadedAsync(host);

        var responses = await Task.WhenAll(Enumerable.Range(0, 32).Select(i =>
            remote.InferAsync(DelayRiskModel.Request($"r{i}", [i * 100f], [i % 24]), CancellationToken.None).AsTask()));

        Assert.That(responses.Select(r => r.Id), Is.EqualTo(Enumerable.Range(0, 32).Select(i => $"r{i}")));
        Assert.That(responses.Select(r => r.Outputs[0].Data.AsSingles()[0]), Is.EqualTo(Enumerable.Range(0, 32).Select(i => delay.Score(i * 100f, i % 24))));
    }

    [Test]
    public async Task LoadAsync_MirrorsTheRemoteMetadataUnderTheLocalName()
    {
        var delay = new DelayRiskModel("delay-risk", "1");
        await using var host = await RemoteHost.ServeAsync(delay);
        var remote = Remote(host.Client);
        Assert.That(remote.IsReady, Is.False);

        await remote.LoadAsync(CancellationToken.None);

        Assert.That(remote.IsReady, Is.True);
        Assert.That(remote.Metadata.Name, Is.EqualTo("delay-model"));
        Assert.That(remote.Metadata.Platform, Is.EqualTo("custom"));
        Assert.That(remote.Metadata.Versions, Is.EqualTo(new[] { "1" }));
        Assert.That(remote.Metadata.Inputs.Select(i => (i.Name, i.DataType, string.Join(",", i.Shape))),
            Is.EqualTo(delay.Metadata.Inputs.Select(i => (i.Name, i.DataType, string.Join(",", i.Shape)))));
        Assert.That(remote.Metadata.Outputs.Select(o => (o.Name, o.DataType)), Is.EqualTo(new[] { ("risk", TensorDataType.Fp32) }));
        Assert.That(remote.Version, Is.EqualTo("1"));
        Assert.That(remote.ModelUri, Is.EqualTo(new Uri(host.Address, "/v2/models/delay-risk")));
    }

    [Test]
    public async Task LoadAsync_RemoteVersion_CallsTheVersionedUrls()
    {
        var delay = new DelayRiskModel("delay-risk", "1");
        await using var host = await RemoteHost.ServeAsync(delay);

        var remote = await LoadedAsync(host, remoteVersion: "1");
        var response = await remote.InferAsync(Flights(), CancellationToken.None);

        Assert.That(remote.ModelUri.AbsolutePath, Is.EqualTo("/v2/models/delay-risk/versions/1"));
        Assert.That(remote.Version, Is.EqualTo("1"));
        Assert.That(response.ModelVersion, Is.EqualTo("1"));
    }

    [Test]
    public async Task LoadAsync_CalledTwice_ReadsTheRemoteOnce()
    {
        var delay = new DelayRiskModel("delay-risk", "1");
        await using var host = await RemoteHost.ServeAsync(delay);
        var remote = await LoadedAsync(host);
        var first = remote.Metadata;

        await remote.LoadAsync(CancellationToken.None);

        Assert.That(remote.Metadata, Is.SameAs(first));
    }

    [Test]
    public async Task MockServer_OverARemoteModel_AnswersV2RequestsEndToEnd()
    {
        var delay = new DelayRiskModel("delay-risk", "1");
        await using var host = await RemoteHost.ServeAsync(delay);
        var remote = Remote(host.Client);
        await using var graph = ServingGraph.Router("gateway").Route(new ModelStep(remote)).Build();
        var server = graph.ToMockServer(remote);
        await server.LoadAsync();

        var ready = await server.SendAsync("GET", "/v2/models/delay-model/ready");
        var metadata = await server.SendAsync("GET", "/v2/models/delay-model");
        var infer = await server.SendAsync("POST", "/v2/models/delay-model/versions/1/infer", InferenceJson.SerializeRequest(Flights()));
        var bad = await server.SendAsync("POST", "/v2/models/delay-model/infer", """{"inputs":[{"name":"distance","shape":[1],"datatype":"FP32","data":[1]}]}"""u8.ToArray());

        Assert.That(ready.StatusCode, Is.EqualTo(200));
        Assert.That(metadata.StatusCode, Is.EqualTo(200));
        Assert.That(InferenceJson.ParseModelMetadata(metadata.Body.Span).Inputs.Select(i => i.Name), Is.EqualTo(new[] { "distance", "hour" }));
        Assert.That(infer.StatusCode, Is.EqualTo(200), infer.Text);
        var response = InferenceJson.ParseResponse(infer.Body.Span);
        Assert.That(response.ModelName, Is.EqualTo("delay-model"));
        Assert.That(response.Id, Is.EqualTo("flight-42"));
        AssertSameOutputs(await delay.InferAsync(Flights(), CancellationToken.None), response);
        Assert.That(bad.StatusCode, Is.EqualTo(400));
        Assert.That(InferenceJson.ParseError(bad.Body.Span).Error, Does.StartWith("remote model 'delay-model' at ").And.EndWith("answered 400: The model 'delay-risk' needs an INT64 input 'hour'."));
    }

    // ---------------------------------------------------------------- remote errors

    [Test]
    public async Task InferAsync_RemoteAnswers400_Throws400WithTheRemoteMessage()
    {
        await using var host = await RemoteHost.ServeAsync(new DelayRiskModel("delay-risk", "1"));
        var remote = await LoadedAsync(host);
        var missingHour = new InferenceRequest { Id = "bad", Inputs = [InferenceTensor.Singles("distance", [1f])] };

        var error = Assert.ThrowsAsync<ServingException>(async () => await remote.InferAsync(missingHour, CancellationToken.None));

        Assert.That(error!.StatusCode, Is.EqualTo(400));
        Assert.That(error.Message, Is.EqualTo($"remote model 'delay-model' at {host.Address.AbsoluteUri}v2/models/delay-risk/infer answered 400: The model 'delay-risk' needs an INT64 input 'hour'."));
    }

    [TestCase(400, 400)]
    [TestCase(422, 422)]
    [TestCase(401, 502)]
    [TestCase(404, 502)]
    [TestCase(429, 503)]
    [TestCase(500, 502)]
    [TestCase(503, 503)]
    [TestCase(504, 502)]
    public async Task InferAsync_RemoteErrorStatus_MapsToTheDocumentedStatus(int remoteStatus, int expected)
    {
        await using var host = await RemoteHost.StubAsync(c =>
        {
            c.Response.Headers.RetryAfter = "7";
            return RemoteHost.Answer(c, remoteStatus, """{"error":"boom\n   at Scorer.Run() in Scorer.cs:line 42"}""");
        });
        var remote = await LoadedStubAsync(host);

        var error = Assert.ThrowsAsync<ServingException>(async () => await remote.InferAsync(Flights(), CancellationToken.None));

        Assert.That(error!.StatusCode, Is.EqualTo(expected));
        Assert.That(error.Message, Does.EndWith($"/v2/models/stub/infer answered {remoteStatus} (Retry-After: 7 s): boom"));
        Assert.That(error.Message, Does.Not.Contain("Scorer.cs"));
    }

    [Test]
    public async Task InferAsync_RemoteAnswersHtml_Throws502NamingTheProblem()
    {
        await using var host = await RemoteHost.StubAsync(c =>
        {
            c.Response.ContentType = "text/html";
            return c.Response.WriteAsync("<html>gateway page</html>");
        });
        var remote = await LoadedStubAsync(host);

        var error = Assert.ThrowsAsync<ServingException>(async () => await remote.InferAsync(Flights(), CancellationToken.None));

        Assert.That(error!.StatusCode, Is.EqualTo(502));
        Assert.That(error.Message, Does.StartWith($"remote model 'gateway' at {host.Address.AbsoluteUri}v2/models/stub/infer answered 200 with a body that is not a V2 inference response"));
    }

    [Test]
    public async Task InferAsync_ChunkedAnswerOverMaxResponseBytes_Throws502()
    {
        await using var host = await RemoteHost.StubAsync(async c =>
        {
            c.Response.ContentType = "application/json";
            for (int i = 0; i < 8; i++)
            {
                await c.Response.WriteAsync(new string(' ', 64));
                await c.Response.Body.FlushAsync();
            }
        });
        var remote = await LoadedStubAsync(host, maxResponseBytes: 200);

        var error = Assert.ThrowsAsync<ServingException>(async () => await remote.InferAsync(Flights(), CancellationToken.None));

        Assert.That(error!.StatusCode, Is.EqualTo(502));
        Assert.That(error.Message, Does.Contain("over 200 bytes (RemoteModelOptions.MaxResponseBytes)"));
    }

    [Test]
    public async Task InferAsync_RemoteBusy_Throws503WithTheRemotesRetryAfter()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gated = HookedModel.Gated(new DelayRiskModel("delay-risk", "1"), entered, release);
        await using var host = await RemoteHost.ServeAsync(new InferenceServerOptions { MaxConcurrentRequests = 1, MaxQueuedRequests = 0 }, gated);
        try
        {
            var remote = await LoadedAsync(host);
            var first = remote.InferAsync(Flights("first"), CancellationToken.None).AsTask();
            await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

            var error = Assert.ThrowsAsync<ServingException>(async () => await remote.InferAsync(Flights("second"), CancellationToken.None));
            release.SetResult();

            Assert.That(error!.StatusCode, Is.EqualTo(503));
            Assert.That(error.Message, Does.Contain("answered 503 (Retry-After: 1 s): The server is busy"));
            Assert.That((await first.WaitAsync(TimeSpan.FromSeconds(30))).Id, Is.EqualTo("first"));
        }
        finally
        {
            release.TrySetResult();
        }
    }

    [Test]
    public async Task LoadAsync_UnknownRemoteModel_Throws503NamingItAndTheRemoteAnswer()
    {
        await using var host = await RemoteHost.ServeAsync(new DelayRiskModel("delay-risk", "1"));
        var remote = Remote(host.Client, "nope");

        var error = Assert.ThrowsAsync<ServingException>(async () => await remote.LoadAsync(CancellationToken.None));

        Assert.That(error!.StatusCode, Is.EqualTo(503));
        Assert.That(error.Message, Does.StartWith($"remote model 'delay-model' at {host.Address.AbsoluteUri}v2/models/nope answered 404: The model 'nope' is not served"));
        Assert.That(error.Message, Does.Contain("RemoteModelOptions.RemoteName"));
        Assert.That(remote.IsReady, Is.False);
    }

    [Test]
    public async Task LoadAsync_UnknownRemoteVersion_Throws503()
    {
        await using var host = await RemoteHost.ServeAsync(new DelayRiskModel("delay-risk", "1"));
        var remote = Remote(host.Client, remoteVersion: "9");

        var error = Assert.ThrowsAsync<ServingException>(async () => await remote.LoadAsync(CancellationToken.None));

        Assert.That(error!.StatusCode, Is.EqualTo(503));
        Assert.That(error.Message, Does.Contain("/v2/models/delay-risk/versions/9 answered 404: The model 'delay-risk' has no version '9'"));
    }

    [Test]
    public async Task LoadAsync_InAddServingOfAnotherHost_FailsTheStartWith503()
    {
        await using var host = await RemoteHost.ServeAsync(new DelayRiskModel("delay-risk", "1"));
        var remote = Remote(host.Client, "nope");

        var error = Assert.ThrowsAsync<ServingException>(async () => await RemoteHost.ServeAsync(remote));

        Assert.That(error!.StatusCode, Is.EqualTo(503));
        Assert.That(error.Message, Does.Contain("'nope' is not served"));
    }

    // ---------------------------------------------------------------- the remote is down

    [Test]
    public async Task LoadAsync_ClosedPort_Throws503NamingTheUrl()
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ClosedPort()}/") };
        var remote = new RemoteModel("delay-model", client);

        var error = Assert.ThrowsAsync<ServingException>(async () => await remote.LoadAsync(CancellationToken.None));

        Assert.That(error!.StatusCode, Is.EqualTo(503));
        Assert.That(error.Message, Does.StartWith($"remote model 'delay-model' at {client.BaseAddress}v2/models/delay-model could not be reached: "));
        Assert.That(error.Message, Does.Not.Contain(" at System."));
    }

    [Test]
    public async Task InferAsync_RemoteHostStopped_Throws503NamingTheUrl()
    {
        await using var host = await RemoteHost.ServeAsync(new DelayRiskModel("delay-risk", "1"));
        var remote = await LoadedAsync(host);
        await host.StopAsync();

        var error = Assert.ThrowsAsync<ServingException>(async () => await remote.InferAsync(Flights(), CancellationToken.None));

        Assert.That(error!.StatusCode, Is.EqualTo(503));
        Assert.That(error.Message, Does.StartWith($"remote model 'delay-model' at {host.Address.AbsoluteUri}v2/models/delay-risk/infer "));
        Assert.That(error.InnerException, Is.Not.Null);
    }

    [Test]
    public async Task InferAsync_RemoteSlowerThanHttpClientTimeout_Throws504()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await RemoteHost.ServeAsync(HookedModel.Gated(new DelayRiskModel("delay-risk", "1"), entered, release));
        try
        {
            using var client = new HttpClient { BaseAddress = host.Address, Timeout = TimeSpan.FromMilliseconds(200) };
            var remote = Remote(client);
            await remote.LoadAsync(CancellationToken.None);

            var error = Assert.ThrowsAsync<ServingException>(async () => await remote.InferAsync(Flights(), CancellationToken.None));

            Assert.That(error!.StatusCode, Is.EqualTo(504));
            Assert.That(error.Message, Does.EndWith("/v2/models/delay-risk/infer did not answer within HttpClient.Timeout (0.2 s)."));
        }
        finally
        {
            release.TrySetResult();
        }
    }

    [Test]
    public async Task InferAsync_Cancelled_ThrowsOperationCanceled()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await RemoteHost.ServeAsync(HookedModel.Gated(new DelayRiskModel("delay-risk", "1"), entered, release));
        try
        {
            var remote = await LoadedAsync(host);
            using var cts = new CancellationTokenSource();

            var running = remote.InferAsync(Flights(), cts.Token).AsTask();
            await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await cts.CancelAsync();

            Assert.CatchAsync<OperationCanceledException>(() => running.WaitAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            release.TrySetResult();
        }
    }

    // ---------------------------------------------------------------- resilience

    /// <summary>A mock server over a graph routing "delay-model" to a RemoteModel over the host's "delay-risk", optionally through WithResilience.</summary>
    private sealed class Gateway(InferenceServer server, ServingGraph graph) : IAsyncDisposable
    {
        public static async Task<Gateway> StartAsync(RemoteHost host, StepResilienceOptions? resilience)
        {
            var remote = Remote(host.Client);
            IServingStep step = new ModelStep(remote);
            var graph = ServingGraph.Router("gateway").Route(resilience is null ? step : step.WithResilience(resilience)).Build();
            var server = graph.ToMockServer(remote);
            await server.LoadAsync();
            return new Gateway(server, graph);
        }

        public Task<InferenceResponse> InferAsync(InferenceRequest request) => server.InferAsync("delay-model", request).AsTask();

        public ValueTask DisposeAsync() => graph.DisposeAsync();
    }

    [Test]
    public async Task WithResilience_FlakyRemote_SucceedsAfterRetries()
    {
        var flaky = HookedModel.Flaky(new DelayRiskModel("delay-risk", "1"), failures: 2);
        await using var host = await RemoteHost.ServeAsync(flaky);
        await using var gateway = await Gateway.StartAsync(host, TwoRetries);

        var response = await gateway.InferAsync(Flights());

        Assert.That(response.Id, Is.EqualTo("flight-42"));
        Assert.That(response.Outputs[0].Data.Length, Is.EqualTo(3));
        Assert.That(flaky.Calls, Is.EqualTo(3));
    }

    [Test]
    public async Task FlakyRemote_WithoutResilience_Fails502WithTheRemoteMessage()
    {
        var flaky = HookedModel.Flaky(new DelayRiskModel("delay-risk", "1"), failures: 2);
        await using var host = await RemoteHost.ServeAsync(flaky);
        await using var gateway = await Gateway.StartAsync(host, null);

        var error = Assert.ThrowsAsync<ServingException>(async () => await gateway.InferAsync(Flights()));

        Assert.That(error!.StatusCode, Is.EqualTo(502));
        Assert.That(error.Message, Does.EndWith("answered 500: model 'delay-risk' failed: warming up (call 1)"));
        Assert.That(flaky.Calls, Is.EqualTo(1));
    }

    [Test]
    public async Task WithResilience_Remote400_IsNotRetried()
    {
        var delay = new DelayRiskModel("delay-risk", "1");
        await using var host = await RemoteHost.ServeAsync(delay);
        await using var gateway = await Gateway.StartAsync(host, TwoRetries);
        var missingHour = new InferenceRequest { Inputs = [InferenceTensor.Singles("distance", [1f])] };

        var error = Assert.ThrowsAsync<ServingException>(async () => await gateway.InferAsync(missingHour));

        Assert.That(error!.StatusCode, Is.EqualTo(400));
        Assert.That(delay.Calls, Is.EqualTo(1));
    }

    [Test]
    public async Task WithResilience_RemoteDown_RetriesThenFails503()
    {
        var delay = new DelayRiskModel("delay-risk", "1");
        await using var host = await RemoteHost.ServeAsync(delay);
        await using var gateway = await Gateway.StartAsync(host, TwoRetries);
        await host.StopAsync();

        var error = Assert.ThrowsAsync<ServingException>(async () => await gateway.InferAsync(Flights()));

        Assert.That(error!.StatusCode, Is.EqualTo(503));
        Assert.That(error.Message, Does.Contain("/v2/models/delay-risk/infer"));
    }

    [Test]
    public async Task WithResilience_AttemptTimesOut_CancelsTheHttpCallAndAnswers503()
    {
        var time = new FakeTimeProvider();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await RemoteHost.ServeAsync(HookedModel.Gated(new DelayRiskModel("delay-risk", "1"), entered, release));
        try
        {
            await using var gateway = await Gateway.StartAsync(host, new StepResilienceOptions { Timeout = TimeSpan.FromSeconds(2), TimeProvider = time });

            var running = gateway.InferAsync(Flights());
            await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
            time.Advance(TimeSpan.FromSeconds(2));

            var error = Assert.ThrowsAsync<ServingException>(() => running.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.That(error!.StatusCode, Is.EqualTo(503));
            Assert.That(error.Message, Does.Contain("timed out after 2000 ms"));
        }
        finally
        {
            release.TrySetResult();
        }
    }

    // ---------------------------------------------------------------- construction

    [Test]
    public void Constructor_ClientWithoutBaseAddress_ThrowsNamingTheFix()
    {
        using var client = new HttpClient();

        var error = Assert.Throws<ValidationException>(() => new RemoteModel("delay-model", client));

        Assert.That(error!.Message, Does.Contain("'delay-model' has no BaseAddress").And.Contain("BaseAddress = new Uri(\"http://scoring:8080/\")"));
    }

    [TestCase("http://scoring:8080/?key=1", "query")]
    [TestCase("http://user:secret@scoring:8080/", "credentials")]
    [TestCase("ftp://scoring/", "http:// or https://")]
    public void Constructor_UnusableBaseAddress_ThrowsNamingIt(string address, string problem)
    {
        using var client = new HttpClient { BaseAddress = new Uri(address) };

        var error = Assert.Throws<ValidationException>(() => new RemoteModel("delay-model", client));

        Assert.That(error!.Message, Does.Contain(problem));
        Assert.That(error.Message, Does.Not.Contain("secret"));
    }

    [TestCase("http://scoring.local/kserve", "http://scoring.local/kserve/v2/models/delay%20risk/versions/v%2F2")]
    [TestCase("http://scoring.local/kserve/", "http://scoring.local/kserve/v2/models/delay%20risk/versions/v%2F2")]
    [TestCase("https://scoring.local:8443", "https://scoring.local:8443/v2/models/delay%20risk/versions/v%2F2")]
    public void ModelUri_KeepsTheBaseAddressPathAndEscapesTheNames(string address, string expected)
    {
        using var client = new HttpClient { BaseAddress = new Uri(address) };

        var remote = new RemoteModel("delay-model", client, new RemoteModelOptions { RemoteName = "delay risk", RemoteVersion = "v/2" });

        Assert.That(remote.ModelUri.AbsoluteUri, Is.EqualTo(expected));
        Assert.That(remote.Version, Is.EqualTo("v/2"));
        Assert.That(remote.Metadata.Name, Is.EqualTo("delay-model"));
    }

    [Test]
    public void InferAsync_BeforeLoad_Throws503()
    {
        using var client = new HttpClient { BaseAddress = new Uri("http://127.0.0.1:1/") };
        var remote = new RemoteModel("delay-model", client);

        var error = Assert.ThrowsAsync<ServingException>(async () => await remote.InferAsync(Flights(), CancellationToken.None));

        Assert.That(error!.StatusCode, Is.EqualTo(503));
        Assert.That(error.Message, Does.Contain("call LoadAsync first"));
    }
}
