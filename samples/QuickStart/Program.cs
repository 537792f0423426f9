// QuickStart: the main lifecycle of MLOps for .NET on the embedded default (SQLite + local files).
// Ingests 20,000 real US flights into a feature store (per-origin delay windows of 1h and 1d, plus airports), builds a
// point-in-time correct training set, trains an ML.NET delay classifier in a grid search, registers the best model,
// points the `production` alias at it, predicts, and looks features up online for a new flight.
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLOps;
using MLOps.FeatureStore;
using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.Sources;
using MLOps.Registry;
using MLOps.Runs;

var home = Environment.GetEnvironmentVariable(MLOpsOptions.HomeVariable) ?? ".mlops";
Console.WriteLine($"MLOps home: {Path.GetFullPath(home)}");
await using var project = await MLOpsProject.OpenAsync("flights");
var data = Path.Combine(AppContext.BaseDirectory, "data");
var flights = Flights.Load(Path.Combine(data, "flights-20k.json"));

// 1. Features: per-origin delay windows (computed the same way offline and online) and a static airports set.
var fs = project.FeatureStore;
var delays = fs.FeatureSet("flight_delays")
    .Entity("origin").Timestamp("date")
    .Aggregate("delay", AggregationOp.Avg | AggregationOp.Max | AggregationOp.Count, "1h", "1d")
    .Describe("Departure delays per origin airport, over the last hour and day.")
    .Build();
// A fixed ingestion id makes a second run of the QuickStart skip what is already ingested (idempotent retries).
var ingest = await fs.IngestAsync(delays, DataSource.Json(Path.Combine(data, "flights-20k.json")), new() { IngestId = "flights-20k" });
var airports = fs.FeatureSet("airports").Entity("iata").Describe("US airports: state and location.").Build();
var airportIngest = await fs.IngestAsync(airports, DataSource.Csv(Path.Combine(data, "airports.csv")), new() { IngestId = "airports" });
Console.WriteLine($"{(ingest.AlreadyIngested ? "Already ingested" : "Ingested")} {ingest.RowsWritten:N0} flights into {ingest.FeatureSet} v{ingest.Version} ({ingest.OfflineFiles.Count} Parquet partitions, {ingest.OnlineEntities} origins online) and {airportIngest.RowsWritten:N0} airports");
var delayReference = (await fs.GetStatisticsAsync("flight_delays"))!.Statistics.Single(s => s.Name == "delay_avg_1h");
Console.WriteLine($"delay_avg_1h: mean {delayReference.Mean:F1} min, quartiles {delayReference.P25:F1} / {delayReference.P50:F1} / {delayReference.P75:F1} (the drift reference)");

var vector = await fs.Vector("delay-features")
    .Select("flight_delays.delay_avg_1h", "flight_delays.delay_max_1h", "flight_delays.delay_count_1h", "flight_delays.delay_avg_1d",
            "airports.latitude as origin_lat", "airports.longitude as origin_lon")
    .Relation("flight_delays.origin", "airports")
    .SaveAsync();

// A tracked "prepare" run builds the point-in-time training set: every flight with the features as they were a minute
// before it departed (so its own delay never leaks into its features), logged as a dataset with statistics.
var prepared = await project.Runs.RunAsync("prepare", async (run, ct) =>
{
    var entityRows = DataSource.Objects(flights.Select(f => new
    {
        origin = f.Origin,
        at = f.When.AddMinutes(-1),
        destination = f.Destination,
        distance = f.Distance,
        hour = f.When.Hour,
        day_of_week = (int)f.When.DayOfWeek,
        is_delayed = f.Delay > 15,
    }));
    var training = await fs.GetOfflineFeaturesAsync(vector, entityRows, new() { TimestampColumn = "at" }, ct);
    var dataset = await run.LogDatasetAsync("training-set", [training.Batch], cancellationToken: ct);
    await run.LogResultAsync("rows", training.RowCount, ct);
    return (Training: training, Uri: dataset.Uri);
});
var (training, datasetUri) = prepared.Value;
var profile = await project.Artifacts.GetDatasetProfileAsync(datasetUri);
var coverage = profile.Statistics.Single(s => s.Name == "delay_avg_1h");
Console.WriteLine($"Training set {datasetUri}: {profile.RowCount:N0} rows x {profile.Schema.Count} columns; {1 - coverage.NullCount / (double)profile.RowCount:P0} of flights had an earlier departure from their airport to take delay features from");

// 2. Train: a grid search of 4 iterations (each a child run), the best chosen by AUC. The training set is read by
// ML.NET in place from Arrow. Chronological split: train on the first 16,000 flights, evaluate on the 4,000 that follow.
var mlContext = new MLContext(seed: 1);
var all = training.ToDataView();
var trainSet = mlContext.Data.TakeRows(all, 16_000);
var testSet = mlContext.Data.SkipRows(all, 16_000);

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
        var pipeline = ml.Transforms.Categorical.OneHotEncoding([new("OriginKey", "origin"), new("DestinationKey", "destination")])
            .Append(ml.Transforms.Concatenate("Features", [.. FlightFeatures.Numeric, "OriginKey", "DestinationKey"]))
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: "is_delayed", numberOfTrees: trees, numberOfLeaves: leaves, minimumExampleCountPerLeaf: 20));
        var model = pipeline.Fit(trainSet);
        var metrics = ml.BinaryClassification.Evaluate(model.Transform(testSet), labelColumnName: "is_delayed");
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
    Description = "Is a US flight delayed more than 15 minutes? FastTree on distance, hour, weekday, origin, destination and the origin's recent delays.",
    TrainingData = datasetUri,
}, runId: best.Run.Id);
await project.Models.SetAliasAsync("delay-model", "production", version.Version);
Console.WriteLine($"Registered {version.Uri} (run {best.Run.Id[^8..]}, trees={best.Parameters["trees"]}, leaves={best.Parameters["leaves"]}, auc={version.Metrics["auc"]:F4}) as production");

// 4. Load the production model back from the registry and predict a few flights.
using var predictor = await project.Models.CreatePredictorAsync<FlightFeatures, DelayPrediction>("store://models/flights/delay-model:production");
Console.WriteLine();
var scored = flights.Skip(16_000)
    .Zip(mlContext.Data.CreateEnumerable<FlightFeatures>(testSet, reuseRowObject: false))
    .Select(x => (Flight: x.First, Prediction: predictor.Predict(x.Second)))
    .OrderByDescending(x => x.Prediction.Probability).ToList();
var topDecile = scored.Take(scored.Count / 10).Count(x => x.Flight.Delay > 15) / (double)(scored.Count / 10);
var baseRate = scored.Count(x => x.Flight.Delay > 15) / (double)scored.Count;
Console.WriteLine($"Predictions of {predictor.Version.Uri} on the {scored.Count:N0} held-out later flights: {topDecile:P0} of the riskiest tenth were delayed, against {baseRate:P0} overall.");
Console.WriteLine($"{"flight",-30} {"P(delayed)",10} {"actual delay",13}");
foreach (var (f, p) in scored.Take(3).Concat(scored.TakeLast(3)))
    Console.WriteLine($"{f.Date} {f.Origin}->{f.Destination,-7} {p.Probability,10:P1} {f.Delay,9} min");
Console.WriteLine();

// 5. Online: the latest features of an origin, served from the online store, for a flight about to leave.
await using (var online = await fs.GetOnlineServiceAsync(vector))
{
    var last = flights[^1];
    var row = await online.GetAsync(new Dictionary<string, object> { ["origin"] = last.Origin });
    var next = FlightFeatures.From(last.Origin, "LAX", 337, last.When.AddMinutes(5), row);
    Console.WriteLine($"Online features of {last.Origin} after {last.Date}: {row}");
    Console.WriteLine($"A {last.Origin}->LAX departure five minutes later: P(delayed) = {predictor.Predict(next).Probability:P1}");
    Console.WriteLine();
}

// 6. Lineage: from the production model to its run, its training data and the run that produced it.
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

}

/// <summary>The model input: one row of the training set (flight columns and the feature vector), and the label.</summary>
public sealed class FlightFeatures
{
    public static readonly string[] Numeric = ["distance", "hour", "day_of_week", "delay_avg_1h", "delay_max_1h", "delay_count_1h", "delay_avg_1d", "origin_lat", "origin_lon"];

    [ColumnName("origin")] public string Origin { get; set; } = "";
    [ColumnName("destination")] public string Destination { get; set; } = "";
    [ColumnName("distance")] public float Distance { get; set; }
    [ColumnName("hour")] public float Hour { get; set; }
    [ColumnName("day_of_week")] public float DayOfWeek { get; set; }
    [ColumnName("delay_avg_1h")] public float DelayAvg1h { get; set; }
    [ColumnName("delay_max_1h")] public float DelayMax1h { get; set; }
    [ColumnName("delay_count_1h")] public float DelayCount1h { get; set; }
    [ColumnName("delay_avg_1d")] public float DelayAvg1d { get; set; }
    [ColumnName("origin_lat")] public float OriginLat { get; set; }
    [ColumnName("origin_lon")] public float OriginLon { get; set; }
    [ColumnName("is_delayed")] public bool IsDelayed { get; set; }

    /// <summary>A new flight with its origin's online features.</summary>
    internal static FlightFeatures From(string origin, string destination, int distance, DateTime when, MLOps.FeatureStore.Vectors.FeatureRow online) => new()
    {
        Origin = origin,
        Destination = destination,
        Distance = distance,
        Hour = when.Hour,
        DayOfWeek = (float)when.DayOfWeek,
        DelayAvg1h = (float)online.GetDouble("delay_avg_1h"),
        DelayMax1h = (float)online.GetDouble("delay_max_1h"),
        DelayCount1h = (float)online.GetDouble("delay_count_1h"),
        DelayAvg1d = (float)online.GetDouble("delay_avg_1d"),
        OriginLat = (float)online.GetDouble("origin_lat"),
        OriginLon = (float)online.GetDouble("origin_lon"),
    };
}

/// <summary>The model output.</summary>
public sealed class DelayPrediction
{
    [ColumnName("PredictedLabel")]
    public bool PredictedLabel { get; set; }

    public float Probability { get; set; }
}
