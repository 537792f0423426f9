using MLOps.Artifacts;
using MLOps.Registry;
using MLOps.Runs;

namespace MLOps.Core.Tests;

/// <summary>Empty text inputs are <see cref="ValidationException"/>s naming the input, and unknown names are
/// <see cref="NotFoundException"/>s listing (up to 20 of) what exists.</summary>
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class InputValidationTests
{
    private readonly TempFolder _folder = new();
    private MLOpsProject _project = null!;

    [SetUp]
    public async Task SetUp() => _project = await TestProjects.OpenAsync(_folder, "flights");

    [TearDown]
    public async Task TearDown()
    {
        await _project.DisposeAsync();
        _folder.Dispose();
    }

    private static readonly byte[] Bytes = [1, 2, 3];

    /// <summary>(call, the input's name in the message); each is called with null, '' and white space.</summary>
    private static readonly (string Call, string Field)[] Inputs =
    [
        ("Artifacts.LogBytesAsync key", "artifact key"),
        ("Artifacts.LogBytesAsync fileName", "file name"),
        ("Artifacts.LogStreamAsync fileName", "file name"),
        ("Artifacts.LogFileAsync key", "artifact key"),
        ("Artifacts.LogFileAsync path", "file path"),
        ("Artifacts.LogDatasetAsync path", "file path"),
        ("Artifacts.LogPlotAsync key", "artifact key"),
        ("Artifacts.LogTableAsync key", "artifact key"),
        ("Artifacts.GetAsync", "artifact key or URI"),
        ("Artifacts.OpenReadAsync", "artifact key or URI"),
        ("Artifacts.DownloadAsync destination", "destination path"),
        ("Artifacts.TagAsync key", "artifact key"),
        ("Runs.GetAsync", "run id"),
        ("Runs.GetMetricHistoryAsync", "run id"),
        ("Runs.GetLogsAsync", "run id"),
        ("Runs.DeleteAsync", "run id"),
        ("Runs.GetChildrenAsync", "run id"),
        ("Runs.StartAsync parent", "parent run id"),
        ("Models.ResolveAsync", "model name or URI"),
        ("Models.RegisterFileAsync path", "model file path"),
        ("Models.DeleteAliasAsync alias", "alias"),
        ("Models.GetAliasHistoryAsync alias", "alias"),
        ("RunFilter.Parse", "run filter"),
        ("RunOrder.Parse", "run order"),
        ("MLOpsProjectBuilder.UseHome", "home folder"),
        ("RunContext.GetParameter", "parameter key"),
        ("RunContext.FailAsync", "error message"),
    ];

    public static IEnumerable<TestCaseData> EmptyInputs()
        => from input in Inputs
           from value in new[] { null, "", "   " }
           select new TestCaseData(input.Call, input.Field, value).SetArgDisplayNames(input.Call, value is null ? "null" : $"'{value}'");

    private async Task CallAsync(string call, string? value)
    {
        var v = value!;
        switch (call)
        {
            case "Artifacts.LogBytesAsync key": await _project.Artifacts.LogBytesAsync(v, Bytes, "a.bin"); break;
            case "Artifacts.LogBytesAsync fileName": await _project.Artifacts.LogBytesAsync("a", Bytes, v); break;
            case "Artifacts.LogStreamAsync fileName": await _project.Artifacts.LogStreamAsync("a", new MemoryStream(Bytes), v); break;
            case "Artifacts.LogFileAsync key": await _project.Artifacts.LogFileAsync(v, _folder.File("x.txt")); break;
            case "Artifacts.LogFileAsync path": await _project.Artifacts.LogFileAsync("a", v); break;
            case "Artifacts.LogDatasetAsync path": await _project.Artifacts.LogDatasetAsync("a", v); break;
            case "Artifacts.LogPlotAsync key": await _project.Artifacts.LogPlotAsync(v, Bytes, "png"); break;
            case "Artifacts.LogTableAsync key": await _project.Artifacts.LogTableAsync(v, ["a"], [[1]]); break;
            case "Artifacts.GetAsync": await _project.Artifacts.GetAsync(v); break;
            case "Artifacts.OpenReadAsync": await _project.Artifacts.OpenReadAsync(v); break;
            case "Artifacts.DownloadAsync destination": await _project.Artifacts.DownloadAsync("a", v); break;
            case "Artifacts.TagAsync key": await _project.Artifacts.TagAsync(v, 1, "prod"); break;
            case "Runs.GetAsync": await _project.Runs.GetAsync(v); break;
            case "Runs.GetMetricHistoryAsync": await _project.Runs.GetMetricHistoryAsync(v, "loss"); break;
            case "Runs.GetLogsAsync": await _project.Runs.GetLogsAsync(v); break;
            case "Runs.DeleteAsync": await _project.Runs.DeleteAsync(v); break;
            case "Runs.GetChildrenAsync": await _project.Runs.GetChildrenAsync(v); break;
            case "Runs.StartAsync parent":
                if (value is null) throw new ValidationException("The parent run id is missing (null)."); // null means "no parent", not an input error
                await _project.Runs.StartAsync("child", new RunOptions { ParentRunId = v });
                break;
            case "Models.ResolveAsync": await _project.Models.ResolveAsync(v); break;
            case "Models.RegisterFileAsync path": await _project.Models.RegisterFileAsync("m", v, "onnx"); break;
            case "Models.DeleteAliasAsync alias": await _project.Models.DeleteAliasAsync("m", v); break;
            case "Models.GetAliasHistoryAsync alias": await _project.Models.GetAliasHistoryAsync("m", v); break;
            case "RunFilter.Parse": RunFilter.Parse(v); break;
            case "RunOrder.Parse": RunOrder.Parse(v); break;
            case "MLOpsProjectBuilder.UseHome": MLOpsProject.Configure("x").UseHome(v); break;
            case "RunContext.GetParameter":
                await using (var run = await _project.Runs.StartAsync("train"))
                    run.GetParameter<int>(v);
                break;
            case "RunContext.FailAsync":
                await using (var run = await _project.Runs.StartAsync("train"))
                    await run.FailAsync(v);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(call), call, null);
        }
    }

    [TestCaseSource(nameof(EmptyInputs))]
    public void PublicTextInputs_NullEmptyOrWhiteSpace_ThrowValidationNamingTheInput(string call, string field, string? value)
    {
        var e = Assert.ThrowsAsync<ValidationException>(() => CallAsync(call, value));
        Assert.That(e!.Message, Does.Contain(field));
        if (call != "Runs.StartAsync parent" || value is not null)
            Assert.That(e.Message, Does.Contain(value is null ? "null" : $"'{value}'"));
    }

    [Test]
    public async Task GetAsync_UnknownModel_ListsTwentyRegisteredModelsAndHowManyMore()
    {
        var file = _folder.File("m.onnx");
        await File.WriteAllTextAsync(file, "onnx");
        for (var i = 0; i < 25; i++) await _project.Models.RegisterFileAsync($"model-{i:D2}", file, "onnx");
        var e = Assert.ThrowsAsync<NotFoundException>(() => _project.Models.GetAsync("missing"));
        Assert.That(e!.Message, Does.Contain("model-00, model-01").And.Contain("model-19 and 5 more").And.Not.Contain("model-20"));
        // The same list when a store-level write names an unknown model.
        e = Assert.ThrowsAsync<NotFoundException>(() => _project.Models.SetDescriptionAsync("missing", "x"));
        Assert.That(e!.Message, Does.Contain("model-19 and 5 more"));
        e = Assert.ThrowsAsync<NotFoundException>(() => _project.Models.SetAliasAsync("missing", "production", 1));
        Assert.That(e!.Message, Does.Contain("model-00"));
    }

    [Test]
    public async Task ResolveAsync_UnknownAlias_ListsTwentyAliasesAndHowManyMore()
    {
        var file = _folder.File("m.onnx");
        await File.WriteAllTextAsync(file, "onnx");
        await _project.Models.RegisterFileAsync("m", file, "onnx");
        for (var i = 0; i < 22; i++) await _project.Models.SetAliasAsync("m", $"alias-{i:D2}", 1);
        var e = Assert.ThrowsAsync<NotFoundException>(() => _project.Models.ResolveAsync("m", "missing"));
        Assert.That(e!.Message, Does.Contain("alias-00 -> v1").And.Contain("alias-19 -> v1 and 2 more").And.Not.Contain("alias-20"));
    }

    [Test]
    public async Task GetAsync_UnknownArtifact_ListsTwentyExistingKeysAndHowManyMore()
    {
        var none = Assert.ThrowsAsync<NotFoundException>(() => _project.Artifacts.GetAsync("missing"));
        Assert.That(none!.Message, Does.Contain("no artifacts yet"));
        for (var i = 0; i < 23; i++) await _project.Artifacts.LogBytesAsync($"key-{i:D2}", Bytes, "a.bin");
        var e = Assert.ThrowsAsync<NotFoundException>(() => _project.Artifacts.GetAsync("missing"));
        Assert.That(e!.Message, Does.Contain("key-00, key-01").And.Contain("key-19 and 3 more").And.Not.Contain("key-20"));
    }

    [Test]
    public async Task GetAsync_ReferenceEndingWithColon_ThrowsValidationWithTheFix()
    {
        await _project.Artifacts.LogBytesAsync("report", Bytes, "a.bin");
        var e = Assert.ThrowsAsync<ValidationException>(() => _project.Artifacts.GetAsync("report:"));
        Assert.That(e!.Message, Does.Contain("report:latest"));
    }
}
