using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using MLOps.Runs;

namespace MLOps.Core.Tests.Runs;

[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class RunContextTests
{
    private readonly TempFolder _folder = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero));
    private MLOpsProject _project = null!;

    [SetUp]
    public async Task SetUp() => _project = await TestProjects.OpenAsync(_folder, time: _time, configure: b => b.ConfigureMetrics(m => m.FlushSize = 100));

    [TearDown]
    public async Task TearDown()
    {
        await _project.DisposeAsync();
        _folder.Dispose();
    }

    [Test]
    public async Task DisposeAsync_ExplicitRun_CompletesWithDurationAndHost()
    {
        string id;
        await using (var run = await _project.Runs.StartAsync("train", new Dictionary<string, object> { ["trees"] = 20, ["lr"] = 0.1, ["booster"] = "gbtree" }))
        {
            id = run.Id;
            _time.Advance(TimeSpan.FromSeconds(90));
        }
        var r = await _project.Runs.GetAsync(id);
        Assert.That(r.State, Is.EqualTo(RunState.Completed));
        Assert.That(r.Duration, Is.EqualTo(TimeSpan.FromSeconds(90)));
        Assert.That(r.Host, Is.EqualTo(Environment.MachineName));
        Assert.That(r.Parameters, Is.EqualTo(new Dictionary<string, string> { ["trees"] = "20", ["lr"] = "0.1", ["booster"] = "gbtree" }));
    }

    [Test]
    public async Task LogMetric_BelowFlushSize_WrittenWhenTheTimerFires()
    {
        await using var run = await _project.Runs.StartAsync("train");
        run.LogMetric("loss", 0.5);
        run.LogMetric("loss", 0.4);
        Assert.That(await _project.Runs.GetMetricHistoryAsync(run.Id, "loss"), Is.Empty, "buffered, not yet written");
        _time.Advance(TimeSpan.FromSeconds(1));
        await run.PendingFlush;
        var h = await _project.Runs.GetMetricHistoryAsync(run.Id, "loss");
        Assert.That(h.Select(p => (p.Step, p.Value)), Is.EqualTo(new[] { (0L, 0.5), (1L, 0.4) }));
    }

    [Test]
    public async Task LogMetric_ReachingFlushSize_WritesWithoutTimer()
    {
        await using var run = await _project.Runs.StartAsync("train");
        for (var i = 0; i < 100; i++) run.LogMetric("m", i);
        await run.PendingFlush;
        Assert.That(await _project.Runs.GetMetricHistoryAsync(run.Id, "m"), Has.Count.EqualTo(100));
    }

    [Test]
    public async Task CompleteAsync_FlushesEverythingBuffered()
    {
        var run = await _project.Runs.StartAsync("train");
        for (var i = 0; i < 250; i++) run.LogMetric("m", i, step: i);
        run.LogMetric("nan", double.NaN);
        await run.CompleteAsync();
        Assert.That((await _project.Runs.GetMetricHistoryAsync(run.Id, "m")).Select(p => p.Value), Is.EqualTo(Enumerable.Range(0, 250).Select(i => (double)i)));
        Assert.That(double.IsNaN((await _project.Runs.GetMetricHistoryAsync(run.Id, "nan")).Single().Value), Is.True);
        Assert.That((await _project.Runs.GetAsync(run.Id)).Metrics["m"], Is.EqualTo(249));
    }

    [Test]
    public async Task LogMetric_ExplicitAndDefaultSteps_Continue()
    {
        var run = await _project.Runs.StartAsync("train");
        run.LogMetric("m", 1, step: 10);
        run.LogMetric("m", 2);
        await run.LogMetricsAsync([("m", 3, 20)]);
        run.LogMetric("m", 4);
        await run.CompleteAsync();
        Assert.That((await _project.Runs.GetMetricHistoryAsync(run.Id, "m")).Select(p => p.Step), Is.EqualTo(new long[] { 10, 11, 20, 21 }));
    }

    [Test]
    public async Task LogParameterAsync_SameValueOk_DifferentValueThrows()
    {
        await using var run = await _project.Runs.StartAsync("train", new Dictionary<string, object> { ["trees"] = 20 });
        await run.LogParameterAsync("trees", 20);
        var e = Assert.ThrowsAsync<ParameterConflictException>(() => run.LogParameterAsync("trees", 50));
        Assert.That(e!.Message, Does.Contain("immutable"));
        Assert.That(run.GetParameter<int>("trees"), Is.EqualTo(20));
        Assert.That(run.GetParameter("missing", 7), Is.EqualTo(7));
        Assert.Throws<NotFoundException>(() => run.GetParameter<int>("missing"));
        Assert.Throws<ValidationException>(() => run.GetParameter<bool>("trees"));
    }

    [Test]
    public async Task Logging_AfterEnd_ThrowsInvalidState()
    {
        var run = await _project.Runs.StartAsync("train");
        await run.CompleteAsync();
        Assert.Throws<InvalidStateException>(() => run.LogMetric("m", 1));
        Assert.ThrowsAsync<InvalidStateException>(() => run.LogResultAsync("r", 1));
        Assert.ThrowsAsync<InvalidStateException>(() => run.CompleteAsync());
    }

    [TestCase("")]
    [TestCase("../up")]
    [TestCase("/abs")]
    [TestCase("a b")]
    public async Task LogMetric_BadKey_ThrowsValidationNamingIt(string key)
    {
        await using var run = await _project.Runs.StartAsync("train");
        var e = Assert.Throws<ValidationException>(() => run.LogMetric(key, 1));
        Assert.That(e!.Message, Does.Contain("metric key"));
    }

    [Test]
    public async Task Logger_LinesStoredWithTheRun()
    {
        var run = await _project.Runs.StartAsync("train");
        run.Logger.LogInformation("epoch {Epoch} done", 3);
        run.Logger.LogWarning("careful");
        await run.CompleteAsync();
        var logs = await _project.Runs.GetLogsAsync(run.Id);
        Assert.That(logs.Select(l => (l.Level, l.Message)), Is.EqualTo(new[] { ("Information", "epoch 3 done"), ("Warning", "careful") }));
    }

    [Test]
    public async Task StartChildAsync_NestedRun_HasParent()
    {
        await using var parent = await _project.Runs.StartAsync("pipeline");
        string childId;
        await using (var child = await parent.StartChildAsync("step"))
            childId = child.Id;
        var children = await _project.Runs.GetChildrenAsync(parent.Id);
        Assert.That(children.Single().Id, Is.EqualTo(childId));
        Assert.That(children[0].ParentId, Is.EqualTo(parent.Id));
    }

    [Test]
    public async Task SetLabelAsync_Overwrites()
    {
        await using var run = await _project.Runs.StartAsync("train", new RunOptions { Labels = new Dictionary<string, string> { ["stage"] = "dev" } });
        await run.SetLabelAsync("stage", "prod");
        Assert.That((await _project.Runs.GetAsync(run.Id)).Labels["stage"], Is.EqualTo("prod"));
    }

    [Test]
    public async Task LogInputAsync_BadUri_ThrowsValidation()
    {
        await using var run = await _project.Runs.StartAsync("train");
        Assert.ThrowsAsync<ValidationException>(() => run.LogInputAsync("data", "/tmp/x.csv"));
        await run.LogInputAsync("data", "store://datasets/test/x:1");
        Assert.That((await _project.Runs.GetAsync(run.Id)).Inputs["data"], Is.EqualTo("store://datasets/test/x:1"));
    }

    [Test]
    public async Task ProjectDispose_WithActiveRun_FlushesAndAborts()
    {
        var run = await _project.Runs.StartAsync("train");
        run.LogMetric("m", 1);
        await _project.DisposeAsync();
        await using var reopened = await TestProjects.OpenAsync(_folder, time: _time);
        var r = await reopened.Runs.GetAsync(run.Id);
        Assert.That(r.State, Is.EqualTo(RunState.Aborted));
        Assert.That(await reopened.Runs.GetMetricHistoryAsync(run.Id, "m"), Has.Count.EqualTo(1));
    }
}
