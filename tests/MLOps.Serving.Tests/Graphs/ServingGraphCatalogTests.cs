using System.Text.Json.Nodes;
using MLOps.Serving.Graphs;

namespace MLOps.Serving.Tests.Graphs;

/// <summary>Serving graphs stored in a real SQLite metadata store and rebuilt from it.</summary>
public sealed class ServingGraphCatalogTests
{
    private TempFolder _folder = null!;
    private string _home = null!;
    private MLOpsProject _project = null!;

    private static ServingStepRegistry Registry() => new ServingStepRegistry()
        .Register("add", o => ServingStep.Create("add", e => { e.Body = (int)e.Body! + (int)o["n"]!; return e; }));

    private static ServingFlow Flow(ServingStepRegistry registry, int first, int second) => ServingGraph.Flow("scoring")
        .To("first", registry.Create("add", new JsonObject { ["n"] = first }))
        .To("second", registry.Create("add", new JsonObject { ["n"] = second }))
        .Build();

    [SetUp]
    public async Task SetUp()
    {
        _folder = new TempFolder();
        _home = _folder.Path;
        _project = await MLOpsProject.Configure("flights").UseHome(_home).CaptureGit(false).OpenAsync();
    }

    [TearDown]
    public async Task TearDown()
    {
        await _project.DisposeAsync();
        _folder.Dispose();
    }

    [Test]
    public async Task SaveAsync_ThenLoadAsync_RebuildsAGraphThatBehavesTheSame()
    {
        var registry = Registry();
        await using var graph = Flow(registry, 1, 10);

        var saved = await _project.ServingGraphs.SaveAsync(graph, "adds eleven");
        await using var loaded = await _project.ServingGraphs.LoadAsync("scoring", registry);

        Assert.That(saved.Version, Is.EqualTo(1));
        Assert.That(saved.Uri, Is.EqualTo("store://serving-graphs/flights/scoring:1"));
        Assert.That(saved.Description, Is.EqualTo("adds eleven"));
        Assert.That(saved.Tags, Does.Contain("latest"));
        Assert.That(loaded.ToJson(), Is.EqualTo(graph.ToJson()));
        Assert.That((await loaded.InvokeAsync(new ServingEvent(5))).Body, Is.EqualTo(16));
    }

    [Test]
    public async Task SaveAsync_UnchangedGraph_KeepsItsVersion()
    {
        var registry = Registry();
        await using var graph = Flow(registry, 1, 10);
        await using var same = Flow(registry, 1, 10);

        var first = await _project.ServingGraphs.SaveAsync(graph);
        var second = await _project.ServingGraphs.SaveAsync(same);

        Assert.That(second.Version, Is.EqualTo(first.Version));
        Assert.That(await _project.ServingGraphs.ListVersionsAsync("scoring"), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task LoadAsync_ByVersionUriAndTag_RebuildsThatVersion()
    {
        var registry = Registry();
        await using var v1 = Flow(registry, 1, 10);
        await using var v2 = Flow(registry, 2, 20);
        await _project.ServingGraphs.SaveAsync(v1);
        var saved2 = await _project.ServingGraphs.SaveAsync(v2);
        await _project.ServingGraphs.TagAsync("scoring", 1, "production");

        await using var latest = await _project.ServingGraphs.LoadAsync("scoring", registry);
        await using var byNumber = await _project.ServingGraphs.LoadAsync("scoring", registry, "1");
        await using var byUri = await _project.ServingGraphs.LoadAsync("store://serving-graphs/flights/scoring:production", registry);

        Assert.That(saved2.Version, Is.EqualTo(2));
        Assert.That((await latest.InvokeAsync(new ServingEvent(0))).Body, Is.EqualTo(22));
        Assert.That((await byNumber.InvokeAsync(new ServingEvent(0))).Body, Is.EqualTo(11));
        Assert.That((await byUri.InvokeAsync(new ServingEvent(0))).Body, Is.EqualTo(11));
        var versions = await _project.ServingGraphs.ListVersionsAsync("scoring");
        Assert.That(versions.Select(v => v.Version), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(versions[0].Tags, Does.Contain("production"));
        Assert.That((await _project.ServingGraphs.ListAsync()).Select(g => (g.Name, g.Version)), Is.EqualTo(new[] { ("scoring", 2) }));
    }

    [Test]
    public async Task GetAsync_UnknownGraph_NotFoundListsStoredGraphs()
    {
        await using var graph = Flow(Registry(), 1, 10);
        await _project.ServingGraphs.SaveAsync(graph);

        var ex = Assert.ThrowsAsync<NotFoundException>(() => _project.ServingGraphs.GetAsync("scorign"));

        Assert.That(ex!.Message, Does.Contain("'scorign'").And.Contain("scoring (v1)"));
    }

    [Test]
    public async Task LoadAsync_RegistryWithoutTheStepKind_ValidationNamesTheKind()
    {
        await using var graph = Flow(Registry(), 1, 10);
        await _project.ServingGraphs.SaveAsync(graph);

        var ex = Assert.ThrowsAsync<ValidationException>(() => _project.ServingGraphs.LoadAsync("scoring", new ServingStepRegistry()));

        Assert.That(ex!.ToString(), Does.Contain("add"));
    }

    [Test]
    public async Task SaveAsync_GraphWithALambdaStep_ValidationNamesTheStep()
    {
        await using var graph = ServingGraph.Flow("lambdas").To("inline", ServingStep.Create("inline", e => e)).Build();

        var ex = Assert.ThrowsAsync<ValidationException>(() => _project.ServingGraphs.SaveAsync(graph));

        Assert.That(ex!.ToString(), Does.Contain("inline"));
        Assert.That(await _project.ServingGraphs.ListAsync(), Is.Empty);
    }

    [Test]
    public async Task TagAsync_NumericTag_Rejected()
    {
        await using var graph = Flow(Registry(), 1, 10);
        await _project.ServingGraphs.SaveAsync(graph);

        var ex = Assert.ThrowsAsync<ValidationException>(() => _project.ServingGraphs.TagAsync("scoring", 1, "2"));

        Assert.That(ex!.Message, Does.Contain("'2'").And.Contain("number"));
    }

    [Test]
    public async Task GetAsync_UriOfAnotherProjectOrScheme_ValidationSaysWhy()
    {
        var otherProject = Assert.ThrowsAsync<ValidationException>(() => _project.ServingGraphs.GetAsync("store://serving-graphs/other/scoring:1"));
        var otherScheme = Assert.ThrowsAsync<ValidationException>(() => _project.ServingGraphs.GetAsync("store://models/flights/scoring:1"));

        Assert.That(otherProject!.Message, Does.Contain("'other'"));
        Assert.That(otherScheme!.Message, Does.Contain("serving-graph"));
    }

    [Test]
    public async Task DeleteAsync_StoredGraph_RemovesEveryVersion()
    {
        await using var graph = Flow(Registry(), 1, 10);
        await _project.ServingGraphs.SaveAsync(graph);

        Assert.That(await _project.ServingGraphs.DeleteAsync("scoring"), Is.True);
        Assert.That(await _project.ServingGraphs.DeleteAsync("scoring"), Is.False);
        Assert.That(await _project.ServingGraphs.ListVersionsAsync("scoring"), Is.Empty);
    }
}
