using MLOps.Artifacts;
using MLOps.Registry;

namespace MLOps.Tests.Registry;

[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class ModelLineageTests : RegistryTestBase
{
    [Test]
    public async Task GetLineageAsync_DatasetFromPrepareRun_ShowsTrainRunDatasetAndItsProducer()
    {
        // ingest -> raw notes; prepare (reads raw) -> dataset; train (reads dataset) -> model
        ArtifactRecord raw;
        await using (var ingest = await Project.Runs.StartAsync("ingest"))
            raw = await ingest.LogArtifactAsync("raw/flights", "2001 flights"u8.ToArray(), "flights.txt");
        ArtifactRecord dataset;
        string prepareId;
        await using (var prepare = await Project.Runs.StartAsync("prepare", new Dictionary<string, object> { ["rows"] = 500 }))
        {
            prepareId = prepare.Id;
            await prepare.LogInputAsync("raw", raw.Uri);
            dataset = await prepare.LogDatasetAsync("flights-train", FlightModels.WriteCsv(TempDir, 500));
        }
        ModelVersionRecord version;
        string trainId;
        await using (var train = await Project.Runs.StartAsync("train"))
        {
            trainId = train.Id;
            version = await train.LogModelAsync("delay-model", FlightModels.Small.Model, FlightModels.Small.Schema,
                new ModelLogOptions { TrainingData = dataset.Uri, Aliases = { "production" } });
        }

        var lineage = await Project.Models.GetLineageAsync("delay-model", version.Version);

        Assert.That(version.TrainingData, Is.EqualTo(dataset.Uri));
        Assert.That((await Project.Runs.GetAsync(trainId)).Inputs["training-data"], Is.EqualTo(dataset.Uri));
        Assert.That(lineage.Run?.Id, Is.EqualTo(trainId));
        var input = lineage.Inputs.Single();
        Assert.Multiple(() =>
        {
            Assert.That(input.Name, Is.EqualTo("training-data"));
            Assert.That(input.Uri, Is.EqualTo(dataset.Uri));
            Assert.That(input.Artifact?.Kind, Is.EqualTo(ArtifactKind.Dataset));
            Assert.That(input.ProducerRun?.Id, Is.EqualTo(prepareId));
            Assert.That(input.ProducerRun?.Name, Is.EqualTo("prepare"));
            Assert.That(input.Inputs.Single().Uri, Is.EqualTo(raw.Uri));
            Assert.That(input.Inputs.Single().ProducerRun?.Name, Is.EqualTo("ingest"));
            Assert.That(input.IsTruncated, Is.False);
        });
        var text = lineage.ToString();
        TestContext.Out.WriteLine(text);
        Assert.That(text, Does.Contain("model delay-model v1").And.Contain("[production]")
            .And.Contain("produced by run 'train'").And.Contain(dataset.Uri)
            .And.Contain("produced by run 'prepare'").And.Contain("rows=500").And.Contain(raw.Uri).And.Contain("run 'ingest'"));
        Assert.That(text.IndexOf("'train'", StringComparison.Ordinal), Is.LessThan(text.IndexOf("'prepare'", StringComparison.Ordinal)));
    }

    [Test]
    public async Task GetLineageAsync_DepthOne_StopsAtTheInputsOfTheProducingRun()
    {
        ArtifactRecord raw;
        await using (var ingest = await Project.Runs.StartAsync("ingest"))
            raw = await ingest.LogArtifactAsync("raw/flights", "x"u8.ToArray(), "flights.txt");
        ArtifactRecord dataset;
        await using (var prepare = await Project.Runs.StartAsync("prepare"))
        {
            await prepare.LogInputAsync("raw", raw.Uri);
            dataset = await prepare.LogDatasetAsync("flights-train", FlightModels.WriteCsv(TempDir, 100));
        }
        await using (var train = await Project.Runs.StartAsync("train"))
            await train.LogModelAsync("delay-model", FlightModels.Small.Model, FlightModels.Small.Schema, new ModelLogOptions { TrainingData = dataset.Uri });

        var lineage = await Project.Models.GetLineageAsync("delay-model", 1, maxDepth: 1);

        var input = lineage.Inputs.Single();
        Assert.That(input.ProducerRun?.Name, Is.EqualTo("prepare"));
        Assert.That(input.Inputs, Is.Empty);
        Assert.That(input.IsTruncated, Is.True);
        Assert.That(lineage.ToString(), Does.Contain("depth limit"));
    }

    [Test]
    public async Task GetLineageAsync_RegisteredWithoutRun_ListsTheTrainingData()
    {
        ArtifactRecord dataset;
        await using (var prepare = await Project.Runs.StartAsync("prepare"))
            dataset = await prepare.LogDatasetAsync("flights-train", FlightModels.WriteCsv(TempDir, 100));
        var model = WriteFile("model.onnx", "onnx");
        await Project.Models.RegisterFileAsync("onnx-model", model, "onnx", new ModelFileOptions { TrainingData = dataset.Uri });

        var lineage = await Project.Models.GetLineageAsync("onnx-model", 1);

        Assert.That(lineage.Run, Is.Null);
        Assert.That(lineage.Inputs.Single().ProducerRun?.Name, Is.EqualTo("prepare"));
        Assert.That(lineage.ToString(), Does.Contain("no run recorded").And.Contain("produced by run 'prepare'"));
    }

    [Test]
    public async Task GetLineageAsync_RunThatReadAModel_FollowsTheModelsProducingRun()
    {
        ModelVersionRecord baseModel;
        await using (var train = await Project.Runs.StartAsync("train"))
            baseModel = await train.LogModelAsync("base-model", FlightModels.Small.Model, FlightModels.Small.Schema, new ModelLogOptions { Aliases = { "production" } });
        await using (var tune = await Project.Runs.StartAsync("fine-tune"))
        {
            await tune.LogInputAsync("base-model", "store://models/test/base-model:production");
            await tune.LogModelAsync("tuned-model", FlightModels.Large.Model, FlightModels.Large.Schema);
        }

        var lineage = await Project.Models.GetLineageAsync("tuned-model", 1);

        var input = lineage.Inputs.Single();
        Assert.That(input.ModelVersion?.Version, Is.EqualTo(baseModel.Version));
        Assert.That(input.ProducerRun?.Name, Is.EqualTo("train"));
    }

    [Test]
    public void GetLineageAsync_UnknownVersion_ThrowsNotFoundException()
        => Assert.ThrowsAsync<NotFoundException>(() => Project.Models.GetLineageAsync("delay-model", 1));

    [TestCase(0)]
    [TestCase(51)]
    public void GetLineageAsync_DepthOutOfRange_ThrowsValidationExceptionNamingValueAndRange(int maxDepth)
    {
        var e = Assert.ThrowsAsync<ValidationException>(() => Project.Models.GetLineageAsync("delay-model", 1, maxDepth));
        Assert.That(e!.Message, Does.Contain($"maxDepth) is {maxDepth}").And.Contain("Pass 1 to 50"));
    }
}
