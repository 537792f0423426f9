using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.TestSupport;

namespace MLOps.FeatureStore.Tests.Ingestion;

[Parallelizable(ParallelScope.All)]
public sealed class BadInputTests
{
    private static FeatureSet Flights(FeatureStoreCatalog fs) => fs.FeatureSet("flights").Entity("origin").Timestamp("date").Build();

    /// <summary>Flights as JSON lines, with one line replaced.</summary>
    private static string WriteWithLine(TempFolder folder, int count, int index, string line)
    {
        var path = FlightData.WriteJsonLines(folder.File("f.jsonl"), FlightData.All.Take(count));
        var lines = File.ReadAllLines(path);
        lines[index] = line;
        File.WriteAllLines(path, lines);
        return path;
    }

    [Test]
    public async Task IngestAsync_MissingEntityColumn_ThrowsNamingItAndTheColumns()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(fs.FeatureSet("flights").Entity("airport").Timestamp("date").Build(), DataSource.Json(TestProjects.FlightsJson)))!;

        Assert.That(e.Errors, Is.EqualTo(new[] { "entity column 'airport' is missing" }));
        Assert.That(e.Message, Does.Contain("date, delay, distance, origin, destination"));
        Assert.That(OfflineRows.Files(fs, "flights"), Is.Empty);
        Assert.That(await fs.ListFeatureSetsAsync(), Is.Empty, "nothing was stored");
    }

    [Test]
    public async Task IngestAsync_MissingTimestampColumn_ThrowsNamingIt()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(fs.FeatureSet("flights").Entity("origin").Timestamp("time").Build(), DataSource.Csv(TestProjects.AirportsCsv)))!;

        Assert.That(e.Errors, Is.EqualTo(new[] { "entity column 'origin' is missing", "timestamp column 'time' is missing" }));
        Assert.That(e.Message, Does.Contain("iata"));
    }

    [TestCase("json")]
    [TestCase("csv")]
    public async Task IngestAsync_UnparsableTimestamp_ThrowsNamingColumnRowAndExpectedFormat(string format)
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var flights = FlightData.All.Take(3000).Select((f, i) => i == 2500 ? f with { Date = "yesterday noon" } : f).ToArray();
        var path = format == "json" ? FlightData.WriteJsonLines(folder.File("f.jsonl"), flights) : FlightData.WriteCsv(folder.File("f.csv"), flights);

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(Flights(fs), DataSource.File(path), new() { ChunkSize = 1000 }))!;

        Assert.That(e.Message, Does.Contain("column 'date'").And.Contain("row 2501 ").And.Contain("'yesterday noon'")
            .And.Contain("ISO 8601").And.Contain("yyyy/MM/dd HH:mm"));
        Assert.That(OfflineRows.Files(fs, "flights"), Is.Empty);
    }

    [Test]
    public async Task IngestAsync_TimestampWithAFormat_ParsesItAndNamesItWhenARowDoesNotFit()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        // day first: 02.01.2001 is the 2nd of January, which a month-first parser would read as the 1st of February
        var flights = FlightData.All.Take(500).Select(f => f with { Date = f.Time.ToString("dd.MM.yyyy HH:mm", System.Globalization.CultureInfo.InvariantCulture) }).ToArray();
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date", "dd.MM.yyyy HH:mm").Build();

        var report = await fs.IngestAsync(set, DataSource.Json(FlightData.WriteJsonLines(folder.File("ok.jsonl"), flights)));
        var rows = await OfflineRows.ReadAsync(fs, "flights");
        var bad = flights.Select((f, i) => i == 40 ? f with { Date = "2001/01/02 10:00" } : f).ToArray();
        var e = Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(set, DataSource.Json(FlightData.WriteJsonLines(folder.File("bad.jsonl"), bad))))!;

        Assert.That(report.RowsWritten, Is.EqualTo(500));
        Assert.That(rows.Select(r => ((DateTimeOffset)r["date"]!).UtcDateTime), Is.EqualTo(FlightData.All.Take(500).Select(f => f.Time)));
        Assert.That(e.Message, Does.Contain("column 'date'").And.Contain("row 41 ").And.Contain("'2001/01/02 10:00'").And.Contain("'dd.MM.yyyy HH:mm'"));
    }

    [Test]
    public async Task IngestAsync_CsvTimestampWithAFormatThatLooksIso_UsesTheFormat()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        // year-day-month: 2001-02-01 is the 2nd of January
        // (days 2 to 12 only, so that every value also reads as an ISO date: 2001-05-01 would be the 1st of May)
        var original = FlightData.All.Where(f => f.Time.Day is >= 2 and <= 12).Take(200).ToArray();
        var flights = original.Select(f => f with { Date = f.Time.ToString("yyyy-dd-MM HH:mm", System.Globalization.CultureInfo.InvariantCulture) }).ToArray();
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date", "yyyy-dd-MM HH:mm").Build();

        await fs.IngestAsync(set, DataSource.Csv(FlightData.WriteCsv(folder.File("f.csv"), flights)));
        var rows = await OfflineRows.ReadAsync(fs, "flights");

        Assert.That(rows.Select(r => ((DateTimeOffset)r["date"]!).UtcDateTime), Is.EqualTo(original.Select(f => f.Time)));
    }

    [Test]
    public async Task IngestAsync_CsvColumnOfDigitsDeclaredAsString_KeepsTheText()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var path = folder.File("zips.csv");
        await File.WriteAllTextAsync(path, "origin,date,zip,gate\nSFO,2001-01-02 10:00,02134,7\nLAX,2001-01-02 11:00,,8\nJFK,2001-01-02 12:00,10001,9\n");
        var set = fs.FeatureSet("airports").Entity("origin").Timestamp("date").Feature("zip", FeatureType.String).Build();

        await fs.IngestAsync(set, DataSource.Csv(path));
        var rows = await OfflineRows.ReadAsync(fs, "airports");

        Assert.That(rows.Select(r => r["zip"]), Is.EqualTo(new object?[] { "02134", null, "10001" }), "the declared string column stays text");
        Assert.That(rows.Select(r => r["gate"]), Is.EqualTo(new object?[] { 7L, 8L, 9L }), "an undeclared column is still inferred");
        Assert.That((await fs.GetInfoAsync("airports")).Schema!.Single(c => c.Name == "zip").Type, Is.EqualTo(FeatureType.String));
    }

    [Test]
    public async Task IngestAsync_NullEntity_ThrowsNamingColumnAndRow()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var path = WriteWithLine(folder, 100, 11, "{\"date\":\"2001/01/01 10:00\",\"delay\":3,\"distance\":100,\"origin\":null,\"destination\":\"LAS\"}");

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(Flights(fs), DataSource.Json(path)))!;

        Assert.That(e.Message, Does.Contain("entity column 'origin' is null in row 12."));
    }

    [Test]
    public async Task IngestAsync_NullTimestamp_ThrowsNamingColumnAndRow()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var path = WriteWithLine(folder, 100, 0, "{\"date\":null,\"delay\":3,\"distance\":100,\"origin\":\"LAS\",\"destination\":\"SFO\"}");

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(Flights(fs), DataSource.Json(path)))!;

        Assert.That(e.Message, Does.Contain("timestamp column 'date' is null in row 1."));
    }

    [Test]
    public async Task IngestAsync_TypeChangeBetweenIngestions_ThrowsNamingColumnAndTypesAndWritesNothing()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.IngestAsync(Flights(fs), DataSource.Batches([FlightData.ToBatch(FlightData.All.Take(1000).ToArray())]));
        var strings = FlightData.All.Skip(1000).Take(100).Select(f => f.ToEvent().ToDictionary(kv => kv.Key, kv => kv.Key == "delay" ? (object?)$"{kv.Value} min" : kv.Value)).ToArray();

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(Flights(fs), DataSource.Objects(strings)))!;

        Assert.That(e.Message, Does.Contain("'delay'").And.Contain("from Int64 to String"));
        Assert.That(await OfflineRows.ReadAsync(fs, "flights"), Has.Count.EqualTo(1000));
        var info = await fs.GetInfoAsync("flights");
        Assert.That(info.Status.Ingestions, Is.EqualTo(1));
        Assert.That(info.Version, Is.EqualTo(1));
    }

    [Test]
    public async Task IngestAsync_DeclaredIntegerGetsAFraction_ThrowsNamingTheRow()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var path = WriteWithLine(folder, 50, 30, "{\"date\":\"2001/01/01 10:00\",\"delay\":2.5,\"distance\":100,\"origin\":\"LAS\",\"destination\":\"SFO\"}");

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(fs.FeatureSet("flights").Entity("origin").Timestamp("date").Feature("delay", FeatureType.Int64).Build(), DataSource.Json(path)))!;

        Assert.That(e.Message, Does.Contain("'delay'").And.Contain("row 31 ").And.Contain("'2.5'"));
    }

    [TestCase("[]", "f.json")]
    [TestCase("", "f.jsonl")]
    [TestCase("date,delay,distance,origin,destination\n", "f.csv")]
    public async Task IngestAsync_EmptySourceForANewSet_ThrowsAndStoresNothing(string content, string name)
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        File.WriteAllText(folder.File(name), content);

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(Flights(fs), DataSource.File(folder.File(name))))!;

        Assert.That(e.Message, Does.Contain("has no rows"));
        Assert.That(await fs.ListFeatureSetsAsync(), Is.Empty);
    }

    [TestCase("[]", "f.json")]
    [TestCase("date,delay,distance,origin,destination\n", "f.csv")]
    public async Task IngestAsync_EmptySourceForAStoredSet_WritesNothingAndKeepsTheSchema(string content, string name)
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.IngestAsync(Flights(fs), DataSource.Batches([FlightData.ToBatch(FlightData.All.Take(100).ToArray())]));
        var schema = (await fs.GetFeatureSetAsync("flights")).Schema;
        File.WriteAllText(folder.File(name), content);

        var report = await fs.IngestAsync(Flights(fs), DataSource.File(folder.File(name)));

        Assert.That(report.RowsRead, Is.Zero);
        Assert.That(report.OfflineFiles, Is.Empty);
        Assert.That((await fs.GetFeatureSetAsync("flights")).Schema, Is.EqualTo(schema));
        Assert.That(await OfflineRows.ReadAsync(fs, "flights"), Has.Count.EqualTo(100));
        await fs.IngestAsync(Flights(fs), DataSource.Batches([FlightData.ToBatch(FlightData.All.Skip(100).Take(10).ToArray())]));
        Assert.That(await OfflineRows.ReadAsync(fs, "flights"), Has.Count.EqualTo(110));
    }

    // ---- vectors ----

    private static async Task IngestFlightsAndAirportsAsync(FeatureStoreCatalog fs)
    {
        await fs.IngestAsync(Flights(fs), DataSource.Batches([FlightData.ToBatch(FlightData.All.Take(500).ToArray())]));
        await fs.IngestAsync(fs.FeatureSet("airports").Entity("iata").Build(), DataSource.Csv(TestProjects.AirportsCsv));
    }

    [Test]
    public async Task VectorSaveAsync_UnknownFeature_ThrowsListingTheSetsFeatures()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await IngestFlightsAndAirportsAsync(fs);

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.Vector("v").Select("flights.delay", "flights.dealy").SaveAsync())!;

        Assert.That(e.Errors, Has.Count.EqualTo(1));
        Assert.That(e.Errors[0], Does.Contain("unknown feature 'dealy' in feature set 'flights'").And.Contain("its features are: delay, distance, destination"));
    }

    [Test]
    public async Task VectorSaveAsync_UnknownFeatureSet_ThrowsListingTheKnownSets()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await IngestFlightsAndAirportsAsync(fs);

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.Vector("v").Select("flights.delay", "weather.wind").SaveAsync())!;

        Assert.That(e.Message, Does.Contain("feature set 'weather' does not exist; known feature sets: airports, flights."));
        var e2 = Assert.ThrowsAsync<ValidationException>(() => fs.GetOfflineFeaturesAsync(fs.Vector("v").Select("weather.wind").Build()))!;
        Assert.That(e2.Message, Does.Contain("'weather'"));
    }

    [Test]
    public async Task VectorSaveAsync_DuplicateOutputNames_ThrowsUntilAliased()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await IngestFlightsAndAirportsAsync(fs);
        await fs.IngestAsync(fs.FeatureSet("destinations").Entity("destination").Timestamp("date").Build(), DataSource.Batches([FlightData.ToBatch(FlightData.All.Take(500).ToArray())]));

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.Vector("v").Select("flights.delay", "destinations.delay").SaveAsync())!;
        var ok = await fs.Vector("v").Select("flights.delay", "destinations.delay as destination_delay").SaveAsync();

        Assert.That(e.Message, Does.Contain("the output name 'delay' is used by flights.delay and destinations.delay; give one of them an alias"));
        Assert.That(ok.Features.Select(f => f.ToString()), Is.EqualTo(new[] { "flights.delay", "destinations.delay as destination_delay" }));
    }

    [Test]
    public async Task VectorBuild_BadSyntax_ListsEveryProblem()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);

        var e = Assert.Throws<ValidationException>(() => project.FeatureStore.Vector("v").Select("delay", "flights.* as all", "flights.delay as").Relation("origin", "airports").Build())!;

        Assert.That(e.Errors, Has.Count.EqualTo(4), e.Message);
    }

    [Test]
    public async Task GetOfflineFeaturesAsync_EntityRowsWithoutTheTimeColumn_ThrowsNamingIt()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await IngestFlightsAndAirportsAsync(fs);
        var vector = await fs.Vector("v").Select("flights.delay").SaveAsync();

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.GetOfflineFeaturesAsync(vector, DataSource.Objects([new { origin = "LAS", when = DateTime.UtcNow }])))!;
        var e2 = Assert.ThrowsAsync<ValidationException>(() => fs.GetOfflineFeaturesAsync(vector, DataSource.Objects([new { airport = "LAS", date = DateTime.UtcNow }])))!;

        Assert.That(e.Message, Does.Contain("no time column 'date'").And.Contain("origin, when"));
        Assert.That(e2.Message, Does.Contain("entity column 'origin' is missing"));
    }
}
