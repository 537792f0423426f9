using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;
using MLOps.Serving.Tests.Models;

namespace MLOps.Serving.Tests.Hosting;

/// <summary><c>POST /v2/models/{name}/explain</c> (MLRun's extension) and <see cref="InferenceServer.ExplainAsync"/>.</summary>
public class ExplainTests
{
    private sealed class Recorder : IInferenceObserver
    {
        public ConcurrentQueue<InferenceRecord> Records { get; } = new();

        public void OnInference(InferenceRecord record) => Records.Enqueue(record);
    }

    private DelayRiskModel _scorer = null!;
    private ExplainableRiskModel _explainable = null!;
    private DelayRiskModel _plain = null!;
    private ServingRouter _graph = null!;
    private InferenceServer _server = null!;

    [SetUp]
    public async Task SetUp()
    {
        _scorer = new DelayRiskModel("delay-risk", "1", peakBonus: 0.3f);
        _explainable = new ExplainableRiskModel(_scorer);
        _plain = new DelayRiskModel("cancel-risk", null);
        _graph = ServingGraph.Router("flights").Route(new ModelStep(_explainable)).Route(new ModelStep(_plain)).Build();
        _server = _graph.ToMockServer(_explainable, _plain);
        await _server.LoadAsync();
    }

    [TearDown]
    public async Task TearDown() => await _graph.DisposeAsync();

    private static byte[] Body() => InferenceJson.SerializeRequest(DelayRiskModel.Request("e-1", [1000f, 2500f], [9, 18]));

    private static JsonElement Json(InferenceHttpResponse response) => JsonDocument.Parse(response.Body).RootElement.Clone();

    [Test]
    public async Task SendAsync_ExplainOnExplainableModel_Answers200WithAttributions()
    {
        var response = await _server.SendAsync("POST", "/v2/models/delay-risk/explain", Body());

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Text);
        var json = Json(response);
        Assert.That(json.GetProperty("id").GetString(), Is.EqualTo("e-1"));
        Assert.That(json.GetProperty("model_name").GetString(), Is.EqualTo("delay-risk"));
        var output = json.GetProperty("outputs")[0];
        Assert.That(output.GetProperty("name").GetString(), Is.EqualTo("attribution"));
        Assert.That(output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), Is.EqualTo(new long[] { 2, 2 }));
        var data = output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.That(data, Is.EqualTo(new[] { 0.2f, 0f, 0.5f, 0.3f }).Within(1e-6f));
        Assert.That(_scorer.Calls, Is.Zero, "explaining must not run a prediction");
    }

    [Test]
    public async Task SendAsync_ExplainOnVersionPath_Answers200()
    {
        var response = await _server.SendAsync("POST", "/v2/models/delay-risk/versions/1/explain", Body());

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Text);
    }

    [Test]
    public async Task SendAsync_ExplainOnModelThatCannotExplain_Answers404NamingIt()
    {
        var response = await _server.SendAsync("POST", "/v2/models/cancel-risk/explain", Body());

        Assert.That(response.StatusCode, Is.EqualTo(404));
        Assert.That(Json(response).GetProperty("error").GetString(), Does.Contain("'cancel-risk'").And.Contain("IExplainableModel"));
        Assert.That(_plain.Calls, Is.Zero);
    }

    [Test]
    public async Task SendAsync_GetExplain_Answers405()
    {
        var response = await _server.SendAsync("GET", "/v2/models/delay-risk/explain");

        Assert.That(response.StatusCode, Is.EqualTo(405));
    }

    [Test]
    public async Task ExplainAsync_MissingInput_Answers400FromTheModel()
    {
        var request = new InferenceRequest { Inputs = [InferenceTensor.Singles("distance", [1000f])] };

        var ex = Assert.ThrowsAsync<ServingException>(async () => await _server.ExplainAsync("delay-risk", request));

        Assert.That(ex!.StatusCode, Is.EqualTo(400));
    }

    [Test]
    public async Task ExplainAsync_FlowWithEnrichment_ExplainsTheEnrichedRequest()
    {
        // A pre-processing step adds the "hour" tensor the caller did not send, as a feature-enrichment step would.
        var addHour = ServingStep.Create("add-hour", e =>
        {
            var request = (InferenceRequest)e.Body!;
            return e.WithBody(new InferenceRequest { Id = request.Id, Inputs = [.. request.Inputs, InferenceTensor.Int64("hour", [18])] });
        });
        await using var flow = ServingGraph.Flow("delay-risk").To(addHour).To(new ModelStep(_explainable)).Build();
        var server = flow.ToMockServer(_explainable);
        await server.LoadAsync();

        var response = await server.ExplainAsync("delay-risk", new InferenceRequest { Id = "x", Inputs = [InferenceTensor.Singles("distance", [1000f])] });

        Assert.That(response.Id, Is.EqualTo("x"));
        Assert.That(response.Outputs[0].Data.AsSingles().ToArray(), Is.EqualTo(new[] { 0.2f, 0.3f }).Within(1e-6f));
    }

    [Test]
    public async Task ExplainAsync_WithObserver_PublishesNoInferenceRecord()
    {
        var recorder = new Recorder();
        using var subscription = _server.Subscribe(recorder);

        await _server.ExplainAsync("delay-risk", DelayRiskModel.Request("e", [1000f], [9]));
        await _server.InferAsync("delay-risk", DelayRiskModel.Request("i", [1000f], [9]));

        Assert.That(recorder.Records.Select(r => r.RequestId), Is.EqualTo(new[] { "i" }));
        Assert.That(_explainable.Explanations, Is.EqualTo(1));
    }

    [Test]
    public async Task PostExplain_OverKestrel_Answers200()
    {
        await using var host = await _server.StartHttpAsync();
        using var client = host.CreateClient();
        using var content = new ByteArrayContent(Body());
        content.Headers.ContentType = new("application/json");

        using var response = await client.PostAsync("/v2/models/delay-risk/explain", content);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.That(json.GetProperty("outputs")[0].GetProperty("name").GetString(), Is.EqualTo("attribution"));
    }
}
