using Apache.Arrow;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLOps.Artifacts;
using MLOps.Registry;
using MLOps.Runs;
using MLOps.Serving.Batch;
using MLOps.Serving.Tests.TestSupport;

namespace MLOps.Serving.Tests.Batch;

public sealed class BatchInferenceTests
{
    private const string ModelUri = "store://models/test/delay:production";
    private const int Rows = 2000;
    private static readonly Lazy<Trained> s_trained = new(Train);

    private string _home = null!;
    private MLOpsProject _project = null!;

    private sealed record Trained(ITransformer Model, DataViewSchema Schema, IReadOnlyList<FlightInput> Flights);

    private static Trained Train()
    {
        var rows = FlightModels.Rows;
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(rows.Take(3000));
        var model = ml.Transforms.Concatenate("Features", nameof(Flight.Distance), nameof(Flight.Hour))
            .Append(ml.BinaryClassification.Trainers.FastTree(numberOfLeaves: 8, numberOfTrees: 10, minimumExampleCountPerLeaf: 20)).Fit(data);
        var flights = FlightModels.Inputs(10_000, Rows);
        return new Trained(model, data.Schema, flights);
    }

    private static Trained Model => s_trained.Value;

    [SetUp]
    public async Task SetUp()
    {
        _home = Path.Combine(Path.GetTempPath(), "mlops-batch-" + Guid.NewGuid().ToString("N"));
        _project = await MLOpsProject.Configure("test").UseHome(_home).CaptureGit(false).OpenAsync();
        await _project.Models.RegisterAsync("delay", Model.Model, Model.Schema, new ModelLogOptions { Aliases = { "production" } });
    }

    [TearDown]
    public async Task TearDown()
    {
        await _project.DisposeAsync();
        try { Directory.Delete(_home, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>The flights as Arrow: id (int64), distance (double), hour (float), in batches of 500 rows.</summary>
    private static List<RecordBatch> FlightBatches(bool withHour = true)
    {
        var batches = new List<RecordBatch>();
        for (var start = 0; start < Rows; start += 500)
        {
            var slice = Model.Flights.Skip(start).Take(500).ToList();
            var builder = new RecordBatch.Builder()
                .Append("id", false, c => c.Int64(a => a.AppendRange(Enumerable.Range(start, slice.Count).Select(i => (long)i))))
                .Append("distance", false, c => c.Double(a => a.AppendRange(slice.Select(f => (double)f.Distance))));
            if (withHour)
                builder = builder.Append("hour", false, c => c.Float(a => a.AppendRange(slice.Select(f => f.Hour))));
            batches.Add(builder.Build());
        }
        return batches;
    }

    private async Task<string> WriteFileAsync(string name, bool withHour = true)
    {
        Directory.CreateDirectory(_home);
        var path = Path.Combine(_home, name);
        var batches = FlightBatches(withHour);
        try
        {
            await using var stream = File.Create(path);
            if (name.EndsWith(".parquet", StringComparison.Ordinal))
                await DatasetReader.WriteParquetAsync(batches, stream, CancellationToken.None);
            else
                await DatasetReader.WriteArrowFileAsync(batches, stream, CancellationToken.None);
        }
        finally
        {
            foreach (var batch in batches) batch.Dispose();
        }
        return path;
    }

    private async Task<List<RecordBatch>> ReadPredictionsAsync(string uri)
    {
        var batches = new List<RecordBatch>();
        await foreach (var batch in _project.Artifacts.ReadDatasetAsync(uri))
            batches.Add(batch);
        return batches;
    }

    private async Task<float[]> RegistryProbabilitiesAsync(int count)
    {
        using var predictor = await _project.Models.CreatePredictorAsync<FlightInput, DelayPrediction>(ModelUri);
        return [.. Model.Flights.Take(count).Select(f => predictor.Predict(f).Probability)];
    }

    [Test]
    public async Task RunAsync_ParquetFile_WritesPredictionsAsACompletedRun()
    {
        var path = await WriteFileAsync("flights.parquet");

        var result = await BatchInference.RunAsync(_project, ModelUri, path, new BatchInferenceOptions { BatchSize = 700 });

        Assert.That(result.Rows, Is.EqualTo(Rows));
        Assert.That(result.ModelVersion.Version, Is.EqualTo(1));
        Assert.That(result.Output.Key, Is.EqualTo("predictions"));
        Assert.That(result.OutputUri, Does.StartWith("store://datasets/test/predictions"));
        var run = await _project.Runs.GetAsync(result.RunId);
        Assert.That(run.State, Is.EqualTo(RunState.Completed));
        Assert.That(run.Name, Is.EqualTo("batch-inference"));
        Assert.That(run.Inputs["model"], Is.EqualTo(result.ModelVersion.Uri));
        Assert.That(run.Outputs["predictions"], Is.EqualTo(result.OutputUri));
        Assert.That(run.Parameters["model"], Is.EqualTo(result.ModelVersion.Uri));
        Assert.That(run.Results["rows"], Is.EqualTo(Rows));
        Assert.That(run.Results, Does.ContainKey("seconds"));
        Assert.That(result.Output.ProducerRunId, Is.EqualTo(result.RunId));

        var predictions = await ReadPredictionsAsync(result.OutputUri);
        try
        {
            Assert.That(predictions.Sum(b => b.Length), Is.EqualTo(Rows));
            Assert.That(predictions[0].Schema.FieldsList.Select(f => f.Name),
                Is.EqualTo(new[] { "id", "distance", "hour", "PredictedLabel", "Score", "Probability" }));
            var first = predictions[0];
            var expected = await RegistryProbabilitiesAsync(50);
            var probabilities = (DoubleArray)first.Column("Probability");
            var ids = (Int64Array)first.Column("id");
            Assert.That(Enumerable.Range(0, 50).Select(i => ids.GetValue(i)), Is.EqualTo(Enumerable.Range(0, 50).Select(i => (long?)i)));
            Assert.That(Enumerable.Range(0, 50).Select(i => probabilities.GetValue(i)), Is.EqualTo(expected.Select(p => (double?)p)));
            var labels = (BooleanArray)first.Column("PredictedLabel");
            Assert.That(Enumerable.Range(0, 50).Select(i => labels.GetValue(i)), Is.EqualTo(expected.Select(p => (bool?)(p > 0.5f))));
        }
        finally
        {
            foreach (var batch in predictions) batch.Dispose();
        }
    }

    [Test]
    public async Task RunAsync_DatasetArtifact_LinksTheDatasetAndKeepsTheChosenColumns()
    {
        var batches = FlightBatches();
        ArtifactRecord dataset;
        try
        {
            dataset = await _project.Artifacts.LogDatasetAsync("flights", batches);
        }
        finally
        {
            foreach (var batch in batches) batch.Dispose();
        }

        var result = await BatchInference.RunAsync(_project, "delay", "store://datasets/test/flights",
            new BatchInferenceOptions { RunName = "nightly-scoring", OutputKey = "scored", KeepColumns = ["id"] });

        var run = await _project.Runs.GetAsync(result.RunId);
        Assert.That(run.Name, Is.EqualTo("nightly-scoring"));
        Assert.That(run.State, Is.EqualTo(RunState.Completed));
        Assert.That(run.Inputs["dataset"], Is.EqualTo(dataset.Uri));
        Assert.That(run.Inputs["model"], Is.EqualTo(result.ModelVersion.Uri));
        Assert.That(result.Output.Key, Is.EqualTo("scored"));
        var predictions = await ReadPredictionsAsync(result.OutputUri);
        try
        {
            Assert.That(predictions.Sum(b => b.Length), Is.EqualTo(Rows));
            Assert.That(predictions[0].Schema.FieldsList.Select(f => f.Name), Is.EqualTo(new[] { "id", "PredictedLabel", "Score", "Probability" }));
            var expected = await RegistryProbabilitiesAsync(10);
            var probabilities = (DoubleArray)predictions[0].Column("Probability");
            Assert.That(Enumerable.Range(0, 10).Select(i => probabilities.GetValue(i)), Is.EqualTo(expected.Select(p => (double?)p)));
        }
        finally
        {
            foreach (var batch in predictions) batch.Dispose();
        }
    }

    [Test]
    public async Task RunAsync_ArrowFile_ScoresEveryRow()
    {
        var path = await WriteFileAsync("flights.arrow");

        var result = await BatchInference.RunAsync(_project, ModelUri, path, new BatchInferenceOptions { KeepColumns = [] });

        Assert.That(result.Rows, Is.EqualTo(Rows));
        var predictions = await ReadPredictionsAsync(result.OutputUri);
        try
        {
            Assert.That(predictions.Sum(b => b.Length), Is.EqualTo(Rows));
            Assert.That(predictions[0].Schema.FieldsList.Select(f => f.Name), Is.EqualTo(new[] { "PredictedLabel", "Score", "Probability" }));
        }
        finally
        {
            foreach (var batch in predictions) batch.Dispose();
        }
    }

    [Test]
    public async Task RunAsync_MissingInputColumn_ThrowsValidationNamingItAndFailsTheRun()
    {
        var path = await WriteFileAsync("no-hour.parquet", withHour: false);

        var e = Assert.ThrowsAsync<ValidationException>(() => BatchInference.RunAsync(_project, ModelUri, path));

        Assert.That(e!.Message, Does.Contain("'Hour'"));
        Assert.That(e.Message, Does.Not.Contain("'Label'"), "the label is not needed to score");
        var runs = await _project.Runs.SearchAsync();
        Assert.That(runs.Runs.Single().State, Is.EqualTo(RunState.Failed));
    }

    [Test]
    public async Task RunAsync_UnknownKeptColumn_ThrowsValidation()
    {
        var path = await WriteFileAsync("flights.parquet");

        var e = Assert.ThrowsAsync<ValidationException>(() => BatchInference.RunAsync(_project, ModelUri, path, new BatchInferenceOptions { KeepColumns = ["nope"] }));

        Assert.That(e!.Message, Does.Contain("'nope'"));
    }

    [Test]
    public async Task RunAsync_UnknownModelOrDataset_ThrowsNotFoundWithoutStartingARun()
    {
        var path = await WriteFileAsync("flights.parquet");

        Assert.ThrowsAsync<NotFoundException>(() => BatchInference.RunAsync(_project, "store://models/test/unknown:production", path));
        Assert.ThrowsAsync<NotFoundException>(() => BatchInference.RunAsync(_project, ModelUri, "store://datasets/test/unknown"));
        Assert.ThrowsAsync<NotFoundException>(() => BatchInference.RunAsync(_project, ModelUri, Path.Combine(_home, "missing.parquet")));
        Assert.That((await _project.Runs.SearchAsync()).Runs, Is.Empty);
    }
}
