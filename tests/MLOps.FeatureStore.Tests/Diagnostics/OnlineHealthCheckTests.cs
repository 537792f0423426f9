using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using MLOps.FeatureStore.Online;

namespace MLOps.FeatureStore.Tests.Diagnostics;

/// <summary>The online store health check writes and reads a probe row; it is registered on IHealthChecksBuilder.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class OnlineHealthCheckTests
{
    private static HealthCheckContext Context(IHealthCheck check)
        => new() { Registration = new HealthCheckRegistration("online", check, HealthStatus.Unhealthy, null) };

    [Test]
    public async Task CheckHealthAsync_SqliteOnlineStore_IsHealthyAndThePathIsReported()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder, "health-ok");
        var check = new FeatureStoreOnlineHealthCheck(project.FeatureStore);

        var first = await check.CheckHealthAsync(Context(check));
        var second = await check.CheckHealthAsync(Context(check)); // the probe row exists now: it is overwritten

        Assert.Multiple(() =>
        {
            Assert.That(first.Status, Is.EqualTo(HealthStatus.Healthy), first.Description);
            Assert.That(second.Status, Is.EqualTo(HealthStatus.Healthy), second.Description);
            Assert.That(first.Data["path"], Is.EqualTo(((SqliteOnlineStore)project.FeatureStore.OnlineStore).Path));
            Assert.That(File.Exists((string)first.Data["path"]), Is.True);
        });
        Assert.That(await project.FeatureStore.ListFeatureSetsAsync(), Is.Empty, "the probe table is not a feature set");
    }

    [Test]
    public async Task CheckHealthAsync_OnlineDatabaseCannotBeCreated_IsUnhealthyWithTheException()
    {
        using var folder = new TempFolder();
        var notAFolder = folder.File("blocker");
        await File.WriteAllTextAsync(notAFolder, "a file where the online store's folder should be");
        await using var online = new SqliteOnlineStore(Path.Combine(notAFolder, "online.db"));
        await using var project = await TestProjects.OpenAsync(folder, "health-bad");
        var fs = project.UseFeatureStore(new FeatureStoreOptions { OnlineStore = online });
        var check = new FeatureStoreOnlineHealthCheck(fs);

        var result = await check.CheckHealthAsync(Context(check));

        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(HealthStatus.Unhealthy));
            Assert.That(result.Exception, Is.Not.Null);
            Assert.That(result.Description, Does.Contain("health-bad").And.Contain("cannot be written or read"));
        });
    }

    [Test]
    public async Task AddFeatureStoreOnlineStore_WithHealthCheckService_ReportsTheOnlineStoreHealthy()
    {
        using var folder = new TempFolder();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMLOps("health-di", b => b.UseHome(folder.Path).CaptureGit(false)).AddFeatureStore();
        services.AddHealthChecks().AddFeatureStoreOnlineStore(tags: ["ready"]);
        await using var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<MLOpsProjectProvider>().GetProjectAsync(); // no host here: open the project first

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Tags.Contains("ready"));

        Assert.That(report.Entries.Keys, Is.EqualTo(new[] { FeatureStoreHealthChecksBuilderExtensions.OnlineStoreCheckName }));
        var entry = report.Entries[FeatureStoreHealthChecksBuilderExtensions.OnlineStoreCheckName];
        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Healthy), entry.Description);
    }

    [Test]
    public async Task AddFeatureStoreOnlineStore_TwoKeyedProjects_EachCheckIsHealthyWithItsOwnPath()
    {
        using var folder = new TempFolder();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddKeyedMLOps("a", b => b.Project("health-key-a").UseHome(folder.File("a")).CaptureGit(false)).AddFeatureStore();
        services.AddKeyedMLOps("b", b => b.Project("health-key-b").UseHome(folder.File("b")).CaptureGit(false)).AddFeatureStore();
        services.AddHealthChecks().AddFeatureStoreOnlineStore("a").AddFeatureStoreOnlineStore("b");
        await using var provider = services.BuildServiceProvider();
        var a = await provider.GetRequiredKeyedService<MLOpsProjectProvider>("a").GetProjectAsync();
        var b = await provider.GetRequiredKeyedService<MLOpsProjectProvider>("b").GetProjectAsync();

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var name = FeatureStoreHealthChecksBuilderExtensions.OnlineStoreCheckName;
        Assert.That(report.Entries.Keys, Is.EquivalentTo(new[] { name + "-a", name + "-b" }));
        var entryA = report.Entries[name + "-a"];
        var entryB = report.Entries[name + "-b"];
        Assert.Multiple(() =>
        {
            Assert.That(entryA.Status, Is.EqualTo(HealthStatus.Healthy), entryA.Description);
            Assert.That(entryB.Status, Is.EqualTo(HealthStatus.Healthy), entryB.Description);
            Assert.That(entryA.Data["path"], Is.EqualTo(((SqliteOnlineStore)a.FeatureStore.OnlineStore).Path));
            Assert.That(entryB.Data["path"], Is.EqualTo(((SqliteOnlineStore)b.FeatureStore.OnlineStore).Path));
            Assert.That(entryA.Data["path"], Is.Not.EqualTo(entryB.Data["path"]));
            Assert.That(entryA.Data["project"], Is.EqualTo("health-key-a"));
            Assert.That(entryB.Data["project"], Is.EqualTo("health-key-b"));
        });
    }
}
