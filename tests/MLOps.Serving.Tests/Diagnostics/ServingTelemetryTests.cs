using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;
using MLOps.Serving.Resilience;
using MLOps.Serving.Tests.Models;
using MLOps.Serving.Tests.TestSupport;

namespace MLOps.Serving.Tests.Diagnostics;

/// <summary>One test per serving signal: spans, instruments, log messages and the readiness health check. Every test
/// uses a graph and model named for itself and filters the signals by that name, so parallel tests do not interfere.</summary>
public class ServingTelemetryTests
{
    private string _graphName = null!;
    private DelayRiskModel _model = null!;
    private ServingFlow _graph = null!;

    [SetUp]
    public void SetUp()
    {
        string id = Guid.NewGuid().ToString("N")[..12];
        _graphName = $"telemetry-{id}";
        _model = new DelayRiskModel($"delay-{id}", "7");
        _graph = ServingGraph.Flow(_graphName).To(new ModelStep(_model)).Build();
    }

    [TearDown]
    public async Task TearDown() => await _graph.DisposeAsync();

    private static InferenceRequest Request(string id = "r1") => DelayRiskModel.Request(id, [1200f], [9]);

    /// <summary>Starts an activity listener that keeps the stopped spans of the serving source.</summary>
    private static ActivityListener Listen(ConcurrentQueue<Activity> stopped)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ServingDiagnostics.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    private List<Activity> Mine(ConcurrentQueue<Activity> stopped)
        => [.. stopped.Where(a => Equals(a.GetTagItem("mlops.serving.graph"), _graphName))];

    [Test]
    public async Task InferAsync_WithAListener_EmitsAnInferenceSpanWithTheModelStepAsItsChild()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = Listen(stopped);
        var server = _graph.ToMockServer(_model);
        await server.LoadAsync();

        await server.InferAsync(_model.Name, Request());

        var spans = Mine(stopped);
        var inference = spans.Single(a => a.OperationName == "mlops.serving.inference");
        var step = spans.Single(a => a.OperationName == "mlops.serving.step");
        Assert.That(inference.Kind, Is.EqualTo(ActivityKind.Internal));
        Assert.That(inference.GetTagItem("mlops.serving.path"), Is.EqualTo(_model.Name));
        Assert.That(step.ParentSpanId, Is.EqualTo(inference.SpanId));
        Assert.That(step.GetTagItem("mlops.model.name"), Is.EqualTo(_model.Name));
        Assert.That(step.GetTagItem("mlops.model.version"), Is.EqualTo("7"));
        Assert.That(inference.Status, Is.EqualTo(ActivityStatusCode.Unset));
    }

    [Test]
    public async Task InferAsync_ModelThrows_SpansHaveErrorStatusAndTheException()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = Listen(stopped);
        var server = _graph.ToMockServer(_model);
        await server.LoadAsync();
        _model.Failure = new InvalidOperationException("scorer table is empty");

        Assert.ThrowsAsync<ServingException>(async () => await server.InferAsync(_model.Name, Request()));

        var spans = Mine(stopped);
        Assert.That(spans.Select(a => a.OperationName), Is.EquivalentTo(new[] { "mlops.serving.inference", "mlops.serving.step" }));
        Assert.That(spans.Select(a => a.Status), Is.All.EqualTo(ActivityStatusCode.Error));
        Assert.That(spans.SelectMany(a => a.Events).Select(e => e.Name), Is.All.EqualTo("exception"));
    }

    [Test]
    public async Task InferAsync_WithAMeterListener_CountsAndTimesEachInferencePerModelAndVersion()
    {
        using var measurements = new ServingMeasurements(_graphName);
        var server = _graph.ToMockServer(_model);
        await server.LoadAsync();

        await server.InferAsync(_model.Name, Request("a"));
        await server.SendAsync("POST", $"/v2/models/{_model.Name}/infer", InferenceJson.SerializeRequest(Request("b")));

        var count = measurements.Of("mlops.serving.inference.count");
        var duration = measurements.Of("mlops.serving.inference.duration");
        Assert.That(count.Sum(m => m.Value), Is.EqualTo(2));
        Assert.That(count.Select(m => m.Tags["mlops.model.name"]), Is.All.EqualTo(_model.Name));
        Assert.That(count.Select(m => m.Tags["mlops.model.version"]), Is.All.EqualTo("7"));
        Assert.That(duration, Has.Count.EqualTo(2));
        Assert.That(duration.Select(m => m.Value), Is.All.GreaterThanOrEqualTo(0));
        Assert.That(measurements.Of("mlops.serving.inference.errors"), Is.Empty);
    }

    [Test]
    public async Task SendAsync_BadBodyAndFailingModel_CountErrorsWithTheirErrorType()
    {
        using var measurements = new ServingMeasurements(_graphName);
        var server = _graph.ToMockServer(_model);
        await server.LoadAsync();

        var bad = await server.SendAsync("POST", $"/v2/models/{_model.Name}/infer", "{\"inputs\": 3}"u8.ToArray());
        _model.Failure = new InvalidOperationException("scorer table is empty");
        var failed = await server.SendAsync("POST", $"/v2/models/{_model.Name}/infer", InferenceJson.SerializeRequest(Request()));

        Assert.That((bad.StatusCode, failed.StatusCode), Is.EqualTo((400, 500)));
        var errors = measurements.Of("mlops.serving.inference.errors");
        Assert.That(errors.Select(m => m.Tags["error.type"]), Is.EquivalentTo(new[] { "400", "500" }));
        Assert.That(measurements.Of("mlops.serving.inference.count").Sum(m => m.Value), Is.EqualTo(2));
    }

    [Test]
    public async Task InferenceServer_WithAMeterFactory_RecordsOnTheFactorysMeter()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var scopes = new ConcurrentQueue<object?>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == ServingDiagnostics.MeterName && instrument.Name == "mlops.serving.inference.count")
                    l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "mlops.serving.graph" && Equals(tag.Value, _graphName))
                    scopes.Enqueue(instrument.Meter.Scope);
            }
        });
        listener.Start();
        var server = _graph.ToMockServer(new InferenceServerOptions { MeterFactory = factory }, _model);
        await server.LoadAsync();

        await server.InferAsync(_model.Name, Request());

        Assert.That(scopes, Has.Count.EqualTo(1));
        Assert.That(scopes.Single(), Is.SameAs(factory));
    }

    [Test]
    public async Task SendAsync_ModelThrows_LogsThe500WithItsException()
    {
        using var logs = new CapturingLoggerProvider();
        var server = _graph.ToMockServer(new InferenceServerOptions { LoggerFactory = logs }, _model);
        await server.LoadAsync();
        _model.Failure = new InvalidOperationException("scorer table is empty");

        var answer = await server.SendAsync("POST", $"/v2/models/{_model.Name}/infer", InferenceJson.SerializeRequest(Request()));
        var notFound = await server.SendAsync("GET", "/v2/models/nobody");

        Assert.That((answer.StatusCode, notFound.StatusCode), Is.EqualTo((500, 404)));
        var entry = logs.Entries.Single();
        Assert.That(entry.Level, Is.EqualTo(LogLevel.Error));
        Assert.That(entry.Category, Is.EqualTo("MLOps.Serving.InferenceServer"));
        Assert.That(entry.Exception, Is.InstanceOf<ServingException>().Or.InstanceOf<InvalidOperationException>());
        Assert.That(entry.Message, Does.Contain("500").And.Contain(_model.Name).And.Contain("scorer table is empty"));
    }

    [Test]
    public async Task SendAsync_ModelNotLoaded_LogsThe503AsAWarning()
    {
        using var logs = new CapturingLoggerProvider();
        var server = _graph.ToMockServer(new InferenceServerOptions { LoggerFactory = logs }, _model);

        var answer = await server.SendAsync("POST", $"/v2/models/{_model.Name}/infer", InferenceJson.SerializeRequest(Request()));

        Assert.That(answer.StatusCode, Is.EqualTo(503));
        var entry = logs.Entries.Single();
        Assert.That(entry.Level, Is.EqualTo(LogLevel.Warning));
        Assert.That(entry.Exception, Is.InstanceOf<ServingException>());
        Assert.That(entry.Message, Does.Contain("503").And.Contain("not ready"));
    }

    [Test]
    public async Task MapServingGraph_HostLoggerFactory_LogsA5xxOverHttp()
    {
        using var logs = new CapturingLoggerProvider();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Services.AddServing(_graph, _model);
        await using var app = builder.Build();
        app.MapServingGraph();
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
        _model.Failure = new InvalidOperationException("scorer table is empty");

        using var response = await client.PostAsync($"/v2/models/{_model.Name}/infer", new ByteArrayContent(InferenceJson.SerializeRequest(Request())));
        await app.StopAsync();

        Assert.That((int)response.StatusCode, Is.EqualTo(500));
        var entry = logs.Entries.Single(e => e.Category == "MLOps.Serving.InferenceServer");
        Assert.That(entry.Level, Is.EqualTo(LogLevel.Error));
        Assert.That(entry.Exception, Is.Not.Null);
    }

    [Test]
    public async Task Subscribe_ObserverThrows_CountsADroppedRecordAndLogsIt()
    {
        using var measurements = new ServingMeasurements(_graphName);
        using var logs = new CapturingLoggerProvider();
        var server = _graph.ToMockServer(new InferenceServerOptions { LoggerFactory = logs }, _model);
        await server.LoadAsync();
        using var subscription = server.Subscribe(new ThrowingObserver());

        var response = await server.InferAsync(_model.Name, Request());

        Assert.That(response.Id, Is.EqualTo("r1"));
        var dropped = measurements.Of("mlops.serving.capture.dropped");
        Assert.That(dropped.Sum(m => m.Value), Is.EqualTo(1));
        Assert.That(dropped.Single().Tags["mlops.serving.observer"], Is.EqualTo(nameof(ThrowingObserver)));
        Assert.That(logs.Entries.Single().Exception?.Message, Is.EqualTo("observer is full"));
    }

    [Test]
    public async Task ResilientStep_Retries_LogsEachRetryWithTheFailure()
    {
        using var logs = new CapturingLoggerProvider();
        int attempts = 0;
        var step = ServingStep.Create("remote", e =>
        {
            if (Interlocked.Increment(ref attempts) < 3)
                throw new HttpRequestException("connection reset");
            return e;
        }).WithResilience(new StepResilienceOptions { MaxRetryAttempts = 3, RetryDelay = TimeSpan.Zero, LoggerFactory = logs });

        await step.ProcessAsync(new ServingEvent("x"), new StepContext("graph", "remote"), CancellationToken.None);

        var retries = logs.Entries.Where(e => e.EventId.Name == "StepRetry").ToList();
        Assert.That(retries, Has.Count.EqualTo(2));
        Assert.That(retries.Select(e => e.Level), Is.All.EqualTo(LogLevel.Warning));
        Assert.That(retries.Select(e => e.Exception?.Message), Is.All.EqualTo("connection reset"));
        Assert.That(retries.Select(e => e.Message), Has.Some.Contain("attempt 2"));
    }

    [Test]
    public async Task ResilientStep_CircuitOpensHalfOpensAndCloses_LogsEachStateChange()
    {
        using var logs = new CapturingLoggerProvider();
        var time = new FakeTimeProvider();
        bool failing = true;
        var step = ServingStep.Create("remote", e => Volatile.Read(ref failing) ? throw new HttpRequestException("down") : e)
            .WithResilience(new StepResilienceOptions
            {
                CircuitBreaker = new StepCircuitBreakerOptions { FailureRatio = 0.5, MinimumThroughput = 2, SamplingDuration = TimeSpan.FromSeconds(10), BreakDuration = TimeSpan.FromSeconds(30) },
                TimeProvider = time,
                LoggerFactory = logs,
            });
        var context = new StepContext("graph", "remote");

        for (int i = 0; i < 2; i++)
            Assert.ThrowsAsync<HttpRequestException>(async () => await step.ProcessAsync(new ServingEvent("x"), context, CancellationToken.None));
        failing = false;
        time.Advance(TimeSpan.FromSeconds(30));
        await step.ProcessAsync(new ServingEvent("x"), context, CancellationToken.None);

        var states = logs.Entries.Where(e => e.EventId.Name is "CircuitOpened" or "CircuitStateChanged").Select(e => e.Message).ToList();
        Assert.That(states, Has.Count.EqualTo(3));
        Assert.That(states[0], Does.Contain("opened for 30000 ms"));
        Assert.That(states[1], Does.Contain("half-open"));
        Assert.That(states[2], Does.Contain("closed"));
        Assert.That(logs.Entries.First(e => e.EventId.Name == "CircuitOpened").Exception?.Message, Is.EqualTo("down"));
    }

    [Test]
    public async Task ModelReadinessHealthCheck_BeforeAndAfterLoad_IsUnhealthyThenHealthy()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slow = new DelayRiskModel($"{_model.Name}-slow", null, loadGate: gate);
        await using var graph = ServingGraph.Router(_graphName + "-router").Route(new ModelStep(_model)).Route(new ModelStep(slow)).Build();
        var server = graph.ToMockServer(_model, slow);
        await using var services = new ServiceCollection().AddLogging().AddSingleton(server)
            .AddHealthChecks().AddServingReadiness(tags: ["ready"]).Services.BuildServiceProvider();
        var health = services.GetRequiredService<HealthCheckService>();

        var before = await health.CheckHealthAsync();
        var loading = server.LoadAsync().AsTask();
        gate.SetResult();
        await loading;
        var after = await health.CheckHealthAsync();

        Assert.That(before.Status, Is.EqualTo(HealthStatus.Unhealthy));
        var entry = before.Entries[ServingHealthChecksBuilderExtensions.DefaultName];
        Assert.That(entry.Description, Does.Contain(slow.Name));
        Assert.That(entry.Tags, Is.EquivalentTo(new[] { "ready" }));
        Assert.That(after.Status, Is.EqualTo(HealthStatus.Healthy));
        Assert.That(after.Entries[ServingHealthChecksBuilderExtensions.DefaultName].Data[$"{_model.Name}:7"], Is.EqualTo(true));
    }

    private sealed class ThrowingObserver : IInferenceObserver
    {
        public void OnInference(InferenceRecord record) => throw new InvalidOperationException("observer is full");
    }
}
