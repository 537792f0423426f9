using MLOps.Artifacts;
using MLOps.Registry;
using MLOps.Runs;
using MLOps.Storage;

namespace MLOps.Core.Tests.Storage;

/// <summary>
/// The contract every <see cref="IMetadataStore"/> implementation must pass. Derive once per implementation and
/// implement <see cref="CreateStoreAsync"/>; every test runs against it.
/// </summary>
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public abstract partial class MetadataStoreContractTests
{
    private readonly TempFolder _folder = new();
    private IMetadataStore _store = null!;
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    protected abstract Task<IMetadataStore> CreateStoreAsync(string folder);

    [SetUp]
    public async Task SetUp()
    {
        _store = await CreateStoreAsync(_folder.Path);
        await _store.InitializeAsync();
    }

    [TearDown]
    public async Task TearDown()
    {
        await _store.DisposeAsync();
        _folder.Dispose();
    }

    private async Task<RunRecord> NewRunAsync(string project = "p", string name = "train", string? parent = null, int? iteration = null, DateTimeOffset? start = null,
        Dictionary<string, string>? parameters = null)
    {
        await _store.Projects.GetOrCreateAsync(project, null, T0);
        return await _store.Runs.CreateAsync(new NewRun
        {
            Id = Guid.CreateVersion7().ToString("N"),
            Project = project,
            Name = name,
            StartTime = start ?? T0,
            ParentId = parent,
            Iteration = iteration,
            Parameters = parameters ?? [],
        });
    }

    // ---- projects ----

    [Test]
    public async Task Projects_GetOrCreateTwice_CreatesOnce()
    {
        var a = await _store.Projects.GetOrCreateAsync("flights", "first", T0);
        var b = await _store.Projects.GetOrCreateAsync("flights", "second", T0.AddDays(1));
        Assert.That(b.Description, Is.EqualTo("first"));
        Assert.That(b.Created, Is.EqualTo(a.Created));
        Assert.That((await _store.Projects.ListAsync()).Select(p => p.Name), Is.EqualTo(new[] { "flights" }));
    }

    [Test]
    public async Task Projects_Update_SetsAndRemovesParametersAndLabels()
    {
        await _store.Projects.GetOrCreateAsync("p", null, T0);
        await _store.Projects.UpdateAsync("p", new Dictionary<string, string?> { ["a"] = "1", ["b"] = "2" }, new Dictionary<string, string?> { ["team"] = "ml" }, T0.AddHours(1));
        var p = await _store.Projects.UpdateAsync("p", new Dictionary<string, string?> { ["a"] = null, ["b"] = "3" }, null, T0.AddHours(2));
        Assert.That(p.Parameters, Is.EqualTo(new Dictionary<string, string> { ["b"] = "3" }));
        Assert.That(p.Labels, Is.EqualTo(new Dictionary<string, string> { ["team"] = "ml" }));
        Assert.That(p.Updated, Is.EqualTo(T0.AddHours(2)));
    }

    [Test]
    public void Projects_UpdateUnknown_ThrowsNotFound()
        => Assert.ThrowsAsync<NotFoundException>(() => _store.Projects.UpdateAsync("nope", null, null, T0));

    [Test]
    public async Task Projects_Delete_RemovesRunsArtifactsAndModels()
    {
        var run = await NewRunAsync("gone");
        await NewRunAsync("kept");
        await _store.Runs.LogMetricsAsync([new MetricEntry(run.Id, "m", 1, 0, T0)]);
        await _store.Artifacts.AddVersionAsync(Artifact("gone", "data"));
        await _store.Models.AddVersionAsync(Model("gone", "m"));
        Assert.That(await _store.Projects.DeleteAsync("gone"), Is.True);
        Assert.That(await _store.Projects.GetAsync("gone"), Is.Null);
        Assert.That(await _store.Runs.GetAsync(run.Id), Is.Null);
        Assert.That(await _store.Runs.GetMetricHistoryAsync(run.Id, "m"), Is.Empty);
        Assert.That(await _store.Artifacts.ListAsync("gone"), Is.Empty);
        Assert.That(await _store.Models.ListModelsAsync("gone"), Is.Empty);
        Assert.That((await _store.Runs.SearchAsync(new RunQuery { Project = "kept" })).Runs, Has.Count.EqualTo(1));
        Assert.That(await _store.Projects.DeleteAsync("gone"), Is.False);
    }

    // ---- runs ----

    [Test]
    public async Task Runs_Create_RoundTripsEveryField()
    {
        await _store.Projects.GetOrCreateAsync("p", null, T0);
        var parent = await NewRunAsync();
        var created = await _store.Runs.CreateAsync(new NewRun
        {
            Id = "0192a0b0c0d0e0f00000000000000001",
            Project = "p",
            Name = "child",
            StartTime = T0.AddTicks(12345),
            ParentId = parent.Id,
            Iteration = 3,
            Host = "host1",
            GitCommit = new string('a', 40),
            GitDirty = true,
            Labels = new Dictionary<string, string> { ["team"] = "ml" },
            Parameters = new Dictionary<string, string> { ["lr"] = "0.1" },
        });
        Assert.Multiple(() =>
        {
            Assert.That(created.State, Is.EqualTo(RunState.Running));
            Assert.That(created.StartTime, Is.EqualTo(T0.AddTicks(12345)));
            Assert.That(created.ParentId, Is.EqualTo(parent.Id));
            Assert.That(created.Iteration, Is.EqualTo(3));
            Assert.That(created.Host, Is.EqualTo("host1"));
            Assert.That(created.GitCommit, Is.EqualTo(new string('a', 40)));
            Assert.That(created.GitDirty, Is.True);
            Assert.That(created.Labels["team"], Is.EqualTo("ml"));
            Assert.That(created.Parameters["lr"], Is.EqualTo("0.1"));
            Assert.That(created.EndTime, Is.Null);
            Assert.That(created.Duration, Is.Null);
        });
    }

    [Test]
    public async Task Runs_CreateWithUnknownParent_ThrowsNotFound()
    {
        await _store.Projects.GetOrCreateAsync("p", null, T0);
        Assert.ThrowsAsync<NotFoundException>(() => _store.Runs.CreateAsync(new NewRun { Id = "x1", Project = "p", Name = "n", StartTime = T0, ParentId = "missing" }));
    }

    [TestCase(RunState.Completed)]
    [TestCase(RunState.Failed)]
    [TestCase(RunState.Aborted)]
    public async Task Runs_End_StoresStateTimeAndError(RunState state)
    {
        var run = await NewRunAsync();
        await _store.Runs.EndAsync(run.Id, state, T0.AddMinutes(5), state == RunState.Completed ? null : "boom", "stack");
        var ended = await _store.Runs.GetAsync(run.Id);
        Assert.That(ended!.State, Is.EqualTo(state));
        Assert.That(ended.EndTime, Is.EqualTo(T0.AddMinutes(5)));
        Assert.That(ended.Duration, Is.EqualTo(TimeSpan.FromMinutes(5)));
        Assert.That(ended.Error, Is.EqualTo(state == RunState.Completed ? null : "boom"));
    }

    [Test]
    public async Task Runs_EndTwice_ThrowsInvalidState()
    {
        var run = await NewRunAsync();
        await _store.Runs.EndAsync(run.Id, RunState.Completed, T0, null, null);
        var e = Assert.ThrowsAsync<InvalidStateException>(() => _store.Runs.EndAsync(run.Id, RunState.Failed, T0, "x", null));
        Assert.That(e!.Message, Does.Contain("already ended as Completed"));
        Assert.ThrowsAsync<NotFoundException>(() => _store.Runs.EndAsync("missing", RunState.Completed, T0, null, null));
    }

    [Test]
    public async Task Runs_LogSameParameterTwice_IsNoOp()
    {
        var run = await NewRunAsync(parameters: new() { ["trees"] = "20" });
        await _store.Runs.LogParametersAsync(run.Id, new Dictionary<string, string> { ["trees"] = "20", ["leaves"] = "16" });
        Assert.That((await _store.Runs.GetAsync(run.Id))!.Parameters, Is.EqualTo(new Dictionary<string, string> { ["trees"] = "20", ["leaves"] = "16" }));
    }

    [Test]
    public async Task Runs_LogConflictingParameter_ThrowsAndStoresNothingOfTheBatch()
    {
        var run = await NewRunAsync(parameters: new() { ["trees"] = "20" });
        var e = Assert.ThrowsAsync<ParameterConflictException>(() => _store.Runs.LogParametersAsync(run.Id, new Dictionary<string, string> { ["new"] = "1", ["trees"] = "50" }));
        Assert.That(e!.Message, Does.Contain("'trees'").And.Contain("'20'").And.Contain("'50'"));
        Assert.That((await _store.Runs.GetAsync(run.Id))!.Parameters.ContainsKey("new"), Is.False);
    }

    [Test]
    public async Task Runs_LogResults_OverwritesAndKeepsNaN()
    {
        var run = await NewRunAsync();
        await _store.Runs.LogResultsAsync(run.Id, new Dictionary<string, double> { ["auc"] = 0.5, ["nan"] = double.NaN });
        await _store.Runs.LogResultsAsync(run.Id, new Dictionary<string, double> { ["auc"] = 0.9 });
        var r = (await _store.Runs.GetAsync(run.Id))!.Results;
        Assert.That(r["auc"], Is.EqualTo(0.9));
        Assert.That(double.IsNaN(r["nan"]), Is.True);
    }

    [Test]
    public async Task Runs_SetLabels_OverwritesAndRemoves()
    {
        var run = await NewRunAsync();
        await _store.Runs.SetLabelsAsync(run.Id, new Dictionary<string, string?> { ["a"] = "1", ["b"] = "2" });
        await _store.Runs.SetLabelsAsync(run.Id, new Dictionary<string, string?> { ["a"] = "3", ["b"] = null });
        Assert.That((await _store.Runs.GetAsync(run.Id))!.Labels, Is.EqualTo(new Dictionary<string, string> { ["a"] = "3" }));
    }

    [Test]
    public async Task Runs_WritesToUnknownRun_ThrowNotFound()
    {
        await _store.Projects.GetOrCreateAsync("p", null, T0);
        Assert.ThrowsAsync<NotFoundException>(() => _store.Runs.LogParametersAsync("nope", new Dictionary<string, string> { ["a"] = "1" }));
        Assert.ThrowsAsync<NotFoundException>(() => _store.Runs.LogResultsAsync("nope", new Dictionary<string, double> { ["a"] = 1 }));
        Assert.ThrowsAsync<NotFoundException>(() => _store.Runs.LogMetricsAsync([new MetricEntry("nope", "m", 1, 0, T0)]));
        Assert.ThrowsAsync<NotFoundException>(() => _store.Runs.AddLinksAsync("nope", [new RunLink(RunLinkDirection.Input, "x", "store://datasets/p/x:1")]));
    }

    [Test]
    public async Task Runs_MetricHistory_OrderedByStepWithNaNAndInfinity()
    {
        var run = await NewRunAsync();
        await _store.Runs.LogMetricsAsync([
            new MetricEntry(run.Id, "loss", 3, 2, T0.AddSeconds(2)),
            new MetricEntry(run.Id, "loss", double.NaN, 0, T0),
            new MetricEntry(run.Id, "loss", double.PositiveInfinity, 1, T0.AddSeconds(1)),
            new MetricEntry(run.Id, "other", 9, 0, T0),
        ]);
        var h = await _store.Runs.GetMetricHistoryAsync(run.Id, "loss");
        Assert.That(h.Select(p => p.Step), Is.EqualTo(new long[] { 0, 1, 2 }));
        Assert.That(double.IsNaN(h[0].Value), Is.True);
        Assert.That(h[1].Value, Is.EqualTo(double.PositiveInfinity));
        Assert.That(h[2].Timestamp, Is.EqualTo(T0.AddSeconds(2)));
    }

    [Test]
    public async Task Runs_LatestMetric_IsGreatestStepThenTimestampAcrossBatches()
    {
        var run = await NewRunAsync();
        await _store.Runs.LogMetricsAsync([new MetricEntry(run.Id, "m", 5, 10, T0), new MetricEntry(run.Id, "m", 1, 3, T0.AddSeconds(9))]);
        await _store.Runs.LogMetricsAsync([new MetricEntry(run.Id, "m", 7, 4, T0.AddSeconds(20))]); // older step: not latest
        Assert.That((await _store.Runs.GetAsync(run.Id))!.Metrics["m"], Is.EqualTo(5));
        await _store.Runs.LogMetricsAsync([new MetricEntry(run.Id, "m", 8, 10, T0.AddSeconds(30))]); // same step, later
        Assert.That((await _store.Runs.GetAsync(run.Id))!.Metrics["m"], Is.EqualTo(8));
    }

    [Test]
    public async Task Runs_LogManyMetrics_AllStoredInOrder()
    {
        var run = await NewRunAsync();
        var points = Enumerable.Range(0, 2_345).Select(i => new MetricEntry(run.Id, "m", i * 0.5, i, T0.AddMilliseconds(i))).ToList();
        await _store.Runs.LogMetricsAsync(points);
        var h = await _store.Runs.GetMetricHistoryAsync(run.Id, "m");
        Assert.That(h, Has.Count.EqualTo(2_345));
        Assert.That(h.Select(p => p.Value), Is.EqualTo(points.Select(p => p.Value)));
        Assert.That((await _store.Runs.GetAsync(run.Id))!.Metrics["m"], Is.EqualTo(2_344 * 0.5));
    }

    [Test]
    public async Task Runs_Links_ReplaceSameNameAndSplitInputsOutputs()
    {
        var run = await NewRunAsync();
        await _store.Runs.AddLinksAsync(run.Id, [new RunLink(RunLinkDirection.Input, "data", "store://datasets/p/a:1"), new RunLink(RunLinkDirection.Output, "model", "store://models/p/m:1")]);
        await _store.Runs.AddLinksAsync(run.Id, [new RunLink(RunLinkDirection.Input, "data", "store://datasets/p/a:2")]);
        var r = (await _store.Runs.GetAsync(run.Id))!;
        Assert.That(r.Inputs, Is.EqualTo(new Dictionary<string, string> { ["data"] = "store://datasets/p/a:2" }));
        Assert.That(r.Outputs, Is.EqualTo(new Dictionary<string, string> { ["model"] = "store://models/p/m:1" }));
    }

    [Test]
    public async Task Runs_Logs_AppendedInOrder()
    {
        var run = await NewRunAsync();
        await _store.Runs.AppendLogsAsync([new RunLogEntry(run.Id, T0, "Information", "c", "one"), new RunLogEntry(run.Id, T0, "Warning", "c", "two")]);
        await _store.Runs.AppendLogsAsync([new RunLogEntry(run.Id, T0, "Error", "c", "three")]);
        Assert.That((await _store.Runs.GetLogsAsync(run.Id)).Select(l => l.Message), Is.EqualTo(new[] { "one", "two", "three" }));
    }

    [Test]
    public async Task Runs_Delete_RemovesRunAndItsData()
    {
        var run = await NewRunAsync();
        await _store.Runs.LogMetricsAsync([new MetricEntry(run.Id, "m", 1, 0, T0)]);
        Assert.That(await _store.Runs.DeleteAsync(run.Id), Is.True);
        Assert.That(await _store.Runs.GetAsync(run.Id), Is.Null);
        Assert.That(await _store.Runs.GetMetricHistoryAsync(run.Id, "m"), Is.Empty);
        Assert.That(await _store.Runs.DeleteAsync(run.Id), Is.False);
    }

    // ---- search ----

    private async Task<List<RunRecord>> SeedSearchAsync()
    {
        var runs = new List<RunRecord>();
        for (var i = 0; i < 10; i++)
        {
            var r = await NewRunAsync(name: i % 2 == 0 ? "train" : "evaluate", start: T0.AddMinutes(i), parameters: new() { ["trees"] = (i * 10).ToString(), ["kind"] = i < 5 ? "small" : "big" });
            await _store.Runs.LogMetricsAsync([new MetricEntry(r.Id, "auc", i / 10.0, 0, T0)]);
            if (i % 3 == 0) await _store.Runs.LogResultsAsync(r.Id, new Dictionary<string, double> { ["loss"] = 10 - i });
            await _store.Runs.SetLabelsAsync(r.Id, new Dictionary<string, string?> { ["team"] = i < 3 ? "a" : "b" });
            if (i == 9) await _store.Runs.EndAsync(r.Id, RunState.Failed, T0.AddHours(1), "x", null);
            else if (i != 8) await _store.Runs.EndAsync(r.Id, RunState.Completed, T0.AddHours(1), null, null);
            runs.Add(r);
        }
        await NewRunAsync(project: "other"); // never returned
        return runs;
    }

    private async Task<int[]> SearchIndexes(List<RunRecord> runs, RunFilter? filter, params RunOrder[] order)
    {
        var page = await _store.Runs.SearchAsync(new RunQuery { Project = "p", Filter = filter, OrderBy = order });
        return page.Runs.Select(r => runs.FindIndex(x => x.Id == r.Id)).ToArray();
    }

    [Test]
    public async Task Search_NoFilter_NewestFirstOnlyThisProject()
    {
        var runs = await SeedSearchAsync();
        Assert.That(await SearchIndexes(runs, null), Is.EqualTo(Enumerable.Range(0, 10).Reverse().ToArray()));
    }

    [Test]
    public async Task Search_MetricComparisons_FilterAndSort()
    {
        var runs = await SeedSearchAsync();
        Assert.That(await SearchIndexes(runs, RunField.Metric("auc") > 0.65, RunField.Metric("auc").Descending()), Is.EqualTo(new[] { 9, 8, 7 }));
        Assert.That(await SearchIndexes(runs, RunField.Metric("auc") >= 0.7, RunField.Metric("auc").Ascending()), Is.EqualTo(new[] { 7, 8, 9 }));
        Assert.That(await SearchIndexes(runs, RunField.Metric("auc") < 0.2, RunField.Metric("auc").Ascending()), Is.EqualTo(new[] { 0, 1 }));
        Assert.That(await SearchIndexes(runs, RunField.Metric("auc") <= 0.2, RunField.Metric("auc").Ascending()), Is.EqualTo(new[] { 0, 1, 2 }));
        Assert.That(await SearchIndexes(runs, RunField.Metric("auc").Is(0.5)), Is.EqualTo(new[] { 5 }));
        Assert.That((await SearchIndexes(runs, RunField.Metric("auc").IsNot(0.5))).Length, Is.EqualTo(9));
        Assert.That(await SearchIndexes(runs, RunField.Metric("missing") > 0), Is.Empty);
    }

    [Test]
    public async Task Search_ParametersCompareNumericallyAndAsText()
    {
        var runs = await SeedSearchAsync();
        // numeric: "90" > "100" as text would be wrong; 20..90 >= 70 numerically
        Assert.That(await SearchIndexes(runs, RunField.Param("trees") >= 70, RunField.Param("trees").Ascending()), Is.EqualTo(new[] { 7, 8, 9 }));
        Assert.That(await SearchIndexes(runs, RunField.Param("kind").Is("small") & RunField.Param("trees").Is(20)), Is.EqualTo(new[] { 2 }));
        Assert.That((await SearchIndexes(runs, RunField.Param("kind").IsLike("bi%"))).Length, Is.EqualTo(5));
    }

    [Test]
    public async Task Search_AttributesResultsLabelsAndBooleanLogic()
    {
        var runs = await SeedSearchAsync();
        Assert.That(await SearchIndexes(runs, RunField.State.Is(RunState.Failed)), Is.EqualTo(new[] { 9 }));
        Assert.That(await SearchIndexes(runs, RunField.State.Is(RunState.Running)), Is.EqualTo(new[] { 8 }));
        Assert.That((await SearchIndexes(runs, RunField.Name.Is("evaluate"))).Length, Is.EqualTo(5));
        Assert.That(await SearchIndexes(runs, RunField.Result("loss") < 5, RunField.Result("loss").Ascending()), Is.EqualTo(new[] { 9, 6 }));
        Assert.That(await SearchIndexes(runs, RunField.Label("team").Is("a"), RunField.StartTime.Ascending()), Is.EqualTo(new[] { 0, 1, 2 }));
        Assert.That(await SearchIndexes(runs, (RunField.Label("team").Is("a") | RunField.Metric("auc") > 0.85) & !RunField.Name.Is("train"), RunField.StartTime.Ascending()), Is.EqualTo(new[] { 1, 9 }));
        Assert.That(await SearchIndexes(runs, RunField.StartTime >= T0.AddMinutes(3) & RunField.StartTime < T0.AddMinutes(5), RunField.StartTime.Ascending()), Is.EqualTo(new[] { 3, 4 }));
        Assert.That(await SearchIndexes(runs, RunField.Attribute("start_time").Is(T0.AddMinutes(4))), Is.EqualTo(new[] { 4 }));
        Assert.That(await SearchIndexes(runs, RunFilter.Parse("start_time >= '2026-01-01T00:08:00Z'"), RunField.StartTime.Ascending()), Is.EqualTo(new[] { 8, 9 }));
        Assert.ThrowsAsync<ValidationException>(() => SearchIndexes(runs, RunField.StartTime > 5));
    }

    [Test]
    public async Task Search_ParsedText_MatchesTypedFilter()
    {
        var runs = await SeedSearchAsync();
        var typed = await SearchIndexes(runs, (RunField.Metric("auc") > 0.3 & RunField.Param("kind").Is("small")) | RunField.State.Is(RunState.Failed), RunField.Metric("auc").Descending());
        var parsed = await SearchIndexes(runs, RunFilter.Parse("(metrics.auc > 0.3 and params.kind = 'small') or state = 'failed'"), RunOrder.Parse("metrics.auc desc"));
        Assert.That(parsed, Is.EqualTo(typed));
        Assert.That(parsed, Is.EqualTo(new[] { 9, 4 }));
    }

    [Test]
    public async Task Search_OrderByMissingKey_PutsRunsWithoutItLast()
    {
        var runs = await SeedSearchAsync();
        var order = await SearchIndexes(runs, null, RunField.Result("loss").Descending());
        Assert.That(order.Take(4), Is.EqualTo(new[] { 0, 3, 6, 9 }));
        Assert.That(order.Skip(4).Order(), Is.EqualTo(new[] { 1, 2, 4, 5, 7, 8 }));
    }

    [Test]
    public async Task Search_Paging_VisitsEveryRunOnceInOrder()
    {
        var runs = await SeedSearchAsync();
        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await _store.Runs.SearchAsync(new RunQuery { Project = "p", PageSize = 3, PageToken = token, OrderBy = [RunField.Metric("auc").Ascending()] });
            seen.AddRange(page.Runs.Select(r => r.Id));
            token = page.NextPageToken;
            pages++;
        }
        while (token is not null);
        Assert.That(pages, Is.EqualTo(4));
        Assert.That(seen, Is.EqualTo(runs.Select(r => r.Id)));
    }

    [Test]
    public async Task Search_ReturnsDetailsOfEachRun()
    {
        var runs = await SeedSearchAsync();
        var page = await _store.Runs.SearchAsync(new RunQuery { Project = "p", Filter = RunField.Metric("auc").Is(0.3) });
        var r = page.Runs.Single();
        Assert.That(r.Parameters["trees"], Is.EqualTo("30"));
        Assert.That(r.Results["loss"], Is.EqualTo(7));
        Assert.That(r.Labels["team"], Is.EqualTo("b"));
        Assert.That(r.Metrics["auc"], Is.EqualTo(0.3));
        Assert.That(r.Id, Is.EqualTo(runs[3].Id));
    }

    [Test]
    public void Search_BadPageSizeOrToken_ThrowsValidation()
    {
        Assert.ThrowsAsync<ValidationException>(() => _store.Runs.SearchAsync(new RunQuery { Project = "p", PageSize = 0 }));
        Assert.ThrowsAsync<ValidationException>(() => _store.Runs.SearchAsync(new RunQuery { Project = "p", PageToken = "garbage" }));
    }

    [Test]
    public async Task Search_ChildrenByParent_OrderedByIteration()
    {
        var parent = await NewRunAsync();
        var c2 = await NewRunAsync(parent: parent.Id, iteration: 2);
        var c1 = await NewRunAsync(parent: parent.Id, iteration: 1);
        var page = await _store.Runs.SearchAsync(new RunQuery { Project = "p", Filter = RunField.ParentId.Is(parent.Id), OrderBy = [RunField.Iteration.Ascending()] });
        Assert.That(page.Runs.Select(r => r.Id), Is.EqualTo(new[] { c1.Id, c2.Id }));
    }

    // ---- artifacts ----

    private static NewArtifact Artifact(string project, string key, string hash = "abc", params string[] tags) => new()
    {
        Project = project, Key = key, Kind = ArtifactKind.Dataset, Hash = hash, Size = 3, FileName = "x.csv", Created = T0, Tags = tags, MetadataJson = "{\"rows\":1}",
    };

    [Test]
    public async Task Artifacts_AddVersions_NumbersThemAndMovesLatest()
    {
        await _store.Projects.GetOrCreateAsync("p", null, T0);
        var v1 = await _store.Artifacts.AddVersionAsync(Artifact("p", "data", "h1", "prod"));
        var v2 = await _store.Artifacts.AddVersionAsync(Artifact("p", "data", "h2"));
        Assert.That((v1.Version, v2.Version), Is.EqualTo((1, 2)));
        Assert.That(v2.Tags, Is.EqualTo(new[] { "latest" }));
        Assert.That((await _store.Artifacts.GetAsync("p", "data", "latest"))!.Hash, Is.EqualTo("h2"));
        Assert.That((await _store.Artifacts.GetAsync("p", "data", "prod"))!.Hash, Is.EqualTo("h1"));
        Assert.That((await _store.Artifacts.GetAsync("p", "data", "1"))!.MetadataJson, Is.EqualTo("{\"rows\":1}"));
        Assert.That(await _store.Artifacts.GetAsync("p", "data", "9"), Is.Null);
        Assert.That(await _store.Artifacts.GetAsync("p", "data", "nope"), Is.Null);
        Assert.That((await _store.Artifacts.ListVersionsAsync("p", "data")).Select(v => v.Version), Is.EqualTo(new[] { 2, 1 }));
        Assert.That(v2.Uri, Is.EqualTo("store://datasets/p/data:2"));
    }

    [Test]
    public async Task Artifacts_ListAndTags_LatestPerKeyAndMovableTags()
    {
        await _store.Projects.GetOrCreateAsync("p", null, T0);
        await _store.Artifacts.AddVersionAsync(Artifact("p", "b"));
        await _store.Artifacts.AddVersionAsync(Artifact("p", "a"));
        await _store.Artifacts.AddVersionAsync(Artifact("p", "a") with { Kind = ArtifactKind.Plot });
        Assert.That((await _store.Artifacts.ListAsync("p")).Select(a => (a.Key, a.Version)), Is.EqualTo(new[] { ("a", 2), ("b", 1) }));
        Assert.That((await _store.Artifacts.ListAsync("p", ArtifactKind.Plot)).Select(a => a.Key), Is.EqualTo(new[] { "a" }));
        await _store.Artifacts.SetTagAsync("p", "a", "prod", 1);
        await _store.Artifacts.SetTagAsync("p", "a", "prod", 2);
        Assert.That((await _store.Artifacts.GetAsync("p", "a", "prod"))!.Version, Is.EqualTo(2));
        Assert.ThrowsAsync<NotFoundException>(() => _store.Artifacts.SetTagAsync("p", "a", "prod", 7));
        Assert.That(await _store.Artifacts.ListContentHashesAsync(), Does.Contain("abc"));
    }

    // ---- models ----

    private static NewModelVersion Model(string project, string name, string? run = null) => new()
    {
        Project = project, Name = name, Framework = "mlnet", ContentHash = "h", Size = 1, FileName = "model.zip", Created = T0, RunId = run,
        Metrics = new Dictionary<string, double> { ["auc"] = 0.8 },
        Parameters = new Dictionary<string, string> { ["trees"] = "20" },
        InputSchema = [new ModelColumn("distance", "Single")],
        Tags = new Dictionary<string, string> { ["stage"] = "dev" },
        Files = new Dictionary<string, string> { ["labels.txt"] = "h2" },
        TrainingData = "store://datasets/p/train:1",
    };

    [Test]
    public async Task Models_AddVersions_NumbersPerNameAndRoundTrips()
    {
        await _store.Projects.GetOrCreateAsync("p", null, T0);
        var v1 = await _store.Models.AddVersionAsync(Model("p", "delay"));
        var v2 = await _store.Models.AddVersionAsync(Model("p", "delay"));
        var o1 = await _store.Models.AddVersionAsync(Model("p", "other"));
        Assert.That((v1.Version, v2.Version, o1.Version), Is.EqualTo((1, 2, 1)));
        var read = (await _store.Models.GetVersionAsync("p", "delay", 2))!;
        Assert.Multiple(() =>
        {
            Assert.That(read.Metrics["auc"], Is.EqualTo(0.8));
            Assert.That(read.Parameters["trees"], Is.EqualTo("20"));
            Assert.That(read.InputSchema, Is.EqualTo(new[] { new ModelColumn("distance", "Single") }));
            Assert.That(read.Files["labels.txt"], Is.EqualTo("h2"));
            Assert.That(read.TrainingData, Is.EqualTo("store://datasets/p/train:1"));
            Assert.That(read.Uri, Is.EqualTo("store://models/p/delay:2"));
        });
        Assert.That((await _store.Models.ListVersionsAsync("p", "delay")).Select(v => v.Version), Is.EqualTo(new[] { 2, 1 }));
        Assert.That((await _store.Models.ListModelsAsync("p")).Select(m => (m.Name, m.LatestVersion)), Is.EqualTo(new[] { ("delay", 2), ("other", 1) }));
    }

    [Test]
    public async Task Models_Aliases_UniqueMovableWithHistory()
    {
        await _store.Projects.GetOrCreateAsync("p", null, T0);
        await _store.Models.AddVersionAsync(Model("p", "m"));
        await _store.Models.AddVersionAsync(Model("p", "m"));
        await _store.Models.SetAliasAsync("p", "m", "production", 1, T0);
        await _store.Models.SetAliasAsync("p", "m", "production", 2, T0.AddHours(1));
        await _store.Models.SetAliasAsync("p", "m", "champion", 1, T0.AddHours(2));
        var model = (await _store.Models.GetModelAsync("p", "m"))!;
        Assert.That(model.Aliases, Is.EqualTo(new Dictionary<string, int> { ["champion"] = 1, ["production"] = 2 }));
        Assert.That((await _store.Models.GetVersionAsync("p", "m", 2))!.Aliases, Is.EqualTo(new[] { "production" }));
        Assert.That(await _store.Models.DeleteAliasAsync("p", "m", "production", T0.AddHours(3)), Is.True);
        Assert.That(await _store.Models.DeleteAliasAsync("p", "m", "production", T0.AddHours(3)), Is.False);
        var history = await _store.Models.GetAliasHistoryAsync("p", "m", "production");
        Assert.That(history.Select(h => (h.Version, h.PreviousVersion)), Is.EqualTo(new (int?, int?)[] { (1, null), (2, 1), (null, 2) }));
        Assert.ThrowsAsync<NotFoundException>(() => _store.Models.SetAliasAsync("p", "m", "x", 5, T0));
        Assert.ThrowsAsync<NotFoundException>(() => _store.Models.SetAliasAsync("p", "none", "x", 1, T0));
    }

    [Test]
    public async Task Models_UpdateDescriptionsAndTags()
    {
        await _store.Projects.GetOrCreateAsync("p", null, T0);
        await _store.Models.AddVersionAsync(Model("p", "m"));
        await _store.Models.UpdateModelAsync("p", "m", "delay model", new Dictionary<string, string?> { ["owner"] = "ml" });
        await _store.Models.UpdateVersionAsync("p", "m", 1, "first", new Dictionary<string, string?> { ["stage"] = null, ["validated"] = "yes" });
        var m = (await _store.Models.GetModelAsync("p", "m"))!;
        var v = (await _store.Models.GetVersionAsync("p", "m", 1))!;
        Assert.That((m.Description, m.Tags["owner"]), Is.EqualTo(("delay model", "ml")));
        Assert.That(v.Description, Is.EqualTo("first"));
        Assert.That(v.Tags, Is.EqualTo(new Dictionary<string, string> { ["validated"] = "yes" }));
        Assert.ThrowsAsync<NotFoundException>(() => _store.Models.UpdateModelAsync("p", "none", "x", null));
        Assert.ThrowsAsync<NotFoundException>(() => _store.Models.UpdateVersionAsync("p", "m", 3, "x", null));
    }

    // ---- concurrency ----

    [Test]
    public async Task Concurrency_EightThreadsWriting_NothingLost()
    {
        await _store.Projects.GetOrCreateAsync("p", null, T0);
        var runs = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => NewRunAsync()));
        await Task.WhenAll(runs.Select(run => Task.Run(async () =>
        {
            for (var b = 0; b < 20; b++)
            {
                await _store.Runs.LogMetricsAsync(Enumerable.Range(0, 50).Select(i => new MetricEntry(run.Id, "m", i, b * 50 + i, T0)).ToList());
                await _store.Runs.LogResultsAsync(run.Id, new Dictionary<string, double> { ["b"] = b });
            }
        })));
        foreach (var run in runs)
        {
            Assert.That(await _store.Runs.GetMetricHistoryAsync(run.Id, "m"), Has.Count.EqualTo(1000));
            Assert.That((await _store.Runs.GetAsync(run.Id))!.Results["b"], Is.EqualTo(19));
        }
    }

    [Test]
    public async Task Concurrency_TwoStoreInstancesOnOneFile_NothingLost()
    {
        await using var second = await CreateStoreAsync(_folder.Path);
        await second.InitializeAsync();
        var a = await NewRunAsync();
        var tasks = new[] { _store, second }.Select((s, n) => Task.Run(async () =>
        {
            for (var b = 0; b < 30; b++)
                await s.Runs.LogMetricsAsync(Enumerable.Range(0, 20).Select(i => new MetricEntry(a.Id, "m" + n, i, b * 20 + i, T0)).ToList());
        }));
        await Task.WhenAll(tasks);
        Assert.That(await _store.Runs.GetMetricHistoryAsync(a.Id, "m0"), Has.Count.EqualTo(600));
        Assert.That(await second.Runs.GetMetricHistoryAsync(a.Id, "m1"), Has.Count.EqualTo(600));
    }
}

/// <summary>The contract suite against the embedded SQLite store.</summary>
public sealed class SqliteMetadataStoreContractTests : MetadataStoreContractTests
{
    protected override Task<IMetadataStore> CreateStoreAsync(string folder)
        => Task.FromResult<IMetadataStore>(new MLOps.Storage.Sqlite.SqliteMetadataStore(Path.Combine(folder, "mlops.db")));
}
