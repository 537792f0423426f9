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

    private TempFolder _folder = null!;
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
        _folder = new TempFolder();
        _home = _folder.Path;
        _project = await MLOpsProject.Configure("test").UseHome(_home).CaptureGit(false).OpenAsync();
        await _project.Models.RegisterAsync("delay", Model.Model, Model.Schema, new ModelLogOptions { Aliases = { "production" } });
    }

    [TearDown]
    public async Task TearDown()
    {
        await _project.DisposeAsync();
        _folder.Dispose();
    }

    /// <summary>The flights as Arrow: id (int64), distance (double), hour (float), in batches of 500 rows.</summary>
    private static List<RecordBatch> FlightBatches(bool withHour = true) => FlightBatches(Model.Flights, 500, withHour);

    /// <summary>Flights as Arrow batches of <paramref name="batchRows"/> rows: id (int64, not nullable, null at
    /// <paramref name="nullIdRow"/> if given), distance (double) and, <paramref name="withHour"/>, hour (float).</summary>
    private static List<RecordBatch> FlightBatches(IReadOnlyList<FlightInput> flights, int batchRows, bool withHour = true, int nullIdRow = -1)
    {
        var batches = new List<RecordBatch>();
        for (var start = 0; start < flights.Count; start += batchRows)
        {
            var slice = flights.Skip(start).Take(batchRows).ToList();
            var first = start;
            var builder = new RecordBatch.Builder()
                .Append("id", false, c => c.Int64(a =>
                {
                    for (var i = first; i < first + slice.Count; i++)
                    {
                        if (i == nullIdRow) a.AppendNull();
                        else a.Append(i);
                    }
                }))
                .Append("distance", false, c => c.Double(a => a.AppendRange(slice.Select(f => (double)f.Distance))));
            if (withHour)
                builder = builder.Append("hour", false, c => c.Float(a => a.AppendRange(slice.Select(f => f.Hour))));
            batches.Add(builder.Build());
        }
        return batches;
    }

    private Task<string> WriteFileAsync(string name, bool withHour = true) => WriteFileAsync(name, FlightBatches(withHour));

    /// <summary>Writes the batches (then disposes them) as a Parquet file, one row group per batch, or an Arrow file.</summary>
    private async Task<string> WriteFileAsync(string name, List<RecordBatch> batches)
    {
        Directory.CreateDirectory(_home);
        var path = Path.Combine(_home, name);
        try
        {
            await using var stream = File.Create(path);
            if (name.EndsWith(".parquet", StringComparison.Ordinal))
                await DatasetWriter.WriteParquetAsync(batches, stream, CancellationToken.None);
            else
                await DatasetWriter.WriteArrowFileAsync(batches, stream, CancellationToken.None);
        }
        finally
        {
            foreach (var batch in batches) batch.Dispose();
        }
        return path;
    }

    /// <summary>The files and folders in the artifact root's temporary folder, where the predictions are streamed.</summary>
    private string[] TemporaryEntries()
    {
        var temp = Path.Combine(_project.ArtifactRoot, "tmp");
        return Directory.Exists(temp) ? Directory.GetFileSystemEntries(temp, "*", SearchOption.AllDirectories) : [];
    }

    private static double?[] Doubles(List<RecordBatch> batches, string column)
        => [.. batches.SelectMany(b => (DoubleArray)b.Column(column))];

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

    [Test]
    public async Task RunAsync_DatasetOfManyBatches_GivesThePredictionsOfOneBatch()
    {
        var flights = FlightModels.Inputs(0, FlightModels.Rows.Count);
        var path = await WriteFileAsync("flights-20k.parquet", FlightBatches(flights, flights.Count));

        var streamed = await BatchInference.RunAsync(_project, ModelUri, path, new BatchInferenceOptions { BatchSize = 1000, OutputKey = "streamed" });
        var whole = await BatchInference.RunAsync(_project, ModelUri, path, new BatchInferenceOptions { BatchSize = flights.Count, OutputKey = "whole" });

        Assert.That(streamed.Rows, Is.EqualTo(flights.Count));
        Assert.That(whole.Rows, Is.EqualTo(flights.Count));
        var streamedPredictions = await ReadPredictionsAsync(streamed.OutputUri);
        var wholePredictions = await ReadPredictionsAsync(whole.OutputUri);
        try
        {
            Assert.That(streamedPredictions.Select(b => b.Length), Is.EqualTo(Enumerable.Repeat(1000, flights.Count / 1000)),
                "one row group per scored batch");
            Assert.That(wholePredictions.Select(b => b.Length), Is.EqualTo(new[] { flights.Count }));
            Assert.That(streamedPredictions[0].Schema.FieldsList.Select(f => f.Name), Is.EqualTo(wholePredictions[0].Schema.FieldsList.Select(f => f.Name)));
            Assert.That(streamedPredictions.SelectMany(b => (Int64Array)b.Column("id")), Is.EqualTo(Enumerable.Range(0, flights.Count).Select(i => (long?)i)));
            Assert.That(streamedPredictions.SelectMany(b => (BooleanArray)b.Column("PredictedLabel")),
                Is.EqualTo(wholePredictions.SelectMany(b => (BooleanArray)b.Column("PredictedLabel"))));
            Assert.That(Doubles(streamedPredictions, "Score"), Is.EqualTo(Doubles(wholePredictions, "Score")));
            Assert.That(Doubles(streamedPredictions, "Probability"), Is.EqualTo(Doubles(wholePredictions, "Probability")));
        }
        finally
        {
            foreach (var batch in streamedPredictions.Concat(wholePredictions)) batch.Dispose();
        }
    }

    [Test]
    public async Task RunAsync_SeveralBatches_ProfileRowCountEqualsInputRows()
    {
        var path = await WriteFileAsync("flights.parquet");

        var result = await BatchInference.RunAsync(_project, ModelUri, path, new BatchInferenceOptions { BatchSize = 300 });

        var profile = await _project.Artifacts.GetDatasetProfileAsync(result.OutputUri);
        Assert.That(profile.RowCount, Is.EqualTo(Rows));
        Assert.That(profile.Format, Is.EqualTo("parquet"));
        Assert.That(profile.Schema.Select(c => c.Name), Is.EqualTo(new[] { "id", "distance", "hour", "PredictedLabel", "Score", "Probability" }));
        Assert.That(profile.Statistics.Single(s => s.Name == "Probability").Count, Is.EqualTo(Rows));
        Assert.That(result.Output.FileName, Is.EqualTo("predictions.parquet"));
    }

    [Test]
    public async Task RunAsync_Success_StreamsToATemporaryFileAndDeletesIt()
    {
        var path = await WriteFileAsync("flights.parquet");
        var partials = new List<int>();

        var result = await BatchInference.RunCoreAsync(_project, ModelUri, path, new BatchInferenceOptions { BatchSize = 300 },
            _ => partials.Add(TemporaryEntries().Count(e => e.EndsWith(".part", StringComparison.Ordinal))), CancellationToken.None);

        Assert.That(result.Rows, Is.EqualTo(Rows));
        Assert.That(partials, Has.Count.EqualTo(8).And.All.EqualTo(1), "each batch is appended to one temporary file (500-row row groups cut in 300 + 200)");
        Assert.That(TemporaryEntries(), Is.Empty);
    }

    [Test]
    public async Task RunAsync_FailureAfterSomeBatches_DeletesTheTemporaryFileAndFailsTheRun()
    {
        // The id column is not nullable but holds a null in its third batch: Parquet refuses to write it.
        var path = await WriteFileAsync("flights.arrow", FlightBatches(Model.Flights, 500, nullIdRow: 1200));
        long written = 0;

        var e = Assert.ThrowsAsync<ValidationException>(() => BatchInference.RunCoreAsync(_project, ModelUri, path, null,
            rows => written = rows, CancellationToken.None));

        Assert.That(e!.Message, Does.Contain("'id'"));
        Assert.That(written, Is.EqualTo(1000), "two batches were written before the failure");
        Assert.That(TemporaryEntries(), Is.Empty);
        var runs = await _project.Runs.SearchAsync();
        Assert.That(runs.Runs.Single().State, Is.EqualTo(RunState.Failed));
        Assert.That(await _project.Artifacts.ListAsync(ArtifactKind.Dataset), Is.Empty, "no predictions are logged");
    }

    [Test]
    public async Task RunAsync_CancelledAfterSomeBatches_DeletesTheTemporaryFileAndFailsTheRun()
    {
        var path = await WriteFileAsync("flights.parquet");
        using var cts = new CancellationTokenSource();
        long written = 0;

        Assert.CatchAsync<OperationCanceledException>(() => BatchInference.RunCoreAsync(_project, ModelUri, path, new BatchInferenceOptions { BatchSize = 300 },
            rows =>
            {
                written = rows;
                if (rows >= 500) cts.Cancel();
            }, cts.Token));

        Assert.That(written, Is.EqualTo(500), "the run stops before the next batch (batches of 300 and 200 rows)");
        Assert.That(TemporaryEntries(), Is.Empty);
        var runs = await _project.Runs.SearchAsync();
        Assert.That(runs.Runs.Single().State, Is.EqualTo(RunState.Failed));
    }
}
