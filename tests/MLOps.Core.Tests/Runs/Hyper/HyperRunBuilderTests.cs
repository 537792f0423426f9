using System.Globalization;
using System.Text;
using MLOps.Artifacts;
using MLOps.Runs;

namespace MLOps.Core.Tests.Runs.Hyper;

[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class HyperRunBuilderTests
{
    private string _home = null!;
    private MLOpsProject _project = null!;

    [SetUp]
    public async Task SetUp()
    {
        _home = Path.Combine(Path.GetTempPath(), "mlops-hyper-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_home);
        _project = await MLOpsProject.Configure("test").UseHome(_home).CaptureGit(false).OpenAsync();
    }

    [TearDown]
    public async Task TearDown()
    {
        await _project.DisposeAsync();
        try { Directory.Delete(_home, recursive: true); }
        catch (IOException) { /* best effort */ }
    }

    // A cheap deterministic "training": the score grows with trees and leaves.
    private static double Auc(int trees, int leaves) => 0.5 + (trees / 1000.0) + (leaves / 1000.0);

    private static async Task<string> TrainAsync(RunContext run, CancellationToken ct)
    {
        var trees = run.GetParameter<int>("trees");
        var leaves = run.GetParameter("leaves", 0);
        var auc = Auc(trees, leaves);
        await run.LogResultsAsync(new Dictionary<string, double> { ["auc"] = auc, ["loss"] = 1 - auc }, ct);
        return $"model-{trees}-{leaves}";
    }

    private HyperRunBuilder Grid2x2() => _project.Runs.Hyper("train").Grid(h => h.Add("trees", 20, 100).Add("leaves", 16, 64));

    [Test]
    public async Task Grid_TwoByTwo_RunsFourChildrenWithParametersAndIterations()
    {
        var result = await Grid2x2()
            .WithParameter("dataset", "flights")
            .WithLabel("team", "fraud")
            .SelectBy("max:auc")
            .RunAsync(TrainAsync);

        var children = await _project.Runs.GetChildrenAsync(result.Parent.Id);
        Assert.That(children, Has.Count.EqualTo(4));
        Assert.That(children.Select(c => c.Iteration), Is.EqualTo(new int?[] { 1, 2, 3, 4 }));
        Assert.That(children.Select(c => (c.Parameters["trees"], c.Parameters["leaves"])),
            Is.EqualTo(new[] { ("20", "16"), ("20", "64"), ("100", "16"), ("100", "64") }));
        Assert.Multiple(() =>
        {
            Assert.That(children.All(c => c.Name == "train" && c.ParentId == result.Parent.Id && c.State == RunState.Completed));
            Assert.That(children.All(c => c.Parameters["dataset"] == "flights" && c.Labels["team"] == "fraud"));
            Assert.That(result.Parent.Name, Is.EqualTo("train"));
            Assert.That(result.Parent.State, Is.EqualTo(RunState.Completed));
            Assert.That(result.Parent.Labels["kind"], Is.EqualTo("hyper"));
            Assert.That(result.Parent.Labels["strategy"], Is.EqualTo("grid"));
            Assert.That(result.Parent.Labels["team"], Is.EqualTo("fraud"));
            Assert.That(result.Parent.Parameters["dataset"], Is.EqualTo("flights"));
            Assert.That(result.Parent.Parameters.ContainsKey("trees"), Is.False);
            Assert.That(result.Strategy, Is.EqualTo(HyperStrategy.Grid));
            Assert.That(result.StopReason, Is.EqualTo(HyperStopReason.AllIterations));
            Assert.That(result.ParameterNames, Is.EqualTo(new[] { "trees", "leaves" }));
            Assert.That(result.Iterations.Select(i => i.Number), Is.EqualTo(new[] { 1, 2, 3, 4 }));
            Assert.That(result.Iterations[2].Parameters["trees"], Is.EqualTo(100));
            Assert.That(result.Iterations[2].Value, Is.EqualTo("model-100-16"));
        });
    }

    [Test]
    public async Task List_EqualLengths_ZipsValuesByPosition()
    {
        var result = await _project.Runs.Hyper("train")
            .List(h => h.Add("trees", 20, 50, 100).Add("leaves", new[] { 16, 32, 64 }))
            .RunAsync(TrainAsync);

        Assert.That(result.Iterations.Select(i => (i.Run.Parameters["trees"], i.Run.Parameters["leaves"])),
            Is.EqualTo(new[] { ("20", "16"), ("50", "32"), ("100", "64") }));
        Assert.That(result.Parent.Labels["strategy"], Is.EqualTo("list"));
        Assert.That(result.Best, Is.Null, "no selector, no best");
    }

    [Test]
    public void List_UnequalLengths_ThrowsValidationNamingTheLengths()
    {
        var builder = _project.Runs.Hyper("train").List(h => h.Add("trees", 20, 50, 100).Add("leaves", 16, 32));

        var e = Assert.ThrowsAsync<ValidationException>(() => builder.RunAsync(TrainAsync));

        Assert.That(e!.Errors, Has.Count.EqualTo(1));
        Assert.That(e.Errors[0], Does.Contain("trees: 3").And.Contain("leaves: 2"));
    }

    private Task<HyperRunResult<string>> RandomAsync(int? seed, int maxIterations = 10)
        => _project.Runs.Hyper("train")
            .Random(h => h.Add("trees", 10, 200).Add("lr", 0.01, 0.3).Add("booster", "gbtree", "dart"), seed, maxIterations)
            .RunAsync((run, _) => Task.FromResult(run.GetParameter<string>("booster")));

    private static List<string> Sets(HyperRunResult result)
        => result.Iterations.Select(i => string.Join(";", i.Run.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value))).ToList();

    [Test]
    public async Task Random_SameSeed_GivesSameParameterSets()
    {
        var first = await RandomAsync(42);
        var second = await RandomAsync(42);
        var other = await RandomAsync(7);

        Assert.That(Sets(second), Is.EqualTo(Sets(first)));
        Assert.That(Sets(other), Is.Not.EqualTo(Sets(first)));
        Assert.That(first.Parent.Labels["seed"], Is.EqualTo("42"));
        Assert.That(first.Parent.Labels["strategy"], Is.EqualTo("random"));
    }

    [Test]
    public async Task Random_Defaults_SamplesTenSetsWithinRanges()
    {
        var result = await RandomAsync(123);

        Assert.That(result.Iterations, Has.Count.EqualTo(10));
        foreach (var it in result.Iterations)
        {
            Assert.That(it.Parameters["trees"], Is.TypeOf<int>().And.InRange(10, 200));
            Assert.That(it.Parameters["lr"], Is.TypeOf<double>().And.InRange(0.01, 0.3));
            Assert.That(it.Parameters["booster"], Is.AnyOf("gbtree", "dart"));
            Assert.That(it.Value, Is.EqualTo(it.Parameters["booster"]));
        }
    }

    [Test]
    public async Task Random_MaxIterations_RunsThatMany()
    {
        var result = await RandomAsync(1, maxIterations: 3);

        Assert.That(result.Iterations, Has.Count.EqualTo(3));
        Assert.That(await _project.Runs.GetChildrenAsync(result.Parent.Id), Has.Count.EqualTo(3));
    }

    [Test]
    public async Task Random_WithoutSeed_RecordsTheSeedThatReproducesIt()
    {
        var first = await RandomAsync(null, maxIterations: 4);
        var seed = int.Parse(first.Parent.Labels["seed"], CultureInfo.InvariantCulture);

        var again = await RandomAsync(seed, maxIterations: 4);

        Assert.That(Sets(again), Is.EqualTo(Sets(first)));
    }

    [Test]
    public async Task SelectBy_Max_CopiesBestResultsAndOutputsToParent()
    {
        var result = await Grid2x2()
            .SelectBy("max:auc")
            .RunAsync(async (run, ct) =>
            {
                var model = await TrainAsync(run, ct);
                await run.LogArtifactAsync("model", Encoding.UTF8.GetBytes(model), "model.bin", cancellationToken: ct);
                return model;
            });

        var best = result.Best!;
        Assert.Multiple(() =>
        {
            Assert.That(best.Number, Is.EqualTo(4));
            Assert.That(best.Value, Is.EqualTo("model-100-64"));
            Assert.That(best.Objective, Is.EqualTo(Auc(100, 64)));
            Assert.That(result.Parent.Results["auc"], Is.EqualTo(Auc(100, 64)));
            Assert.That(result.Parent.Results["loss"], Is.EqualTo(1 - Auc(100, 64)));
            Assert.That(result.Parent.Results["best_iteration"], Is.EqualTo(4));
            Assert.That(result.Parent.Outputs["model"], Is.EqualTo(best.Run.Outputs["model"]));
            Assert.That(result.Parent.Outputs["model"], Is.Not.EqualTo(result.Iterations[0].Run.Outputs["model"]));
            Assert.That(result.Parent.Labels["selector"], Is.EqualTo("max:auc"));
        });
    }

    [Test]
    public async Task SelectBy_Min_PicksSmallestValue()
    {
        var result = await Grid2x2().SelectBy(HyperSelector.Min("auc")).RunAsync(TrainAsync);

        Assert.That(result.Best!.Number, Is.EqualTo(1));
        Assert.That(result.Parent.Results["best_iteration"], Is.EqualTo(1));
        Assert.That(result.Parent.Results["auc"], Is.EqualTo(Auc(20, 16)));
    }

    [Test]
    public async Task SelectBy_KeyOnlyInMetrics_UsesLatestMetricAndCopiesIt()
    {
        var result = await _project.Runs.Hyper("train")
            .List(h => h.Add("trees", 20, 100, 50))
            .SelectBy("min:val_loss")
            .RunAsync((run, _) =>
            {
                var trees = run.GetParameter<int>("trees");
                run.LogMetric("val_loss", 5.0);
                run.LogMetric("val_loss", 1.0 / trees); // the latest value is what counts
                return Task.CompletedTask;
            });

        Assert.That(result.Best!.Number, Is.EqualTo(2));
        Assert.That(result.Best.Objective, Is.EqualTo(1.0 / 100));
        Assert.That(result.Parent.Results["val_loss"], Is.EqualTo(1.0 / 100));
    }

    [Test]
    public void SelectBy_NoIterationHasKey_FailsParentNamingTheKey()
    {
        var e = Assert.ThrowsAsync<HyperRunFailedException>(() => Grid2x2().SelectBy("max:f1").RunAsync(TrainAsync));

        Assert.That(e!.Run.State, Is.EqualTo(RunState.Failed));
        Assert.That(e.Run.Error, Does.Contain("'f1'").And.Contain("auc, loss"));
        Assert.That(e.Result.Iterations, Has.Count.EqualTo(4));
        Assert.That(e.Result.Best, Is.Null);
    }

    [Test]
    public async Task StopWhen_ConditionMet_StopsStartingIterations()
    {
        var result = await _project.Runs.Hyper("train")
            .List(h => h.Add("trees", 20, 50, 96, 100, 120))
            .SelectBy("max:auc")
            .StopWhen("results.auc >= 0.95")
            .Parallelism(1)
            .RunAsync(async (run, ct) =>
            {
                await run.LogResultAsync("auc", run.GetParameter<int>("trees") / 100.0, ct);
                return 0;
            });

        Assert.Multiple(async () =>
        {
            Assert.That(result.StopReason, Is.EqualTo(HyperStopReason.StopCondition));
            Assert.That(result.Iterations, Has.Count.EqualTo(3));
            Assert.That(await _project.Runs.GetChildrenAsync(result.Parent.Id), Has.Count.EqualTo(3));
            Assert.That(result.Parent.State, Is.EqualTo(RunState.Completed));
            Assert.That(result.Best!.Number, Is.EqualTo(3));
            Assert.That(result.Parent.Results["auc"], Is.EqualTo(0.96));
        });
    }

    [Test]
    public async Task StopWhen_RunFilter_NeverMet_RunsEveryIteration()
    {
        var result = await Grid2x2().StopWhen(RunField.Result("auc") >= 0.99).RunAsync(TrainAsync);

        Assert.That(result.StopReason, Is.EqualTo(HyperStopReason.AllIterations));
        Assert.That(result.Iterations, Has.Count.EqualTo(4));
    }

    [Test]
    public void MaxErrors_Reached_FailsParentAndStopsStartingIterations()
    {
        var builder = _project.Runs.Hyper("train")
            .List(h => h.Add("trees", 1, 2, 3, 4, 5, 6))
            .SelectBy("max:auc")
            .MaxErrors(2)
            .Parallelism(1);

        var e = Assert.ThrowsAsync<HyperRunFailedException>(() => builder.RunAsync(async (run, ct) =>
        {
            var trees = run.GetParameter<int>("trees");
            if (trees % 2 == 0) throw new InvalidOperationException($"boom {trees}");
            await run.LogResultAsync("auc", trees, ct);
            return trees;
        }));

        Assert.That(e, Is.InstanceOf<RunFailedException>());
        Assert.Multiple(async () =>
        {
            Assert.That(e!.Run.State, Is.EqualTo(RunState.Failed));
            Assert.That(e.Run.Error, Does.Contain("2 of 4 iterations").And.Contain("MaxErrors (2)").And.Contain("boom 4"));
            Assert.That(e.Result.StopReason, Is.EqualTo(HyperStopReason.MaxErrors));
            Assert.That(e.Result.Iterations.Select(i => i.State), Is.EqualTo(new[] { RunState.Completed, RunState.Failed, RunState.Completed, RunState.Failed }));
            Assert.That(e.Result.Iterations[3].Exception, Is.TypeOf<InvalidOperationException>());
            Assert.That(e.InnerException!.InnerException, Is.SameAs(e.Result.Iterations[3].Exception));
            Assert.That(await _project.Runs.GetChildrenAsync(e.Run.Id), Has.Count.EqualTo(4));
            Assert.That((await _project.Runs.GetAsync(e.Run.Id)).State, Is.EqualTo(RunState.Failed));
        });
    }

    [Test]
    public async Task MaxErrors_FewerFailures_CompletesWithTheSuccessfulIterations()
    {
        var result = await _project.Runs.Hyper("train")
            .List(h => h.Add("trees", 1, 2, 3))
            .SelectBy("max:auc")
            .RunAsync(async (run, ct) =>
            {
                var trees = run.GetParameter<int>("trees");
                if (trees == 3) throw new InvalidOperationException("boom");
                await run.LogResultAsync("auc", trees, ct);
            });

        Assert.That(result.Parent.State, Is.EqualTo(RunState.Completed));
        Assert.That(result.Best!.Number, Is.EqualTo(2));
        Assert.That(result.Iterations[2].State, Is.EqualTo(RunState.Failed));
        Assert.That(result.Iterations[2].Error, Does.Contain("boom"));
    }

    [Test]
    public void RunAsync_EveryIterationFails_FailsParent()
    {
        var e = Assert.ThrowsAsync<HyperRunFailedException>(() => _project.Runs.Hyper("train")
            .List(h => h.Add("trees", 1, 2))
            .RunAsync((_, _) => throw new InvalidOperationException("boom")));

        Assert.That(e!.Run.Error, Does.Contain("All 2 iterations").And.Contain("boom"));
    }

    [Test]
    public async Task Parallelism_Bound_IsRespected()
    {
        var current = 0;
        var max = 0;
        var bothRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var result = await _project.Runs.Hyper("train")
            .List(h => h.Add("trees", 1, 2, 3, 4, 5, 6, 7, 8))
            .Parallelism(2)
            .RunAsync(async (run, ct) =>
            {
                var now = Interlocked.Increment(ref current);
                try
                {
                    int seen;
                    while (now > (seen = Volatile.Read(ref max)) && Interlocked.CompareExchange(ref max, now, seen) != seen) { }
                    if (now >= 2) bothRunning.TrySetResult();
                    // The first two iterations wait for each other, so the bound is reached; later ones pass the open gate.
                    await bothRunning.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
                    await run.LogResultAsync("auc", run.GetParameter<int>("trees"), ct);
                }
                finally
                {
                    Interlocked.Decrement(ref current);
                }
            });

        Assert.That(max, Is.EqualTo(2));
        Assert.That(result.Iterations, Has.Count.EqualTo(8));
        Assert.That(result.Iterations.All(i => i.State == RunState.Completed));
    }

    [Test]
    public async Task RunAsync_Cancelled_AbortsRunningChildAndParent()
    {
        using var cts = new CancellationTokenSource();
        var builder = _project.Runs.Hyper("train").List(h => h.Add("trees", 1, 2, 3, 4)).Parallelism(1);

        Assert.CatchAsync<OperationCanceledException>(() => builder.RunAsync(async (run, ct) =>
        {
            if (run.GetParameter<int>("trees") == 2)
            {
                await cts.CancelAsync();
                await Task.Delay(Timeout.Infinite, ct);
            }
        }, cts.Token));

        var parents = await _project.Runs.SearchAsync("labels.kind = 'hyper'");
        var parent = parents.Runs.Single();
        var children = await _project.Runs.GetChildrenAsync(parent.Id);
        Assert.That(parent.State, Is.EqualTo(RunState.Aborted));
        Assert.That(children.Select(c => c.State), Is.EqualTo(new[] { RunState.Completed, RunState.Aborted }));
    }

    [Test]
    public void RunAsync_InvalidConfiguration_ListsEveryProblem()
    {
        var builder = _project.Runs.Hyper("train")
            .Grid(h => h.Add("trees").Add("leaves", 16).Add("leaves", 32).Add("bad key!", 1))
            .SelectBy("best:auc")
            .StopWhen("results.auc >>= 1")
            .MaxErrors(0)
            .Parallelism(0)
            .WithParameter("trees", 10);

        var e = Assert.ThrowsAsync<ValidationException>(() => builder.RunAsync(TrainAsync));

        Assert.That(e!.Message, Does.StartWith("The hyper-parameter search 'train' is invalid"));
        Assert.That(e.Errors, Has.Count.EqualTo(8), string.Join(Environment.NewLine, e.Errors));
        Assert.Multiple(() =>
        {
            Assert.That(e.Errors, Has.One.Contains("'trees' has no values"));
            Assert.That(e.Errors, Has.One.Contains("'leaves' is added more than once"));
            Assert.That(e.Errors, Has.One.Contains("'bad key!'"));
            Assert.That(e.Errors, Has.One.Contains("'best:auc'").And.One.Contains("'max:<key>'"));
            Assert.That(e.Errors, Has.One.Contains("stop condition 'results.auc >>= 1'"));
            Assert.That(e.Errors, Has.One.Contains("MaxErrors is 0"));
            Assert.That(e.Errors, Has.One.Contains("Parallelism is 0"));
            Assert.That(e.Errors, Has.One.Contains("'trees' is both shared"));
        });
    }

    [Test]
    public void RunAsync_NoStrategy_ThrowsValidation()
    {
        var e = Assert.ThrowsAsync<ValidationException>(() => _project.Runs.Hyper("train").SelectBy("max:auc").RunAsync(TrainAsync));

        Assert.That(e!.Errors, Has.Count.EqualTo(1));
        Assert.That(e.Errors[0], Does.Contain("No search strategy"));
    }

    [Test]
    public void RunAsync_TwoStrategiesAndBadRandomRanges_ListsEveryProblem()
    {
        var builder = _project.Runs.Hyper("train")
            .Grid(h => h.Add("trees", 20))
            .Random(h => h.Add("trees", 200, 10).AddLogUniform("lr", 0, 0.3).Add("booster", Array.Empty<string>()), seed: 1, maxIterations: 0);

        var e = Assert.ThrowsAsync<ValidationException>(() => builder.RunAsync(TrainAsync));

        Assert.That(e!.Errors, Has.Count.EqualTo(5), string.Join(Environment.NewLine, e.Errors));
        Assert.That(e.Errors, Has.One.Contains("More than one search strategy"));
        Assert.That(e.Errors, Has.One.Contains("maxIterations is 0"));
        Assert.That(e.Errors, Has.One.Contains("'trees' has the integer range 200 to 10"));
        Assert.That(e.Errors, Has.One.Contains("'lr' has the log-uniform range"));
        Assert.That(e.Errors, Has.One.Contains("'booster' has no choices"));
    }

    [Test]
    public async Task RunAsync_Twice_ThrowsInvalidOperation()
    {
        var builder = Grid2x2();
        await builder.RunAsync(TrainAsync);

        Assert.ThrowsAsync<InvalidOperationException>(() => builder.RunAsync(TrainAsync));
        Assert.Throws<InvalidOperationException>(() => builder.Parallelism(2));
    }

    [Test]
    public void RunAsync_AfterValidationFailure_BuilderIsUsed()
    {
        var builder = _project.Runs.Hyper("train").Parallelism(0);
        Assert.ThrowsAsync<ValidationException>(() => builder.RunAsync(TrainAsync));

        Assert.Throws<InvalidOperationException>(() => builder.Grid(h => h.Add("trees", 1)));
    }

    [Test]
    public async Task IterationTable_IsLoggedAsParentOutputWithOneRowPerIteration()
    {
        var result = await Grid2x2().SelectBy("max:auc").RunAsync(TrainAsync);

        var uri = result.Parent.Outputs["iteration_results"];
        var artifact = await _project.Artifacts.GetAsync(uri);
        string[] lines;
        await using (var stream = await _project.Artifacts.OpenReadAsync(uri))
        using (var reader = new StreamReader(stream))
            lines = (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Multiple(() =>
        {
            Assert.That(artifact.Kind, Is.EqualTo(ArtifactKind.Table));
            Assert.That(artifact.Key, Is.EqualTo("train/iteration_results"));
            Assert.That(artifact.ProducerRunId, Is.EqualTo(result.Parent.Id));
            Assert.That(lines, Has.Length.EqualTo(5));
            Assert.That(lines[0], Is.EqualTo("iteration,state,trees,leaves,auc,loss"));
            Assert.That(lines[1], Does.StartWith("1,completed,20,16,"));
            Assert.That(lines[4], Does.StartWith("4,completed,100,64,"));
        });
    }

    [Test]
    public async Task ToString_RendersAlignedTableWithBestMarked()
    {
        var result = await Grid2x2().SelectBy("max:auc").RunAsync(TrainAsync);

        var lines = result.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.That(lines[0], Does.Contain("'train'").And.Contain("grid").And.Contain("best iteration 4"));
        Assert.That(lines[1], Does.Contain("iteration").And.Contain("state").And.Contain("trees").And.Contain("leaves").And.Contain("auc"));
        Assert.That(lines.Skip(2).Count(l => l.StartsWith('*')), Is.EqualTo(1));
        Assert.That(lines[5], Does.StartWith("*").And.Contain("100").And.Contain("0.664"));
        Assert.That(lines[1].IndexOf("state", StringComparison.Ordinal), Is.EqualTo(lines[2].IndexOf("completed", StringComparison.Ordinal)), "columns are aligned");
    }
}
