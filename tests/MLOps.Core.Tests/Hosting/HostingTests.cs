using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MLOps.Runs;

namespace MLOps.Core.Tests.Hosting;

/// <summary>AddMLOps in a real generic host with in-memory configuration.</summary>
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class HostingTests
{
    private readonly TempFolder _folder = new();

    [TearDown]
    public void TearDown() => _folder.Dispose();

    private static IHost BuildHost(Dictionary<string, string?> settings, Action<HostApplicationBuilder> configure)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        configure(builder);
        return builder.Build();
    }

    [Test]
    public async Task AddMLOps_ConfigurationSection_BindsOptionsAndOpensWhenTheHostStarts()
    {
        using var host = BuildHost(new()
        {
            ["MLOps:ProjectName"] = "flights",
            ["MLOps:Home"] = _folder.Path,
            ["MLOps:CaptureGit"] = "false",
            ["MLOps:Description"] = "delays",
            ["MLOps:Metrics:FlushSize"] = "7",
            ["MLOps:Sqlite:BusyTimeout"] = "00:00:05",
            ["MLOps:Parameters:source"] = "bts",
        }, b => b.Services.AddMLOps(b.Configuration.GetSection("MLOps")));

        var provider = host.Services.GetRequiredService<MLOpsProjectProvider>();
        Assert.That(provider.IsOpen, Is.False);
        var early = Assert.Throws<InvalidStateException>(() => host.Services.GetRequiredService<MLOpsProject>());
        Assert.That(early!.Message, Does.Contain("not open yet").And.Contain("GetProjectAsync"));
        Assert.Throws<InvalidStateException>(() => host.Services.GetRequiredService<RunCatalog>());

        await host.StartAsync();
        Assert.That(provider.IsOpen, Is.True);
        var project = host.Services.GetRequiredService<MLOpsProject>();
        Assert.That(host.Services.GetRequiredService<RunCatalog>(), Is.SameAs(project.Runs));
        Assert.That((project.Name, project.Options.Metrics.FlushSize, project.Options.Sqlite.BusyTimeout, project.Options.CaptureGit),
            Is.EqualTo(("flights", 7, TimeSpan.FromSeconds(5), false)));
        var info = await project.GetInfoAsync();
        Assert.That((info.Description, info.Parameters["source"]), Is.EqualTo(("delays", "bts")));
        Assert.That(File.Exists(Path.Combine(_folder.Path, "mlops.db")), Is.True);
        Assert.That(host.Services.GetRequiredService<IOptions<MLOpsOptions>>().Value.ProjectName, Is.EqualTo("flights"));
        await host.StopAsync();
    }

    [Test]
    public async Task AddMLOps_InHost_ProjectUsesTheContainersMeterFactory()
    {
        using var host = BuildHost(new(), b => b.Services.AddMLOps("metered", o => o.UseHome(_folder.Path).CaptureGit(false)));
        var meters = host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var started = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(meters, MLOpsDiagnostics.MeterName, "mlops.runs.started");
        await host.StartAsync();
        var project = host.Services.GetRequiredService<MLOpsProject>();
        Assert.That(project.Options.MeterFactory, Is.SameAs(meters));
        await project.Runs.RunAsync("train", (ctx, ct) => Task.CompletedTask);
        Assert.That(started.GetMeasurementSnapshot().Sum(m => m.Value), Is.EqualTo(1));
        await host.StopAsync();
    }

    [Test]
    public void AddMLOps_InvalidConfiguration_HostStartFailsListingEveryKeyAndFix()
    {
        using var host = BuildHost(new()
        {
            ["MLOps:ProjectName"] = "Bad Name",
            ["MLOps:Home"] = _folder.Path,
            ["MLOps:Metrics:FlushSize"] = "0",
            ["MLOps:Sqlite:Synchronous"] = "FAST",
        }, b => b.Services.AddMLOps(b.Configuration.GetSection("MLOps")));

        var e = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.That(e!.Failures, Has.Some.StartsWith("MLOps options: MLOps:ProjectName").And.Some.Contain("e.g. 'bad-name'"));
        Assert.That(e.Failures, Has.Some.Contains("MLOps:Metrics:FlushSize is 0; use 1 or more"));
        Assert.That(e.Failures, Has.Some.Contains("MLOps:Sqlite:Synchronous is 'FAST'; use NORMAL, FULL, EXTRA or OFF"));
        Assert.That(host.Services.GetRequiredService<MLOpsProjectProvider>().IsOpen, Is.False);
        Assert.That(Directory.Exists(Path.Combine(_folder.Path)) && File.Exists(Path.Combine(_folder.Path, "mlops.db")), Is.False, "validation runs before anything is created");
    }

    [Test]
    public async Task AddMLOps_ConfigureCallbackAfterConfiguration_CallbackWins()
    {
        using var host = BuildHost(new() { ["MLOps:ProjectName"] = "from-config", ["MLOps:Metrics:FlushSize"] = "7" },
            b => b.Services.AddMLOps(b.Configuration.GetSection("MLOps"), o => o.Project("from-code").UseHome(_folder.Path).CaptureGit(false)));
        await host.StartAsync();
        var project = host.Services.GetRequiredService<MLOpsProject>();
        Assert.That((project.Name, project.Options.Metrics.FlushSize), Is.EqualTo(("from-code", 7)));
        await host.StopAsync();
    }

    [Test]
    public async Task AddKeyedMLOps_TwoProjects_EachResolvedByItsKeyWithItsOwnOptionsAndCatalogs()
    {
        using var host = BuildHost(new()
        {
            ["MLOps:Training:ProjectName"] = "training",
            ["MLOps:Training:Home"] = _folder.File("a"),
            ["MLOps:Training:CaptureGit"] = "false",
        }, b =>
        {
            b.Services.AddKeyedMLOps("training", b.Configuration.GetSection("MLOps:Training"));
            b.Services.AddKeyedMLOps("scoring", o => o.Project("scoring").UseHome(_folder.File("b")).CaptureGit(false));
        });
        await host.StartAsync();
        var training = host.Services.GetRequiredKeyedService<MLOpsProject>("training");
        var scoring = host.Services.GetRequiredKeyedService<MLOpsProject>("scoring");
        Assert.That((training.Name, scoring.Name), Is.EqualTo(("training", "scoring")));
        Assert.That(host.Services.GetRequiredKeyedService<RunCatalog>("scoring"), Is.SameAs(scoring.Runs));
        Assert.That(host.Services.GetRequiredKeyedService<MLOpsProjectProvider>("training").ServiceKey, Is.EqualTo("training"));
        Assert.That(host.Services.GetService<MLOpsProject>(), Is.Null, "no unkeyed project was registered");
        Assert.That(host.Services.GetRequiredService<IOptionsMonitor<MLOpsOptions>>().Get("scoring").ProjectName, Is.EqualTo("scoring"));
        Assert.That(File.Exists(Path.Combine(_folder.File("a"), "mlops.db")) && File.Exists(Path.Combine(_folder.File("b"), "mlops.db")), Is.True);
        await host.StopAsync();
    }

    [Test]
    public async Task AddKeyedMLOps_InvalidKeyedOptions_FailureNamesTheKey()
    {
        using var host = BuildHost(new(), b =>
        {
            b.Services.AddKeyedMLOps("ok", o => o.Project("ok").UseHome(_folder.Path).CaptureGit(false));
            b.Services.AddKeyedMLOps("broken", o => o.UseHome(_folder.Path).ConfigureMetrics(m => m.FlushSize = -1));
        });
        var e = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.That(e!.Failures, Has.Count.EqualTo(2));
        Assert.That(e.Failures, Has.All.StartsWith("MLOps options (service key 'broken'): "));
        await Task.CompletedTask;
    }

    [Test]
    public async Task MLOpsProjectProvider_WithoutHost_OpensOnceForConcurrentCallers()
    {
        var services = new ServiceCollection();
        services.AddMLOps("flights", b => b.UseHome(_folder.Path).CaptureGit(false));
        await using var sp = services.BuildServiceProvider();
        var provider = sp.GetRequiredService<MLOpsProjectProvider>();
        var opened = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => provider.GetProjectAsync())));
        Assert.That(opened.Distinct().Count(), Is.EqualTo(1));
        Assert.That(sp.GetRequiredService<MLOpsProject>(), Is.SameAs(opened[0]));
    }

    [Test]
    public async Task MLOpsProjectProvider_CancelledCaller_StopsWaitingWithoutCancellingTheOpening()
    {
        var services = new ServiceCollection();
        services.AddMLOps("flights", b => b.UseHome(_folder.Path).CaptureGit(false));
        await using var sp = services.BuildServiceProvider();
        var provider = sp.GetRequiredService<MLOpsProjectProvider>();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        Assert.That(async () => await provider.GetProjectAsync(cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        var project = await provider.GetProjectAsync();
        Assert.That(project.Name, Is.EqualTo("flights"));
    }

    [Test]
    public async Task Options_AfterOpen_AreFrozenAndUnlinkedFromTheSource()
    {
        var source = new MLOpsOptions { ProjectName = "frozen", Home = _folder.Path, CaptureGit = false };
        source.Parameters["a"] = "1";
        await using var project = await MLOpsProject.OpenAsync(source);

        Assert.That(project.Options.IsFrozen, Is.True);
        Assert.That(source.IsFrozen, Is.False);
        var e = Assert.Throws<InvalidStateException>(() => project.Options.Home = "elsewhere");
        Assert.That(e!.Message, Does.Contain("MLOpsOptions.Home").And.Contain("'frozen' is open").And.Contain("before the project is opened"));
        Assert.That(Assert.Throws<InvalidStateException>(() => project.Options.Metrics.FlushSize = 1)!.Message, Does.Contain("MetricBufferOptions.FlushSize"));
        Assert.That(Assert.Throws<InvalidStateException>(() => project.Options.Sqlite.BusyTimeout = TimeSpan.FromSeconds(1))!.Message, Does.Contain("SqliteStoreOptions.BusyTimeout"));
        Assert.Throws<NotSupportedException>(() => project.Options.Parameters["b"] = "2");

        source.Metrics.FlushSize = 3; // the caller's object stays mutable and does not reach the open project
        source.Parameters["c"] = "3";
        Assert.That((project.Options.Metrics.FlushSize, project.Options.Parameters.Count), Is.EqualTo((1000, 1)));
    }
}
