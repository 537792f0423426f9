using Microsoft.Extensions.DependencyInjection;
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
        await provider.GetRequiredService<MLOpsProjectProvider>().GetProjectAsync();
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

    [Test]
    public async Task AddFeatureStore_ContainerDisposedWithPlainUsing_DisposesAndFlushesPushes()
    {
        using var folder = new TempFolder();
        var services = new ServiceCollection();
        services.AddMLOps("di-sync", b => b.UseHome(folder.Path).CaptureGit(false)).AddFeatureStore();
        using (var provider = services.BuildServiceProvider())
        {
            await provider.GetRequiredService<MLOpsProjectProvider>().GetProjectAsync();
            var fs = provider.GetRequiredService<FeatureStoreCatalog>();
            var at = new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero);
            await fs.IngestAsync(fs.FeatureSet("pings").Entity("id").Timestamp("ts").Build(),
                MLOps.FeatureStore.Sources.DataSource.Objects([new Dictionary<string, object?> { ["id"] = "a", ["ts"] = at, ["v"] = 1.0 }]));
            await fs.PushAsync(fs.FeatureSet("pings").Entity("id").Timestamp("ts").Build(),
                [new Dictionary<string, object?> { ["id"] = "a", ["ts"] = at.AddHours(1), ["v"] = 2.0 }]);
        } // a plain Dispose(): threw InvalidOperationException when the catalog was only IAsyncDisposable

        var files = Directory.GetFiles(folder.Path, "*.parquet", SearchOption.AllDirectories);
        Assert.That(files.Count(f => Path.GetFileName(f).Contains("-p", StringComparison.Ordinal)), Is.EqualTo(1), "the buffered push is flushed to a push file on dispose");
    }
}
