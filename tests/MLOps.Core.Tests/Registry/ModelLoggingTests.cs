using MLOps.Registry;
using MLOps.Runs;

namespace MLOps.Tests.Registry;

[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class ModelLoggingTests : RegistryTestBase
{
    [Test]
    public async Task LogModelAsync_TwoRuns_CreatesVersionsOneAndTwoLinkedToTheirRuns()
    {
        var (small, schema) = FlightModels.Small;
        ModelVersionRecord v1;
        string run1Id;
        await using (var run = await Project.Runs.StartAsync("train", new Dictionary<string, object> { ["trees"] = 10 }))
        {
            run1Id = run.Id;
            run.LogMetric("auc", 0.7);
            run.LogMetric("auc", 0.8);
            await run.LogResultAsync("accuracy", 0.75);
            v1 = await run.LogModelAsync("delay-model", small, schema);
        }
        var (large, _) = FlightModels.Large;
        ModelVersionRecord v2;
        await using (var run = await Project.Runs.StartAsync("train", new Dictionary<string, object> { ["trees"] = 25 }))
            v2 = await run.LogModelAsync("delay-model", large, schema);

        Assert.Multiple(() =>
        {
            Assert.That(v1.Version, Is.EqualTo(1));
            Assert.That(v2.Version, Is.EqualTo(2));
            Assert.That(v1.Framework, Is.EqualTo("mlnet"));
            Assert.That(v1.FileName, Is.EqualTo("delay-model.zip"));
            Assert.That(v1.Size, Is.GreaterThan(0));
            Assert.That(v1.RunId, Is.EqualTo(run1Id));
            Assert.That(v2.RunId, Is.Not.EqualTo(run1Id));
            Assert.That(v1.Metrics, Is.EquivalentTo(new Dictionary<string, double> { ["auc"] = 0.8, ["accuracy"] = 0.75 }));
            Assert.That(v1.Parameters, Is.EquivalentTo(new Dictionary<string, string> { ["trees"] = "10" }));
            Assert.That(v2.Parameters["trees"], Is.EqualTo("25"));
            Assert.That(v1.Uri, Is.EqualTo("store://models/test/delay-model:1"));
        });
        var run1 = await Project.Runs.GetAsync(run1Id);
        Assert.That(run1.Outputs["models/delay-model"], Is.EqualTo(v1.Uri));
        var model = await Project.Models.GetAsync("delay-model");
        Assert.That(model.LatestVersion, Is.EqualTo(2));
    }

    [Test]
    public async Task LogModelAsync_Schema_RecordsMLNetColumnTypes()
    {
        var (model, schema) = FlightModels.Small;
        await using var run = await Project.Runs.StartAsync("train");

        var version = await run.LogModelAsync("delay-model", model, schema);

        Assert.That(version.InputSchema, Is.EqualTo(new[]
        {
            new ModelColumn("Distance", "Single"),
            new ModelColumn("Hour", "Single"),
            new ModelColumn("Origin", "String"),
            new ModelColumn("Label", "Boolean"),
        }));
        Assert.That(version.OutputSchema, Does.Contain(new ModelColumn("Score", "Single")));
        Assert.That(version.OutputSchema, Does.Contain(new ModelColumn("Probability", "Single")));
        Assert.That(version.OutputSchema, Does.Contain(new ModelColumn("PredictedLabel", "Boolean")));
        var features = version.OutputSchema.Single(c => c.Name == "Features");
        Assert.That(features.Type, Does.Match(@"^Vector<Single, \d+>$"));
    }

    [Test]
    public async Task LogModelAsync_ExplicitOptions_OverrideRunDefaultsAndSetAliases()
    {
        var (model, schema) = FlightModels.Small;
        await using var run = await Project.Runs.StartAsync("train", new Dictionary<string, object> { ["trees"] = 10 });
        run.LogMetric("auc", 0.5);
        var notes = WriteFile("notes.txt", "trained on 3,000 flights");

        var version = await run.LogModelAsync("delay-model", model, schema, new ModelLogOptions
        {
            Description = "first try",
            Tags = { ["team"] = "delays" },
            Metrics = { ["auc"] = 0.9 },
            Parameters = { ["leaves"] = "8" },
            ExtraFiles = { ["notes.txt"] = notes },
            Aliases = { "challenger", "candidate" },
        });

        Assert.Multiple(() =>
        {
            Assert.That(version.Description, Is.EqualTo("first try"));
            Assert.That(version.Tags["team"], Is.EqualTo("delays"));
            Assert.That(version.Metrics, Is.EquivalentTo(new Dictionary<string, double> { ["auc"] = 0.9 }));
            Assert.That(version.Parameters, Is.EquivalentTo(new Dictionary<string, string> { ["leaves"] = "8" }));
            Assert.That(version.Aliases, Is.EquivalentTo(new[] { "challenger", "candidate" }));
            Assert.That(version.Files.Keys, Is.EquivalentTo(new[] { "notes.txt" }));
        });
        using var reader = new StreamReader(Project.Models.OpenExtraFile(version, "notes.txt"));
        Assert.That(await reader.ReadToEndAsync(), Is.EqualTo("trained on 3,000 flights"));
        Assert.That((await Project.Models.ResolveAsync("delay-model", "challenger")).Version, Is.EqualTo(1));
    }

    [Test]
    public async Task LogModelAsync_InvalidOptions_ListsEveryProblemAndRegistersNothing()
    {
        var (model, schema) = FlightModels.Small;
        await using var run = await Project.Runs.StartAsync("train");
        var options = new ModelLogOptions
        {
            TrainingData = "flights.csv",
            ExtraFiles = { ["labels.txt"] = Path.Combine(TempDir, "missing.txt") },
            Aliases = { "latest" },
            Metrics = { ["bad key"] = 1 },
        };

        var e = Assert.ThrowsAsync<ValidationException>(() => run.LogModelAsync("delay-model", model, schema, options));

        Assert.That(e!.Errors, Has.Count.EqualTo(4));
        Assert.That(e.Message, Does.Contain("flights.csv").And.Contain("missing.txt").And.Contain("'latest'").And.Contain("'bad key'"));
        Assert.ThrowsAsync<NotFoundException>(() => Project.Models.GetAsync("delay-model"));
    }

    [Test]
    public async Task LogModelAsync_SchemaTheModelRejects_ThrowsValidationException()
    {
        var (model, _) = FlightModels.Small;
        var otherSchema = new Microsoft.ML.MLContext().Data.LoadFromEnumerable(new[] { new WrongFlightInput() }).Schema;
        await using var run = await Project.Runs.StartAsync("train");

        var e = Assert.ThrowsAsync<ValidationException>(() => run.LogModelAsync("delay-model", model, otherSchema));

        Assert.That(e!.Message, Does.Contain("does not accept the input schema"));
    }

    [Test]
    public async Task LogModelAsync_EndedRun_ThrowsInvalidStateException()
    {
        var (model, schema) = FlightModels.Small;
        var run = await Project.Runs.StartAsync("train");
        await run.CompleteAsync();

        Assert.ThrowsAsync<InvalidStateException>(() => run.LogModelAsync("delay-model", model, schema));
    }

    [Test]
    public async Task RegisterAsync_WithoutRun_StoresGivenMetadataOnly()
    {
        var (model, schema) = FlightModels.Small;

        var version = await Project.Models.RegisterAsync("delay-model", model, schema, new ModelLogOptions { Metrics = { ["auc"] = 0.81 } });

        Assert.Multiple(() =>
        {
            Assert.That(version.Version, Is.EqualTo(1));
            Assert.That(version.RunId, Is.Null);
            Assert.That(version.Metrics["auc"], Is.EqualTo(0.81));
            Assert.That(version.Parameters, Is.Empty);
            Assert.That(version.Framework, Is.EqualTo(ModelRegistry.MLNetFramework));
        });
    }

    [Test]
    public async Task RegisterAsync_CompletedRunId_UsesItsResultsAndLinksTheModel()
    {
        var (model, schema) = FlightModels.Small;
        var record = await Project.Runs.RunAsync("trial", async (run, ct) => await run.LogResultAsync("auc", 0.77, ct),
            new Dictionary<string, object> { ["leaves"] = 8 });

        var version = await Project.Models.RegisterAsync("delay-model", model, schema, runId: record.Id);

        Assert.That(version.RunId, Is.EqualTo(record.Id));
        Assert.That(version.Metrics["auc"], Is.EqualTo(0.77));
        Assert.That(version.Parameters["leaves"], Is.EqualTo("8"));
        var run = await Project.Runs.GetAsync(record.Id);
        Assert.That(run.Outputs["models/delay-model"], Is.EqualTo(version.Uri));
    }

    [Test]
    public void RegisterAsync_UnknownRunId_ThrowsNotFoundException()
    {
        var (model, schema) = FlightModels.Small;

        var e = Assert.ThrowsAsync<NotFoundException>(() => Project.Models.RegisterAsync("delay-model", model, schema, runId: "no-such-run"));

        Assert.That(e!.Message, Does.Contain("no-such-run"));
    }

    [Test]
    public async Task SetAliasAsync_ProductionMovedFromVersionOneToTwo_ResolvesAndKeepsHistory()
    {
        var (model, schema) = FlightModels.Small;
        await Project.Models.RegisterAsync("delay-model", model, schema);
        await Project.Models.RegisterAsync("delay-model", model, schema);

        await Project.Models.SetAliasAsync("delay-model", "production", 1);
        Assert.That((await Project.Models.ResolveAsync("delay-model", "production")).Version, Is.EqualTo(1));
        var moved = await Project.Models.SetAliasAsync("delay-model", "production", 2);

        Assert.That(moved.Aliases, Is.EquivalentTo(new[] { "production" }));
        Assert.That((await Project.Models.GetVersionAsync("delay-model", 1)).Aliases, Is.Empty);
        Assert.That((await Project.Models.ResolveAsync("store://models/test/delay-model:production")).Version, Is.EqualTo(2));
        var history = await Project.Models.GetAliasHistoryAsync("delay-model", "production");
        Assert.That(history.Select(h => (h.Version, h.PreviousVersion)), Is.EqualTo(new (int?, int?)[] { (1, null), (2, 1) }));
    }
}
