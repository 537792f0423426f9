using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.TestSupport;
using MLOps.FeatureStore.Transformations;
using MLOps.FeatureStore.Vectors;

namespace MLOps.FeatureStore.Tests.Ingestion;

public class EndToEndTests
{
    [Test]
    public async Task IngestAsync_FlightsAndAirports_TrainingSetAndOnlineLookupWork()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var delays = fs.FeatureSet("flight_delays")
            .Entity("origin").Timestamp("date")
            .Compute("is_delayed", r => r.GetDouble("delay") > 15)
            .Label("is_delayed")
            .Aggregate("delay", AggregationOp.Avg | AggregationOp.Max | AggregationOp.Count, "1h", "1d")
            .Build();
        var report = await fs.IngestAsync(delays, DataSource.Json(TestProjects.FlightsJson), new() { ChunkSize = 5000 });
        Assert.That(report.RowsRead, Is.EqualTo(20000));
        Assert.That(report.RowsWritten, Is.EqualTo(20000));
        Assert.That(report.OfflineFiles, Is.Not.Empty);
        TestContext.Out.WriteLine($"{report.Duration} {report.OfflineFiles.Count} files, online {report.OnlineEntities}");

        var airports = fs.FeatureSet("airports").Entity("iata").Build();
        var r2 = await fs.IngestAsync(airports, DataSource.Csv(TestProjects.AirportsCsv));
        Assert.That(r2.RowsWritten, Is.GreaterThan(3000));

        var vector = await fs.Vector("delay_model")
            .Select("flight_delays.delay_avg_1h", "flight_delays.delay_max_1d", "flight_delays.distance", "airports.state as origin_state")
            .Relation("flight_delays.origin", "airports")
            .Label("flight_delays.is_delayed")
            .SaveAsync();
        using var training = await fs.GetOfflineFeaturesAsync(vector, DataSource.Json(TestProjects.FlightsJson), new() { TimestampColumn = "date" });
        Assert.That(training.RowCount, Is.EqualTo(20000));
        TestContext.Out.WriteLine(string.Join(", ", training.Schema.FieldsList.Select(f => f.Name)));
        var state = (StringArray)training.Batch.Column("origin_state");
        Assert.That(Enumerable.Range(0, 100).Count(i => state.GetString(i) is not null), Is.GreaterThan(90));

        await using var online = await fs.GetOnlineServiceAsync(vector);
        var row = await online.GetAsync(new Dictionary<string, object> { ["origin"] = "SFO" });
        TestContext.Out.WriteLine(row.ToString());
        Assert.That(row.Found, Is.True);
        Assert.That(row.GetString("origin_state"), Is.EqualTo("CA"));
    }
}
