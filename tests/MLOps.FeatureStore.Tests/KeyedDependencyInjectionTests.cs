using Microsoft.Extensions.DependencyInjection;

namespace MLOps.FeatureStore.Tests;

public class KeyedDependencyInjectionTests
{
    [Test]
    public async Task AddFeatureStore_OnKeyedBuilders_EachKeyResolvesItsProjectsFeatureStore()
    {
        using var folder = new TempFolder();
        var services = new ServiceCollection();
        services.AddKeyedMLOps("a", b => b.Project("di-a").UseHome(folder.File("a")).CaptureGit(false)).AddFeatureStore();
        services.AddKeyedMLOps("b", b => b.Project("di-b").UseHome(folder.File("b")).CaptureGit(false)).AddFeatureStore().AddFeatureStore();
        await using var provider = services.BuildServiceProvider();
        Assert.Throws<InvalidStateException>(() => provider.GetRequiredKeyedService<FeatureStoreCatalog>("a"), "not before the project is open");

        var a = await provider.GetRequiredKeyedService<MLOpsProjectProvider>("a").GetProjectAsync();
        var b = await provider.GetRequiredKeyedService<MLOpsProjectProvider>("b").GetProjectAsync();
        Assert.That(provider.GetRequiredKeyedService<FeatureStoreCatalog>("a"), Is.SameAs(a.FeatureStore));
        Assert.That(provider.GetRequiredKeyedService<FeatureStoreCatalog>("b"), Is.SameAs(b.FeatureStore));
        Assert.That(provider.GetService<FeatureStoreCatalog>(), Is.Null);
        Assert.That(services.Count(d => d.ServiceType == typeof(FeatureStoreCatalog) && Equals(d.ServiceKey, "b")), Is.EqualTo(1));
        Assert.That(a.FeatureStore.OfflineRoot, Does.StartWith(folder.File("a")));
    }
}
