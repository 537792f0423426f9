using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;
using MLOps.Serving.Tests.Models;

namespace MLOps.Serving.Tests.Hosting;

/// <summary>The Open Inference Protocol hosted in a real Kestrel on 127.0.0.1, called with a real HttpClient.</summary>
public class KestrelHostingTests
{
    private DelayRiskModel _delay = null!;
    private TaskCompletionSource _entered = null!;
    private TaskCompletionSource _release = null!;
    private HookedModel _gated = null!;
    private ServingRouter _graph = null!;
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    [SetUp]
    public void SetUp()
    {
        _delay = new DelayRiskModel("delay-risk", "1", peakBonus: 0.3f);
        _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        _gated = HookedModel.Gated(new DelayRiskModel("gated", null), _entered, _release);
        _graph = ServingGraph.Router("flights").Route(new ModelStep(_delay)).Route(new ModelStep(_gated)).Build();
    }

    [TearDown]
    public async Task TearDown()
    {
        _client?.Dispose();
        if (_app is not null)
        {
            _release.TrySetResult();
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        await _graph.DisposeAsync();
    }

    private async Task StartAsync(InferenceServerOptions? options = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddServing(_graph, options, _delay, _gated);
        _app = builder.Build();
        _app.MapServingGraph();
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        _client = new HttpClient { BaseAddress = new Uri(address) };
    }

    private ServingHostState State => _app.Services.GetRequiredService<ServingHostState>();

    private static ByteArrayContent Body(InferenceRequest request) => Json(InferenceJson.SerializeRequest(request));

    private static ByteArrayContent Json(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response)
    {
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static async Task<string> ErrorOf(HttpResponseMessage response) => (await JsonOf(response)).GetProperty("error").GetString()!;

    // ---------------------------------------------------------------- health, readiness and metadata

    [Test]
    public async Task HealthLive_Answers200()
    {
        await StartAsync();

        using var response = await _client.GetAsync("/v2/health/live");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await JsonOf(response)).GetProperty("live").GetBoolean(), Is.True);
    }

    [Test]
    public async Task HealthReady_Answers200_OnceAddServingLoadedTheModels()
    {
        await StartAsync();

        using var server = await _client.GetAsync("/v2/health/ready");
        using var model = await _client.GetAsync("/v2/models/delay-risk/versions/1/ready");

        Assert.That(server.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await JsonOf(server)).GetProperty("ready").GetBoolean(), Is.True);
        Assert.That(model.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await JsonOf(model)).GetProperty("name").GetString(), Is.EqualTo("delay-risk"));
        Assert.That(_delay.Loads, Is.EqualTo(1));
    }

    [Test]
    public async Task ServerMetadata_AnswersNameVersionAndExtensions()
    {
        await StartAsync(new InferenceServerOptions { Name = "kestrel-test", Version = "9.8.7", Extensions = ["health"] });

        using var response = await _client.GetAsync("/v2");
        var json = await JsonOf(response);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(json.GetProperty("name").GetString(), Is.EqualTo("kestrel-test"));
        Assert.That(json.GetProperty("version").GetString(), Is.EqualTo("9.8.7"));
        Assert.That(json.GetProperty("extensions")[0].GetString(), Is.EqualTo("health"));
    }

    [Test]
    public async Task ModelMetadata_AnswersTheModelsMetadata()
    {
        await StartAsync();

        using var response = await _client.GetAsync("/v2/models/delay-risk");
        var json = await JsonOf(response);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(json.GetProperty("name").GetString(), Is.EqualTo("delay-risk"));
    }

    // ---------------------------------------------------------------- inference

    [Test]
    public async Task Infer_Answers200WithTheOutputsAndEchoesTheId()
    {
        await StartAsync();

        using var response = await _client.PostAsync("/v2/models/delay-risk/versions/1/infer", Body(DelayRiskModel.Request("flight-42", [1000f, 4000f], [8, 18])));
        var parsed = InferenceJson.ParseResponse(await response.Content.ReadAsByteArrayAsync());

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        Assert.That(parsed.Id, Is.EqualTo("flight-42"));
        Assert.That(parsed.ModelName, Is.EqualTo("delay-risk"));
        Assert.That(parsed.Outputs[0].Data.AsSingles().ToArray(), Is.EqualTo(new[] { _delay.Score(1000f, 8), _delay.Score(4000f, 18) }));
    }

    [Test]
    public async Task Infer_MalformedJson_Answers400()
    {
        await StartAsync();

        using var response = await _client.PostAsync("/v2/models/delay-risk/infer", Json("{\"inputs\": [ nope"u8.ToArray()));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await ErrorOf(response), Is.Not.Empty);
        Assert.That(_delay.Calls, Is.Zero);
    }

    [Test]
    public async Task Infer_UnknownModel_Answers404()
    {
        await StartAsync();

        using var response = await _client.PostAsync("/v2/models/nope/infer", Body(DelayRiskModel.Request("r", [1f], [1])));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await ErrorOf(response), Does.Contain("'nope'").And.Contain("delay-risk"));
    }

    [Test]
    public async Task Infer_BodyOverTheLimit_Answers413()
    {
        await StartAsync(new InferenceServerOptions { MaxRequestBytes = 64 });
        var body = InferenceJson.SerializeRequest(DelayRiskModel.Request("big", new float[100], new long[100]));
        Assert.That(body, Has.Length.GreaterThan(64));

        using var response = await _client.PostAsync("/v2/models/delay-risk/infer", Json(body));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That(await ErrorOf(response), Does.Contain("64"));
        Assert.That(_delay.Calls, Is.Zero);
    }

    [Test]
    public async Task Infer_ChunkedBodyOverTheLimit_Answers413WithoutContentLength()
    {
        await StartAsync(new InferenceServerOptions { MaxRequestBytes = 64 });
        var body = InferenceJson.SerializeRequest(DelayRiskModel.Request("big", new float[100], new long[100]));
        var content = new StreamContent(new MemoryStream(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/delay-risk/infer") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await _client.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That(_delay.Calls, Is.Zero);
    }

    /// <summary>Sends the body in pieces of <paramref name="piece"/> bytes, flushing each (chunked, no Content-Length), so
    /// that the server sees it arrive in several reads.</summary>
    private sealed class PiecewiseContent(byte[] body, int piece) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            for (int at = 0; at < body.Length; at += piece)
            {
                await stream.WriteAsync(body.AsMemory(at, Math.Min(piece, body.Length - at)));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    [TestCase(300_000, 7_000, TestName = "Infer_LargeBodyInPieces_AnswersEveryRow(300k bytes, copied out of the pipe)")]
    [TestCase(20_000, 500, TestName = "Infer_LargeBodyInPieces_AnswersEveryRow(20k bytes in 500-byte pieces, parsed in the pipe)")]
    public async Task Infer_LargeBodyInPieces_AnswersEveryRow(int minBytes, int piece)
    {
        await StartAsync();
        int rows = minBytes / 7;
        var distances = Enumerable.Range(0, rows).Select(i => 100f + i % 4000).ToArray();
        var hours = Enumerable.Range(0, rows).Select(i => (long)(i % 24)).ToArray();
        var body = InferenceJson.SerializeRequest(DelayRiskModel.Request("big", distances, hours));
        Assert.That(body, Has.Length.GreaterThan(minBytes));
        var content = new PiecewiseContent(body, piece);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await _client.PostAsync("/v2/models/delay-risk/infer", content);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        var risk = (await JsonOf(response)).GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.That(risk, Has.Length.EqualTo(rows));
        Assert.That(risk[^1], Is.EqualTo(_delay.Score(distances[^1], hours[^1])));
    }

    [Test]
    public async Task Infer_BodyInPiecesOverTheLimit_Answers413()
    {
        await StartAsync(new InferenceServerOptions { MaxRequestBytes = 100_000 });
        var body = InferenceJson.SerializeRequest(DelayRiskModel.Request("big", new float[30_000], new long[30_000]));
        var content = new PiecewiseContent(body, 8_000);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await _client.PostAsync("/v2/models/delay-risk/infer", content);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That(await ErrorOf(response), Does.Contain("100000"));
        Assert.That(_delay.Calls, Is.Zero);
    }

    [Test]
    public async Task Infer_ModelThrows_Answers500WithoutStackTrace()
    {
        await StartAsync();
        _delay.Failure = new InvalidOperationException("scorer table is empty");

        using var response = await _client.PostAsync("/v2/models/delay-risk/infer", Body(DelayRiskModel.Request("r", [1f], [1])));
        string text = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That(text, Does.Contain("scorer table is empty"));
        Assert.That(text, Does.Not.Contain(" at ").And.Not.Contain("InvalidOperationException"));
    }

    [Test]
    public async Task Infer_32ConcurrentRequests_AllAnswer200WithTheirIds()
    {
        await StartAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 32).Select(async i =>
        {
            using var response = await _client.PostAsync("/v2/models/delay-risk/infer", Body(DelayRiskModel.Request($"r{i}", [i * 100f], [i % 24])));
            return (i, response.StatusCode, Parsed: InferenceJson.ParseResponse(await response.Content.ReadAsByteArrayAsync()));
        }));

        Assert.That(responses.Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
        Assert.That(responses.Select(r => r.Parsed.Id), Is.EqualTo(Enumerable.Range(0, 32).Select(i => $"r{i}")));
        Assert.That(_delay.Calls, Is.EqualTo(32));
        Assert.That(State.InFlight, Is.Zero);
    }

    [Test]
    public async Task WrongMethod_Answers405()
    {
        await StartAsync();

        using var response = await _client.PostAsync("/v2/health/live", Json("{}"u8.ToArray()));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
    }

    // ---------------------------------------------------------------- graceful shutdown

    [Test]
    public async Task ApplicationStopping_ReadinessAnswers503WithRetryAfter_LivenessStays200()
    {
        await StartAsync();

        _app.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        using var ready = await _client.GetAsync("/v2/health/ready");
        using var modelReady = await _client.GetAsync("/v2/models/delay-risk/ready");
        using var live = await _client.GetAsync("/v2/health/live");
        using var unknown = await _client.GetAsync("/v2/models/nope/ready");

        Assert.That(State.IsStopping, Is.True);
        Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(ready.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That((await JsonOf(ready)).GetProperty("ready").GetBoolean(), Is.False);
        Assert.That(modelReady.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That((await JsonOf(modelReady)).GetProperty("name").GetString(), Is.EqualTo("delay-risk"));
        Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task StopAsync_WhileARequestIsInFlight_LetsItComplete()
    {
        await StartAsync();
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());

        var inFlight = _client.PostAsync("/v2/models/gated/infer", Body(DelayRiskModel.Request("last", [2500f], [9])));
        await _entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var stop = _app.StopAsync();
        await stopping.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.That(State.IsStopping, Is.True);
        Assert.That(State.InFlight, Is.EqualTo(1));
        Assert.That(stop.IsCompleted, Is.False);

        _release.SetResult();
        using var response = await inFlight.WaitAsync(TimeSpan.FromSeconds(30));
        await stop.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(InferenceJson.ParseResponse(await response.Content.ReadAsByteArrayAsync()).Id, Is.EqualTo("last"));
        Assert.That(State.InFlight, Is.Zero);
    }

}
