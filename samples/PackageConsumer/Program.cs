// PackageConsumer: a small lifecycle through the public API of the packed MLOps packages (see README.md).
// Exits 0 when every step did what it should, 1 otherwise.
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLOps;
using MLOps.FeatureStore;
using MLOps.FeatureStore.Sources;
using MLOps.Monitoring;
using MLOps.Monitoring.Drift;
using MLOps.Runs;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;

var home = Path.Combine(Path.GetTempPath(), "mlops-package-consumer-" + Guid.NewGuid().ToString("N"));
var failures = new List<string>();
void Check(bool ok, string what)
{
    Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {what}");
    if (!ok) failures.Add(what);
}

try
{
    // 1. Hosting: the project bound from configuration, validated and opened when the host starts.
    var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["MLOps:ProjectName"] = "consumer",
        ["MLOps:Home"] = home,
        ["MLOps:CaptureGit"] = "false",
    });
    builder.Services.AddMLOps(builder.Configuration.GetSection("MLOps")).AddFeatureStore();
    builder.Services.AddHealthChecks().AddMLOpsMetadataStore();
    using var host = builder.Build();
    await host.StartAsync();
    var project = host.Services.GetRequiredService<MLOpsProject>();
    var fs = host.Services.GetRequiredService<FeatureStoreCatalog>();
    Check(project.Name == "consumer" && ReferenceEquals(fs, project.FeatureStore), "host started; project and feature store resolved");
    var health = await host.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>().CheckHealthAsync();
    Check(health.Status == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, $"metadata store health check: {health.Status}");

    // 2. Features: a small deterministic data set ingested offline and online, then looked up online.
    var random = new Random(7);
    var points = Enumerable.Range(0, 400).Select(i =>
    {
        var x1 = (float)random.NextDouble();
        var x2 = (float)random.NextDouble();
        return new Point { Id = $"p{i}", X1 = x1, X2 = x2, Label = x1 + x2 + ((random.NextDouble() - 0.5) * 0.2) > 1 };
    }).ToList();
    var set = fs.FeatureSet("points").Entity("id").Build();
    var report = await fs.IngestAsync(set, DataSource.Objects(points.Select(p => new { id = p.Id, x1 = (double)p.X1, x2 = (double)p.X2 })));
    Check(report.RowsWritten == points.Count, $"ingested {report.RowsWritten} rows into feature set '{report.FeatureSet}'");
    var vector = await fs.Vector("point-features").Select("points.x1", "points.x2").SaveAsync();
    await using (var online = await fs.GetOnlineServiceAsync(vector))
    {
        var row = await online.GetAsync(new Dictionary<string, object> { ["id"] = "p3" });
        Check(Math.Abs(row.GetDouble("x1") - points[3].X1) < 1e-6, $"online lookup of p3: x1 = {row.GetDouble("x1"):F4}");
    }

    // 3. A tracked training run of an ML.NET model, registered and aliased.
    var ml = new MLContext(seed: 1);
    var data = ml.Data.LoadFromEnumerable(points);
    var outcome = await project.Runs.RunAsync("train", async (run, ct) =>
    {
        var pipeline = ml.Transforms.Concatenate("Features", "x1", "x2")
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(labelColumnName: "label"));
        var model = pipeline.Fit(data);
        var metrics = ml.BinaryClassification.Evaluate(model.Transform(data), labelColumnName: "label");
        run.LogMetric("log_loss", metrics.LogLoss);
        await run.LogResultAsync("auc", metrics.AreaUnderRocCurve, ct);
        return model;
    }, new Dictionary<string, object> { ["trainer"] = "sdca" });
    var stored = await project.Runs.GetAsync(outcome.Run.Id);
    Check(stored.State == RunState.Completed && stored.Results["auc"] > 0.9, $"run {stored.Name} {stored.State}, auc {stored.Results["auc"]:F3}");
    var version = await project.Models.RegisterAsync("sum-model", outcome.Value, data.Schema, runId: outcome.Run.Id);
    await project.Models.SetAliasAsync("sum-model", "production", version.Version);
    Check(version.Version == 1, $"registered {version.Uri}");

    // 4. In-process inference through a serving graph, with the production model loaded from the registry.
    await using var served = MLNetModel.Create<PointInput, Prediction>(project, "sum-model", "store://models/consumer/sum-model:production");
    await using var graph = ServingGraph.Flow("sums").To(new ModelStep(served)).Build();
    var server = graph.ToMockServer(served);
    await server.LoadAsync();
    var response = await server.InferAsync("sum-model", new InferenceRequest
    {
        Id = "consumer-1",
        Inputs = [InferenceTensor.Singles("x1", [0.9f, 0.1f], 2), InferenceTensor.Singles("x2", [0.8f, 0.05f], 2)],
    });
    var probabilities = response.Outputs.Single(o => o.Name == "Probability").Data.AsSingles().ToArray();
    Check(probabilities.Length == 2 && probabilities[0] > 0.5f && probabilities[1] < 0.5f,
        $"inference by v{response.ModelVersion}: P(0.9+0.8 > 1) = {probabilities.ElementAtOrDefault(0):F3}, P(0.1+0.05 > 1) = {probabilities.ElementAtOrDefault(1):F3}");

    // 5. Monitoring: capture the server's predictions into Parquet and measure drift against the training values.
    await using (var capture = await project.Monitoring.StartCaptureAsync(server))
    {
        await server.InferAsync("sum-model", new InferenceRequest
        {
            Id = "consumer-2",
            Inputs = [InferenceTensor.Singles("x1", [0.2f, 0.4f, 0.6f], 3), InferenceTensor.Singles("x2", [0.3f, 0.5f, 0.7f], 3)],
        });
    }
    var endpoint = await project.Monitoring.FindEndpointAsync("sum-model", "1");
    long captured = 0;
    await foreach (var batch in project.Monitoring.ReadCapturedAsync(endpoint.Id))
        captured += batch.Length;
    Check(captured == 3 && endpoint.RequestCount == 1, $"captured {captured} rows of {endpoint.RequestCount} request(s) for endpoint {endpoint.Name}");
    var x1 = NumericReference.Create("x1", points.Select(p => (double)p.X1).ToArray());
    var shifted = DriftMetrics.Compare(x1, points.Select(p => p.X1 + 0.5).ToArray());
    var same = DriftMetrics.Compare(x1, points.Select(p => (double)p.X1).ToArray());
    Check(shifted.PopulationStability > 0.25 && same.PopulationStability < 1e-9, $"drift of x1 + 0.5: PSI {shifted.PopulationStability:F2} (same values: {same.PopulationStability:F2})");

    await host.StopAsync();
}
#pragma warning disable CA1031 // any failure is reported and makes the exit code non-zero
catch (Exception e)
#pragma warning restore CA1031
{
    failures.Add(e.ToString());
    Console.Error.WriteLine(e);
}
finally
{
    try { Directory.Delete(home, recursive: true); }
    catch (IOException) { }
}

Console.WriteLine(failures.Count == 0 ? "PackageConsumer: every step passed" : $"PackageConsumer: {failures.Count} step(s) failed");
return failures.Count == 0 ? 0 : 1;

/// <summary>A training row.</summary>
internal sealed class Point
{
    [NoColumn] public string Id { get; set; } = "";
    [ColumnName("x1")] public float X1 { get; set; }
    [ColumnName("x2")] public float X2 { get; set; }
    [ColumnName("label")] public bool Label { get; set; }
}

/// <summary>The served model's input.</summary>
internal sealed class PointInput
{
    [ColumnName("x1")] public float X1 { get; set; }
    [ColumnName("x2")] public float X2 { get; set; }
}

/// <summary>The served model's output.</summary>
internal sealed class Prediction
{
    [ColumnName("PredictedLabel")] public bool PredictedLabel { get; set; }
    public float Probability { get; set; }
}
