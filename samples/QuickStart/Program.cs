// QuickStart: the main lifecycle of MLOps for .NET on the embedded default (SQLite + local files).
// Ingests 20,000 real US flights into a feature store (per-origin delay windows of 1h and 1d, plus airports), builds a
// point-in-time correct training set, trains an ML.NET delay classifier in a grid search, registers the best model,
// points the `production` alias at it, predicts, and looks features up online for a new flight. Then it serves the model
// through a serving graph (online features + model), in process and over HTTP, and moves `production` to a retrained
// version while concurrent HTTP requests flow; it exits with 1 if any of them failed. Last, it monitors the production model:
// captured traffic of the same months shows no drift, shifted traffic shows drift on exactly the shifted features.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using MLOps;
using MLOps.FeatureStore;
using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.Sources;
using MLOps.Monitoring;
using MLOps.Monitoring.Analysis;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Capture;
using MLOps.Monitoring.Drift;
using MLOps.Monitoring.Endpoints;
using MLOps.Registry;
using MLOps.Runs;
using MLOps.Serving.Enrichment;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;

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

// One iteration: fit on the first 16,000 flights, evaluate on the rest, log the metrics to the run.
async Task<ITransformer> TrainAsync(RunContext run, MLContext ml, int trees, int leaves, CancellationToken ct)
{
    await run.LogInputAsync("training-data", datasetUri, ct);
    var pipeline = ml.Transforms.Categorical.OneHotEncoding([new("OriginKey", "origin"), new("DestinationKey", "destination")])
        .Append(ml.Transforms.Concatenate("Features", [.. FlightInput.Numeric, "OriginKey", "DestinationKey"]))
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
}

var search = await project.Runs.Hyper("train")
    .Grid(h => h.Add("trees", 20, 100).Add("leaves", 8, 32))
    .SelectBy("max:auc")
    .Parallelism(2)
    .RunAsync(async (run, ct) =>
    {
        var ml = new MLContext(seed: 1);   // MLContext is not thread-safe: one per parallel iteration
        var trees = run.GetParameter<int>("trees");
        var leaves = run.GetParameter<int>("leaves");
        return await TrainAsync(run, ml, trees, leaves, ct);
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
using var predictor = await project.Models.CreatePredictorAsync<FlightInput, DelayPrediction>("store://models/flights/delay-model:production");
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
    var next = FlightInput.From(new Departure(last.Origin, "LAX", 337, last.When.AddMinutes(5)), row);
    Console.WriteLine($"Online features of {last.Origin} after {last.Date}: {row}");
    Console.WriteLine($"A {last.Origin}->LAX departure five minutes later: P(delayed) = {predictor.Predict(next).Probability:P1}");
    Console.WriteLine();
}

// 6. Lineage: from the production model to its run, its training data and the run that produced it.
var lineage = await project.Models.GetLineageAsync("delay-model", version.Version);
Console.WriteLine("Lineage:");
Console.WriteLine(lineage);

// 7. Serving: the production model behind a graph that adds each flight's origin features from the online store. Called
// in process first (the mock server of unit tests and notebooks), then over HTTP with the Open Inference Protocol (V2).
var servingClock = Stopwatch.StartNew();
await using var served = MLNetModel.Create<FlightInput, DelayPrediction>(project, "delay-model", "store://models/flights/delay-model:production");
await using var graph = ServingGraph.Flow("flight-delays")
    .To(new FeatureEnrichmentStep(fs, "delay-features"))
    .To(new ModelStep(served))
    .Build();
var server = graph.ToMockServer(served);
await server.LoadAsync();
string[] busiest = ["ORD", "DFW", "ATL"];
var departures = busiest.Select(origin => flights.Last(f => f.Origin == origin).ToDeparture()).ToList();
Console.WriteLine();
Console.WriteLine($"Serving graph '{graph.Name}': the online features of delay-features by origin -> delay-model v{served.Version}");
var inProcess = await server.InferAsync("delay-model", InferenceJson.ParseRequest(Encoding.UTF8.GetBytes(DelayRequests.Tensors("in-process", departures))));
var probabilities = inProcess.Outputs.Single(o => o.Name == "Probability").Data.AsSingles().ToArray();
Console.WriteLine($"In process (graph.ToMockServer, server.InferAsync), answered by v{inProcess.ModelVersion}:");
foreach (var (d, p) in departures.Zip(probabilities))
    Console.WriteLine($"  {d.Origin}->{d.Destination,-4} {d.When:yyyy/MM/dd HH:mm}  P(delayed) = {p:P1}");

int exitCode = 0;
await using (var host = await server.StartHttpAsync("http://127.0.0.1:0"))
{
    using var http = host.CreateClient();
    Console.WriteLine($"Over HTTP at {host.BaseAddress} (server.StartHttpAsync), V2 tensors and MLRun-style rows:");
    foreach (var body in new[] { DelayRequests.Tensors("http-tensors", departures), DelayRequests.Rows(departures.Take(1).ToList()) })
    {
        using var response = await http.PostAsync("/v2/models/delay-model/infer", new StringContent(body, Encoding.UTF8, "application/json"));
        Console.WriteLine($"  POST /v2/models/delay-model/infer {body}");
        Console.WriteLine($"  {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        if (!response.IsSuccessStatusCode) exitCode = 1;
    }

    // 8. A new version under load: retrain with other hyper-parameters; then, while 4 clients keep posting requests,
    // register it, move `production` to it and refresh the served model. Requests in flight finish on the old version.
    var retrained = await project.Runs.RunAsync("retrain", (run, ct) => TrainAsync(run, new MLContext(seed: 2), 60, 16, ct),
        new Dictionary<string, object> { ["trees"] = 60, ["leaves"] = 16 });
    var load = RequestLoad.Start(http, "/v2/models/delay-model/infer", DelayRequests.Tensors("load", departures), clients: 4);
    await load.WhenAnsweredAsync(200);
    var upgrade = await project.Models.RegisterAsync("delay-model", retrained.Value, trainSet.Schema, new ModelLogOptions
    {
        Description = "The same features, retrained with 60 trees of 16 leaves.",
        TrainingData = datasetUri,
    }, runId: retrained.Run.Id);
    await project.Models.SetAliasAsync("delay-model", "production", upgrade.Version);
    bool swapped = await served.RefreshAsync();
    await load.WhenAnsweredAsync(200, upgrade.Version.ToString(CultureInfo.InvariantCulture));
    var outcome = await load.StopAsync();
    Console.WriteLine();
    Console.WriteLine($"Registered {upgrade.Uri} (trees=60, leaves=16, auc={upgrade.Metrics["auc"]:F4}) and moved production v{version.Version} -> v{upgrade.Version} "
        + $"while 4 clients posted requests over HTTP; RefreshAsync {(swapped ? "swapped it in" : "found nothing to swap")}.");
    Console.WriteLine($"{outcome.Succeeded + outcome.Failed:N0} requests: {outcome.Succeeded:N0} succeeded, {outcome.Failed} failed; answered by "
        + string.Join(" and ", outcome.Versions.OrderBy(v => int.Parse(v.Key, CultureInfo.InvariantCulture)).Select(v => $"v{v.Key} ({v.Value:N0})")));
    if (outcome.FirstError is { } error)
        Console.WriteLine($"First failure: {error}");
    var expected = new[] { version.Version, upgrade.Version }.Select(v => v.ToString(CultureInfo.InvariantCulture));
    if (outcome.Failed > 0 || !expected.All(outcome.Versions.ContainsKey))
        exitCode = 1;
}
Console.WriteLine($"Serving, HTTP and the upgrade under load: {servingClock.Elapsed.TotalSeconds:F1} s");
if (exitCode != 0)
    Console.Error.WriteLine("FAILED: a request over HTTP failed, or the upgrade was not answered by both versions.");

// 9. Monitoring: capture every prediction of the production model, compare windows of traffic with the training data, and
// detect drift. The reference is the training set with the production model's own predictions on it, so that prediction drift
// compares like with like. Traffic is replayed on a clock set to yesterday 10:00 UTC (so both 10-minute windows are closed
// now; in a service, MonitoringAnalysisService analyses each window 15 s after it closes): first 2,000 flights of the same
// months with their features as they were at departure, then the same flights with distances x 1.5, then with the origin's
// recent delays + 60 minutes (which moves the predictions too). MLRun's rule (general drift >= 0.7) would flag none of them.
var monitoringClock = Stopwatch.StartNew();
var production = await project.Models.ResolveAsync("delay-model", "production");
using (var scorer = await project.Models.CreatePredictorAsync<FlightInput, DelayPrediction>(production.Uri))
{
    var rows = mlContext.Data.CreateEnumerable<FlightFeatures>(all, reuseRowObject: false).ToList();
    var predictions = rows.Select(scorer.Predict).ToList();
    var reference = Monitoring.WithPredictions(training.Batch, predictions);
    var referenceUri = (await project.Artifacts.LogDatasetAsync("monitoring-reference", reference)).Uri;
    project.UseMonitoring(new MonitoringOptions { Drift = new DriftOptions { Features = [.. FlightInput.Numeric, "origin", "destination"] } });
    var replayClock = new ReplayClock(DateTimeOffset.UtcNow.Date.AddDays(-1).AddHours(10));
    var replay = graph.ToMockServer(new InferenceServerOptions { TimeProvider = replayClock }, served);
    await replay.LoadAsync();
    var windowStart = replayClock.GetUtcNow();
    var sampling = new Random(17);
    var sample = Enumerable.Range(0, rows.Count).OrderBy(_ => sampling.Next()).Take(2_000).Order().Select(i => rows[i]).ToList();
    await using (var capture = await project.Monitoring.StartCaptureAsync(replay, new CaptureOptions
    {
        References = new Dictionary<string, EndpointReference> { ["delay-model"] = new(referenceUri, await project.Artifacts.GetDatasetProfileAsync(referenceUri)) },
    }))
    {
        foreach (var (scale, delayShift, start) in new[] { (1.0f, 0f, windowStart), (1.5f, 0f, windowStart.AddMinutes(10)), (1.0f, 60f, windowStart.AddMinutes(20)) })
        {
            replayClock.Set(start);
            foreach (var chunk in sample.Chunk(20))
            {
                await replay.InferAsync("delay-model", Monitoring.Request(chunk, scale, delayShift));
                replayClock.Advance(TimeSpan.FromSeconds(5));
            }
        }
    }   // disposing the session flushes the captured rows to Parquet
    var endpoint = await project.Monitoring.FindEndpointAsync("delay-model", production.Version.ToString(CultureInfo.InvariantCulture));
    var analyses = await project.Monitoring.AnalyzeAsync(new AnalysisRequest { EndpointId = endpoint.Id, From = windowStart, To = windowStart.AddMinutes(30) });
    Console.WriteLine();
    Console.WriteLine($"Monitoring {endpoint.Name} ({endpoint.RequestCount:N0} requests captured to Parquet, reference {referenceUri}):");
    var detected = new List<string>[3];
    string[] scenarios = ["same months", "distance x 1.5", "delays + 60"];
    foreach (var (analysis, i) in analyses.Select((a, i) => (a, i)).ToList())
    {
        var drift = analysis.Results.Where(r => r.Application == "drift").ToList();
        var status = drift.Single(r => r.Name == "drift_status");
        detected[i] = [.. drift.Where(r => r.Status == ResultStatus.Detected && r.Name is not ("drift_status" or "general_drift")).Select(r => r.Name)];
        var requests = analysis.Metrics.Concat<MonitoringRecord>(analysis.Results).FirstOrDefault(r => r.Application == "operations" && r.Name == "requests");
        Console.WriteLine($"  {analysis.Start:HH:mm}-{analysis.End:HH:mm} {scenarios[i],-16} {analysis.RowCount,5:N0} rows: drift {status.Status}"
            + (detected[i].Count > 0 ? $" on {string.Join(", ", detected[i])}" : "")
            + $"; MLRun general drift {drift.Single(r => r.Name == "general_drift").Value:F2}");
        foreach (var feature in drift.Where(r => r.Name is "distance" or "delay_avg_1h" or "output.Probability"))
            Console.WriteLine($"      {feature.Name,-20} {feature.Status,-9} {feature.Message}");
    }
    endpoint = await project.Monitoring.GetEndpointAsync(endpoint.Id);
    Console.WriteLine($"  {endpoint.Name}: latest drift {endpoint.LatestDrift} (window {endpoint.LatestDriftWindow:HH:mm}); {monitoringClock.Elapsed.TotalSeconds:F1} s");
    string[] shiftedDelays = ["delay_avg_1h", "delay_max_1h", "delay_avg_1d"];
    bool asExpected = analyses.Count == 3 && detected[0].Count == 0
        && detected[1].Contains("distance") && detected[1].All(name => name is "distance" || name.StartsWith("output.", StringComparison.Ordinal))
        && detected[2].Contains("output.Probability") && detected[2].Intersect(shiftedDelays).Any()
        && detected[2].All(name => shiftedDelays.Contains(name) || name.StartsWith("output.", StringComparison.Ordinal));
    if (!asExpected)
    {
        Console.Error.WriteLine("FAILED: monitoring should find no drift in the same months' traffic, and drift on exactly the shifted features (and the predictions for delays + 60) in the shifted traffic.");
        exitCode = 1;
    }
}
return exitCode;

/// <summary>A clock that replays traffic at the times the sample sets (the served model's clock; the project keeps the real one).</summary>
internal sealed class ReplayClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Set(DateTimeOffset now) => _now = now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>Helpers of the monitoring part.</summary>
internal static class Monitoring
{
    /// <summary>The training set with the model's predictions on it as two more columns (the reference of prediction drift).</summary>
    public static Apache.Arrow.RecordBatch WithPredictions(Apache.Arrow.RecordBatch training, IReadOnlyList<DelayPrediction> predictions)
    {
        var label = new Apache.Arrow.BooleanArray.Builder().AppendRange(predictions.Select(p => p.PredictedLabel)).Build();
        var probability = new Apache.Arrow.FloatArray.Builder().AppendRange(predictions.Select(p => p.Probability)).Build();
        var fields = training.Schema.FieldsList.Concat([
            new Apache.Arrow.Field("PredictedLabel", Apache.Arrow.Types.BooleanType.Default, false),
            new Apache.Arrow.Field("Probability", Apache.Arrow.Types.FloatType.Default, false)]);
        var columns = Enumerable.Range(0, training.ColumnCount).Select(training.Column).Append(label).Append(probability);
        return new Apache.Arrow.RecordBatch(new Apache.Arrow.Schema(fields, null), columns, training.Length);
    }

    /// <summary>A V2 request of flights with every model input as it was at departure (enrichment keeps inputs the request carries),
    /// distances multiplied by <paramref name="distanceScale"/> and the origin's recent delays shifted by <paramref name="delayShift"/> minutes.</summary>
    public static InferenceRequest Request(IReadOnlyList<FlightFeatures> flights, float distanceScale, float delayShift) => new()
    {
        Inputs =
        [
            InferenceTensor.Strings("origin", [.. flights.Select(f => f.Origin)]),
            InferenceTensor.Strings("destination", [.. flights.Select(f => f.Destination)]),
            InferenceTensor.Singles("distance", [.. flights.Select(f => f.Distance * distanceScale)]),
            InferenceTensor.Singles("hour", [.. flights.Select(f => f.Hour)]),
            InferenceTensor.Singles("day_of_week", [.. flights.Select(f => f.DayOfWeek)]),
            InferenceTensor.Singles("delay_avg_1h", [.. flights.Select(f => f.DelayAvg1h + delayShift)]),
            InferenceTensor.Singles("delay_max_1h", [.. flights.Select(f => f.DelayMax1h + delayShift)]),
            InferenceTensor.Singles("delay_count_1h", [.. flights.Select(f => f.DelayCount1h)]),
            InferenceTensor.Singles("delay_avg_1d", [.. flights.Select(f => f.DelayAvg1d + delayShift)]),
            InferenceTensor.Singles("origin_lat", [.. flights.Select(f => f.OriginLat)]),
            InferenceTensor.Singles("origin_lon", [.. flights.Select(f => f.OriginLon)]),
        ],
    };
}

/// <summary>One record of flights-20k.json.</summary>
internal sealed record Flight(string Date, int Delay, int Distance, string Origin, string Destination)
{
    public DateTime When => DateTime.ParseExact(Date, "yyyy/MM/dd HH:mm", CultureInfo.InvariantCulture);

    public Departure ToDeparture() => new(Origin, Destination, Distance, When);
}

internal static class Flights
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static List<Flight> Load(string path)
        => JsonSerializer.Deserialize<List<Flight>>(File.ReadAllText(path), Json)
           ?? throw new InvalidDataException($"{path} holds no flights.");
}

/// <summary>Clients posting the same inference request in a loop until stopped, counting the answers of each model version.</summary>
internal sealed class RequestLoad
{
    private readonly ConcurrentDictionary<string, int> _versions = new();
    private readonly List<(int Count, string? Version, TaskCompletionSource Reached)> _waits = [];
    private volatile bool _stopping;
    private Task[] _clients = [];
    private int _succeeded;
    private int _failed;
    private string? _firstError;

    public static RequestLoad Start(HttpClient http, string path, string body, int clients)
    {
        var load = new RequestLoad();
        load._clients = [.. Enumerable.Range(0, clients).Select(_ => Task.Run(() => load.RunAsync(http, path, body)))];
        return load;
    }

    /// <summary>Completes once <paramref name="count"/> requests were answered (by <paramref name="version"/> when given), or one failed.</summary>
    public Task WhenAnsweredAsync(int count, string? version = null)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waits) _waits.Add((count, version, reached));
        Check();
        return reached.Task.WaitAsync(TimeSpan.FromMinutes(1));
    }

    public async Task<(int Succeeded, int Failed, IReadOnlyDictionary<string, int> Versions, string? FirstError)> StopAsync()
    {
        _stopping = true;
        await Task.WhenAll(_clients);
        return (_succeeded, _failed, _versions, _firstError);
    }

    private async Task RunAsync(HttpClient http, string path, string body)
    {
        while (!_stopping)
        {
            try
            {
                using var response = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
                var answer = await response.Content.ReadAsByteArrayAsync();
                if (!response.IsSuccessStatusCode)
                {
                    Fail($"{(int)response.StatusCode} {Encoding.UTF8.GetString(answer)}");
                    return;
                }
                _versions.AddOrUpdate(InferenceJson.ParseResponse(answer).ModelVersion ?? "none", 1, (_, n) => n + 1);
                Interlocked.Increment(ref _succeeded);
            }
            catch (HttpRequestException e)
            {
                Fail(e.Message);
                return;
            }
            finally
            {
                Check();
            }
        }
    }

    private void Fail(string error)
    {
        Interlocked.CompareExchange(ref _firstError, error, null);
        Interlocked.Increment(ref _failed);
    }

    private void Check()
    {
        lock (_waits)
        {
            foreach (var (count, version, reached) in _waits)
            {
                int answered = version is null ? Volatile.Read(ref _succeeded) : _versions.GetValueOrDefault(version);
                if (answered >= count || Volatile.Read(ref _failed) > 0)
                    reached.TrySetResult();
            }
        }
    }
}
