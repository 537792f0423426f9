using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLOps.Registry;
using MLOps.Serving.Models;
using MLOps.Serving.Tests.TestSupport;

namespace MLOps.Serving.Tests.Models;

public sealed class ModelHandleTests
{
    private const string Uri = "store://models/test/delay:production";
    private static readonly TimeSpan s_safety = TimeSpan.FromSeconds(60);
    private static readonly Lazy<TrainedModels> s_models = new(Train);

    private TempFolder _folder = null!;
    private string _home = null!;
    private FakeTimeProvider _time = null!;
    private MLOpsProject _project = null!;

    private sealed record TrainedModels(ITransformer Small, ITransformer Large, ITransformer Linear, DataViewSchema Schema, IReadOnlyList<FlightInput> Inputs);

    private static TrainedModels Train()
    {
        var rows = FlightModels.Rows;
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(rows.Take(3000));
        var features = ml.Transforms.Concatenate("Features", nameof(Flight.Distance), nameof(Flight.Hour));
        var small = features.Append(ml.BinaryClassification.Trainers.FastTree(numberOfLeaves: 2, numberOfTrees: 3, minimumExampleCountPerLeaf: 50)).Fit(data);
        var large = features.Append(ml.BinaryClassification.Trainers.FastTree(numberOfLeaves: 16, numberOfTrees: 30, minimumExampleCountPerLeaf: 5)).Fit(data);
        var linear = features.Append(ml.Transforms.NormalizeMinMax("Features"))
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(maximumNumberOfIterations: 5)).Fit(data);
        var inputs = FlightModels.Inputs(10_000, 64);
        return new TrainedModels(small, large, linear, data.Schema, inputs);
    }

    private static TrainedModels Models => s_models.Value;

    [SetUp]
    public async Task SetUp()
    {
        _folder = new TempFolder();
        _home = _folder.Path;
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        _project = await MLOpsProject.Configure("test").UseHome(_home).CaptureGit(false).UseTimeProvider(_time).OpenAsync();
        await _project.Models.RegisterAsync("delay", Models.Small, Models.Schema, new ModelLogOptions { Aliases = { "production" } });
        await _project.Models.RegisterAsync("delay", Models.Large, Models.Schema);
    }

    [TearDown]
    public async Task TearDown()
    {
        await _project.DisposeAsync();
        _folder.Dispose();
    }

    private Task<ModelHandle<FlightInput, DelayPrediction>> OpenAsync(ModelHandleOptions? options = null)
        => ModelHandle.OpenAsync<FlightInput, DelayPrediction>(_project, Uri, options);

    private async Task<float[]> RegistryScoresAsync(int version)
    {
        using var predictor = await _project.Models.CreatePredictorAsync<FlightInput, DelayPrediction>("delay", version.ToString(CultureInfo.InvariantCulture));
        return [.. Models.Inputs.Select(i => predictor.Predict(i).Score)];
    }

    private static float[] Scores(ModelHandle<FlightInput, DelayPrediction> handle)
        => [.. Models.Inputs.Select(i => handle.Predict(i).Score)];

    private Task MoveAliasAsync(int version) => _project.Models.SetAliasAsync("delay", "production", version);

    [Test]
    public async Task OpenAsync_AliasUri_PredictsLikeTheRegistrysPredictor()
    {
        var expected = await RegistryScoresAsync(1);

        await using var handle = await OpenAsync();

        Assert.That(handle.Version.Version, Is.EqualTo(1));
        Assert.That(handle.Uri, Is.EqualTo(Uri));
        Assert.That(handle.PollInterval, Is.Null);
        Assert.That(Scores(handle), Is.EqualTo(expected));
        Assert.That(handle.PredictBatch(Models.Inputs).Select(p => p.Score), Is.EqualTo(expected));
        Assert.That(handle.LastError, Is.Null);
    }

    [Test]
    public async Task OpenAsync_TwoVersions_PredictDifferently()
    {
        Assert.That(await RegistryScoresAsync(1), Is.Not.EqualTo(await RegistryScoresAsync(2)), "the tests need two distinguishable models");
    }

    [Test]
    public async Task RefreshAsync_AliasMoved_SwapsToTheNewVersion()
    {
        var expected = await RegistryScoresAsync(2);
        await using var handle = await OpenAsync();
        var changes = new List<ModelVersionChangedEventArgs>();
        handle.VersionChanged += (_, e) => changes.Add(e);

        await MoveAliasAsync(2);
        var swapped = await handle.RefreshAsync();

        Assert.That(swapped, Is.True);
        Assert.That(handle.Version.Version, Is.EqualTo(2));
        Assert.That(Scores(handle), Is.EqualTo(expected));
        Assert.That(changes.Select(c => (c.Previous.Version, c.Current.Version)), Is.EqualTo(new[] { (1, 2) }));
        Assert.That(handle.LastError, Is.Null);
        Assert.That(handle.LivePredictors, Is.EqualTo(1));
    }

    [Test]
    public async Task RefreshAsync_ThrowingHandler_StillSwapsAndRunsTheOtherHandlers()
    {
        await using var handle = await OpenAsync();
        var seen = new List<int>();
        handle.VersionChanged += (_, _) => throw new InvalidOperationException("subscriber bug");
        handle.VersionChanged += (_, e) => seen.Add(e.Current.Version);

        await MoveAliasAsync(2);
        var swapped = await handle.RefreshAsync();

        Assert.That(swapped, Is.True);
        Assert.That(handle.Version.Version, Is.EqualTo(2));
        Assert.That(seen, Is.EqualTo(new[] { 2 }));
    }

    [Test]
    public async Task RefreshAsync_AliasUnchanged_KeepsThePredictor()
    {
        await using var handle = await OpenAsync();
        var disposed = new List<int>();
        handle.PredictorDisposed = v => disposed.Add(v.Version);
        handle.VersionChanged += (_, _) => Assert.Fail("no version change expected");

        var swapped = await handle.RefreshAsync();

        Assert.That(swapped, Is.False);
        Assert.That(handle.Version.Version, Is.EqualTo(1));
        Assert.That(disposed, Is.Empty);
        Assert.That(handle.LivePredictors, Is.EqualTo(1));
    }

    [Test]
    public async Task PollInterval_TimeAdvanced_SwapsToTheNewVersion()
    {
        await using var handle = await OpenAsync(new ModelHandleOptions { PollInterval = TimeSpan.FromMinutes(1) });
        var changed = new TaskCompletionSource<ModelVersionChangedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        handle.VersionChanged += (_, e) => changed.TrySetResult(e);

        await MoveAliasAsync(2);
        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.That(changed.Task.IsCompleted, Is.False);
        Assert.That(handle.Version.Version, Is.EqualTo(1));
        _time.Advance(TimeSpan.FromSeconds(1));
        var e = await changed.Task.WaitAsync(s_safety);

        Assert.That((e.Previous.Version, e.Current.Version), Is.EqualTo((1, 2)));
        Assert.That(handle.Version.Version, Is.EqualTo(2));
        Assert.That(Scores(handle), Is.EqualTo(await RegistryScoresAsync(2)));
    }

    [Test]
    public async Task PollInterval_BadVersion_ReportsUpgradeFailedAndKeepsServing()
    {
        await using var handle = await OpenAsync(new ModelHandleOptions { PollInterval = TimeSpan.FromMinutes(1) });
        var failed = new TaskCompletionSource<ModelUpgradeFailedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        handle.UpgradeFailed += (_, e) => failed.TrySetResult(e);
        var v3 = await RegisterNonMLNetAsync();

        await MoveAliasAsync(v3);
        _time.Advance(TimeSpan.FromMinutes(1));
        var e = await failed.Task.WaitAsync(s_safety);

        Assert.That(e.Target?.Version, Is.EqualTo(3));
        Assert.That(e.Current.Version, Is.EqualTo(1));
        Assert.That(handle.Version.Version, Is.EqualTo(1));
        Assert.That(Scores(handle), Is.EqualTo(await RegistryScoresAsync(1)));
    }

    [Test]
    public async Task PollInterval_Null_NeverRefreshes()
    {
        await using var handle = await OpenAsync();

        await MoveAliasAsync(2);
        _time.Advance(TimeSpan.FromDays(1));

        Assert.That(handle.Version.Version, Is.EqualTo(1));
    }

    [Test]
    public async Task Predict_AliasMovesBackAndForthUnderLoad_NeverFailsAndAnswersFromV1OrV2()
    {
        var v1 = await RegistryScoresAsync(1);
        var v2 = await RegistryScoresAsync(2);
        var probe = Enumerable.Range(0, v1.Length).First(i => v1[i] != v2[i]);
        await using var handle = await OpenAsync();
        var disposed = new ConcurrentQueue<int>();
        handle.PredictorDisposed = v => disposed.Enqueue(v.Version);
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var allStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        const int workers = 8;
        var started = 0;
        var errors = new ConcurrentQueue<Exception>();
        var foreign = new ConcurrentQueue<string>();
        long calls = 0;

        // Dedicated threads (LongRunning): 8 synchronous loops on pool threads would starve the refreshes' own pool work
        // on a 2-core machine until the pool grows, which can take tens of seconds.
        var tasks = Enumerable.Range(0, workers).Select(w => Task.Factory.StartNew(() =>
        {
            var batch = w % 2 == 1;
            var first = true;
            for (var n = w; !stop.Task.IsCompleted; n++)
            {
                try
                {
                    if (batch)
                    {
                        var scores = handle.PredictBatch(Models.Inputs).Select(p => p.Score).ToArray();
                        if (!scores.SequenceEqual(v1) && !scores.SequenceEqual(v2))
                            foreign.Enqueue($"worker {w}: a batch mixes versions or comes from neither");
                    }
                    else
                    {
                        var k = n % v1.Length;
                        var score = handle.Predict(Models.Inputs[k]).Score;
                        if (score != v1[k] && score != v2[k])
                            foreign.Enqueue($"worker {w}: row {k} scored {score}, neither v1 {v1[k]} nor v2 {v2[k]}");
                    }
                    Interlocked.Increment(ref calls);
                }
                catch (Exception e)
                {
                    errors.Enqueue(e);
                }
                if (first)
                {
                    first = false;
                    if (Interlocked.Increment(ref started) == workers) allStarted.TrySetResult();
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToList();

        await allStarted.Task.WaitAsync(s_safety);
        for (var round = 0; round < 5; round++)
        {
            await MoveAliasAsync(2);
            Assert.That(await handle.RefreshAsync(), Is.True);
            Assert.That(handle.Predict(Models.Inputs[probe]).Score, Is.EqualTo(v2[probe]));
            await MoveAliasAsync(1);
            Assert.That(await handle.RefreshAsync(), Is.True);
            Assert.That(handle.Predict(Models.Inputs[probe]).Score, Is.EqualTo(v1[probe]));
        }
        stop.TrySetResult();
        await Task.WhenAll(tasks).WaitAsync(s_safety);

        Assert.That(errors, Is.Empty);
        Assert.That(foreign, Is.Empty);
        Assert.That(Interlocked.Read(ref calls), Is.GreaterThanOrEqualTo(workers));
        Assert.That(handle.Version.Version, Is.EqualTo(1));
        Assert.That(disposed, Is.EquivalentTo(new[] { 1, 1, 1, 1, 1, 2, 2, 2, 2, 2 }), "every replaced predictor is disposed once its calls returned (in any order)");
        Assert.That(handle.LivePredictors, Is.EqualTo(1));
    }

    [Test]
    public async Task RefreshAsync_OldPredictorLeased_DisposesItWhenTheLastLeaseReturns()
    {
        var v1 = await RegistryScoresAsync(1);
        await using var handle = await OpenAsync();
        var disposed = new List<int>();
        handle.PredictorDisposed = v => disposed.Add(v.Version);
        var first = handle.Acquire();
        var second = handle.Acquire();
        var old = first.Predictor;

        await MoveAliasAsync(2);
        await handle.RefreshAsync();

        Assert.That(handle.Version.Version, Is.EqualTo(2));
        Assert.That(handle.LivePredictors, Is.EqualTo(2));
        Assert.That(old.Predict(Models.Inputs[0]).Score, Is.EqualTo(v1[0]), "an in-flight call finishes on the old version");
        first.Dispose();
        Assert.That(disposed, Is.Empty);
        second.Dispose();
        Assert.That(disposed, Is.EqualTo(new[] { 1 }));
        Assert.That(handle.LivePredictors, Is.EqualTo(1));
        Assert.Throws<ObjectDisposedException>(() => old.Predict(Models.Inputs[0]));
    }

    [Test]
    public async Task RefreshAsync_NoLease_DisposesTheOldPredictorAtOnce()
    {
        await using var handle = await OpenAsync();
        var disposed = new List<int>();
        handle.PredictorDisposed = v => disposed.Add(v.Version);
        handle.Predict(Models.Inputs[0]);

        await MoveAliasAsync(2);
        await handle.RefreshAsync();

        Assert.That(disposed, Is.EqualTo(new[] { 1 }));
        Assert.That(handle.LivePredictors, Is.EqualTo(1));
    }

    [Test]
    public async Task RefreshAsync_VersionFilesMissing_KeepsTheOldVersionAndSetsLastError()
    {
        var v3 = await _project.Models.RegisterAsync("delay", Models.Linear, Models.Schema);
        File.Delete(Path.Combine(_project.ArtifactRoot, "objects", v3.ContentHash[..2], v3.ContentHash));
        await using var handle = await OpenAsync();
        var failures = new List<ModelUpgradeFailedEventArgs>();
        handle.UpgradeFailed += (_, e) => failures.Add(e);

        await MoveAliasAsync(3);
        var swapped = await handle.RefreshAsync();

        Assert.That(swapped, Is.False);
        Assert.That(handle.Version.Version, Is.EqualTo(1));
        Assert.That(handle.LastError, Is.TypeOf<ArtifactException>());
        Assert.That(handle.LastError!.Message, Does.Contain("missing"));
        Assert.That(failures, Has.Count.EqualTo(1));
        Assert.That(failures[0].Target?.Version, Is.EqualTo(3));
        Assert.That(failures[0].Error, Is.SameAs(handle.LastError));
        Assert.That(Scores(handle), Is.EqualTo(await RegistryScoresAsync(1)));
        Assert.That(handle.LivePredictors, Is.EqualTo(1));
    }

    [Test]
    public async Task RefreshAsync_NonMLNetVersion_KeepsTheOldVersionAndSetsLastError()
    {
        await using var handle = await OpenAsync();
        var v3 = await RegisterNonMLNetAsync();

        await MoveAliasAsync(v3);
        var swapped = await handle.RefreshAsync();

        Assert.That(swapped, Is.False);
        Assert.That(handle.Version.Version, Is.EqualTo(1));
        Assert.That(handle.LastError, Is.TypeOf<ValidationException>());
        Assert.That(handle.LastError!.Message, Does.Contain("onnx"));
        Assert.That(Scores(handle), Is.EqualTo(await RegistryScoresAsync(1)));
    }

    [Test]
    public async Task RefreshAsync_GoodVersionAfterAFailure_SwapsAndClearsLastError()
    {
        await using var handle = await OpenAsync();
        await MoveAliasAsync(await RegisterNonMLNetAsync());
        await handle.RefreshAsync();
        Assert.That(handle.LastError, Is.Not.Null);

        await MoveAliasAsync(2);
        var swapped = await handle.RefreshAsync();

        Assert.That(swapped, Is.True);
        Assert.That(handle.Version.Version, Is.EqualTo(2));
        Assert.That(handle.LastError, Is.Null);
    }

    [Test]
    public async Task RefreshAsync_AliasRemoved_KeepsTheOldVersionAndSetsLastError()
    {
        await using var handle = await OpenAsync();
        var failures = new List<ModelUpgradeFailedEventArgs>();
        handle.UpgradeFailed += (_, e) => failures.Add(e);

        await _project.Models.DeleteAliasAsync("delay", "production");
        var swapped = await handle.RefreshAsync();

        Assert.That(swapped, Is.False);
        Assert.That(handle.Version.Version, Is.EqualTo(1));
        Assert.That(handle.LastError, Is.TypeOf<NotFoundException>());
        Assert.That(failures.Single().Target, Is.Null);
        Assert.That(handle.Predict(Models.Inputs[0]), Is.Not.Null);
    }

    [Test]
    public async Task DisposeAsync_Handle_ReleasesThePredictorAndRejectsCalls()
    {
        var handle = await OpenAsync(new ModelHandleOptions { PollInterval = TimeSpan.FromMinutes(1) });
        var disposed = new List<int>();
        handle.PredictorDisposed = v => disposed.Add(v.Version);

        await handle.DisposeAsync();
        await handle.DisposeAsync();

        Assert.That(disposed, Is.EqualTo(new[] { 1 }));
        Assert.That(handle.LivePredictors, Is.Zero);
        Assert.Throws<ObjectDisposedException>(() => handle.Predict(Models.Inputs[0]));
        Assert.Throws<ObjectDisposedException>(() => handle.PredictBatch(Models.Inputs));
        Assert.ThrowsAsync<ObjectDisposedException>(() => handle.RefreshAsync());
        await MoveAliasAsync(2);
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.That(disposed, Is.EqualTo(new[] { 1 }), "a disposed handle no longer polls");
    }

    [Test]
    public async Task DisposeAsync_LeaseInFlight_DisposesThePredictorWhenItReturns()
    {
        var handle = await OpenAsync();
        var disposed = new List<int>();
        handle.PredictorDisposed = v => disposed.Add(v.Version);
        var lease = handle.Acquire();

        await handle.DisposeAsync();
        Assert.That(disposed, Is.Empty);
        Assert.That(lease.Predictor.Predict(Models.Inputs[0]), Is.Not.Null);
        lease.Dispose();

        Assert.That(disposed, Is.EqualTo(new[] { 1 }));
    }

    [Test]
    public void OpenAsync_MissingAlias_ThrowsNotFoundException()
    {
        Assert.ThrowsAsync<NotFoundException>(() => ModelHandle.OpenAsync<FlightInput, DelayPrediction>(_project, "store://models/test/delay:staging"));
    }

    [Test]
    public void OpenAsync_NonPositivePollInterval_ThrowsValidationExceptionNamingIt()
    {
        var e = Assert.ThrowsAsync<ValidationException>(() => OpenAsync(new ModelHandleOptions { PollInterval = TimeSpan.Zero }));
        Assert.That(e!.Message, Does.Contain("ModelHandleOptions.PollInterval is 00:00:00").And.Contain("positive"));
    }

    [Test]
    public void Validate_NegativePollInterval_ListsIt()
        => Assert.That(new ModelHandleOptions { PollInterval = TimeSpan.FromSeconds(-1) }.Validate(), Has.Count.EqualTo(1).And.One.Contain("PollInterval is -00:00:01"));

    [Test]
    public async Task RefreshAsync_AliasMoved_EmitsLoadAndSwapSpansASwapCountAndALog()
    {
        string name = $"swap-{Guid.NewGuid():N}"[..17];
        using var folder = new TempFolder();
        using var logs = new CapturingLoggerProvider();
        await using var project = await MLOpsProject.Configure(name).UseHome(folder.Path).CaptureGit(false).UseLoggerFactory(logs).OpenAsync();
        await project.Models.RegisterAsync("delay", Models.Small, Models.Schema, new ModelLogOptions { Aliases = { "production" } });
        await project.Models.RegisterAsync("delay", Models.Large, Models.Schema);
        using var measurements = new ServingMeasurements(name);
        var stopped = new ConcurrentQueue<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == ServingDiagnostics.ActivitySourceName,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        await using var handle = await ModelHandle.OpenAsync<FlightInput, DelayPrediction>(project, $"store://models/{name}/delay:production");

        await project.Models.SetAliasAsync("delay", "production", 2);
        bool swapped = await handle.RefreshAsync();

        Assert.That(swapped, Is.True);
        var spans = stopped.Where(a => Equals(a.GetTagItem("mlops.project"), name)).ToList();
        Assert.That(spans.Where(a => a.OperationName == "mlops.serving.model.load").Select(a => a.GetTagItem("mlops.model.version")), Is.EqualTo(new object[] { 1, 2 }));
        var swap = spans.Single(a => a.OperationName == "mlops.serving.model.swap");
        Assert.That((swap.GetTagItem("mlops.model.version"), swap.GetTagItem("mlops.model.previous_version")), Is.EqualTo(((object)2, (object)1)));
        var swaps = measurements.Of("mlops.serving.model.swaps");
        Assert.That(swaps.Sum(m => m.Value), Is.EqualTo(1));
        Assert.That(swaps.Single().Tags["mlops.model.version"], Is.EqualTo("2"));
        var log = logs.Entries.Single(e => e.EventId.Name == "ModelSwapped");
        Assert.That(log.Level, Is.EqualTo(Microsoft.Extensions.Logging.LogLevel.Information));
        Assert.That(log.Message, Does.Contain("swapped version 1 for version 2"));
    }

    private async Task<int> RegisterNonMLNetAsync()
    {
        var file = Path.Combine(_home, "model.onnx");
        await File.WriteAllTextAsync(file, "not an ML.NET model");
        var version = await _project.Models.RegisterFileAsync("delay", file, "onnx");
        return version.Version;
    }
}
