using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.TestSupport;

namespace MLOps.FeatureStore.Tests.FeatureSets;

public class StoreUriTests
{
    private static async Task<(MLOpsProject Project, FeatureStoreCatalog Fs)> IngestTwoVersionsAsync(TempFolder folder)
    {
        var project = await TestProjects.OpenAsync(folder, "flights");
        var fs = project.FeatureStore;
        await fs.IngestAsync(fs.FeatureSet("airports").Entity("iata").Build(), DataSource.Csv(TestProjects.AirportsCsv));
        await fs.IngestAsync(fs.FeatureSet("airports").Entity("iata").Drop("name").Build(), DataSource.Csv(TestProjects.AirportsCsv));
        return (project, fs);
    }

    [Test]
    public async Task GetFeatureSetAsync_StoreUri_ResolvesVersionAndTag()
    {
        using var folder = new TempFolder();
        var (project, fs) = await IngestTwoVersionsAsync(folder);
        await using var _ = project;

        var latest = await fs.GetFeatureSetAsync("store://feature-sets/flights/airports");
        var first = await fs.GetFeatureSetAsync("store://feature-sets/flights/airports:1");
        Assert.That(latest.Version, Is.EqualTo(2));
        Assert.That(first.Version, Is.EqualTo(1));
        Assert.That(first.Steps, Is.Empty);
        Assert.That(latest.Uri("flights"), Is.EqualTo("store://feature-sets/flights/airports:2"));

        await fs.TagFeatureSetAsync("airports", 1, "production");
        var tagged = await fs.GetFeatureSetAsync("store://feature-sets/flights/airports:production");
        Assert.That(tagged.Version, Is.EqualTo(1));
        var info = await fs.GetInfoAsync("airports", "production");
        Assert.That(info.Tags, Does.Contain("production"));
        Assert.That(info.Uri, Is.EqualTo("store://feature-sets/flights/airports:1"));
    }

    [Test]
    public async Task GetFeatureSetAsync_UriOfAnotherProjectOrKind_ThrowsNamingIt()
    {
        using var folder = new TempFolder();
        var (project, fs) = await IngestTwoVersionsAsync(folder);
        await using var _ = project;

        var other = Assert.ThrowsAsync<ValidationException>(() => fs.GetFeatureSetAsync("store://feature-sets/other/airports"))!;
        Assert.That(other.Message, Does.Contain("project 'other'"));
        var kind = Assert.ThrowsAsync<ValidationException>(() => fs.GetFeatureSetAsync("store://feature-vectors/flights/airports"))!;
        Assert.That(kind.Message, Does.Contain("feature-sets"));
        Assert.ThrowsAsync<NotFoundException>(() => fs.GetFeatureSetAsync("store://feature-sets/flights/airports:9"));
    }

    [Test]
    public async Task TagFeatureSetAsync_NumericTagOrMissingVersion_Throws()
    {
        using var folder = new TempFolder();
        var (project, fs) = await IngestTwoVersionsAsync(folder);
        await using var _ = project;

        Assert.ThrowsAsync<ValidationException>(() => fs.TagFeatureSetAsync("airports", 1, "3"));
        Assert.ThrowsAsync<NotFoundException>(() => fs.TagFeatureSetAsync("airports", 7, "production"));
    }

    [Test]
    public async Task GetVectorAsync_StoreUriAndNameOverloads_Work()
    {
        using var folder = new TempFolder();
        var (project, fs) = await IngestTwoVersionsAsync(folder);
        await using var _ = project;
        var vector = await fs.Vector("geo").Select("airports.state", "airports.latitude").SaveAsync();
        Assert.That(vector.Uri("flights"), Is.EqualTo("store://feature-vectors/flights/geo:1"));
        await fs.TagVectorAsync("geo", 1, "serving");

        var loaded = await fs.GetVectorAsync("store://feature-vectors/flights/geo:serving");
        Assert.That(loaded.Features.Select(f => f.Feature), Is.EqualTo(new[] { "state", "latitude" }));

        await using var online = await fs.GetOnlineServiceAsync("store://feature-vectors/flights/geo");
        var sfo = await online.GetAsync(new Dictionary<string, object> { ["iata"] = "SFO" });
        Assert.That(sfo.GetString("state"), Is.EqualTo("CA"));

        using var all = await fs.GetOfflineFeaturesAsync("geo");
        Assert.That(all.RowCount, Is.GreaterThan(3000));
    }
}

public class FeatureSetKeyChangeTests
{
    [Test]
    public async Task IngestAsync_RedefinedWithOtherEntityOrTimestamp_ThrowsListingBoth()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.IngestAsync(fs.FeatureSet("delays").Entity("origin").Timestamp("date").Build(), DataSource.Json(TestProjects.FlightsJson));

        var changed = fs.FeatureSet("delays").Entity("destination").Build();
        var e = Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(changed, DataSource.Json(TestProjects.FlightsJson)))!;
        Assert.That(e.Errors, Has.Count.EqualTo(2));
        Assert.That(e.Message, Does.Contain("[destination]").And.Contain("[origin]").And.Contain("'date'"));
        Assert.ThrowsAsync<ValidationException>(() => fs.SaveAsync(changed));
        Assert.That((await fs.GetFeatureSetAsync("delays")).Version, Is.EqualTo(1), "nothing was stored");
    }
}
