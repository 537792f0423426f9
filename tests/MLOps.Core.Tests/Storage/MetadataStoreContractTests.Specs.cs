using MLOps.Storage;

namespace MLOps.Core.Tests.Storage;

/// <summary>The spec and sequence part of the metadata store contract.</summary>
public abstract partial class MetadataStoreContractTests
{
    private const string FeatureSet = "feature-set";

    private static NewSpec Spec(string name, string body, string project = "p", string kind = FeatureSet, DateTimeOffset? created = null) =>
        new(project, kind, name, body, "delays by origin", new Dictionary<string, string> { ["team"] = "ml" }, created ?? T0);

    private async Task<SpecRecord> SaveAsync(string name, string body, string project = "p", string kind = FeatureSet, DateTimeOffset? created = null)
    {
        await _store.Projects.GetOrCreateAsync(project, null, T0);
        return await _store.Specs.SaveAsync(Spec(name, body, project, kind, created));
    }

    [Test]
    public async Task Specs_SaveNew_StoresVersionOneTaggedLatest()
    {
        var v1 = await SaveAsync("flights", "{\"a\":1}");
        Assert.Multiple(() =>
        {
            Assert.That(v1.Project, Is.EqualTo("p"));
            Assert.That(v1.Kind, Is.EqualTo(FeatureSet));
            Assert.That(v1.Name, Is.EqualTo("flights"));
            Assert.That(v1.Version, Is.EqualTo(1));
            Assert.That(v1.Body, Is.EqualTo("{\"a\":1}"));
            Assert.That(v1.Description, Is.EqualTo("delays by origin"));
            Assert.That(v1.Labels, Is.EqualTo(new Dictionary<string, string> { ["team"] = "ml" }));
            Assert.That(v1.Created, Is.EqualTo(T0));
            Assert.That(v1.Updated, Is.EqualTo(T0));
            Assert.That(v1.Status, Is.Null);
            Assert.That(v1.Tags, Is.EqualTo(new[] { "latest" }));
        });
    }

    [Test]
    public async Task Specs_SaveSameBody_ReturnsLatestUnchanged()
    {
        var v1 = await SaveAsync("flights", "{\"a\":1}");
        await _store.Specs.SetTagAsync("p", FeatureSet, "flights", "prod", 1);
        var again = await SaveAsync("flights", "{\"a\":1}", created: T0.AddHours(1));
        Assert.That(again.Version, Is.EqualTo(1));
        Assert.That(again.Created, Is.EqualTo(v1.Created));
        Assert.That(again.Tags, Is.EqualTo(new[] { "latest", "prod" }));
        Assert.That(await _store.Specs.ListVersionsAsync("p", FeatureSet, "flights"), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Specs_SaveDifferentBody_AddsVersionAndMovesLatest()
    {
        await SaveAsync("flights", "{\"a\":1}");
        await _store.Specs.SetTagAsync("p", FeatureSet, "flights", "prod", 1);
        var v2 = await SaveAsync("flights", "{\"a\":2}", created: T0.AddHours(1));
        var v3 = await SaveAsync("flights", "{\"a\":1}", created: T0.AddHours(2));
        Assert.That((v2.Version, v3.Version), Is.EqualTo((2, 3)));
        Assert.That(v2.Created, Is.EqualTo(T0.AddHours(1)));
        Assert.That(v3.Tags, Is.EqualTo(new[] { "latest" }));
        var versions = await _store.Specs.ListVersionsAsync("p", FeatureSet, "flights");
        Assert.That(versions.Select(v => (v.Version, v.Tags.ToArray())), Is.EqualTo(new[] { (1, new[] { "prod" }), (2, Array.Empty<string>()), (3, new[] { "latest" }) }));
    }

    [Test]
    public async Task Specs_GetByNumberOrTag_ReturnsVersionOrNull()
    {
        await SaveAsync("flights", "{\"a\":1}");
        await SaveAsync("flights", "{\"a\":2}");
        await _store.Specs.SetTagAsync("p", FeatureSet, "flights", "prod", 1);
        Assert.That((await _store.Specs.GetAsync("p", FeatureSet, "flights"))!.Version, Is.EqualTo(2));
        Assert.That((await _store.Specs.GetAsync("p", FeatureSet, "flights", "latest"))!.Body, Is.EqualTo("{\"a\":2}"));
        Assert.That((await _store.Specs.GetAsync("p", FeatureSet, "flights", "1"))!.Body, Is.EqualTo("{\"a\":1}"));
        Assert.That((await _store.Specs.GetAsync("p", FeatureSet, "flights", "prod"))!.Version, Is.EqualTo(1));
        Assert.That(await _store.Specs.GetAsync("p", FeatureSet, "flights", "9"), Is.Null);
        Assert.That(await _store.Specs.GetAsync("p", FeatureSet, "flights", "nope"), Is.Null);
        Assert.That(await _store.Specs.GetAsync("p", FeatureSet, "other"), Is.Null);
        Assert.That(await _store.Specs.GetAsync("p", "feature-vector", "flights"), Is.Null);
        Assert.That(await _store.Specs.GetAsync("q", FeatureSet, "flights"), Is.Null);
    }

    [Test]
    public async Task Specs_List_LatestPerNameOfOneKindOrderedByName()
    {
        await SaveAsync("weather", "{\"w\":1}");
        await SaveAsync("flights", "{\"a\":1}");
        await SaveAsync("flights", "{\"a\":2}");
        await SaveAsync("vector", "{}", kind: "feature-vector");
        await SaveAsync("airports", "{}", project: "other");
        var list = await _store.Specs.ListAsync("p", FeatureSet);
        Assert.That(list.Select(s => (s.Name, s.Version)), Is.EqualTo(new[] { ("flights", 2), ("weather", 1) }));
        Assert.That(list.Select(s => s.Tags.ToArray()), Is.EqualTo(new[] { new[] { "latest" }, new[] { "latest" } }));
        Assert.That((await _store.Specs.ListAsync("p", "feature-vector")).Select(s => s.Name), Is.EqualTo(new[] { "vector" }));
        Assert.That(await _store.Specs.ListAsync("p", "serving-graph"), Is.Empty);
    }

    [Test]
    public async Task Specs_ListVersions_OldestFirstOrEmpty()
    {
        await SaveAsync("flights", "1");
        await SaveAsync("flights", "2");
        await SaveAsync("flights", "3");
        Assert.That((await _store.Specs.ListVersionsAsync("p", FeatureSet, "flights")).Select(v => v.Version), Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(await _store.Specs.ListVersionsAsync("p", FeatureSet, "none"), Is.Empty);
    }

    [Test]
    public async Task Specs_SetTag_MovesTagAndLatestRollsBack()
    {
        await SaveAsync("flights", "1");
        await SaveAsync("flights", "2");
        await _store.Specs.SetTagAsync("p", FeatureSet, "flights", "prod", 1);
        await _store.Specs.SetTagAsync("p", FeatureSet, "flights", "prod", 2);
        Assert.That((await _store.Specs.GetAsync("p", FeatureSet, "flights", "prod"))!.Version, Is.EqualTo(2));
        Assert.That((await _store.Specs.GetAsync("p", FeatureSet, "flights", "2"))!.Tags, Is.EqualTo(new[] { "latest", "prod" }));

        await _store.Specs.SetTagAsync("p", FeatureSet, "flights", "latest", 1);
        Assert.That((await _store.Specs.ListAsync("p", FeatureSet)).Single().Version, Is.EqualTo(1));
        Assert.That((await SaveAsync("flights", "1")).Version, Is.EqualTo(1));
        Assert.That((await SaveAsync("flights", "4")).Version, Is.EqualTo(3));
    }

    [Test]
    public async Task Specs_UpdateStatus_SetsStatusAndUpdatedOfOneVersion()
    {
        await SaveAsync("flights", "1");
        await SaveAsync("flights", "2");
        await _store.Specs.UpdateStatusAsync("p", FeatureSet, "flights", 1, "{\"rows\":10}", T0.AddHours(3));
        var v1 = (await _store.Specs.GetAsync("p", FeatureSet, "flights", "1"))!;
        var v2 = (await _store.Specs.GetAsync("p", FeatureSet, "flights", "2"))!;
        Assert.That((v1.Status, v1.Updated, v1.Created), Is.EqualTo(("{\"rows\":10}", T0.AddHours(3), T0)));
        Assert.That((v2.Status, v2.Updated), Is.EqualTo(((string?)null, T0)));
        await _store.Specs.UpdateStatusAsync("p", FeatureSet, "flights", 1, "{\"rows\":20}", T0.AddHours(4));
        Assert.That((await _store.Specs.GetAsync("p", FeatureSet, "flights", "1"))!.Status, Is.EqualTo("{\"rows\":20}"));
    }

    [Test]
    public async Task Specs_MissingVersionOrSpec_ThrowsNotFoundNamingIt()
    {
        await SaveAsync("flights", "1");
        var tag = Assert.ThrowsAsync<NotFoundException>(() => _store.Specs.SetTagAsync("p", FeatureSet, "flights", "prod", 7))!;
        Assert.That(tag.Message, Does.Contain("flights").And.Contain("7"));
        var status = Assert.ThrowsAsync<NotFoundException>(() => _store.Specs.UpdateStatusAsync("p", FeatureSet, "flights", 2, "{}", T0))!;
        Assert.That(status.Key, Is.EqualTo("flights:2"));
        var missing = Assert.ThrowsAsync<NotFoundException>(() => _store.Specs.SetTagAsync("p", FeatureSet, "none", "prod", 1))!;
        Assert.That(missing.Key, Is.EqualTo("none"));
        Assert.ThrowsAsync<NotFoundException>(() => _store.Specs.UpdateStatusAsync("p", FeatureSet, "none", 1, "{}", T0));
        Assert.That(await _store.Specs.GetAsync("p", FeatureSet, "flights", "prod"), Is.Null);
    }

    [Test]
    public async Task Specs_Delete_RemovesEveryVersionAndTagOfOneSpec()
    {
        await SaveAsync("flights", "1");
        await SaveAsync("flights", "2");
        await SaveAsync("weather", "1");
        await _store.Specs.SetTagAsync("p", FeatureSet, "flights", "prod", 1);
        Assert.That(await _store.Specs.DeleteAsync("p", FeatureSet, "flights"), Is.True);
        Assert.That(await _store.Specs.DeleteAsync("p", FeatureSet, "flights"), Is.False);
        Assert.That(await _store.Specs.ListVersionsAsync("p", FeatureSet, "flights"), Is.Empty);
        Assert.That(await _store.Specs.GetAsync("p", FeatureSet, "flights", "prod"), Is.Null);
        Assert.That((await _store.Specs.ListAsync("p", FeatureSet)).Select(s => s.Name), Is.EqualTo(new[] { "weather" }));

        var recreated = await SaveAsync("flights", "2");
        Assert.That((recreated.Version, recreated.Tags), Is.EqualTo((1, new[] { "latest" })));
    }

    [Test]
    public async Task Projects_Delete_RemovesSpecsTagsAndSequences()
    {
        await SaveAsync("flights", "1", project: "gone");
        await _store.Specs.SetTagAsync("gone", FeatureSet, "flights", "prod", 1);
        await _store.Specs.ClaimSequenceAsync("gone", "s", "a", T0);
        await _store.Specs.ClaimSequenceAsync("gone", "s", "b", T0);
        await SaveAsync("flights", "1", project: "kept");
        await _store.Specs.ClaimSequenceAsync("kept", "s", "a", T0);

        Assert.That(await _store.Projects.DeleteAsync("gone"), Is.True);

        Assert.That(await _store.Specs.ListAsync("gone", FeatureSet), Is.Empty);
        Assert.That(await _store.Specs.ListVersionsAsync("gone", FeatureSet, "flights"), Is.Empty);
        Assert.That(await _store.Specs.GetAsync("gone", FeatureSet, "flights", "prod"), Is.Null);
        Assert.That(await _store.Specs.ClaimSequenceAsync("gone", "s", "c", T0), Is.EqualTo(1));
        Assert.That(await _store.Specs.ListAsync("kept", FeatureSet), Has.Count.EqualTo(1));
        Assert.That(await _store.Specs.ClaimSequenceAsync("kept", "s", "b", T0), Is.EqualTo(2));
    }

    [Test]
    public async Task Specs_ClaimSequence_SameTokenSameNumberNewTokenNext()
    {
        await _store.Projects.GetOrCreateAsync("p", null, T0);
        Assert.That(await _store.Specs.ClaimSequenceAsync("p", "feature-set/flights", "ingest-a", T0), Is.EqualTo(1));
        Assert.That(await _store.Specs.ClaimSequenceAsync("p", "feature-set/flights", "ingest-b", T0), Is.EqualTo(2));
        Assert.That(await _store.Specs.ClaimSequenceAsync("p", "feature-set/flights", "ingest-a", T0.AddHours(1)), Is.EqualTo(1));
        Assert.That(await _store.Specs.ClaimSequenceAsync("p", "feature-set/flights", "ingest-c", T0), Is.EqualTo(3));
        Assert.That(await _store.Specs.ClaimSequenceAsync("p", "feature-set/weather", "ingest-a", T0), Is.EqualTo(1));
        Assert.That(await _store.Specs.ClaimSequenceAsync("q", "feature-set/flights", "ingest-z", T0), Is.EqualTo(1));
        Assert.That(await _store.Specs.ClaimSequenceAsync("p", "feature-set/flights", "ingest-b", T0), Is.EqualTo(2));
    }

    [Test]
    public async Task Specs_ReleaseSequence_GreatestNumberIsClaimedAgainOthersKept()
    {
        await _store.Projects.GetOrCreateAsync("p", null, T0);
        await _store.Specs.ClaimSequenceAsync("p", "s", "a", T0);
        Assert.That(await _store.Specs.ClaimSequenceAsync("p", "s", "failed", T0), Is.EqualTo(2));
        Assert.That(await _store.Specs.ReleaseSequenceAsync("p", "s", "failed"), Is.True);
        Assert.That(await _store.Specs.ReleaseSequenceAsync("p", "s", "failed"), Is.False, "a second release finds nothing");
        Assert.That(await _store.Specs.ReleaseSequenceAsync("q", "s", "a"), Is.False, "another project's scope is untouched");
        Assert.That(await _store.Specs.ClaimSequenceAsync("p", "s", "next", T0), Is.EqualTo(2), "the released number is claimed again");
        Assert.That(await _store.Specs.ClaimSequenceAsync("p", "s", "a", T0), Is.EqualTo(1), "other claims are kept");
    }

    [Test]
    public async Task Specs_ClaimSequenceConcurrently_DistinctNumbersOneToEight()
    {
        await _store.Projects.GetOrCreateAsync("p", null, T0);
        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Task.Run(() => _store.Specs.ClaimSequenceAsync("p", "scope", "token-" + i, T0))));
        Assert.That(claims.Order(), Is.EqualTo(Enumerable.Range(1, 8).Select(i => (long)i)));

        var again = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Task.Run(() => _store.Specs.ClaimSequenceAsync("p", "scope", "token-" + i, T0))));
        Assert.That(again, Is.EqualTo(claims));
    }

    [Test]
    public async Task Specs_ClaimSequenceFromTwoStoreInstances_DistinctNumbers()
    {
        await using var second = await CreateStoreAsync(_folder.Path);
        await second.InitializeAsync();
        await _store.Projects.GetOrCreateAsync("p", null, T0);
        var claims = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            Task.Run(() => (i % 2 == 0 ? _store : second).Specs.ClaimSequenceAsync("p", "scope", "token-" + i, T0))));
        Assert.That(claims.Order(), Is.EqualTo(Enumerable.Range(1, 16).Select(i => (long)i)));
    }
}
