using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;
using MLOps.Serving.Tests.Models;

namespace MLOps.Serving.Tests.Hosting;

public class InferenceObserverTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    private FakeTimeProvider _time = null!;
    private DelayRiskModel _delay = null!;
    private ServingRouter _graph = null!;
    private InferenceServer _server = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(T0);
        _delay = new DelayRiskModel("delay-risk", "1");
        var timed = new ClockModel(_delay, _time, TimeSpan.FromMilliseconds(25));
        _graph = ServingGraph.Router("flights").Route(new ModelStep(timed)).Build();
        _server = _graph.ToMockServer(new InferenceServerOptions { TimeProvider = _time }, timed);
    }

    [TearDown]
    public async Task TearDown() => await _graph.DisposeAsync();

    private static InferenceRequest Request(string? id) => DelayRiskModel.Request(id, [500f, 1200f], [8, 18]);

    [Test]
    public async Task InferAsync_Success_PublishesRecordWithIdModelVersionAndLatency()
    {
        await _server.LoadAsync();
        var observer = new Recorder();
        using var subscription = _server.Subscribe(observer);
        var request = Request("r-1");

        var response = await _server.InferAsync("delay-risk", request);

        var record = observer.Records.Single();
        Assert.That(record.RequestId, Is.EqualTo("r-1"));
        Assert.That(record.Model, Is.EqualTo("delay-risk"));
        Assert.That(record.ModelVersion, Is.EqualTo("1"));
        Assert.That(record.Started, Is.EqualTo(T0));
        Assert.That(record.Latency, Is.EqualTo(TimeSpan.FromMilliseconds(25)));
        Assert.That(record.Request, Is.SameAs(request));
        Assert.That(record.Response, Is.SameAs(response));
        Assert.That(record.StatusCode, Is.EqualTo(200));
        Assert.That(record.IsSuccess, Is.True);
        Assert.That(record.Error, Is.Null);
    }

    [Test]
    public async Task InferAsync_RequestWithoutId_RecordCarriesTheGeneratedEventId()
    {
        await _server.LoadAsync();
        var observer = new Recorder();
        using var subscription = _server.Subscribe(observer);

        await _server.InferAsync("delay-risk", Request(null));
        await _server.InferAsync("delay-risk", Request(null));

        var ids = observer.Records.Select(r => r.RequestId).ToList();
        Assert.That(ids, Has.All.Not.Null.And.All.Not.Empty);
        Assert.That(ids[0], Is.Not.EqualTo(ids[1]));
    }

    [Test]
    public async Task SendAsync_Success_PublishesRecord()
    {
        await _server.LoadAsync();
        var observer = new Recorder();
        using var subscription = _server.Subscribe(observer);

        var response = await _server.SendAsync("POST", "/v2/models/delay-risk/versions/1/infer", InferenceJson.SerializeRequest(Request("s-1")));

        Assert.That(response.StatusCode, Is.EqualTo(200));
        var record = observer.Records.Single();
        Assert.That(record.RequestId, Is.EqualTo("s-1"));
        Assert.That(record.ModelVersion, Is.EqualTo("1"));
        Assert.That(record.Request!.Id, Is.EqualTo("s-1"));
        Assert.That(record.Response!.Outputs[0].Name, Is.EqualTo("risk"));
        Assert.That(record.Latency, Is.EqualTo(TimeSpan.FromMilliseconds(25)));
    }

    [Test]
    public async Task InferAsync_Errors_PublishRecordsWithStatusCodes()
    {
        var observer = new Recorder();
        using var subscription = _server.Subscribe(observer);

        Assert.ThrowsAsync<ServingException>(async () => await _server.InferAsync("delay-risk", Request("not-ready")));
        await _server.LoadAsync();
        Assert.ThrowsAsync<ServingException>(async () => await _server.InferAsync("nope", Request("unknown")));
        Assert.ThrowsAsync<ServingException>(async () => await _server.InferAsync("delay-risk", new InferenceRequest { Id = "bad", Inputs = [] }));
        _delay.Failure = new InvalidOperationException("boom");
        Assert.ThrowsAsync<ServingException>(async () => await _server.InferAsync("delay-risk", Request("fails")));

        Assert.That(observer.Records.Select(r => (r.RequestId, r.StatusCode)), Is.EqualTo(new[]
        {
            ((string?)"not-ready", 503), ("unknown", 404), ("bad", 400), ("fails", 500),
        }));
        Assert.That(observer.Records.Select(r => r.Model), Is.EqualTo(new[] { "delay-risk", "nope", "delay-risk", "delay-risk" }));
        Assert.That(observer.Records.All(r => r.Response is null && r.Error is not null && !r.IsSuccess), Is.True);
        Assert.That(observer.Records[3].Error, Does.Contain("boom"));
    }

    [Test]
    public async Task SendAsync_Errors_PublishRecordsWithStatusCodes()
    {
        await _server.LoadAsync();
        var observer = new Recorder();
        using var subscription = _server.Subscribe(observer);

        var unknown = await _server.SendAsync("POST", "/v2/models/nope/infer", InferenceJson.SerializeRequest(Request("u")));
        var malformed = await _server.SendAsync("POST", "/v2/models/delay-risk/infer", "{not json"u8.ToArray());
        _delay.Failure = new InvalidOperationException("boom");
        var failed = await _server.SendAsync("POST", "/v2/models/delay-risk/infer", InferenceJson.SerializeRequest(Request("f")));
        var health = await _server.SendAsync("GET", "/v2/health/ready");

        Assert.That(new[] { unknown.StatusCode, malformed.StatusCode, failed.StatusCode, health.StatusCode }, Is.EqualTo(new[] { 404, 400, 500, 200 }));
        Assert.That(observer.Records.Select(r => r.StatusCode), Is.EqualTo(new[] { 404, 400, 500 }));
        Assert.That(observer.Records[1].Request, Is.Null);
        Assert.That(observer.Records[2].RequestId, Is.EqualTo("f"));
        Assert.That(observer.Records[2].Request!.Id, Is.EqualTo("f"));
    }

    [Test]
    public async Task ThrowingObserver_IsIsolated_ResponseAndOtherObserversUnaffected()
    {
        await _server.LoadAsync();
        var observer = new Recorder();
        using var bad = _server.Subscribe(new Throwing());
        using var good = _server.Subscribe(observer);

        var response = await _server.InferAsync("delay-risk", Request("t-1"));
        var sent = await _server.SendAsync("POST", "/v2/models/delay-risk/infer", InferenceJson.SerializeRequest(Request("t-2")));

        Assert.That(response.Id, Is.EqualTo("t-1"));
        Assert.That(sent.StatusCode, Is.EqualTo(200));
        Assert.That(observer.Records.Select(r => r.RequestId), Is.EqualTo(new[] { "t-1", "t-2" }));
    }

    [Test]
    public async Task Unsubscribe_StopsDelivery_AndIsIdempotent()
    {
        await _server.LoadAsync();
        var first = new Recorder();
        var second = new Recorder();
        var subscription = _server.Subscribe(first);
        using var other = _server.Subscribe(second);

        await _server.InferAsync("delay-risk", Request("a"));
        subscription.Dispose();
        subscription.Dispose();
        await _server.InferAsync("delay-risk", Request("b"));

        Assert.That(first.Records.Select(r => r.RequestId), Is.EqualTo(new[] { "a" }));
        Assert.That(second.Records.Select(r => r.RequestId), Is.EqualTo(new[] { "a", "b" }));
    }

    [Test]
    public async Task EnrichingGraph_RecordCarriesTheRequestTheModelReceived()
    {
        var model = new DelayRiskModel("delay-risk", "1");
        var enriched = Request("e-1");
        await using var graph = ServingGraph.Flow("enrich")
            .To("enrich", e => e.WithBody(enriched))
            .To(new ModelStep(model))
            .Build();
        var server = graph.ToMockServer(model);
        await server.LoadAsync();
        var observer = new Recorder();
        using var subscription = server.Subscribe(observer);
        var incoming = DelayRiskModel.Request("e-1", [1f], [1]);

        await server.InferAsync("delay-risk", incoming);

        Assert.That(observer.Records.Single().Request, Is.SameAs(enriched));
    }

    [Test]
    public async Task ConcurrentRequests_EachPublishOneRecord()
    {
        await _server.LoadAsync();
        var observer = new Recorder();
        using var subscription = _server.Subscribe(observer);

        await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            if (i % 2 == 0)
                await _server.InferAsync("delay-risk", Request($"c-{i}"));
            else
                await _server.SendAsync("POST", "/v2/models/delay-risk/infer", InferenceJson.SerializeRequest(Request($"c-{i}")));
        })));

        Assert.That(observer.Records.Select(r => r.RequestId).Order(), Is.EquivalentTo(Enumerable.Range(0, 16).Select(i => $"c-{i}")));
        Assert.That(observer.Records.All(r => r.StatusCode == 200), Is.True);
    }

    [Test]
    public void Create_NullTimeProvider_Throws()
        => Assert.Throws<ValidationException>(() => _graph.ToMockServer(new InferenceServerOptions { TimeProvider = null! }, _delay));

    [Test]
    public async Task InferAsync_ModelUpgradedWhileTheRequestRan_RecordCarriesTheVersionThatAnswered()
    {
        var upgrading = new UpgradingModel(_delay);
        await using var graph = ServingGraph.Router("upgrade").Route(new ModelStep(upgrading)).Build();
        var server = graph.ToMockServer(new InferenceServerOptions { TimeProvider = _time }, upgrading);
        await server.LoadAsync();
        var observer = new Recorder();
        using var subscription = server.Subscribe(observer);

        var response = await server.InferAsync("delay-risk", Request("r-up"));

        Assert.That(response.ModelVersion, Is.EqualTo("1"));
        Assert.That(upgrading.Version, Is.EqualTo("2"), "the model was upgraded before the request finished");
        Assert.That(observer.Records.Single().ModelVersion, Is.EqualTo("1"));
    }

    [Test]
    public void Subscribe_Null_Throws()
        => Assert.Throws<ArgumentNullException>(() => _server.Subscribe(null!));

    private sealed class Recorder : IInferenceObserver
    {
        private readonly ConcurrentQueue<InferenceRecord> _records = new();

        public IReadOnlyList<InferenceRecord> Records => [.. _records];

        public void OnInference(InferenceRecord record) => _records.Enqueue(record);
    }

    private sealed class Throwing : IInferenceObserver
    {
        public void OnInference(InferenceRecord record) => throw new InvalidOperationException("observer bug");
    }

    /// <summary>Wraps a model whose served version moves to "2" while a request is answered by version "1" (a refresh in flight).</summary>
    private sealed class UpgradingModel(IInferenceModel inner) : IInferenceModel
    {
        private volatile string _version = "1";

        public string Name => inner.Name;

        public string? Version => _version;

        public ModelMetadata Metadata => inner.Metadata;

        public bool IsReady => inner.IsReady;

        public ValueTask LoadAsync(CancellationToken cancellationToken) => inner.LoadAsync(cancellationToken);

        public async ValueTask<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken)
        {
            var response = await inner.InferAsync(request, cancellationToken);
            _version = "2";
            return response;
        }
    }

    /// <summary>Wraps a model and advances the fake clock while it infers, so the latency is known.</summary>
    private sealed class ClockModel(IInferenceModel inner, FakeTimeProvider time, TimeSpan takes) : IInferenceModel
    {
        public string Name => inner.Name;

        public string? Version => inner.Version;

        public ModelMetadata Metadata => inner.Metadata;

        public bool IsReady => inner.IsReady;

        public ValueTask LoadAsync(CancellationToken cancellationToken) => inner.LoadAsync(cancellationToken);

        public ValueTask<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken)
        {
            time.Advance(takes);
            return inner.InferAsync(request, cancellationToken);
        }
    }
}
