using Microsoft.Extensions.DependencyInjection;
using MLOps.Artifacts;
using MLOps.Registry;
using MLOps.Runs;

namespace MLOps.Core.Tests;

[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class MLOpsProjectTests
{
    private readonly TempFolder _folder = new();

    [TearDown]
    public void TearDown() => _folder.Dispose();

    [Test]
    public async Task Configure_UseSqliteAndArtifactsAt_UsesThosePaths()
    {
        var db = _folder.File("meta/custom.db");
        var art = _folder.File("art");
        await using var project = await MLOpsProject.Configure("flights").UseSqlite(db).UseArtifactsAt(art).CaptureGit(false)
            .WithDescription("delays").WithParameter("source", "bts").WithLabel("team", "ml").OpenAsync();
        Assert.That(File.Exists(db), Is.True);
        Assert.That(project.ArtifactRoot, Is.EqualTo(Path.GetFullPath(art)));
        var info = await project.GetInfoAsync();
        Assert.That((info.Name, info.Description, info.Parameters["source"], info.Labels["team"]), Is.EqualTo(("flights", "delays", "bts", "ml")));
    }

    [Test]
    public async Task OpenAsync_TwoProjectsOneStore_ListAndDelete()
    {
        await using var a = await TestProjects.OpenAsync(_folder, "alpha");
        await using (var b = await TestProjects.OpenAsync(_folder, "beta"))
            await b.Runs.RunAsync("train", (c, ct) => Task.CompletedTask);
        Assert.That((await a.ListProjectsAsync()).Select(p => p.Name), Is.EqualTo(new[] { "alpha", "beta" }));
        Assert.That(await a.DeleteProjectAsync("beta"), Is.True);
        Assert.That((await a.ListProjectsAsync()).Select(p => p.Name), Is.EqualTo(new[] { "alpha" }));
    }

    [Test]
    public async Task SetParameterAndLabel_Persist()
    {
        await using (var p = await TestProjects.OpenAsync(_folder))
        {
            await p.SetParameterAsync("threshold", "15");
            await p.SetLabelAsync("owner", "ops");
            await p.SetLabelAsync("owner", null);
        }
        await using var again = await TestProjects.OpenAsync(_folder);
        var info = await again.GetInfoAsync();
        Assert.That(info.Parameters["threshold"], Is.EqualTo("15"));
        Assert.That(info.Labels, Is.Empty);
    }

    [TestCase("Flights")]
    [TestCase("my project")]
    [TestCase("-x")]
    [TestCase("")]
    public void OpenAsync_BadName_ThrowsValidationWithSuggestion(string name)
    {
        var e = Assert.ThrowsAsync<ValidationException>(() => MLOpsProject.Configure(name).UseHome(_folder.Path).OpenAsync());
        Assert.That(e!.Message, Does.Contain("project name"));
    }

    [Test]
    public void OpenAsync_SeveralBadOptions_ListsEveryProblem()
    {
        var e = Assert.ThrowsAsync<ValidationException>(() => MLOpsProject.Configure("Bad Name").UseHome(_folder.Path)
            .ConfigureMetrics(m => { m.FlushSize = 0; m.FlushInterval = TimeSpan.Zero; }).OpenAsync());
        Assert.That(e!.Errors, Has.Count.GreaterThanOrEqualTo(3));
    }

    [Test]
    public void Builder_ReusedAfterOpen_ThrowsInvalidOperation()
    {
        var b = MLOpsProject.Configure("x").UseHome(_folder.Path).CaptureGit(false);
        var open = b.OpenAsync();
        Assert.Throws<InvalidOperationException>(() => b.UseArtifactsAt("y"));
        open.GetAwaiter().GetResult().DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Test]
    public async Task AddMLOps_ResolvesOneSharedProject()
    {
        var services = new ServiceCollection();
        services.AddMLOps("flights", b => b.UseHome(_folder.Path).CaptureGit(false));
        services.AddMLOps("ignored"); // idempotent: the first registration wins
        await using var sp = services.BuildServiceProvider();
        var project = await sp.GetRequiredService<MLOpsProjectProvider>().GetProjectAsync();
        Assert.That(sp.GetRequiredService<MLOpsProject>(), Is.SameAs(project));
        Assert.That(project.Name, Is.EqualTo("flights"));
        Assert.That(sp.GetRequiredService<RunCatalog>(), Is.SameAs(project.Runs));
        Assert.That(Directory.Exists(Path.Combine(_folder.Path, "artifacts")), Is.True);
    }

    [Test]
    public async Task AddMLOps_BuilderLambda_UsesContainerTimeProvider()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddMLOps(o => o.Project("flights").UseSqlite(_folder.File("x.db")).UseArtifactsAt(_folder.File("art")).CaptureGit(false));
        await using var sp = services.BuildServiceProvider();
        var project = await sp.GetRequiredService<MLOpsProjectProvider>().GetProjectAsync();
        var run = await project.Runs.RunAsync("train", (c, ct) => Task.CompletedTask);
        Assert.That(run.StartTime, Is.EqualTo(time.GetUtcNow()));
        Assert.That(File.Exists(_folder.File("x.db")), Is.True);
    }

    [Test]
    public async Task AddMLOps_WithoutProjectName_FailsWithValidation()
    {
        var services = new ServiceCollection();
        services.AddMLOps(o => o.UseHome(_folder.Path));
        await using var sp = services.BuildServiceProvider();
        var e = Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => sp.GetRequiredService<MLOpsProjectProvider>().GetProjectAsync());
        Assert.That(e!.Message, Does.Contain("ProjectName").And.Contain("project name"));
    }

    [Test]
    public async Task OpenAsync_DefaultHome_HonoursMlopsHomeVariable()
    {
        // MLOPS_HOME is process-wide: set and read it within this test only through MLOpsOptions.ResolveHome.
        var options = new MLOpsOptions { ProjectName = "x", Home = null };
        var previous = Environment.GetEnvironmentVariable(MLOpsOptions.HomeVariable);
        try
        {
            Environment.SetEnvironmentVariable(MLOpsOptions.HomeVariable, _folder.Path);
            Assert.That(options.ResolveHome(), Is.EqualTo(Path.GetFullPath(_folder.Path)));
        }
        finally
        {
            Environment.SetEnvironmentVariable(MLOpsOptions.HomeVariable, previous);
        }
        Assert.That(new MLOpsOptions { Home = "h" }.ResolveHome(), Is.EqualTo(Path.GetFullPath("h")));
        await Task.CompletedTask;
    }

    [Test]
    public async Task OpenAsync_InsideGitWorkTree_RecordsCommitAndDirtyFlag()
    {
        var repo = _folder.File("repo");
        Directory.CreateDirectory(repo);
        if (!Git(repo, "init -q") || !Git(repo, "-c user.email=a@b -c user.name=t commit -q --allow-empty -m init"))
            Assert.Ignore("git is not available on this machine");
        await using var project = await MLOpsProject.Configure("git").UseHome(_folder.File("home")).CaptureGit(true, repo).OpenAsync();
        var run = await project.Runs.StartAsync("train");
        var r = await project.Runs.GetAsync(run.Id);
        Assert.That(r.GitCommit, Has.Length.EqualTo(40));
        Assert.That(r.GitDirty, Is.False);
        File.WriteAllText(Path.Combine(repo, "a.txt"), "x");
        Assert.That(Git(repo, "add a.txt"), Is.True);
        await run.CompleteAsync();
    }

    // ---- extensions ----

    private sealed class AsyncExtension(MLOpsProject project, List<string> log) : IAsyncDisposable
    {
        public MLOpsProject Project { get; } = project;

        public async ValueTask DisposeAsync()
        {
            // The store is still open while extensions are disposed.
            var info = await Project.GetInfoAsync();
            log.Add("async:" + info.Name);
        }
    }

    private sealed class SyncExtension(List<string> log) : IDisposable
    {
        public void Dispose() => log.Add("sync");
    }

    private sealed class FailingExtension(List<string> log) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            log.Add("failing");
            throw new InvalidOperationException("boom");
        }
    }

    private sealed class PlainExtension
    {
        public int Value { get; init; }
    }

    [Test]
    public async Task GetOrAddExtension_CalledTwice_ReturnsSameInstanceAndCallsFactoryOnce()
    {
        await using var project = await TestProjects.OpenAsync(_folder);
        var log = new List<string>();
        var calls = 0;
        var a = project.GetOrAddExtension(p => { calls++; return new AsyncExtension(p, log); });
        var b = project.GetOrAddExtension(p => { calls++; return new AsyncExtension(p, log); });
        var plain = project.GetOrAddExtension(_ => new PlainExtension { Value = 7 });
        Assert.That(b, Is.SameAs(a));
        Assert.That(calls, Is.EqualTo(1));
        Assert.That(a.Project, Is.SameAs(project));
        Assert.That(project.GetOrAddExtension(_ => new PlainExtension { Value = 8 }).Value, Is.EqualTo(7));
        Assert.That(plain, Is.Not.SameAs(a));
    }

    [Test]
    public async Task GetOrAddExtension_ConcurrentFirstCalls_OneInstance()
    {
        await using var project = await TestProjects.OpenAsync(_folder);
        var calls = 0;
        using var start = new ManualResetEventSlim();
        var tasks = Enumerable.Range(0, 16).Select(_ => Task.Run(() =>
        {
            start.Wait();
            return project.GetOrAddExtension(_ => { Interlocked.Increment(ref calls); return new PlainExtension(); });
        })).ToArray();
        start.Set();
        var instances = await Task.WhenAll(tasks);
        Assert.That(instances.Distinct().Count(), Is.EqualTo(1));
        Assert.That(calls, Is.EqualTo(1));
    }

    [Test]
    public async Task GetOrAddExtension_FactoryThrows_NextCallCreatesIt()
    {
        await using var project = await TestProjects.OpenAsync(_folder);
        Assert.Throws<InvalidOperationException>(() => project.GetOrAddExtension<PlainExtension>(_ => throw new InvalidOperationException("first")));
        Assert.That(project.GetOrAddExtension(_ => new PlainExtension { Value = 2 }).Value, Is.EqualTo(2));
    }

    [Test]
    public async Task DisposeAsync_WithExtensions_DisposesEachNewestFirstBeforeTheStoreAndLogsErrors()
    {
        var log = new List<string>();
        var project = await TestProjects.OpenAsync(_folder, "ext");
        project.GetOrAddExtension(p => new AsyncExtension(p, log));
        project.GetOrAddExtension(_ => new FailingExtension(log));
        project.GetOrAddExtension(_ => new SyncExtension(log));
        project.GetOrAddExtension(_ => new PlainExtension());
        await project.DisposeAsync();
        Assert.That(log, Is.EqualTo(new[] { "sync", "failing", "async:ext" }));
        await project.DisposeAsync();
        Assert.That(log, Has.Count.EqualTo(3));
    }

    [Test]
    public async Task Dispose_ServiceProviderDisposedWithUsing_DisposesProjectCatalogsAndAsyncOnlyExtensions()
    {
        var log = new List<string>();
        RunContext open;
        MLOpsProject project;
        using (var sp = new ServiceCollection().AddMLOps("flights", b => b.UseHome(_folder.Path).CaptureGit(false)).Services.BuildServiceProvider())
        {
            project = await sp.GetRequiredService<MLOpsProjectProvider>().GetProjectAsync();
            Assert.That(sp.GetRequiredService<ModelRegistry>(), Is.SameAs(project.Models));
            Assert.That(sp.GetRequiredService<ArtifactCatalog>(), Is.SameAs(project.Artifacts));
            Assert.That(sp.GetRequiredService<RunCatalog>(), Is.SameAs(project.Runs));
            project.GetOrAddExtension(p => new AsyncExtension(p, log));
            project.GetOrAddExtension(_ => new SyncExtension(log));
            open = await project.Runs.StartAsync("train");
            open.LogMetric("loss", 0.5);
        }
        Assert.That(log, Is.EqualTo(new[] { "sync", "async:flights" }));
        Assert.That(open.HasEnded, Is.True);
        Assert.Throws<ObjectDisposedException>(() => project.GetOrAddExtension(_ => new PlainExtension()));
        project.Dispose(); // idempotent
        await project.DisposeAsync();
        await using var again = await TestProjects.OpenAsync(_folder, "flights");
        var run = await again.Runs.GetAsync(open.Id);
        Assert.That(run.State, Is.EqualTo(RunState.Aborted));
        Assert.That(run.Metrics["loss"], Is.EqualTo(0.5));
    }

    [Test]
    public async Task Dispose_UnderContextThatNeverRunsPostedWork_StillDisposesYieldingExtensions()
    {
        var project = await TestProjects.OpenAsync(_folder, "ctx");
        var log = new List<string>();
        project.GetOrAddExtension(_ => new YieldingExtension(log));
        Exception? error = null;
        var thread = new Thread(() =>
        {
            SynchronizationContext.SetSynchronizationContext(new BlockingContext());
            try { project.Dispose(); }
            catch (Exception e) { error = e; }
        });
        thread.Start();
        // A hang guard, not a timing assertion: a deadlocked Dispose never returns.
        Assert.That(thread.Join(TimeSpan.FromMinutes(1)), Is.True, "Dispose deadlocked on the caller's synchronization context");
        Assert.That(error, Is.Null);
        Assert.That(log, Is.EqualTo(new[] { "yield" }));
        await project.DisposeAsync();
    }

    private sealed class YieldingExtension(List<string> log) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Task.Yield(); // continues on the captured context, as an extension written without ConfigureAwait(false) would
            log.Add("yield");
        }
    }

    /// <summary>A context that never runs what is posted to it, like a UI thread blocked in Dispose.</summary>
    private sealed class BlockingContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) { }
    }

    [Test]
    public async Task GetOrAddExtension_AfterDispose_ThrowsObjectDisposed()
    {
        var project = await TestProjects.OpenAsync(_folder);
        project.GetOrAddExtension(_ => new PlainExtension());
        await project.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => project.GetOrAddExtension(_ => new PlainExtension()));
    }

    private static bool Git(string dir, string args)
    {
        try
        {
            using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("git", args) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true })!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
