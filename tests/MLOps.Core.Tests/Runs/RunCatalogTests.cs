using MLOps.Runs;

namespace MLOps.Core.Tests.Runs;

[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class RunCatalogTests
{
    private readonly TempFolder _folder = new();
    private MLOpsProject _project = null!;

    [SetUp]
    public async Task SetUp() => _project = await TestProjects.OpenAsync(_folder);

    [TearDown]
    public async Task TearDown()
    {
        await _project.DisposeAsync();
        _folder.Dispose();
    }

    [Test]
    public async Task RunAsync_HandlerSucceeds_CompletedWithEverythingLogged()
    {
        var run = await _project.Runs.RunAsync("train", async (ctx, ct) =>
        {
            for (var i = 0; i < 10; i++) ctx.LogMetric("loss", 1.0 / (i + 1));
            await ctx.LogResultAsync("auc", 0.91, ct);
        }, new Dictionary<string, object> { ["trees"] = 20 });
        Assert.That(run.State, Is.EqualTo(RunState.Completed));
        Assert.That(run.Results["auc"], Is.EqualTo(0.91));
        Assert.That(run.Metrics["loss"], Is.EqualTo(0.1).Within(1e-12));
        Assert.That(run.Parameters["trees"], Is.EqualTo("20"));
        Assert.That(await _project.Runs.GetMetricHistoryAsync(run.Id, "loss"), Has.Count.EqualTo(10));
    }

    [Test]
    public async Task RunAsync_HandlerThrows_FailedWithErrorStackAndBufferedMetrics()
    {
        var e = Assert.ThrowsAsync<RunFailedException>(() => _project.Runs.RunAsync("train", (ctx, ct) =>
        {
            ctx.LogMetric("loss", 0.7);
            throw new InvalidOperationException("diverged");
        }));
        Assert.That(e!.InnerException, Is.TypeOf<InvalidOperationException>());
        var run = await _project.Runs.GetAsync(e.Run.Id);
        Assert.That(run.State, Is.EqualTo(RunState.Failed));
        Assert.That(run.Error, Does.Contain("diverged"));
        Assert.That(run.ErrorStack, Does.Contain("InvalidOperationException"));
        Assert.That(await _project.Runs.GetMetricHistoryAsync(run.Id, "loss"), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task RunAsync_Cancelled_Aborted()
    {
        using var cts = new CancellationTokenSource();
        string? id = null;
        Assert.CatchAsync<OperationCanceledException>(() => _project.Runs.RunAsync("train", async (ctx, ct) =>
        {
            id = ctx.Id;
            ctx.LogMetric("m", 1);
            await cts.CancelAsync();
            ct.ThrowIfCancellationRequested();
        }, cancellationToken: cts.Token));
        var run = await _project.Runs.GetAsync(id!);
        Assert.That(run.State, Is.EqualTo(RunState.Aborted));
        Assert.That(await _project.Runs.GetMetricHistoryAsync(run.Id, "m"), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task RunAsyncOfT_ReturnsValue()
    {
        var outcome = await _project.Runs.RunAsync("train", (ctx, ct) => Task.FromResult(ctx.GetParameter<int>("x") * 2), new Dictionary<string, object> { ["x"] = 21 });
        Assert.That(outcome.Value, Is.EqualTo(42));
        Assert.That(outcome.Run.State, Is.EqualTo(RunState.Completed));
    }

    [TestCase("")]
    [TestCase("bad name")]
    [TestCase("../x")]
    public void StartAsync_BadName_ThrowsValidationWithExample(string name)
    {
        var e = Assert.ThrowsAsync<ValidationException>(() => _project.Runs.StartAsync(name));
        Assert.That(e!.Message, Does.Contain("run name"));
    }

    [Test]
    public void GetAsync_Unknown_ThrowsNotFound()
        => Assert.ThrowsAsync<NotFoundException>(() => _project.Runs.GetAsync("0000"));

    [Test]
    public async Task SearchAsync_TextFilterAndOrder_Works()
    {
        for (var i = 1; i <= 5; i++)
            await _project.Runs.RunAsync("train", (ctx, ct) => ctx.LogResultAsync("auc", ctx.GetParameter<int>("trees") / 100.0, ct), new Dictionary<string, object> { ["trees"] = i * 10 });
        var page = await _project.Runs.SearchAsync("results.auc >= 0.3 and params.trees != 40", "results.auc desc");
        Assert.That(page.Runs.Select(r => r.Parameters["trees"]), Is.EqualTo(new[] { "50", "30" }));
        var all = new List<RunRecord>();
        await foreach (var r in _project.Runs.SearchAllAsync()) all.Add(r);
        Assert.That(all, Has.Count.EqualTo(5));
    }

    [Test]
    public void SearchAsync_BadText_ThrowsValidationWithPosition()
    {
        var e = Assert.ThrowsAsync<ValidationException>(() => _project.Runs.SearchAsync("metrics.auc >> 3"));
        Assert.That(e!.Message, Does.Contain("position"));
        Assert.ThrowsAsync<ValidationException>(() => _project.Runs.SearchAsync("bogus.auc > 3"));
        Assert.ThrowsAsync<ValidationException>(() => _project.Runs.SearchAsync("state = 'exploded'"));
    }

    [Test]
    public async Task CompareAsync_TableOfParamsResultsMetrics()
    {
        var a = await _project.Runs.RunAsync("train", async (ctx, ct) => { await ctx.LogResultAsync("auc", 0.8, ct); ctx.LogMetric("loss", 0.3); }, new Dictionary<string, object> { ["trees"] = 20 });
        var b = await _project.Runs.RunAsync("train", async (ctx, ct) => await ctx.LogResultAsync("auc", 0.9, ct), new Dictionary<string, object> { ["trees"] = 100, ["leaves"] = 64 });
        var table = await _project.Runs.CompareAsync([a.Id, b.Id]);
        Assert.That(table.Rows, Is.EqualTo(new[] { "params.leaves", "params.trees", "results.auc", "metrics.loss" }));
        Assert.That(table["params.trees", b.Id], Is.EqualTo("100"));
        Assert.That(table["metrics.loss", b.Id], Is.Null);
        Assert.That(table.ToString(), Does.Contain("results.auc").And.Contain("0.9"));
    }

    [Test]
    public async Task DeleteAsync_CompletedRun_Gone()
    {
        var run = await _project.Runs.RunAsync("train", (ctx, ct) => Task.CompletedTask);
        Assert.That(await _project.Runs.DeleteAsync(run.Id), Is.True);
        Assert.ThrowsAsync<NotFoundException>(() => _project.Runs.GetAsync(run.Id));
    }

    [Test]
    public void RunFilterParse_Roundtrip_ToStringParsesBack()
    {
        var f = RunFilter.Parse("metrics.`train/loss` < 0.5 and (labels.team = 'it''s' or not iteration >= 2)");
        var again = RunFilter.Parse(f.ToString());
        Assert.That(again.ToString(), Is.EqualTo(f.ToString()));
        Assert.That(f.ToString(), Does.Contain("metrics.train/loss < 0.5"));
    }
}
