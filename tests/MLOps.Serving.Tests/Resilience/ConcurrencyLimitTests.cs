using System.Text.Json;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;
using MLOps.Serving.Tests.Models;

namespace MLOps.Serving.Tests.Resilience;

public class ConcurrencyLimitTests
{
    private DelayRiskModel _model = null!;
    private TaskCompletionSource _gate = null!;
    private TaskCompletionSource _twoHeld = null!;
    private int _held;
    private ServingFlow _graph = null!;

    [SetUp]
    public void SetUp()
    {
        _model = new DelayRiskModel("delay-risk", "1");
        _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _twoHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _held = 0;
        _graph = ServingGraph.Flow("gated")
            .To("gate", async (e, _, ct) =>
            {
                if (Interlocked.Increment(ref _held) == 2)
                    _twoHeld.TrySetResult();
                await _gate.Task.WaitAsync(ct);
                return e;
            })
            .To(new ModelStep(_model))
            .Build();
    }

    [TearDown]
    public async Task TearDown() => await _graph.DisposeAsync();

    private static InferenceRequest Request(string id) => DelayRiskModel.Request(id, [1000f], [8]);

    [Test]
    public async Task InferAsync_OverTheLimit_Answers503AtOnceAndSucceedsAfterRelease()
    {
        var server = _graph.ToMockServer(new InferenceServerOptions { MaxConcurrentRequests = 2, MaxQueuedRequests = 0 }, _model);
        await server.LoadAsync();

        var first = server.InferAsync("delay-risk", Request("a")).AsTask();
        var second = server.InferAsync("delay-risk", Request("b")).AsTask();
        await _twoHeld.Task;

        var busy = Assert.ThrowsAsync<ServingException>(async () => await server.InferAsync("delay-risk", Request("c")));
        Assert.That(busy!.StatusCode, Is.EqualTo(503));
        Assert.That(busy.Message, Does.Contain("server is busy"));

        _gate.SetResult();
        await Task.WhenAll(first, second);
        var after = await server.InferAsync("delay-risk", Request("d"));

        Assert.That(first.Result.Id, Is.EqualTo("a"));
        Assert.That(after.Id, Is.EqualTo("d"));
    }

    [Test]
    public async Task SendAsync_OverTheLimit_Answers503Json()
    {
        var server = _graph.ToMockServer(new InferenceServerOptions { MaxConcurrentRequests = 1 }, _model);
        await server.LoadAsync();
        _twoHeld.TrySetResult();

        var first = server.InferAsync("delay-risk", Request("a")).AsTask();
        var busy = await server.SendAsync("POST", "/v2/models/delay-risk/infer", InferenceJson.SerializeRequest(Request("b")));
        _gate.SetResult();
        await first;

        Assert.That(busy.StatusCode, Is.EqualTo(503));
        Assert.That(JsonDocument.Parse(busy.Body).RootElement.GetProperty("error").GetString(), Does.Contain("server is busy"));
    }

    [Test]
    public async Task InferAsync_WithQueue_WaitsForASlot()
    {
        var server = _graph.ToMockServer(new InferenceServerOptions { MaxConcurrentRequests = 1, MaxQueuedRequests = 1 }, _model);
        await server.LoadAsync();

        var first = server.InferAsync("delay-risk", Request("a")).AsTask();
        var queued = server.InferAsync("delay-risk", Request("b")).AsTask();
        var busy = Assert.ThrowsAsync<ServingException>(async () => await server.InferAsync("delay-risk", Request("c")));
        Assert.That(queued.IsCompleted, Is.False);
        _gate.SetResult();

        Assert.That((await queued).Id, Is.EqualTo("b"));
        Assert.That((await first).Id, Is.EqualTo("a"));
        Assert.That(busy!.StatusCode, Is.EqualTo(503));
    }

    [Test]
    public void Create_InvalidLimits_ThrowValidationException()
    {
        Assert.Throws<ValidationException>(() => _graph.ToMockServer(new InferenceServerOptions { MaxConcurrentRequests = 0 }, _model));
        Assert.Throws<ValidationException>(() => _graph.ToMockServer(new InferenceServerOptions { MaxConcurrentRequests = 1, MaxQueuedRequests = -1 }, _model));
    }

    [Test]
    public void Validate_SeveralProblems_ListsEveryOneAndCreateThrowsThemAll()
    {
        var options = new InferenceServerOptions { Name = " ", MaxRequestBytes = 0, MaxConcurrentRequests = -1, MaxQueuedRequests = -3, Extensions = ["ok", ""] };

        var errors = options.Validate();

        Assert.That(errors, Has.Count.EqualTo(5));
        Assert.That(errors, Has.One.Contain("InferenceServerOptions.Name is ' '"));
        Assert.That(errors, Has.One.Contain("InferenceServerOptions.Extensions[1] is ''"));
        Assert.That(errors, Has.One.Contain("InferenceServerOptions.MaxRequestBytes is 0").And.Contain("positive"));
        Assert.That(errors, Has.One.Contain("InferenceServerOptions.MaxConcurrentRequests is -1").And.Contain("null for none"));
        Assert.That(errors, Has.One.Contain("InferenceServerOptions.MaxQueuedRequests is -3").And.Contain("0 (the default) or more"));
        var e = Assert.Throws<ValidationException>(() => _graph.ToMockServer(options, _model));
        Assert.That(e!.Errors, Is.EqualTo(errors));
    }
}
