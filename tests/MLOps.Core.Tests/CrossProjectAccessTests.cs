using Microsoft.Extensions.Logging;
using MLOps.Artifacts;
using MLOps.Registry;
using MLOps.Runs;

namespace MLOps.Core.Tests;

/// <summary>Every public method that takes a run id: an unknown id and the id of another project's run are both
/// <see cref="NotFoundException"/>, and the other project's run is left untouched.</summary>
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class CrossProjectAccessTests
{
    private readonly TempFolder _folder = new();
    private MLOpsProject _a = null!;
    private MLOpsProject _b = null!;
    private RunRecord _runOfA = null!;

    [SetUp]
    public async Task SetUp()
    {
        _a = await TestProjects.OpenAsync(_folder, "alpha");
        _b = await TestProjects.OpenAsync(_folder, "beta");
        _runOfA = await _a.Runs.RunAsync("train", async (ctx, ct) =>
        {
            ctx.LogMetric("loss", 0.5);
            ctx.Logger.LogInformation("hello");
            await using var child = await ctx.StartChildAsync("child", cancellationToken: ct);
        });
    }

    [TearDown]
    public async Task TearDown()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        _folder.Dispose();
    }

    public static readonly string[] RunIdMethods =
    [
        "Runs.GetAsync", "Runs.GetMetricHistoryAsync", "Runs.GetLogsAsync", "Runs.GetChildrenAsync", "Runs.CompareAsync",
        "Runs.DeleteAsync", "Runs.AbortAsync", "Runs.StartAsync(parent)", "Runs.RunAsync(parent)", "Artifacts.LogBytesAsync(producer)",
        "Models.RegisterFileAsync(run)",
    ];

    private async Task CallAsync(MLOpsProject project, string method, string runId)
    {
        switch (method)
        {
            case "Runs.GetAsync": await project.Runs.GetAsync(runId); break;
            case "Runs.GetMetricHistoryAsync": await project.Runs.GetMetricHistoryAsync(runId, "loss"); break;
            case "Runs.GetLogsAsync": await project.Runs.GetLogsAsync(runId); break;
            case "Runs.GetChildrenAsync": await project.Runs.GetChildrenAsync(runId); break;
            case "Runs.CompareAsync": await project.Runs.CompareAsync([runId]); break;
            case "Runs.DeleteAsync": await project.Runs.DeleteAsync(runId); break;
            case "Runs.AbortAsync": await project.Runs.AbortAsync(runId, "test"); break;
            case "Runs.StartAsync(parent)": await project.Runs.StartAsync("child", new RunOptions { ParentRunId = runId }); break;
            case "Runs.RunAsync(parent)": await project.Runs.RunAsync("child", (_, _) => Task.CompletedTask, options: new RunOptions { ParentRunId = runId }); break;
            case "Artifacts.LogBytesAsync(producer)":
                var options = new ArtifactOptions { ProducerRunId = runId };
                await project.Artifacts.LogBytesAsync("report", new byte[] { 1, 2, 3 }, "report.bin", options: options);
                break;
            case "Models.RegisterFileAsync(run)":
                var file = _folder.File("model.onnx");
                await File.WriteAllTextAsync(file, "onnx bytes");
                await project.Models.RegisterFileAsync("model", file, "onnx", new ModelFileOptions { RunId = runId });
                break;
            default: throw new ArgumentOutOfRangeException(nameof(method), method, null);
        }
    }

    [TestCaseSource(nameof(RunIdMethods))]
    public void RunIdMethods_UnknownRunId_ThrowNotFound(string method)
    {
        var e = Assert.ThrowsAsync<NotFoundException>(() => CallAsync(_a, method, "0000000000000000000000000000beef"));
        Assert.That(e!.Key, Is.EqualTo("0000000000000000000000000000beef"));
    }

    [TestCaseSource(nameof(RunIdMethods))]
    public async Task RunIdMethods_RunOfAnotherProject_ThrowNotFoundAndLeaveItUntouched(string method)
    {
        var e = Assert.ThrowsAsync<NotFoundException>(() => CallAsync(_b, method, _runOfA.Id));
        Assert.That(e!.Message, Does.Contain(_runOfA.Id).And.Contain("beta"));
        var again = await _a.Runs.GetAsync(_runOfA.Id);
        Assert.That(again.State, Is.EqualTo(RunState.Completed));
        Assert.That(await _a.Runs.GetMetricHistoryAsync(_runOfA.Id, "loss"), Has.Count.EqualTo(1));
        Assert.That(await _a.Runs.GetLogsAsync(_runOfA.Id), Is.Not.Empty);
        Assert.That(await _a.Runs.GetChildrenAsync(_runOfA.Id), Has.Count.EqualTo(1));
        Assert.That(await _b.Artifacts.ListAsync(), Is.Empty);
        Assert.That(await _b.Models.ListAsync(), Is.Empty);
        Assert.That((await _b.Runs.SearchAsync()).Runs, Is.Empty);
    }

    public static readonly string[] NameMethods =
    [
        "Models.GetAsync", "Models.GetVersionAsync", "Models.ListVersionsAsync", "Models.ResolveAsync", "Models.LoadAsync",
        "Models.SetAliasAsync", "Models.DeleteAliasAsync", "Models.GetAliasHistoryAsync", "Models.SetDescriptionAsync",
        "Models.SetTagAsync", "Models.SetVersionDescriptionAsync", "Models.SetVersionTagAsync", "Models.GetLineageAsync",
        "Artifacts.GetAsync", "Artifacts.OpenReadAsync", "Artifacts.ListVersionsAsync", "Artifacts.TagAsync", "Artifacts.VerifyAsync",
        "Artifacts.DownloadAsync", "Artifacts.GetDatasetProfileAsync",
    ];

    private async Task CallByNameAsync(MLOpsProject project, string method, string name)
    {
        switch (method)
        {
            case "Models.GetAsync": await project.Models.GetAsync(name); break;
            case "Models.GetVersionAsync": await project.Models.GetVersionAsync(name, 1); break;
            case "Models.ListVersionsAsync": await project.Models.ListVersionsAsync(name); break;
            case "Models.ResolveAsync": await project.Models.ResolveAsync(name, "production"); break;
            case "Models.LoadAsync": await project.Models.LoadAsync(name); break;
            case "Models.SetAliasAsync": await project.Models.SetAliasAsync(name, "production", 1); break;
            case "Models.DeleteAliasAsync": await project.Models.DeleteAliasAsync(name, "production"); break;
            case "Models.GetAliasHistoryAsync": await project.Models.GetAliasHistoryAsync(name, "production"); break;
            case "Models.SetDescriptionAsync": await project.Models.SetDescriptionAsync(name, "x"); break;
            case "Models.SetTagAsync": await project.Models.SetTagAsync(name, "k", "v"); break;
            case "Models.SetVersionDescriptionAsync": await project.Models.SetVersionDescriptionAsync(name, 1, "x"); break;
            case "Models.SetVersionTagAsync": await project.Models.SetVersionTagAsync(name, 1, "k", "v"); break;
            case "Models.GetLineageAsync": await project.Models.GetLineageAsync(name, 1); break;
            case "Artifacts.GetAsync": await project.Artifacts.GetAsync(name); break;
            case "Artifacts.OpenReadAsync": await project.Artifacts.OpenReadAsync(name); break;
            case "Artifacts.ListVersionsAsync": await project.Artifacts.ListVersionsAsync(name); break;
            case "Artifacts.TagAsync": await project.Artifacts.TagAsync(name, 1, "prod"); break;
            case "Artifacts.VerifyAsync": await project.Artifacts.VerifyAsync(name); break;
            case "Artifacts.DownloadAsync": await project.Artifacts.DownloadAsync(name, _folder.File("out.bin")); break;
            case "Artifacts.GetDatasetProfileAsync": await project.Artifacts.GetDatasetProfileAsync(name); break;
            default: throw new ArgumentOutOfRangeException(nameof(method), method, null);
        }
    }

    [TestCaseSource(nameof(NameMethods))]
    public async Task NameMethods_ModelOrArtifactOfAnotherProject_ThrowNotFound(string method)
    {
        var file = _folder.File("shared.onnx");
        await File.WriteAllTextAsync(file, "onnx bytes");
        var version = await _a.Models.RegisterFileAsync("shared", file, "onnx");
        await _a.Models.SetAliasAsync("shared", "production", version.Version);
        await _a.Artifacts.LogFileAsync("shared", file);
        Assert.ThrowsAsync<NotFoundException>(() => CallByNameAsync(_b, method, "shared"));
        Assert.ThrowsAsync<NotFoundException>(() => CallByNameAsync(_a, method, "unknown"));
        Assert.That((await _a.Models.GetAsync("shared")).Aliases["production"], Is.EqualTo(1));
        Assert.That((await _a.Artifacts.GetAsync("shared")).Tags, Is.EqualTo(new[] { "latest" }));
    }

    [Test]
    public async Task RecordsOfAnotherProject_OpenReadExtraFileAndLocalPath_ThrowValidationNamingTheProject()
    {
        var file = _folder.File("m.onnx");
        await File.WriteAllTextAsync(file, "onnx bytes");
        var extra = _folder.File("labels.txt");
        await File.WriteAllTextAsync(extra, "a,b");
        var options = new ModelFileOptions();
        options.ExtraFiles["labels.txt"] = extra;
        var version = await _a.Models.RegisterFileAsync("m", file, "onnx", options);
        var artifact = await _a.Artifacts.LogFileAsync("notes", file);
        Assert.That(Assert.Throws<ValidationException>(() => _b.Models.OpenRead(version))!.Message, Does.Contain("'alpha'"));
        Assert.That(Assert.Throws<ValidationException>(() => _b.Models.OpenExtraFile(version, "labels.txt"))!.Message, Does.Contain("'alpha'"));
        Assert.That(Assert.Throws<ValidationException>(() => _b.Artifacts.GetLocalPath(artifact))!.Message, Does.Contain("'alpha'"));
        await using var own = _a.Models.OpenRead(version);
        Assert.That(own.Length, Is.EqualTo("onnx bytes".Length));
    }
}
