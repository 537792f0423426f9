using System.Collections.Concurrent;
using MLOps.Registry;

namespace MLOps.Tests.Registry;

[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class ModelPredictorTests : RegistryTestBase
{
    private Task<ModelVersionRecord> RegisterAsync()
        => Project.Models.RegisterAsync("delay-model", FlightModels.Small.Model, FlightModels.Small.Schema, new ModelLogOptions { Aliases = { "production" } });

    [Test]
    public async Task Predict_ParallelAcrossThreads_EqualsSequentialResults()
    {
        await RegisterAsync();
        var inputs = FlightModels.TestInputs;
        using var predictor = await Project.Models.CreatePredictorAsync<FlightInput, DelayPrediction>("delay-model", "production");
        var sequential = inputs.Select(i => predictor.Predict(i).Score).ToArray();

        var parallel = new float[inputs.Count];
        var threads = new ConcurrentDictionary<int, bool>();
        Parallel.For(0, inputs.Count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            threads[Environment.CurrentManagedThreadId] = true;
            parallel[i] = predictor.Predict(inputs[i]).Score;
        });

        Assert.That(inputs, Has.Count.EqualTo(1000));
        Assert.That(parallel, Is.EqualTo(sequential));
        Assert.That(sequential, Is.EqualTo(FlightModels.Scores(FlightModels.Small.Model, inputs)));
        Assert.That(predictor.Version.Version, Is.EqualTo(1));
    }

    [Test]
    public async Task PredictBatch_Rows_EqualsSinglePredictionsInOrder()
    {
        await RegisterAsync();
        var inputs = FlightModels.TestInputs.Take(200).ToList();
        using var predictor = await Project.Models.CreatePredictorAsync<FlightInput, DelayPrediction>("delay-model");

        var batch = predictor.PredictBatch(inputs);

        Assert.That(batch.Select(p => (p.Score, p.Probability, p.PredictedLabel)),
            Is.EqualTo(inputs.Select(i => predictor.Predict(i)).Select(p => (p.Score, p.Probability, p.PredictedLabel))));
    }

    [Test]
    public async Task PredictArray_Rows_EqualsPredictBatchAndRejectsANullRowByIndex()
    {
        await RegisterAsync();
        var inputs = FlightModels.TestInputs.Take(200).ToArray();
        using var predictor = await Project.Models.CreatePredictorAsync<FlightInput, DelayPrediction>("delay-model");

        var array = predictor.PredictArray(inputs);

        Assert.That(array.Select(p => (p.Score, p.Probability, p.PredictedLabel)),
            Is.EqualTo(predictor.PredictBatch(inputs).Select(p => (p.Score, p.Probability, p.PredictedLabel))));
        Assert.That(predictor.PredictArray([]), Is.Empty);
        var withNull = inputs.Take(3).Append(null!).ToArray();
        var e = Assert.Throws<ValidationException>(() => predictor.PredictArray(withNull));
        Assert.That(e!.Message, Does.Contain("Row 3").And.Contain("Pass only non-null"));
        Assert.Throws<ValidationException>(() => predictor.PredictBatch(withNull));
        Assert.Throws<ArgumentNullException>(() => predictor.PredictArray(null!));
    }

    [Test]
    public async Task Predict_InputWithColumnNameAttributes_MatchesByColumnName()
    {
        await RegisterAsync();
        var inputs = FlightModels.TestInputs.Take(50).ToList();
        using var predictor = await Project.Models.CreatePredictorAsync<RenamedFlightInput, DelayPrediction>("store://models/test/delay-model:1");

        var scores = inputs.Select(i => predictor.Predict(new RenamedFlightInput { Miles = i.Distance, DepartureHour = i.Hour, Airport = i.Origin }).Score);

        Assert.That(scores, Is.EqualTo(FlightModels.Scores(FlightModels.Small.Model, inputs)));
    }

    [Test]
    public async Task CreatePredictorAsync_InputWithoutFeatureColumns_ThrowsValidationListingThem()
    {
        await RegisterAsync();

        var e = Assert.ThrowsAsync<ValidationException>(() => Project.Models.CreatePredictorAsync<WrongFlightInput, DelayPrediction>("delay-model"));

        Assert.That(e!.Message, Does.Contain("WrongFlightInput").And.Contain("missing columns: Distance, Hour"));
        Assert.That(e.Errors.Any(m => m.Contains("'Distance' (Single)")), Is.True);
        Assert.That(e.Errors.Any(m => m.Contains("'Label'")), Is.False, "the label is not needed to predict");
    }

    [Test]
    public async Task CreatePredictorAsync_InputWithWrongColumnType_ThrowsValidationException()
    {
        await RegisterAsync();

        var e = Assert.ThrowsAsync<ValidationException>(() => Project.Models.CreatePredictorAsync<MistypedFlightInput, DelayPrediction>("delay-model"));

        Assert.That(e!.Errors[0], Is.EqualTo("Column 'Distance' is String in MistypedFlightInput but Single in the model's input schema."));
    }

    [Test]
    public async Task CreatePredictorAsync_OutputWithUnknownColumn_ThrowsValidationException()
    {
        await RegisterAsync();

        var e = Assert.ThrowsAsync<ValidationException>(() => Project.Models.CreatePredictorAsync<FlightInput, WrongPrediction>("delay-model"));

        Assert.That(e!.Message, Does.Contain("WrongPrediction").And.Contain("Probability"));
    }

    [Test]
    public async Task Predict_AfterDispose_ThrowsObjectDisposedException()
    {
        await RegisterAsync();
        var predictor = await Project.Models.CreatePredictorAsync<FlightInput, DelayPrediction>("delay-model");
        predictor.Dispose();

        Assert.Throws<ObjectDisposedException>(() => predictor.Predict(FlightModels.TestInputs[0]));
    }
}
