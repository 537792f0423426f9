using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MLOps.Runs;

namespace MLOps.Core.Tests.Observability;

/// <summary>Each of Core's signals (spans, meters, logs, health check) proven with a real listener.</summary>
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class CoreObservabilityTests
{
    private static readonly ActivitySource TestSource = new("MLOps.Core.Tests.Observability");
    private readonly TempFolder _folder = new();
    private readonly string _project = "obs-" + Guid.NewGuid().ToString("N")[..12];

    [TearDown]
    public void TearDown() => _folder.Dispose();

    /// <summary>Collects the stopped activities of Core (this test's project only) and of the test's own source.</summary>
    private sealed class Spans : IDisposable
    {
        private readonly ActivityListener _listener;

        public Spans(string project)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name is MLOpsDiagnostics.ActivitySourceName || s == TestSource,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = a =>
                {
                    if (a.Source == TestSource || Equals(a.GetTagItem("mlops.project"), project)) Stopped.Add(a);
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public ConcurrentBag<Activity> Stopped { get; } = [];

        public void Dispose() => _listener.Dispose();
    }

    private sealed class TestLogs : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, LogLevel Level, EventId Id, string Message, Exception? Error)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose() { }

        private sealed class Logger(TestLogs owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
                => owner.Entries.Enqueue((category, logLevel, eventId, formatter(state, exception), exception));
        }
    }

    private Task<MLOpsProject> OpenAsync(Action<MLOpsProjectBuilder>? configure = null)
    {
        var b = MLOpsProject.Configure(_project).UseHome(_folder.Path).CaptureGit(false);
        configure?.Invoke(b);
        return b.OpenAsync();
    }

    [Test]
    public async Task RunAsync_WithListener_EmitsRunSpanWithTagsStateAndNestedHandlerSpans()
    {
        using var spans = new Spans(_project);
        await using var project = await OpenAsync();
        var run = await project.Runs.RunAsync("train", (ctx, ct) =>
        {
            using var inner = TestSource.StartActivity("user-work");
            return Task.CompletedTask;
        });

        var span = spans.Stopped.Single(a => a.Source.Name == MLOpsDiagnostics.ActivitySourceName);
        Assert.That((span.OperationName, span.Kind, span.Status), Is.EqualTo(("mlops.run", ActivityKind.Internal, ActivityStatusCode.Unset)));
        Assert.That(span.GetTagItem("mlops.run.id"), Is.EqualTo(run.Id));
        Assert.That(span.GetTagItem("mlops.run.name"), Is.EqualTo("train"));
        Assert.That(span.GetTagItem("mlops.run.state"), Is.EqualTo("completed"));
        var inner = spans.Stopped.Single(a => a.Source == TestSource);
        Assert.That(inner.ParentSpanId, Is.EqualTo(span.SpanId), "the handler's spans nest under the run's");
        Assert.That(Activity.Current, Is.Null, "the run's span does not leak into the caller");
    }

    [Test]
    public async Task RunAsync_HandlerThrows_SpanHasErrorStatusAndTheException()
    {
        using var spans = new Spans(_project);
        await using var project = await OpenAsync();
        Assert.ThrowsAsync<RunFailedException>(() => project.Runs.RunAsync("train", (ctx, ct) => throw new InvalidOperationException("diverged")));
        var span = spans.Stopped.Single();
        Assert.That((span.Status, span.StatusDescription), Is.EqualTo((ActivityStatusCode.Error, "InvalidOperationException: diverged")));
        Assert.That(span.GetTagItem("mlops.run.state"), Is.EqualTo("failed"));
        Assert.That(span.Events.Single().Name, Is.EqualTo("exception"));
        Assert.That(span.Events.Single().Tags.First(t => t.Key == "exception.message").Value, Is.EqualTo("diverged"));
    }

    [Test]
    public async Task HyperRun_WithListener_EmitsOneIterationSpanPerChildUnderTheSearchRun()
    {
        using var spans = new Spans(_project);
        await using var project = await OpenAsync();
        var result = await project.Runs.Hyper("search").Grid(h => h.Add("trees", 10, 20, 30)).Parallelism(2).SelectBy("max:auc")
            .RunAsync(async (run, ct) =>
            {
                await run.LogResultAsync("auc", run.GetParameter<int>("trees") / 100.0, ct);
                return true;
            });

        var parent = spans.Stopped.Single(a => a.OperationName == "mlops.run");
        var iterations = spans.Stopped.Where(a => a.OperationName == "mlops.hyper.iteration").OrderBy(a => (int)a.GetTagItem("mlops.hyper.iteration")!).ToList();
        Assert.That(parent.GetTagItem("mlops.run.id"), Is.EqualTo(result.Parent.Id));
        Assert.That(iterations.Select(a => (int)a.GetTagItem("mlops.hyper.iteration")!), Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(iterations, Has.All.Matches<Activity>(a => a.ParentSpanId == parent.SpanId && (string?)a.GetTagItem("mlops.run.parent_id") == result.Parent.Id));
    }

    [Test]
    public async Task Runs_WithMeterFactory_RecordRunsAndMetricPointsOnTheFactorysMeter()
    {
        using var container = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = container.GetRequiredService<IMeterFactory>();
        using var started = new MetricCollector<long>(factory, MLOpsDiagnostics.MeterName, "mlops.runs.started");
        using var ended = new MetricCollector<long>(factory, MLOpsDiagnostics.MeterName, "mlops.runs.ended");
        using var duration = new MetricCollector<double>(factory, MLOpsDiagnostics.MeterName, "mlops.run.duration");
        using var points = new MetricCollector<long>(factory, MLOpsDiagnostics.MeterName, "mlops.metrics.points_written");
        using var flush = new MetricCollector<double>(factory, MLOpsDiagnostics.MeterName, "mlops.metrics.flush.duration");
        await using var project = await OpenAsync(b => b.UseMeterFactory(factory));

        await project.Runs.RunAsync("train", (ctx, ct) =>
        {
            for (var i = 0; i < 5; i++) ctx.LogMetric("loss", 1.0 / (i + 1));
            return Task.CompletedTask;
        });
        Assert.ThrowsAsync<RunFailedException>(() => project.Runs.RunAsync("broken", (ctx, ct) => throw new InvalidOperationException("x")));

        Assert.That(started.GetMeasurementSnapshot().Sum(m => m.Value), Is.EqualTo(2));
        Assert.That(started.LastMeasurement!.Tags["mlops.project"], Is.EqualTo(_project));
        Assert.That(ended.GetMeasurementSnapshot().Select(m => m.Tags["mlops.run.state"]), Is.EquivalentTo(new[] { "completed", "failed" }));
        Assert.That(duration.GetMeasurementSnapshot(), Has.Count.EqualTo(2));
        Assert.That(points.GetMeasurementSnapshot().Sum(m => m.Value), Is.EqualTo(5));
        Assert.That(flush.GetMeasurementSnapshot(), Is.Not.Empty);
        Assert.That(flush.LastMeasurement!.Tags["mlops.project"], Is.EqualTo(_project));
    }

    [Test]
    public async Task Runs_WithoutMeterFactory_RecordOnTheProcessWideMeter()
    {
        var seen = new ConcurrentBag<long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == MLOpsDiagnostics.MeterName && instrument.Meter.Scope is null && instrument.Name == "mlops.runs.started") l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var t in tags) if (t.Key == "mlops.project" && Equals(t.Value, _project)) seen.Add(value);
        });
        listener.Start();
        await using var project = await OpenAsync();
        await project.Runs.RunAsync("train", (ctx, ct) => Task.CompletedTask);
        Assert.That(seen.Sum(), Is.EqualTo(1));
    }

    [Test]
    public async Task Logs_RunsAndProject_WrittenWithEventIdsAndLevels()
    {
        var logs = new TestLogs();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        await using (var project = await OpenAsync(b => b.UseLoggerFactory(factory)))
        {
            await project.Runs.RunAsync("train", (ctx, ct) => Task.CompletedTask);
            Assert.ThrowsAsync<RunFailedException>(() => project.Runs.RunAsync("broken", (ctx, ct) => throw new InvalidOperationException("diverged")));
            project.GetOrAddExtension(_ => new FailingDisposal());
        }

        var core = logs.Entries.Where(e => e.Category == "MLOps.Core").ToList();
        Assert.That(core.Select(e => (e.Id.Name, e.Level)), Is.SupersetOf(new[]
        {
            ("ProjectOpened", LogLevel.Information), ("RunStarted", LogLevel.Debug), ("RunEnded", LogLevel.Information),
            ("RunFailed", LogLevel.Warning), ("ExtensionDisposeFailed", LogLevel.Error),
        }));
        var failed = core.Single(e => e.Id.Name == "RunFailed");
        Assert.That(failed.Error, Is.TypeOf<InvalidOperationException>());
        Assert.That(failed.Message, Does.Contain("broken").And.Contain(_project).And.Contain("diverged"));
        Assert.That(core.Single(e => e.Id.Name == "RunEnded").Message, Does.Contain("Completed"));
    }

    private sealed class FailingDisposal : IDisposable
    {
        public void Dispose() => throw new InvalidOperationException("cannot close");
    }

    [Test]
    public async Task Logs_StoreStaysLocked_EachWriteRetryIsLogged()
    {
        var logs = new TestLogs();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var project = await OpenAsync(b => b.UseLoggerFactory(factory).UseSqlite(_folder.File("locked.db"), s => { s.BusyTimeout = TimeSpan.FromSeconds(1); s.MaxWriteRetries = 1; }));
        await using (var locker = new SqliteConnection($"Data Source={_folder.File("locked.db")};Pooling=False"))
        {
            await locker.OpenAsync();
            using (var begin = locker.CreateCommand())
            {
                begin.CommandText = "BEGIN EXCLUSIVE";
                await begin.ExecuteNonQueryAsync();
            }
            Assert.ThrowsAsync<MetadataStoreException>(() => project.Runs.StartAsync("blocked"));
        }
        var retry = logs.Entries.Single(e => e.Id.Name == "StoreWriteRetry");
        Assert.That((retry.Category, retry.Level), Is.EqualTo(("MLOps.Core.Storage", LogLevel.Warning)));
        Assert.That(retry.Message, Does.Contain("locked.db").And.Contain("attempt 1"));
    }

    [Test]
    public async Task HealthCheck_MetadataStore_UnhealthyBeforeStartHealthyAfterUnhealthyOnceClosed()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddMLOps(_project, b => b.UseHome(_folder.Path).CaptureGit(false));
        builder.Services.AddKeyedMLOps("other", b => b.Project(_project + "-b").UseHome(_folder.File("b")).CaptureGit(false));
        builder.Services.AddHealthChecks().AddMLOpsMetadataStore().AddMLOpsMetadataStore("other", tags: ["ready"]);
        using var host = builder.Build();
        var health = host.Services.GetRequiredService<HealthCheckService>();

        var before = await health.CheckHealthAsync();
        Assert.That(before.Entries["mlops-metadata-store"].Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(before.Entries["mlops-metadata-store"].Description, Does.Contain("not open yet"));

        await host.StartAsync();
        var after = await health.CheckHealthAsync();
        Assert.That(after.Status, Is.EqualTo(HealthStatus.Healthy));
        Assert.That(after.Entries["mlops-metadata-store"].Data["project"], Is.EqualTo(_project));
        Assert.That(after.Entries["mlops-metadata-store-other"].Tags, Is.EqualTo(new[] { "ready" }));

        await host.Services.GetRequiredService<MLOpsProject>().DisposeAsync();
        var closed = await health.CheckHealthAsync();
        Assert.That(closed.Entries["mlops-metadata-store"].Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(closed.Entries["mlops-metadata-store"].Exception, Is.Not.Null);
        Assert.That(closed.Entries["mlops-metadata-store-other"].Status, Is.EqualTo(HealthStatus.Healthy));
        await host.StopAsync();
    }
}
