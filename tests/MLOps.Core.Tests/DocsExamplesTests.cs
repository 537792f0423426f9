using Apache.Arrow;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLOps.Artifacts;
using MLOps.Registry;
using MLOps.Runs;

namespace MLOps.Core.Tests;

/// <summary>The code of docs/tracking.md and docs/registry.md, compiled and run, so the guides stay true.</summary>
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class DocsExamplesTests
{
    private readonly TempFolder _folder = new();

    [TearDown]
    public void TearDown() => _folder.Dispose();

    [Test]
    public async Task TrackingGuide_Examples_Run()
    {
        await using var project = await MLOpsProject.Configure("flights")
            .UseSqlite(_folder.File("mlops.db")).UseArtifactsAt(_folder.File("artifacts"))
            .ConfigureMetrics(m => m.FlushSize = 5_000)
            .CaptureGit(false)
            .OpenAsync();
        var services = new ServiceCollection();
        services.AddMLOps(o => o.Project("flights").UseHome(_folder.File("mlops")));
        new ServiceCollection().AddMLOps("flights", b => b.UseSqlite(_folder.File("mlops.db")));

        RunRecord run = await project.Runs.RunAsync("train", async (ctx, ct) =>
        {
            var trees = ctx.GetParameter<int>("trees");
            for (var epoch = 0; epoch < 10; epoch++)
                ctx.LogMetric("loss", 1.0 / (epoch + 1));
            await ctx.LogResultAsync("auc", 0.91, ct);
            await ctx.SetLabelAsync("team", "delays", ct);
            ctx.Logger.LogInformation("trained {Trees} trees", trees);
        }, new Dictionary<string, object> { ["trees"] = 100 });

        await using (var explicitRun = await project.Runs.StartAsync("evaluate"))
        {
            try
            {
                explicitRun.LogMetric("accuracy", 0.82);
            }
            catch (Exception e)
            {
                await explicitRun.FailAsync(e);
                throw;
            }
        }

        RunPage page = await project.Runs.SearchAsync(
            RunField.Result("auc") > 0.8 & (RunField.Param("trees").Is(100) | RunField.Label("team").Is("delays")),
            [RunField.Result("auc").Descending()],
            pageSize: 50);
        Assert.That(page.Runs.Single().Id, Is.EqualTo(run.Id));
        page = await project.Runs.SearchAsync("metrics.loss < 0.2 and params.trees >= 50 and state = 'completed'", "metrics.loss desc");
        Assert.That(page.Runs.Single().Id, Is.EqualTo(run.Id));
        page = await project.Runs.SearchAsync("labels.team ilike 'DELAY%' and name like 'tr%'");
        Assert.That(page.Runs.Single().Id, Is.EqualTo(run.Id));
        page = await project.Runs.SearchAsync(RunField.Label("team").IsILike("DELAY%"));
        Assert.That(page.Runs.Single().Id, Is.EqualTo(run.Id));
        var paged = new List<string>();
        string? token = null;
        do
        {
            RunPage onePage = await project.Runs.SearchAsync(RunField.Name.Is("train"), pageSize: 50, pageToken: token);
            paged.AddRange(onePage.Runs.Select(r => r.Id));
            token = onePage.NextPageToken;
        }
        while (token is not null);
        Assert.That(paged, Is.EqualTo(new[] { run.Id }));
        var names = new List<string>();
        await foreach (RunRecord r in project.Runs.SearchAllAsync(RunField.Name.Is("train"))) names.Add(r.Name);
        Assert.That(names, Is.EqualTo(new[] { "train" }));

        var first = run;
        var second = (await project.Runs.SearchAsync(RunField.Name.Is("evaluate"))).Runs.Single();
        RunComparison table = await project.Runs.CompareAsync([first.Id, second.Id]);
        Assert.That(table.ToString(), Does.Contain("params.trees"));
        IReadOnlyList<MetricPoint> loss = await project.Runs.GetMetricHistoryAsync(first.Id, "loss");
        Assert.That(loss, Has.Count.EqualTo(10));
        Assert.That((await project.Runs.GetLogsAsync(run.Id)).Single().Message, Is.EqualTo("trained 100 trees"));

        HyperRunResult<double> result = await project.Runs.Hyper("train")
            .Grid(h => h.Add("trees", 20, 100).Add("leaves", 16, 64))
            .SelectBy("max:auc")
            .StopWhen("results.auc >= 0.99")
            .MaxErrors(3)
            .Parallelism(2)
            .RunAsync(async (run, ct) =>
            {
                var auc = 0.5 + run.GetParameter<int>("trees") / 1000.0 + run.GetParameter<int>("leaves") / 10000.0;
                await run.LogResultAsync("auc", auc, ct);
                return auc;
            });
        HyperIteration<double> best = result.Best!;
        Assert.That(result.Iterations, Has.Count.EqualTo(4));
        Assert.That(best.Parameters["trees"], Is.EqualTo(100));
        Assert.That(best.Parameters["leaves"], Is.EqualTo(64));
        Assert.That(result.ToString(), Does.Contain("*"));
    }

    [Test]
    public async Task RegistryGuide_Examples_Run()
    {
        await using var project = await TestProjects.OpenAsync(_folder, "flights");
        File.WriteAllText(_folder.File("summary.md"), "# summary");
        var summaryPath = _folder.File("summary.md");
        var pngBytes = new byte[] { 0x89, 0x50, 0x4E, 0x47 };

        ArtifactRecord report = await project.Artifacts.LogFileAsync("reports/summary", summaryPath);
        ArtifactRecord plot = await project.Artifacts.LogPlotAsync("plots/roc", pngBytes, "png");
        ArtifactRecord table = await project.Artifacts.LogTableAsync("confusion", ["actual", "predicted", "count"],
            [["delayed", "delayed", 812], ["delayed", "on time", 3120]]);
        await project.Artifacts.TagAsync("reports/summary", report.Version, "prod");
        ArtifactRecord prod = await project.Artifacts.GetAsync("reports/summary:prod");
        await using (Stream content = await project.Artifacts.OpenReadAsync(prod.Uri))
            Assert.That(new StreamReader(content).ReadToEnd(), Is.EqualTo("# summary"));
        Assert.That(await project.Artifacts.VerifyAsync(prod.Uri), Is.True);
        Assert.That((plot.Kind, table.Kind), Is.EqualTo((ArtifactKind.Plot, ArtifactKind.Table)));

        var flightRows = Flights.Load(TestProjects.FlightsJson).Take(3000).ToList();
        var csv = _folder.File("flights.csv");
        File.WriteAllLines(csv, new[] { "date,delay,distance,origin,destination" }.Concat(flightRows.Select(f => $"{f.Date},{f.Delay},{f.Distance},{f.Origin},{f.Destination}")));
        ArtifactRecord flights = await project.Artifacts.LogDatasetAsync("flights", csv);
        DatasetProfile profile = await project.Artifacts.GetDatasetProfileAsync(flights.Uri);
        ColumnStatistics delay = profile.Statistics.Single(c => c.Name == "delay");
        Assert.That(delay.Mean, Is.EqualTo(flightRows.Average(f => f.Delay)).Within(1e-9));
        long rows = 0;
        await foreach (RecordBatch batch in project.Artifacts.ReadDatasetAsync(flights.Uri)) rows += batch.Length;
        Assert.That(rows, Is.EqualTo(3000));

        var ml = new MLContext(seed: 1);
        var trainingData = ml.Data.LoadFromEnumerable(flightRows.Select(FlightInput.From));
        var pipeline = ml.Transforms.Categorical.OneHotEncoding([new("OriginKey", "Origin"), new("DestinationKey", "Destination")])
            .Append(ml.Transforms.Concatenate("Features", "Distance", "Hour", "OriginKey", "DestinationKey"))
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: "IsDelayed", numberOfTrees: 10));
        ModelVersionRecord v;
        await using (var run = await project.Runs.StartAsync("train"))
        {
            var transformer = pipeline.Fit(trainingData);
            v = await run.LogModelAsync("delay-model", transformer, trainingData.Schema, new ModelLogOptions
            {
                Description = "FastTree on distance, hour, weekday, origin, destination",
                TrainingData = "store://datasets/flights/flights:latest",
            });
        }

        await project.Models.SetAliasAsync("delay-model", "production", v.Version);
        IReadOnlyList<AliasChange> history = await project.Models.GetAliasHistoryAsync("delay-model", "production");
        await project.Models.SetDescriptionAsync("delay-model", "Delays over 15 minutes, US domestic flights");
        await project.Models.SetVersionTagAsync("delay-model", v.Version, "validated", "yes");
        Assert.That(history.Single().Version, Is.EqualTo(v.Version));

        LoadedModel model = await project.Models.LoadAsync("delay-model", "production");
        ITransformer loaded = model.Transformer;
        Assert.That(loaded, Is.Not.Null);
        using var predictor = await project.Models.CreatePredictorAsync<FlightInput, DelayPrediction>("store://models/flights/delay-model:production");
        DelayPrediction p = predictor.Predict(new FlightInput { Distance = 1750, Hour = 18, Origin = "DTW", Destination = "LAS" });
        var inputs = flightRows.Take(10).Select(FlightInput.From).ToList();
        IReadOnlyList<DelayPrediction> many = predictor.PredictBatch(inputs);
        Assert.That(p.Probability, Is.InRange(0f, 1f));
        Assert.That(many, Has.Count.EqualTo(10));

        ModelLineage lineage = await project.Models.GetLineageAsync("delay-model", v.Version);
        Assert.That(lineage.ToString(), Does.Contain("produced by run 'train'").And.Contain("store://datasets/flights/flights:latest"));
    }

    public sealed record Flight(string Date, int Delay, int Distance, string Origin, string Destination)
    {
        public DateTime When => DateTime.ParseExact(Date, "yyyy/MM/dd HH:mm", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static class Flights
    {
        public static List<Flight> Load(string path)
            => System.Text.Json.JsonSerializer.Deserialize<List<Flight>>(File.ReadAllText(path), new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!;
    }

    public sealed class FlightInput
    {
        public float Distance { get; set; }
        public float Hour { get; set; }
        public string Origin { get; set; } = "";
        public string Destination { get; set; } = "";
        public bool IsDelayed { get; set; }

        internal static FlightInput From(Flight f) => new() { Distance = f.Distance, Hour = f.When.Hour, Origin = f.Origin, Destination = f.Destination, IsDelayed = f.Delay > 15 };
    }

    public sealed class DelayPrediction
    {
        [ColumnName("PredictedLabel")]
        public bool PredictedLabel { get; set; }

        public float Probability { get; set; }
    }
}
