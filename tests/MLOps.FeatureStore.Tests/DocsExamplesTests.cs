using System.Text.Json.Nodes;
using Microsoft.ML;
using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Ingestion;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.TestSupport;
using MLOps.FeatureStore.Transformations;
using MLOps.FeatureStore.Vectors;

namespace MLOps.FeatureStore.Tests;

/// <summary>The examples of docs/feature-store.md, compiled and run on the flights.</summary>
public class DocsExamplesTests
{
    private sealed class KilometersStep(string column) : IFeatureStep
    {
        public string Kind => "acme.km";

        public JsonObject Options => new() { ["column"] = column };

        public IReadOnlyList<string> InputColumns => [column];

        public RecordBatch Process(RecordBatch batch, FeatureStepContext context)
        {
            var miles = batch.Column(column);
            var km = new DoubleArray.Builder();
            for (var i = 0; i < miles.Length; i++)
                km.Append(miles switch
                {
                    Int64Array l when l.GetValue(i) is { } m => m * 1.609344,
                    DoubleArray d when d.GetValue(i) is { } m => m * 1.609344,
                    _ => double.NaN,
                });
            var fields = batch.Schema.FieldsList.Append(new Field($"{column}_km", Apache.Arrow.Types.DoubleType.Default, true)).ToList();
            return new RecordBatch(new Schema(fields, null), batch.Arrays.Append(km.Build()), batch.Length);
        }
    }

    [Test]
    public async Task FeatureStoreGuide_Examples_Run()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder, "flights");
        var fs = project.FeatureStore;

        var delays = fs.FeatureSet("flight_delays")
            .Entity("origin")
            .Timestamp("date")
            .Feature("distance", FeatureType.Double)
            .Impute("distance", ImputeStrategy.Mean)
            .DateParts("date", DateParts.Hour | DateParts.DayOfWeek)
            .Compute("is_delayed", r => r.GetDouble("delay") > 15)
            .Label("is_delayed")
            .Validate("delay", FeatureRule.Range(-120, 2000), ValidationPolicy.DropRow)
            .Aggregate("delay", AggregationOp.Avg | AggregationOp.Max | AggregationOp.Count, "1h", "1d")
            .PartitionBy(PartitionGranularity.Day)
            .OnlineTtl(TimeSpan.FromDays(36500))
            .Describe("Departure delays per origin airport")
            .Build();

        var progress = new List<IngestProgress>();
        IngestReport report = await fs.IngestAsync(delays, DataSource.Json(TestProjects.FlightsJson), new IngestOptions
        {
            IngestId = "flights-2001-q1",
            ChunkSize = 8_192,
            Progress = new SyncProgress<IngestProgress>(progress.Add),
        });
        Assert.That(report.RowsRead, Is.EqualTo(20_000));
        Assert.That(report.RowsWritten + report.RowsDropped, Is.EqualTo(20_000));
        Assert.That(progress, Has.Count.EqualTo(3));
        foreach (var d in report.DropReasons)
            Assert.That(d.Rule, Is.EqualTo("range [-120, 2000]"));

        FeatureSet stored = await fs.GetFeatureSetAsync("flight_delays");
        FeatureSetInfo info = await fs.GetInfoAsync("flight_delays");
        Assert.That(info.Uri, Is.EqualTo($"store://feature-sets/flights/flight_delays:{stored.Version}"));
        Assert.That(stored.Features.Select(f => f.Name), Does.Contain("delay_avg_1h").And.Contain("date_hour").And.Not.Contain("is_delayed"));

        fs.Steps.Register("acme.km", options => new KilometersStep((string)options["column"]!));
        var routes = fs.FeatureSet("routes").Entity("origin").Step(new KilometersStep("distance")).Build();
        await fs.IngestAsync(routes, DataSource.Json(TestProjects.FlightsJson));
        Assert.That((await fs.GetFeatureSetAsync("routes")).Steps.Single().Kind, Is.EqualTo("acme.km"));

        var airports = fs.FeatureSet("airports").Entity("iata").Build();
        await fs.IngestAsync(airports, DataSource.Csv(TestProjects.AirportsCsv));
        var vector = await fs.Vector("delay-features")
            .Select("flight_delays.*", "airports.state as origin_state")
            .Relation("flight_delays.origin", "airports")
            .Label("flight_delays.is_delayed")
            .SaveAsync();

        var flights = System.Text.Json.JsonSerializer.Deserialize<List<FlightJson>>(File.ReadAllText(TestProjects.FlightsJson))!;
        var entityRows = DataSource.Objects(flights.Take(2000).Select(f => new { origin = f.origin, at = DateTime.ParseExact(f.date, "yyyy/MM/dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) }));
        using OfflineFeatures training = await fs.GetOfflineFeaturesAsync(vector, entityRows,
            new OfflineFeaturesOptions { TimestampColumn = "at", Ttl = TimeSpan.FromDays(1) });
        Assert.That(training.RowCount, Is.EqualTo(2000));
        Assert.That(training.LabelColumn, Is.EqualTo("is_delayed"));
        IDataView view = training.ToDataView();
        Assert.That(view.Schema.GetColumnOrNull("delay_avg_1h"), Is.Not.Null);
        await training.SaveAsParquetAsync(folder.File("training.parquet"));
        await using (var run = await project.Runs.StartAsync("train"))
            await training.LogAsInputAsync(run, "training-set");

        await using var online = await fs.GetOnlineServiceAsync(vector, new OnlineServiceOptions { Missing = MissingPolicy.Mean });
        FeatureRow row = await online.GetAsync(new Dictionary<string, object> { ["origin"] = "SFO" });
        Assert.That(row.Found, Is.True);
        Assert.That(row.GetDouble("delay_avg_1h"), Is.Not.NaN);
        Assert.That(row.GetString("origin_state"), Is.EqualTo("CA"));
        var unknown = await online.GetAsync(new Dictionary<string, object> { ["origin"] = "ZZZ" });
        Assert.That(unknown.Found, Is.False);
        Assert.That(unknown.GetDouble("delay_avg_1h"), Is.EqualTo((await fs.GetStatisticsAsync("flight_delays"))!.Statistics.Single(s => s.Name == "delay_avg_1h").Mean!.Value).Within(1e-9));
    }

    private sealed record FlightJson(string date, int delay, int distance, string origin, string destination);

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

/// <summary>The feature store lines of the design's API north star, as written there.</summary>
public class NorthStarExamplesTests
{
    [Test]
    public async Task NorthStar_FeatureLines_CompileAndRun()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder, "flights");
        var delays = project.FeatureStore.FeatureSet("flight_delays")
            .Entity("origin").Timestamp("date")
            .Aggregate("delay", AggregationOp.Avg | AggregationOp.Max | AggregationOp.Count, windows: ["1h", "1d"])
            .Impute("distance", ImputeStrategy.Mean)
            .Build();
        IngestReport ingest = await project.FeatureStore.IngestAsync(delays, DataSource.Json(TestProjects.FlightsJson));
        Assert.That(ingest.RowsWritten, Is.EqualTo(20_000));
        await project.FeatureStore.IngestAsync(project.FeatureStore.FeatureSet("airports").Entity("iata").Build(), DataSource.Csv(TestProjects.AirportsCsv));
        var vector = project.FeatureStore.Vector("delay_model_v1")
            .Select("flight_delays.*", "airports.state as origin_state").Relation("flight_delays.origin", "airports").Build();
        var entityRows = DataSource.Objects(new[] { new { origin = "SFO", date = new DateTime(2001, 2, 1, 12, 0, 0, DateTimeKind.Utc) } });
        // the north star's `asOf: "date"` is OfflineFeaturesOptions.TimestampColumn (a string overload made new() { ... } ambiguous)
        using var training = await project.FeatureStore.GetOfflineFeaturesAsync(vector, entityRows, new() { TimestampColumn = "date" });
        Assert.That(training.RowCount, Is.EqualTo(1));
        Assert.That(((StringArray)training.Batch.Column("origin_state")).GetString(0), Is.EqualTo("CA"));
        await using var online = await project.FeatureStore.GetOnlineServiceAsync(vector);
        FeatureRow row = await online.GetAsync(new() { ["origin"] = "SFO" });
        Assert.That(row.Found, Is.True);
        Assert.That(row.GetString("origin_state"), Is.EqualTo("CA"));
    }
}
