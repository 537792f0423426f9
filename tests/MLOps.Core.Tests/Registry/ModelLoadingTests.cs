using MLOps.Registry;

namespace MLOps.Tests.Registry;

[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class ModelLoadingTests : RegistryTestBase
{
    private async Task RegisterTwoVersionsAsync()
    {
        await using var run = await Project.Runs.StartAsync("train");
        await run.LogModelAsync("delay-model", FlightModels.Small.Model, FlightModels.Small.Schema);
        await run.LogModelAsync("delay-model", FlightModels.Large.Model, FlightModels.Large.Schema, new ModelLogOptions { Aliases = { "production" } });
    }

    [TestCase("delay-model", "1", 1)]
    [TestCase("delay-model", "2", 2)]
    [TestCase("delay-model", "production", 2)]
    [TestCase("delay-model", "latest", 2)]
    [TestCase("delay-model", null, 2)]
    [TestCase("store://models/test/delay-model:1", null, 1)]
    [TestCase("store://models/test/delay-model:production", null, 2)]
    public async Task LoadAsync_Reference_PredictsLikeTheOriginalModel(string nameOrUri, string? reference, int expectedVersion)
    {
        await RegisterTwoVersionsAsync();
        var original = expectedVersion == 1 ? FlightModels.Small.Model : FlightModels.Large.Model;
        var inputs = FlightModels.TestInputs.Take(300).ToList();

        var loaded = await Project.Models.LoadAsync(nameOrUri, reference);

        Assert.That(loaded.Version.Version, Is.EqualTo(expectedVersion));
        Assert.That(loaded.InputSchema.Select(c => c.Name), Is.EqualTo(new[] { "Distance", "Hour", "Origin", "Label" }));
        Assert.That(loaded.Context, Is.Not.Null);
        Assert.That(FlightModels.Scores(loaded.Transformer, inputs), Is.EqualTo(FlightModels.Scores(original, inputs)));
    }

    [Test]
    public async Task LoadAsync_TwoVersions_GiveDifferentPredictions()
    {
        await RegisterTwoVersionsAsync();
        var inputs = FlightModels.TestInputs.Take(100).ToList();

        var v1 = await Project.Models.LoadAsync("delay-model", "1");
        var v2 = await Project.Models.LoadAsync("delay-model", "2");

        Assert.That(FlightModels.Scores(v1.Transformer, inputs), Is.Not.EqualTo(FlightModels.Scores(v2.Transformer, inputs)));
    }

    [Test]
    public async Task LoadAsync_SameVersionAgain_ReusesTheCachedTransformerUntilDisposed()
    {
        await RegisterTwoVersionsAsync();

        var first = await Project.Models.LoadAsync("delay-model", "2");
        var byAlias = await Project.Models.LoadAsync("delay-model", "production");
        await Project.Models.DisposeAsync();
        var afterDispose = await Project.Models.LoadAsync("delay-model", "2");

        Assert.That(byAlias.Transformer, Is.SameAs(first.Transformer));
        Assert.That(byAlias.Version.Aliases, Is.EquivalentTo(new[] { "production" }));
        Assert.That(afterDispose.Transformer, Is.Not.SameAs(first.Transformer));
    }

    [Test]
    public async Task LoadAsync_ConcurrentLoadsOfOneVersion_LoadItOnce()
    {
        await RegisterTwoVersionsAsync();

        var loads = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => Project.Models.LoadAsync("delay-model", "1"))));

        Assert.That(loads.Select(l => l.Transformer).Distinct().Count(), Is.EqualTo(1));
    }

    [Test]
    public async Task LoadAsync_UnknownAlias_ThrowsNotFoundListingTheAliases()
    {
        await RegisterTwoVersionsAsync();

        var e = Assert.ThrowsAsync<NotFoundException>(() => Project.Models.LoadAsync("delay-model", "staging"));

        Assert.That(e!.Message, Does.Contain("no alias 'staging'").And.Contain("production -> v2"));
    }

    [Test]
    public async Task LoadAsync_UnknownVersion_ThrowsNotFoundNamingTheRange()
    {
        await RegisterTwoVersionsAsync();

        var e = Assert.ThrowsAsync<NotFoundException>(() => Project.Models.LoadAsync("delay-model", "7"));

        Assert.That(e!.Message, Does.Contain("no version 7").And.Contain("1 to 2"));
    }

    [Test]
    public void LoadAsync_UnknownModel_ThrowsNotFoundWithTheFix()
    {
        var e = Assert.ThrowsAsync<NotFoundException>(() => Project.Models.LoadAsync("no-such-model"));

        Assert.That(e!.Message, Does.Contain("'no-such-model' is not registered").And.Contain("LogModelAsync"));
    }

    [Test]
    public async Task LoadAsync_NonMLNetModel_ThrowsValidationException()
    {
        var onnx = WriteFile("model.onnx", "not really onnx");
        await Project.Models.RegisterFileAsync("onnx-model", onnx, "onnx");

        var e = Assert.ThrowsAsync<ValidationException>(() => Project.Models.LoadAsync("onnx-model"));

        Assert.That(e!.Message, Does.Contain("'onnx' model").And.Contain("mlnet"));
        Assert.ThrowsAsync<ValidationException>(() => Project.Models.CreatePredictorAsync<FlightInput, DelayPrediction>("onnx-model"));
    }

    [Test]
    public async Task LoadAsync_MissingContent_ThrowsArtifactExceptionAndRetriesLater()
    {
        await RegisterTwoVersionsAsync();
        var version = await Project.Models.GetVersionAsync("delay-model", 1);
        var path = Path.Combine(Project.ArtifactRoot, "objects", version.ContentHash[..2], version.ContentHash);
        var backup = path + ".bak";
        File.Move(path, backup);

        var e = Assert.ThrowsAsync<ArtifactException>(() => Project.Models.LoadAsync("delay-model", "1"));
        Assert.That(e!.Message, Does.Contain("missing").And.Contain("delay-model"));

        File.Move(backup, path);
        var loaded = await Project.Models.LoadAsync("delay-model", "1");
        Assert.That(loaded.Version.Version, Is.EqualTo(1));
    }

    [Test]
    public async Task LoadAsync_CorruptedContent_ThrowsArtifactException()
    {
        await RegisterTwoVersionsAsync();
        var version = await Project.Models.GetVersionAsync("delay-model", 1);
        var path = Path.Combine(Project.ArtifactRoot, "objects", version.ContentHash[..2], version.ContentHash);
        File.SetAttributes(path, FileAttributes.Normal);
        await File.WriteAllTextAsync(path, "garbage");

        var e = Assert.ThrowsAsync<ArtifactException>(() => Project.Models.LoadAsync("delay-model", "1"));

        Assert.That(e!.Message, Does.Contain("corrupted"));
    }

    [Test]
    public async Task LoadAsync_UriOfAnotherProject_ThrowsValidationException()
    {
        await RegisterTwoVersionsAsync();

        var e = Assert.ThrowsAsync<ValidationException>(() => Project.Models.LoadAsync("store://models/other/delay-model:1"));

        Assert.That(e!.Message, Does.Contain("project 'other'"));
    }

    [Test]
    public async Task RegisterFileAsync_ExtraFiles_OpenExtraFileReturnsTheirContent()
    {
        var onnx = WriteFile("model.onnx", "onnx bytes");
        var labels = WriteFile("labels.txt", "on-time\ndelayed\n");
        var options = new ModelFileOptions { ExtraFiles = { ["labels.txt"] = labels }, Metrics = { ["auc"] = 0.7 } };

        var version = await Project.Models.RegisterFileAsync("onnx-model", onnx, "onnx", options);

        using (var reader = new StreamReader(Project.Models.OpenExtraFile(version, "labels.txt")))
            Assert.That(await reader.ReadToEndAsync(), Is.EqualTo("on-time\ndelayed\n"));
        using (var reader = new StreamReader(Project.Models.OpenRead(version)))
            Assert.That(await reader.ReadToEndAsync(), Is.EqualTo("onnx bytes"));
        var e = Assert.Throws<NotFoundException>(() => Project.Models.OpenExtraFile(version, "vocab.txt"));
        Assert.That(e!.Message, Does.Contain("labels.txt"));
    }
}
