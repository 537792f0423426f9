using System.Text;
using System.Text.Json;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;
using MLOps.Serving.Tests.Models;

namespace MLOps.Serving.Tests.Hosting;

public class MockServerTests
{
    private DelayRiskModel _delay = null!;
    private DelayRiskModel _cancel = null!;
    private ServingRouter _graph = null!;
    private InferenceServer _server = null!;

    [SetUp]
    public void SetUp()
    {
        _delay = new DelayRiskModel("delay-risk", "1", peakBonus: 0.3f);
        _cancel = new DelayRiskModel("cancel-risk", null, peakBonus: 0.6f);
        _graph = ServingGraph.Router("flights").Route(new ModelStep(_delay)).Route(new ModelStep(_cancel)).Build();
        _server = _graph.ToMockServer(_delay, _cancel);
    }

    [TearDown]
    public async Task TearDown() => await _graph.DisposeAsync();

    private static byte[] Body(InferenceRequest request) => InferenceJson.SerializeRequest(request);

    private static JsonElement Json(InferenceHttpResponse response) => JsonDocument.Parse(response.Body).RootElement.Clone();

    private static string Error(InferenceHttpResponse response) => Json(response).GetProperty("error").GetString()!;

    private Task<InferenceHttpResponse> Infer(string path, InferenceRequest request) => _server.SendAsync("POST", path, Body(request)).AsTask();

    // ---------------------------------------------------------------- health and readiness

    [Test]
    public async Task SendAsync_HealthLive_Answers200Live()
    {
        var response = await _server.SendAsync("GET", "/v2/health/live");

        Assert.That(response.StatusCode, Is.EqualTo(200));
        Assert.That(Json(response).GetProperty("live").GetBoolean(), Is.True);
        Assert.That(_server.IsLive, Is.True);
    }

    [Test]
    public async Task SendAsync_HealthReady_Answers503BeforeLoadAnd200After()
    {
        var before = await _server.SendAsync("GET", "/v2/health/ready");
        await _server.LoadAsync();
        var after = await _server.SendAsync("GET", "/v2/health/ready");

        Assert.That(before.StatusCode, Is.EqualTo(503));
        Assert.That(Json(before).GetProperty("ready").GetBoolean(), Is.False);
        Assert.That(after.StatusCode, Is.EqualTo(200));
        Assert.That(Json(after).GetProperty("ready").GetBoolean(), Is.True);
        Assert.That(_server.IsReady, Is.True);
    }

    [Test]
    public async Task SendAsync_ModelReadyWhileLoading_Answers503UntilLoadCompletes()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slow = new DelayRiskModel("slow", "1", loadGate: gate);
        await using var graph = ServingGraph.Router("slow").Route(new ModelStep(slow)).Build();
        var server = graph.ToMockServer(slow);

        var loading = server.LoadAsync().AsTask();
        var during = await server.SendAsync("GET", "/v2/models/slow/ready");
        var inferDuring = await server.SendAsync("POST", "/v2/models/slow/infer", Body(DelayRiskModel.Request("r", [1f], [1])));
        gate.SetResult();
        await loading;
        var after = await server.SendAsync("GET", "/v2/models/slow/versions/1/ready");

        Assert.That(during.StatusCode, Is.EqualTo(503));
        Assert.That(Json(during).GetProperty("ready").GetBoolean(), Is.False);
        Assert.That(inferDuring.StatusCode, Is.EqualTo(503));
        Assert.That(Error(inferDuring), Does.Contain("'slow' is not ready"));
        Assert.That(after.StatusCode, Is.EqualTo(200));
        Assert.That(Json(after).GetProperty("name").GetString(), Is.EqualTo("slow"));
        Assert.That(Json(after).GetProperty("ready").GetBoolean(), Is.True);
        Assert.That(slow.Loads, Is.EqualTo(1));
    }

    [Test]
    public async Task IsModelReady_BeforeAndAfterLoad_FollowsModel()
    {
        Assert.That(_server.IsModelReady("delay-risk"), Is.False);
        Assert.That(_server.IsReady, Is.False);

        await _server.LoadAsync();

        Assert.That(_server.IsModelReady("delay-risk"), Is.True);
        Assert.That(_server.IsModelReady("delay-risk", "1"), Is.True);
        Assert.That(_server.IsModelReady("cancel-risk"), Is.True);
    }

    [Test]
    public async Task LoadAsync_ModelNotInGraph_LoadsIt()
    {
        var extra = new DelayRiskModel("extra");
        await using var graph = ServingGraph.Router("lambda").Route("extra", e => e.WithBody(new InferenceResponse { ModelName = "extra" })).Build();
        var server = graph.ToMockServer(extra);

        await server.LoadAsync();

        Assert.That(extra.IsReady, Is.True);
        Assert.That(server.IsReady, Is.True);
    }

    [Test]
    public async Task SendAsync_UnknownModelReady_Answers404()
    {
        var response = await _server.SendAsync("GET", "/v2/models/nope/ready");

        Assert.That(response.StatusCode, Is.EqualTo(404));
        Assert.That(Error(response), Does.Contain("'nope'").And.Contain("delay-risk, cancel-risk"));
    }

    // ---------------------------------------------------------------- metadata

    [Test]
    public async Task SendAsync_ServerMetadata_Answers200WithOptions()
    {
        var server = _graph.ToMockServer(new InferenceServerOptions { Name = "flights-server", Version = "2.1.0", Extensions = ["binary_tensor_data"] }, _delay);

        var response = await server.SendAsync("get", "/v2");

        Assert.That(response.StatusCode, Is.EqualTo(200));
        Assert.That(response.Text, Is.EqualTo("{\"name\":\"flights-server\",\"version\":\"2.1.0\",\"extensions\":[\"binary_tensor_data\"]}"));
        Assert.That(server.GetServerMetadata().Name, Is.EqualTo("flights-server"));
    }

    [Test]
    public async Task SendAsync_ModelList_Answers200WithEveryServedModel()
    {
        var response = await _server.SendAsync("GET", "/v2/models");
        var trailingSlash = await _server.SendAsync("GET", "/v2/models/");
        var post = await _server.SendAsync("POST", "/v2/models");

        Assert.That(response.StatusCode, Is.EqualTo(200));
        Assert.That(response.Text, Is.EqualTo("{\"models\":[\"delay-risk\",\"cancel-risk\"]}"));
        Assert.That(trailingSlash.Text, Is.EqualTo(response.Text));
        Assert.That(post.StatusCode, Is.EqualTo(405));
    }

    [Test]
    public async Task SendAsync_ModelMetadata_Answers200WithTensors()
    {
        var response = await _server.SendAsync("GET", "/v2/models/delay-risk");

        Assert.That(response.StatusCode, Is.EqualTo(200));
        var json = Json(response);
        Assert.That(json.GetProperty("name").GetString(), Is.EqualTo("delay-risk"));
        Assert.That(json.GetProperty("platform").GetString(), Is.EqualTo("custom"));
        Assert.That(json.GetProperty("versions")[0].GetString(), Is.EqualTo("1"));
        Assert.That(json.GetProperty("inputs")[0].GetProperty("datatype").GetString(), Is.EqualTo("FP32"));
        Assert.That(json.GetProperty("inputs")[1].GetProperty("datatype").GetString(), Is.EqualTo("INT64"));
        Assert.That(json.GetProperty("outputs")[0].GetProperty("name").GetString(), Is.EqualTo("risk"));
    }

    [Test]
    public async Task SendAsync_ModelMetadataWithVersion_Answers200()
    {
        var response = await _server.SendAsync("GET", "/v2/models/delay-risk/versions/1");

        Assert.That(response.StatusCode, Is.EqualTo(200));
        Assert.That(Json(response).GetProperty("name").GetString(), Is.EqualTo("delay-risk"));
    }

    [Test]
    public async Task SendAsync_UnknownVersion_Answers404NamingServedVersion()
    {
        var response = await _server.SendAsync("GET", "/v2/models/delay-risk/versions/7");

        Assert.That(response.StatusCode, Is.EqualTo(404));
        Assert.That(Error(response), Does.Contain("no version '7'").And.Contain("'1'"));
    }

    [Test]
    public async Task SendAsync_UnknownModelMetadata_Answers404()
    {
        var response = await _server.SendAsync("GET", "/v2/models/nope");

        Assert.That(response.StatusCode, Is.EqualTo(404));
        Assert.That(Error(response), Does.Contain("The model 'nope' is not served"));
    }

    [Test]
    public void GetModelMetadata_UnknownModelOrVersion_Throws404()
    {
        Assert.That(_server.GetModelMetadata("cancel-risk").Name, Is.EqualTo("cancel-risk"));
        Assert.That(Assert.Throws<ServingException>(() => _server.GetModelMetadata("nope"))!.StatusCode, Is.EqualTo(404));
        Assert.That(Assert.Throws<ServingException>(() => _server.GetModelMetadata("cancel-risk", "1"))!.StatusCode, Is.EqualTo(404));
        Assert.That(Assert.Throws<ServingException>(() => _server.IsModelReady("delay-risk", "2"))!.StatusCode, Is.EqualTo(404));
    }

    // ---------------------------------------------------------------- inference

    [Test]
    public async Task SendAsync_Infer_Answers200WithScoresAndEchoedId()
    {
        await _server.LoadAsync();

        var response = await Infer("/v2/models/delay-risk/infer", DelayRiskModel.Request("flight-42", [1000f, 4000f], [8, 18]));

        Assert.That(response.StatusCode, Is.EqualTo(200));
        var parsed = InferenceJson.ParseResponse(response.Body.Span);
        Assert.That(parsed.Id, Is.EqualTo("flight-42"));
        Assert.That(parsed.ModelName, Is.EqualTo("delay-risk"));
        Assert.That(parsed.ModelVersion, Is.EqualTo("1"));
        Assert.That(parsed.Outputs[0].Data.AsSingles().ToArray(), Is.EqualTo(new[] { _delay.Score(1000f, 8), _delay.Score(4000f, 18) }));
    }

    [Test]
    public async Task SendAsync_InferVersioned_Answers200()
    {
        await _server.LoadAsync();

        var response = await Infer("/v2/models/delay-risk/versions/1/infer", DelayRiskModel.Request("v", [1f], [1]));

        Assert.That(response.StatusCode, Is.EqualTo(200));
        Assert.That(InferenceJson.ParseResponse(response.Body.Span).Id, Is.EqualTo("v"));
    }

    [Test]
    public async Task SendAsync_InferTwoModels_RoutesByModelName()
    {
        await _server.LoadAsync();

        var delay = InferenceJson.ParseResponse((await Infer("/v2/models/delay-risk/infer", DelayRiskModel.Request("a", [1000f], [18]))).Body.Span);
        var cancel = InferenceJson.ParseResponse((await Infer("/v2/models/cancel-risk/infer", DelayRiskModel.Request("b", [1000f], [18]))).Body.Span);

        Assert.That(delay.ModelName, Is.EqualTo("delay-risk"));
        Assert.That(cancel.ModelName, Is.EqualTo("cancel-risk"));
        Assert.That(delay.Outputs[0].Data.AsSingles()[0], Is.EqualTo(_delay.Score(1000f, 18)));
        Assert.That(cancel.Outputs[0].Data.AsSingles()[0], Is.EqualTo(_cancel.Score(1000f, 18)));
        Assert.That(_delay.Calls, Is.EqualTo(1));
        Assert.That(_cancel.Calls, Is.EqualTo(1));
    }

    [Test]
    public async Task SendAsync_InferModelDropsId_IdStillEchoed()
    {
        await _server.LoadAsync();
        _delay.DropsId = true;

        var response = await Infer("/v2/models/delay-risk/infer", DelayRiskModel.Request("keep-me", [1f], [1]));

        Assert.That(InferenceJson.ParseResponse(response.Body.Span).Id, Is.EqualTo("keep-me"));
    }

    [Test]
    public async Task SendAsync_InferBeforeLoad_Answers503()
    {
        var response = await Infer("/v2/models/delay-risk/infer", DelayRiskModel.Request("r", [1f], [1]));

        Assert.That(response.StatusCode, Is.EqualTo(503));
        Assert.That(Error(response), Does.Contain("LoadAsync"));
        Assert.That(_delay.Calls, Is.Zero);
    }

    [Test]
    public async Task SendAsync_InferUnknownModel_Answers404()
    {
        await _server.LoadAsync();

        var response = await Infer("/v2/models/nope/infer", DelayRiskModel.Request("r", [1f], [1]));

        Assert.That(response.StatusCode, Is.EqualTo(404));
    }

    [Test]
    public async Task SendAsync_InferUnknownVersion_Answers404()
    {
        await _server.LoadAsync();

        var response = await Infer("/v2/models/cancel-risk/versions/3/infer", DelayRiskModel.Request("r", [1f], [1]));

        Assert.That(response.StatusCode, Is.EqualTo(404));
        Assert.That(Error(response), Does.Contain("no versions"));
    }

    [TestCase("{\"inputs\": [")]
    [TestCase("not json")]
    [TestCase("{\"id\": \"x\"}")]
    [TestCase("")]
    public async Task SendAsync_InferMalformedBody_Answers400(string body)
    {
        await _server.LoadAsync();

        var response = await _server.SendAsync("POST", "/v2/models/delay-risk/infer", Encoding.UTF8.GetBytes(body));

        Assert.That(response.StatusCode, Is.EqualTo(400));
        Assert.That(Error(response), Is.Not.Empty);
        Assert.That(_delay.Calls, Is.Zero);
    }

    [Test]
    public async Task SendAsync_InferMissingInput_Answers400FromModel()
    {
        await _server.LoadAsync();
        var request = new InferenceRequest { Id = "r", Inputs = [InferenceTensor.Singles("distance", [1f])] };

        var response = await Infer("/v2/models/delay-risk/infer", request);

        Assert.That(response.StatusCode, Is.EqualTo(400));
        Assert.That(Error(response), Is.EqualTo("The model 'delay-risk' needs an INT64 input 'hour'."));
    }

    [Test]
    public async Task SendAsync_InferModelThrows_Answers500WithoutStackTrace()
    {
        await _server.LoadAsync();
        _delay.Failure = new InvalidOperationException("scorer table is empty");

        var response = await Infer("/v2/models/delay-risk/infer", DelayRiskModel.Request("r", [1f], [1]));

        Assert.That(response.StatusCode, Is.EqualTo(500));
        Assert.That(response.Text, Is.EqualTo("{\"error\":\"model 'delay-risk' failed: scorer table is empty\"}"));
        Assert.That(Error(response), Does.Not.Contain(" at ").And.Not.Contain("InvalidOperationException"));
    }

    [Test]
    public async Task SendAsync_InferGraphAnswersNonResponse_Answers500()
    {
        var model = new DelayRiskModel("odd");
        await using var graph = ServingGraph.Router("odd").Route("odd", e => e.WithBody(42)).Build();
        var server = graph.ToMockServer(model);
        await server.LoadAsync();

        var response = await server.SendAsync("POST", "/v2/models/odd/infer", Body(DelayRiskModel.Request("r", [1f], [1])));

        Assert.That(response.StatusCode, Is.EqualTo(500));
        Assert.That(Error(response), Does.Contain("Int32").And.Contain("ModelStep"));
    }

    [Test]
    public async Task SendAsync_InferBodyOverLimit_Answers413()
    {
        var server = _graph.ToMockServer(new InferenceServerOptions { MaxRequestBytes = 16 }, _delay);
        await server.LoadAsync();

        var response = await server.SendAsync("POST", "/v2/models/delay-risk/infer", Body(DelayRiskModel.Request("r", [1f], [1])));

        Assert.That(response.StatusCode, Is.EqualTo(413));
    }

    // ---------------------------------------------------------------- paths and methods

    [TestCase("GET", "/v1/models/delay-risk")]
    [TestCase("GET", "/v2/health")]
    [TestCase("GET", "/v2/models/delay-risk/predict")]
    [TestCase("GET", "/v2/models/delay-risk/versions/1/ready/now")]
    [TestCase("GET", "")]
    public async Task SendAsync_UnknownPath_Answers404(string method, string path)
    {
        var response = await _server.SendAsync(method, path);

        Assert.That(response.StatusCode, Is.EqualTo(404));
        Assert.That(Error(response), Does.Contain("No Open Inference Protocol endpoint"));
    }

    [TestCase("POST", "/v2/health/live")]
    [TestCase("GET", "/v2/models/delay-risk/infer")]
    [TestCase("DELETE", "/v2/models/delay-risk")]
    public async Task SendAsync_WrongMethod_Answers405(string method, string path)
    {
        var response = await _server.SendAsync(method, path);

        Assert.That(response.StatusCode, Is.EqualTo(405));
    }

    [Test]
    public async Task SendAsync_QueryStringTrailingSlashAndEscapes_Ignored()
    {
        var escaped = await _server.SendAsync("GET", "/v2/models/delay%2Drisk/?verbose=1");

        Assert.That(escaped.StatusCode, Is.EqualTo(200));
        Assert.That(Json(escaped).GetProperty("name").GetString(), Is.EqualTo("delay-risk"));
    }

    // ---------------------------------------------------------------- in-process API

    [Test]
    public async Task InferAsync_16ConcurrentTasks_EachGetsItsOwnAnswer()
    {
        await _server.LoadAsync();

        var tasks = Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            var model = i % 2 == 0 ? "delay-risk" : "cancel-risk";
            var response = await _server.InferAsync(model, DelayRiskModel.Request($"req-{i}", [i * 100f], [i]));
            return (i, model, response);
        })).ToArray();
        var results = await Task.WhenAll(tasks);

        foreach (var (i, model, response) in results)
        {
            var expected = (model == "delay-risk" ? _delay : _cancel).Score(i * 100f, i);
            Assert.That(response.Id, Is.EqualTo($"req-{i}"));
            Assert.That(response.ModelName, Is.EqualTo(model));
            Assert.That(response.Outputs[0].Data.AsSingles()[0], Is.EqualTo(expected));
        }
        Assert.That(_delay.Calls + _cancel.Calls, Is.EqualTo(16));
    }

    [Test]
    public void InferAsync_NotReady_Throws503()
    {
        var e = Assert.ThrowsAsync<ServingException>(async () => await _server.InferAsync("delay-risk", DelayRiskModel.Request("r", [1f], [1])));

        Assert.That(e!.StatusCode, Is.EqualTo(503));
    }

    [Test]
    public void Create_DuplicateModelNames_ThrowsListingName()
    {
        var e = Assert.Throws<ValidationException>(() => InferenceServer.Create(_graph, _delay, new DelayRiskModel("delay-risk")));

        Assert.That(e!.Message, Does.Contain("'delay-risk' is used by 2 models"));
    }
}
