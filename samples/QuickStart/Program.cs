// QuickStart: the main lifecycle of MLOps for .NET on the embedded default (SQLite + local files).
// Loads 20,000 real US flights, logs them as a dataset, trains an ML.NET delay classifier in a grid search,
// registers the best model, points the `production` alias at it, loads it back and predicts.
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLOps;
using MLOps.Registry;
using MLOps.Runs;

var home = Environment.GetEnvironmentVariable(MLOpsOptions.HomeVariable) ?? ".mlops";
Console.WriteLine($"MLOps home: {Path.GetFullPath(home)}");
await using var project = await MLOpsProject.OpenAsync("flights");

// 1. Data: a tracked "prepare" run turns the raw JSON into a CSV dataset artifact with a profile.
var flights = Flights.Load(Path.Combine(AppContext.BaseDirectory, "data", "flights-20k.json"));
var csvPath = Path.Combine(Path.GetTempPath(), $"flights-{Guid.NewGuid():N}.csv");
var prepared = await project.Runs.RunAsync("prepare", async (run, ct) =>
{
    Flights.WriteCsv(flights, csvPath);
    var dataset = await run.LogDatasetAsync("flights-prepared", csvPath, cancellationToken: ct);
    await run.LogResultAsync("rows", flights.Count, ct);
    return dataset;
});
File.Delete(csvPath);
var datasetUri = prepared.Value.Uri;
var profile = await project.Artifacts.GetDatasetProfileAsync(datasetUri);
var delayStats = profile.Statistics.Single(s => s.Name == "delay");
Console.WriteLine($"Dataset {datasetUri}: {profile.RowCount:N0} rows, delay mean {delayStats.Mean:F1} min, median {delayStats.P50:F0} min");

// 2. Train: a grid search of 4 iterations (each a child run), the best chosen by AUC.
// Chronological split: train on the first 16,000 flights, evaluate on the 4,000 that follow.
var mlContext = new MLContext(seed: 1);
var trainSet = mlContext.Data.LoadFromEnumerable(flights.Take(16_000).Select(FlightInput.From));
var testSet = mlContext.Data.LoadFromEnumerable(flights.Skip(16_000).Select(FlightInput.From));

var search = await project.Runs.Hyper("train")
    .Grid(h => h.Add("trees", 20, 100).Add("leaves", 8, 32))
    .SelectBy("max:auc")
    .Parallelism(2)
    .RunAsync(async (run, ct) =>
    {
        await run.LogInputAsync("training-data", datasetUri, ct);
        var ml = new MLContext(seed: 1);   // MLContext is not thread-safe: one per parallel iteration
        var trees = run.GetParameter<int>("trees");
        var leaves = run.GetParameter<int>("leaves");
        var pipeline = ml.Transforms.Categorical.OneHotEncoding([new("OriginKey", nameof(FlightInput.Origin)), new("DestinationKey", nameof(FlightInput.Destination))])
            .Append(ml.Transforms.Concatenate("Features", nameof(FlightInput.Distance), nameof(FlightInput.Hour), nameof(FlightInput.DayOfWeek), "OriginKey", "DestinationKey"))
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: nameof(FlightInput.IsDelayed), numberOfTrees: trees, numberOfLeaves: leaves, minimumExampleCountPerLeaf: 20));
        var model = pipeline.Fit(trainSet);
        var metrics = ml.BinaryClassification.Evaluate(model.Transform(testSet), labelColumnName: nameof(FlightInput.IsDelayed));
        run.LogMetric("log_loss", metrics.LogLoss);
        await run.LogResultsAsync(new Dictionary<string, double>
        {
            ["auc"] = metrics.AreaUnderRocCurve,
            ["accuracy"] = metrics.Accuracy,
            ["f1"] = metrics.F1Score,
        }, ct);
        return model;
    });
Console.WriteLine();
Console.WriteLine("Hyper-parameter search (the best marked *):");
Console.WriteLine(search);

// 3. Register the best model, linked to its run and training data, and make it the production version.
var best = search.Best ?? throw new InvalidOperationException("No iteration succeeded.");
var version = await project.Models.RegisterAsync("delay-model", best.Value!, trainSet.Schema, new ModelLogOptions
{
    Description = "Is a US flight delayed more than 15 minutes? FastTree on distance, hour, weekday, origin, destination.",
    TrainingData = datasetUri,
}, runId: best.Run.Id);
await project.Models.SetAliasAsync("delay-model", "production", version.Version);
Console.WriteLine($"Registered {version.Uri} (run {best.Run.Id[^8..]}, trees={best.Parameters["trees"]}, leaves={best.Parameters["leaves"]}, auc={version.Metrics["auc"]:F4}) as production");

// 4. Load the production model back from the registry and predict a few flights.
using var predictor = await project.Models.CreatePredictorAsync<FlightInput, DelayPrediction>("store://models/flights/delay-model:production");
Console.WriteLine();
var scored = flights.Skip(16_000)
    .Select(f => (Flight: f, Prediction: predictor.Predict(FlightInput.From(f))))
    .OrderByDescending(x => x.Prediction.Probability).ToList();
var topDecile = scored.Take(scored.Count / 10).Count(x => x.Flight.Delay > 15) / (double)(scored.Count / 10);
var baseRate = scored.Count(x => x.Flight.Delay > 15) / (double)scored.Count;
Console.WriteLine($"Predictions of {predictor.Version.Uri} on the {scored.Count:N0} held-out later flights: {topDecile:P0} of the riskiest tenth were delayed, against {baseRate:P0} overall.");
Console.WriteLine($"{"flight",-30} {"P(delayed)",10} {"actual delay",13}");
foreach (var (f, p) in scored.Take(3).Concat(scored.TakeLast(3)))
    Console.WriteLine($"{f.Date} {f.Origin}->{f.Destination,-7} {p.Probability,10:P1} {f.Delay,9} min");
Console.WriteLine();

// 5. Lineage: from the production model to its run, its training data and the run that produced it.
var lineage = await project.Models.GetLineageAsync("delay-model", version.Version);
Console.WriteLine("Lineage:");
Console.WriteLine(lineage);

/// <summary>One record of flights-20k.json.</summary>
internal sealed record Flight(string Date, int Delay, int Distance, string Origin, string Destination)
{
    public DateTime When => DateTime.ParseExact(Date, "yyyy/MM/dd HH:mm", CultureInfo.InvariantCulture);
}

internal static class Flights
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static List<Flight> Load(string path)
        => JsonSerializer.Deserialize<List<Flight>>(File.ReadAllText(path), Json)
           ?? throw new InvalidDataException($"{path} holds no flights.");

    public static void WriteCsv(IEnumerable<Flight> flights, string path)
    {
        using var w = new StreamWriter(path);
        w.WriteLine("date,delay,distance,origin,destination,is_delayed");
        foreach (var f in flights)
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{f.When:yyyy-MM-ddTHH:mm:ss},{f.Delay},{f.Distance},{f.Origin},{f.Destination},{(f.Delay > 15 ? "true" : "false")}"));
    }
}

/// <summary>The model input: features and the label.</summary>
public sealed class FlightInput
{
    public float Distance { get; set; }
    public float Hour { get; set; }
    public float DayOfWeek { get; set; }
    public string Origin { get; set; } = "";
    public string Destination { get; set; } = "";
    public bool IsDelayed { get; set; }

    internal static FlightInput From(Flight f) => new()
    {
        Distance = f.Distance,
        Hour = f.When.Hour,
        DayOfWeek = (float)f.When.DayOfWeek,
        Origin = f.Origin,
        Destination = f.Destination,
        IsDelayed = f.Delay > 15,
    };
}

/// <summary>The model output.</summary>
public sealed class DelayPrediction
{
    [ColumnName("PredictedLabel")]
    public bool PredictedLabel { get; set; }

    public float Probability { get; set; }
}
