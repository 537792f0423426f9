using Microsoft.Extensions.DependencyInjection;
using MLOps.DependencyInjection;
using MLOps.FeatureStore.Tests.TestSupport;

namespace MLOps.FeatureStore.Tests;

public class DependencyInjectionTests
{
    [Test]
    public async Task AddFeatureStore_ResolvedCatalog_IsTheProjectsFeatureStore()
    {
        using var folder = new TempFolder();
        var services = new ServiceCollection();
        services.AddMLOps("di-test", b => b.UseHome(folder.Path).CaptureGit(false)).AddFeatureStore().AddFeatureStore();
        await using var provider = services.BuildServiceProvider();
        var catalog = provider.GetRequiredService<FeatureStoreCatalog>();
        var project = provider.GetRequiredService<MLOpsProject>();
        Assert.That(catalog, Is.SameAs(project.FeatureStore));
        Assert.That(services.Count(d => d.ServiceType == typeof(FeatureStoreCatalog)), Is.EqualTo(1));
        Assert.That(catalog.OfflineRoot, Does.StartWith(folder.Path));
    }

    [Test]
    public async Task UseFeatureStore_AfterFirstUseWithOtherOptions_Throws()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        _ = project.FeatureStore;
        Assert.That(() => project.UseFeatureStore(new FeatureStoreOptions { OfflineRoot = folder.File("other") }), Throws.TypeOf<InvalidStateException>());
    }

    [Test]
    public async Task UseFeatureStore_WithOfflineRoot_WritesThere()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.UseFeatureStore(new FeatureStoreOptions { OfflineRoot = folder.File("offline") });
        var set = fs.FeatureSet("airports").Entity("iata").Build();
        var report = await fs.IngestAsync(set, MLOps.FeatureStore.Sources.DataSource.Csv(TestProjects.AirportsCsv));
        Assert.That(report.OfflineFiles, Has.Count.EqualTo(1));
        Assert.That(report.OfflineFiles[0], Does.StartWith(folder.File("offline")));
    }
}
