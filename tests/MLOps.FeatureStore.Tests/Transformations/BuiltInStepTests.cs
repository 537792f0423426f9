using System.Globalization;
using System.Text.Json.Nodes;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.TestSupport;
using MLOps.FeatureStore.Transformations;
using MLOps.FeatureStore.Vectors;

namespace MLOps.FeatureStore.Tests.Transformations;

[Parallelizable(ParallelScope.All)]
public sealed class BuiltInStepTests
{
    private static IReadOnlyList<Flight> Flights => FlightData.All;

    /// <summary>Writes flights as JSON lines with <c>null</c> for the delay (and destination) of the rows <paramref name="isNull"/> picks.</summary>
    private static string WriteWithNulls(TempFolder folder, string name, IReadOnlyList<Flight> flights, Func<int, bool> isNull)
    {
        var lines = flights.Select((f, i) => string.Create(CultureInfo.InvariantCulture,
            $"{{\"date\":\"{f.Date}\",\"delay\":{(isNull(i) ? "null" : f.Delay.ToString(CultureInfo.InvariantCulture))},\"distance\":{f.Distance},\"origin\":\"{f.Origin}\",\"destination\":{(isNull(i) ? "null" : $"\"{f.Destination}\"")}}}"));
        var path = folder.File(name);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static object? Value(RecordBatch batch, string column, int row) => Arrays.ValueAt(batch.Column(column), row).ToObject();

    private static object?[] Column(RecordBatch batch, string column) => Enumerable.Range(0, batch.Length).Select(i => Value(batch, column, i)).ToArray();

    // ---- impute ----

    [Test]
    public async Task Impute_Constant_FillsNullsWithTheConstant()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var flights = Flights.Take(1000).ToArray();
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date").Impute("delay", ImputeStrategy.Constant, 0).Impute("destination", ImputeStrategy.Constant, "UNK").Build();

        var report = await fs.IngestAsync(set, DataSource.Json(WriteWithNulls(folder, "f.jsonl", flights, i => i % 7 == 0)));
        var rows = await OfflineRows.ReadAsync(fs, "flights");

        Assert.That(report.RowsWritten, Is.EqualTo(1000));
        Assert.That(rows.Select(r => r["delay"]), Is.EqualTo(flights.Select((f, i) => (object)(i % 7 == 0 ? 0L : f.Delay))));
        Assert.That(rows.Select(r => r["destination"]), Is.EqualTo(flights.Select((f, i) => (object)(i % 7 == 0 ? "UNK" : f.Destination))));
    }

    [Test]
    public async Task Impute_Mean_IsFittedOnTheFirstIngestionAndFrozenForLaterIngestionsAndPushes()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        FeatureSet Define() => fs.FeatureSet("flights").Entity("origin").Timestamp("date").Feature("delay", FeatureType.Double).Impute("delay", ImputeStrategy.Mean).Build();
        var first = Flights.Take(1000).ToArray();
        var second = Flights.Skip(1000).Take(1000).ToArray();
        var mean1 = first.Where((_, i) => i % 5 != 0).Average(f => (double)f.Delay);
        var mean2 = second.Where((_, i) => i % 3 != 0).Average(f => (double)f.Delay);
        Assert.That(mean2, Is.Not.EqualTo(mean1).Within(0.01), "the fixture needs two different means");

        await fs.IngestAsync(Define(), DataSource.Json(WriteWithNulls(folder, "a.jsonl", first, i => i % 5 == 0)));
        await fs.IngestAsync(Define(), DataSource.Json(WriteWithNulls(folder, "b.jsonl", second, i => i % 3 == 0)));
        var stored = await fs.GetFeatureSetAsync("flights");
        var rows = await OfflineRows.ReadAsync(fs, "flights");

        Assert.That(double.Parse(stored.Fitted["impute.delay.Mean"], CultureInfo.InvariantCulture), Is.EqualTo(mean1).Within(1e-9));
        Assert.That(rows, Has.Count.EqualTo(2000));
        Assert.That(rows.Take(1000).Select(r => (double)r["delay"]!), Is.EqualTo(first.Select((f, i) => i % 5 == 0 ? mean1 : f.Delay)).Within(1e-9));
        Assert.That(rows.Skip(1000).Select(r => (double)r["delay"]!), Is.EqualTo(second.Select((f, i) => i % 3 == 0 ? mean1 : f.Delay)).Within(1e-9), "the second ingestion uses the frozen mean");

        // real time: the frozen mean fills a pushed null, and the online row holds it
        var push = await fs.PushAsync(Define(), [new Dictionary<string, object?> { ["date"] = "2001/04/01 10:00", ["delay"] = null, ["distance"] = 300L, ["origin"] = "ZZZ", ["destination"] = "LAS" }]);
        Assert.That((double)Value(push.Rows, "delay", 0)!, Is.EqualTo(mean1).Within(1e-9));
        var vector = await fs.Vector("v").Select("flights.delay").SaveAsync();
        await using var online = await fs.GetOnlineServiceAsync(vector);
        Assert.That((await online.GetAsync(new Dictionary<string, object> { ["origin"] = "ZZZ" })).GetDouble("delay"), Is.EqualTo(mean1).Within(1e-9));
    }

    [Test]
    public async Task Impute_FirstChunkWithoutAnyValue_FitsOnTheFirstChunkWithValuesAndFreezesIt()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        FeatureSet Define() => fs.FeatureSet("flights").Entity("origin").Timestamp("date").Feature("delay", FeatureType.Double).Impute("delay", ImputeStrategy.Mean).Build();
        var flights = Flights.Take(1000).ToArray();
        var mean = flights.Skip(100).Take(100).Where((_, i) => i % 2 == 1).Average(f => (double)f.Delay);

        // chunk 1 (rows 1-100) has no delay at all; chunk 2 fits the mean
        await fs.IngestAsync(Define(), DataSource.Json(WriteWithNulls(folder, "a.jsonl", flights, i => i < 100 || i % 2 == 0)), new() { ChunkSize = 100 });
        var stored = await fs.GetFeatureSetAsync("flights");
        await fs.IngestAsync(Define(), DataSource.Json(WriteWithNulls(folder, "b.jsonl", Flights.Skip(1000).Take(10).ToArray(), i => i == 0)));
        var rows = await OfflineRows.ReadAsync(fs, "flights");

        Assert.That(double.Parse(stored.Fitted["impute.delay.Mean"], CultureInfo.InvariantCulture), Is.EqualTo(mean).Within(1e-9));
        Assert.That(rows.Take(100).Select(r => r["delay"]), Is.All.Null, "rows before the fit stay null");
        Assert.That((double)rows[100]["delay"]!, Is.EqualTo(mean).Within(1e-9));
        Assert.That((double)rows[1000]["delay"]!, Is.EqualTo(mean).Within(1e-9), "the next ingestion uses the frozen mean");
    }

    [Test]
    public async Task Impute_MeanOfInferredInt64Column_PushOfANullUsesTheFrozenValue()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date").Impute("delay", ImputeStrategy.Mean).Build();
        var first = Flights.Take(1000).ToArray();
        var mean = first.Where((_, i) => i % 5 != 0).Average(f => (double)f.Delay);
        await fs.IngestAsync(set, DataSource.Json(WriteWithNulls(folder, "a.jsonl", first, i => i % 5 == 0)));

        var push = await fs.PushAsync(set, [new Dictionary<string, object?> { ["date"] = "2001/04/01 10:00", ["delay"] = null, ["distance"] = 300, ["origin"] = "ZZZ", ["destination"] = null }]);

        Assert.That(push.Rows.Schema.GetFieldByIndex(push.Rows.Schema.GetFieldIndex("delay")).DataType, Is.InstanceOf<Apache.Arrow.Types.Int64Type>());
        Assert.That(Value(push.Rows, "delay", 0), Is.EqualTo((long)Math.Round(mean)));
        Assert.That(Value(push.Rows, "destination", 0), Is.Null);
    }

    [Test]
    public async Task Impute_MedianAndMostFrequent_FillWithTheFittedValues()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var flights = Flights.Take(999).ToArray();
        bool IsNull(int i) => i % 4 == 1;
        var known = flights.Where((_, i) => !IsNull(i)).ToArray();
        var sorted = known.Select(f => (double)f.Delay).Order().ToArray();
        var median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        var mostFrequent = known.GroupBy(f => f.Destination).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).First().Key;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date")
            .Impute("delay", ImputeStrategy.Median).Impute("destination", ImputeStrategy.MostFrequent).Build();

        var preview = await fs.PreviewAsync(set, DataSource.Json(WriteWithNulls(folder, "a.jsonl", flights, IsNull)), rows: 999);
        await fs.IngestAsync(set, DataSource.Json(WriteWithNulls(folder, "b.jsonl", flights, IsNull)));
        var rows = await OfflineRows.ReadAsync(fs, "flights");
        var stored = await fs.GetFeatureSetAsync("flights");

        var expectedDelay = flights.Select((f, i) => (object)(IsNull(i) ? (long)Math.Round(median) : f.Delay)).ToArray();
        var expectedDestination = flights.Select((f, i) => (object)(IsNull(i) ? mostFrequent : f.Destination)).ToArray();
        Assert.That(Column(preview.Rows, "delay"), Is.EqualTo(expectedDelay));
        Assert.That(Column(preview.Rows, "destination"), Is.EqualTo(expectedDestination));
        Assert.That(rows.Select(r => r["delay"]), Is.EqualTo(expectedDelay));
        Assert.That(rows.Select(r => r["destination"]), Is.EqualTo(expectedDestination));
        Assert.That(stored.Fitted["impute.destination.MostFrequent"], Is.EqualTo(mostFrequent));
        Assert.That(double.Parse(stored.Fitted["impute.delay.Median"], CultureInfo.InvariantCulture), Is.EqualTo(median));
    }

    // ---- map values, one-hot, date parts, drop ----

    [Test]
    public async Task MapValues_DictionaryAndRanges_MapTheFlights()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date")
            .MapValues("origin", map: new Dictionary<string, object> { ["LAS"] = "west", ["SFO"] = "west", ["DTW"] = "east" }, output: "region")
            .MapValues("distance", ranges: [new ValueRange(double.NegativeInfinity, 500, "short"), new ValueRange(500, 1500, "medium"), new ValueRange(1500, double.PositiveInfinity, "long")], output: "haul")
            .MapValues("delay", map: new Dictionary<string, object> { ["0"] = -1.0 }, ranges: [new ValueRange(15, double.PositiveInfinity, 100)], output: "delay_code")
            .Build();
        var flights = Flights.Take(2000).ToArray();

        var preview = await fs.PreviewAsync(set, DataSource.Json(TestProjects.FlightsJson), rows: 2000);
        await fs.IngestAsync(set, DataSource.Json(TestProjects.FlightsJson), new() { ChunkSize = 700 });
        var rows = (await OfflineRows.ReadAsync(fs, "flights")).Take(2000).ToArray();

        var region = flights.Select(f => (object)(f.Origin switch { "LAS" or "SFO" => "west", "DTW" => "east", var o => o })).ToArray();
        var haul = flights.Select(f => (object)(f.Distance < 500 ? "short" : f.Distance < 1500 ? "medium" : "long")).ToArray();
        var code = flights.Select(f => (object)(f.Delay >= 15 ? 100.0 : f.Delay == 0 ? -1.0 : f.Delay)).ToArray();
        Assert.That(Column(preview.Rows, "region"), Is.EqualTo(region));
        Assert.That(Column(preview.Rows, "haul"), Is.EqualTo(haul));
        Assert.That(Column(preview.Rows, "delay_code"), Is.EqualTo(code));
        Assert.That(rows.Select(r => r["region"]), Is.EqualTo(region));
        Assert.That(rows.Select(r => r["haul"]), Is.EqualTo(haul));
        Assert.That(rows.Select(r => r["delay_code"]), Is.EqualTo(code));
        Assert.That(Column(preview.Rows, "origin"), Is.EqualTo(flights.Select(f => (object)f.Origin)), "a map with an output column keeps the source");
        var stored = await fs.GetFeatureSetAsync("flights");
        Assert.That(stored.Steps.OfType<MapValuesStep>().Select(s => s.OutputColumn), Is.EqualTo(new[] { "region", "haul", "delay_code" }));
    }

    [Test]
    public async Task OneHot_Destinations_OneColumnPerCategoryAndZerosForUnknown()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        string[] categories = ["LAS", "SFO", "ORD"];
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date").OneHot("destination", categories).Build();
        var flights = Flights.Take(3000).ToArray();

        var report = await fs.IngestAsync(set, DataSource.Batches([FlightData.ToBatch(flights)]));
        var rows = await OfflineRows.ReadAsync(fs, "flights");
        var stored = await fs.GetFeatureSetAsync("flights");

        Assert.That(report.RowsWritten, Is.EqualTo(3000));
        Assert.That(stored.Schema!.Select(c => c.Name), Does.Not.Contain("destination"));
        foreach (var c in categories)
            Assert.That(rows.Select(r => r[$"destination_{c}"]), Is.EqualTo(flights.Select(f => (object)(f.Destination == c ? 1L : 0L))), c);
        var unknown = Enumerable.Range(0, flights.Length).Where(i => !categories.Contains(flights[i].Destination)).ToArray();
        Assert.That(unknown, Is.Not.Empty);
        Assert.That(unknown.All(i => categories.All(c => (long)rows[i][$"destination_{c}"]! == 0)), Is.True);
    }

    [Test]
    public async Task DateParts_Flights_HourDayOfWeekMonthAndWeekendMatchDotNet()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date")
            .DateParts("date", DateParts.Hour | DateParts.DayOfWeek | DateParts.Month | DateParts.IsWeekend).Build();

        await fs.IngestAsync(set, DataSource.Json(TestProjects.FlightsJson), new() { ChunkSize = 4000 });
        var rows = await OfflineRows.ReadAsync(fs, "flights");
        var flights = Flights;

        Assert.That(rows, Has.Count.EqualTo(flights.Count));
        Assert.That(rows.Select(r => r["date_hour"]), Is.EqualTo(flights.Select(f => (object)(long)f.Time.Hour)));
        Assert.That(rows.Select(r => r["date_month"]), Is.EqualTo(flights.Select(f => (object)(long)f.Time.Month)));
        Assert.That(rows.Select(r => r["date_day_of_week"]), Is.EqualTo(flights.Select(f => (object)(long)(((int)f.Time.DayOfWeek + 6) % 7))));
        Assert.That(rows.Select(r => r["date_is_weekend"]), Is.EqualTo(flights.Select(f => (object)(f.Time.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday))));
        Assert.That(rows[0]["date_day_of_week"], Is.EqualTo(0L), "2001-01-01 was a Monday, which is 0 as in pandas");
        Assert.That(rows.Select(r => (long)r["date_month"]!).Distinct().Order(), Is.EqualTo(new[] { 1L, 2L, 3L }));
    }

    [Test]
    public async Task Drop_Destination_IsNotInTheSchemaOfflineOrOnline()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date").Drop("destination").Build();

        await fs.IngestAsync(set, DataSource.Batches([FlightData.ToBatch(Flights.Take(500).ToArray())]));
        var stored = await fs.GetFeatureSetAsync("flights");
        var rows = await OfflineRows.ReadAsync(fs, "flights");

        Assert.That(stored.Schema!.Select(c => c.Name), Is.EqualTo(new[] { "date", "delay", "distance", "origin" }));
        Assert.That(rows[0].Keys, Is.EquivalentTo(new[] { "date", "delay", "distance", "origin" }));
        var e = Assert.ThrowsAsync<ValidationException>(async () => await fs.Vector("v").Select("flights.destination").SaveAsync())!;
        Assert.That(e.Message, Does.Contain("unknown feature 'destination'"));
    }

    [Test]
    public async Task Drop_UnknownColumn_NamesItAndTheColumns()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date").Drop("gate").Build();

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(set, DataSource.Batches([FlightData.ToBatch(Flights.Take(10).ToArray())])))!;

        Assert.That(e.Message, Does.Contain("'gate'").And.Contain("destination"));
    }

    // ---- filter and compute ----

    [Test]
    public async Task Filter_DelayedFlights_CountsTheDroppedRows()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date").Filter("delayed", r => r.GetDouble("delay") > 0).Build();
        var progress = new List<IngestProgressSnapshot>();

        var report = await fs.IngestAsync(set, DataSource.Json(TestProjects.FlightsJson), new() { ChunkSize = 5000, Progress = new SyncProgress<MLOps.FeatureStore.Ingestion.IngestProgress>(p => progress.Add(new(p.RowsRead, p.RowsWritten, p.RowsDropped))) });
        var rows = await OfflineRows.ReadAsync(fs, "flights");

        var kept = Flights.Where(f => f.Delay > 0).ToArray();
        Assert.That(report.RowsRead, Is.EqualTo(20000));
        Assert.That(report.RowsWritten, Is.EqualTo(kept.Length));
        Assert.That(report.RowsDropped, Is.EqualTo(20000 - kept.Length));
        Assert.That(report.DropReasons, Is.Empty, "filters are not validators");
        Assert.That(rows.Select(r => r["delay"]), Is.EqualTo(kept.Select(f => (object)f.Delay)));
        Assert.That(progress[^1], Is.EqualTo(new IngestProgressSnapshot(20000, kept.Length, 20000 - kept.Length)));
    }

    [Test]
    public async Task Compute_DoubleBoolAndStringColumns_AreComputedPerRow()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date")
            .Compute("delay_per_100mi", r => r.GetDouble("delay") * 100 / r.GetDouble("distance"))
            .Compute("is_delayed", r => r.GetInt64("delay") > 15)
            .Compute("route", FeatureType.String, r => $"{r.GetString("origin")}-{r.GetString("destination")}")
            .Compute("hour", FeatureType.Int64, r => r.GetTimestamp("date")!.Value.Hour)
            .Build();
        var flights = Flights.Take(3000).ToArray();

        var preview = await fs.PreviewAsync(set, DataSource.Batches([FlightData.ToBatch(flights)]), rows: 3000);
        await fs.IngestAsync(set, DataSource.Batches([FlightData.ToBatch(flights)]));
        var rows = await OfflineRows.ReadAsync(fs, "flights");

        Assert.That(Column(preview.Rows, "delay_per_100mi"), Is.EqualTo(flights.Select(f => (object)(f.Delay * 100.0 / f.Distance))));
        Assert.That(rows.Select(r => r["delay_per_100mi"]), Is.EqualTo(flights.Select(f => (object)(f.Delay * 100.0 / f.Distance))));
        Assert.That(rows.Select(r => r["is_delayed"]), Is.EqualTo(flights.Select(f => (object)(f.Delay > 15))));
        Assert.That(rows.Select(r => r["route"]), Is.EqualTo(flights.Select(f => (object)$"{f.Origin}-{f.Destination}")));
        Assert.That(rows.Select(r => r["hour"]), Is.EqualTo(flights.Select(f => (object)(long)f.Time.Hour)));
        Assert.That(fs.Steps.IsRegistered("compute:flights/route"), Is.True, "code steps are registered by set and name so the stored set can be reloaded");
        Assert.That((await fs.GetFeatureSetAsync("flights")).Steps.OfType<ComputeStep>().Select(s => s.OutputColumn), Is.EqualTo(new[] { "delay_per_100mi", "is_delayed", "route", "hour" }));
    }

    [Test]
    public async Task Compute_SameNameInTwoSets_EachSetKeepsItsOwnCode()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var byOrigin = fs.FeatureSet("by_origin").Entity("origin").Timestamp("date").Compute("score", r => r.GetDouble("delay") * 2).Filter("short", r => r.GetDouble("distance") < 1000).Build();
        var byDestination = fs.FeatureSet("by_destination").Entity("destination").Timestamp("date").Compute("score", r => r.GetDouble("distance")).Filter("short", r => r.GetDouble("distance") >= 0).Build();
        var flights = FlightData.All.Take(200).ToArray();
        await fs.IngestAsync(byOrigin, DataSource.Batches([FlightData.ToBatch(flights)]));
        await fs.IngestAsync(byDestination, DataSource.Batches([FlightData.ToBatch(flights)]));
        var shortFlight = FlightData.All.Skip(200).First(f => f.Distance < 1000);
        var longFlight = FlightData.All.Skip(200).First(f => f.Distance >= 1000);

        var push = await fs.PushAsync(byOrigin, [shortFlight.ToEvent(), longFlight.ToEvent()]);
        var reloaded = await fs.GetFeatureSetAsync("by_origin");

        Assert.That(push.Rows.Length, Is.EqualTo(1), "the set's own filter");
        Assert.That(Value(push.Rows, "score", 0), Is.EqualTo(shortFlight.Delay * 2.0), "the set's own computed column");
        var preview = await fs.PreviewAsync(reloaded, DataSource.Batches([FlightData.ToBatch([shortFlight])]));
        Assert.That(Value(preview.Rows, "score", 0), Is.EqualTo(shortFlight.Delay * 2.0));
    }

    // ---- validate ----

    private static readonly FeatureRule DelayRule = FeatureRule.Range(-60, 360);

    private static int[] Breaking => Enumerable.Range(0, FlightData.All.Count).Where(i => FlightData.All[i].Delay is < -60 or > 360).ToArray();

    [Test]
    public async Task Validate_FailPolicy_ThrowsNamingColumnRowAndRule()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date").Validate("delay", DelayRule).Build();
        var first = Breaking[0];
        Assert.That(first, Is.GreaterThan(1000), "the first bad row is after the first chunk, so the row number counts earlier chunks");

        var e = Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(set, DataSource.Json(TestProjects.FlightsJson), new() { ChunkSize = 1000 }))!;

        Assert.That(e.Message, Does.Contain("'delay'").And.Contain($"row {first + 1} ").And.Contain("range [-60, 360]").And.Contain($"'{FlightData.All[first].Delay}'"));
        Assert.That(OfflineRows.Files(fs, "flights"), Is.Empty, "a failed ingestion commits nothing");
        Assert.That(await fs.ListFeatureSetsAsync(), Is.Empty, "and stores no version");
    }

    [Test]
    public async Task Validate_DropRowPolicy_DropsAndReportsRuleColumnCountAndFirstRow()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date").Validate("delay", DelayRule, ValidationPolicy.DropRow)
            .Validate("destination", FeatureRule.Matches("^[A-Z]{3}$"), ValidationPolicy.DropRow).Build();
        var bad = Breaking;

        var report = await fs.IngestAsync(set, DataSource.Json(TestProjects.FlightsJson), new() { ChunkSize = 3000 });
        var rows = await OfflineRows.ReadAsync(fs, "flights");

        Assert.That(report.RowsDropped, Is.EqualTo(bad.Length));
        Assert.That(report.RowsWritten, Is.EqualTo(20000 - bad.Length));
        Assert.That(report.DropReasons, Is.EqualTo(new[] { new DroppedRows("range [-60, 360]", "delay", bad.Length, bad[0] + 1, FlightData.All[bad[0]].Delay.ToString(CultureInfo.InvariantCulture)) }));
        Assert.That(rows.Select(r => (long)r["delay"]!).All(d => d is >= -60 and <= 360), Is.True);
        Assert.That(rows, Has.Count.EqualTo(20000 - bad.Length));
        var status = (await fs.GetInfoAsync("flights")).Status;
        Assert.That(status.Completed[report.IngestId].DropReasons, Is.EqualTo(report.DropReasons), "the stored report keeps the reasons");
    }

    [Test]
    public async Task Validate_WarnPolicy_KeepsRowsAndReportsWarnings()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date").Validate("delay", DelayRule, ValidationPolicy.Warn)
            .Validate("origin", FeatureRule.AllowedValues("LAS", "SFO"), ValidationPolicy.Warn).Build();
        var bad = Breaking;
        var notAllowed = Enumerable.Range(0, 20000).Where(i => FlightData.All[i].Origin is not ("LAS" or "SFO")).ToArray();

        var report = await fs.IngestAsync(set, DataSource.Json(TestProjects.FlightsJson), new() { ChunkSize = 3000 });

        Assert.That(report.RowsWritten, Is.EqualTo(20000));
        Assert.That(report.RowsDropped, Is.Zero);
        Assert.That(report.DropReasons, Is.Empty);
        Assert.That(report.Warnings, Is.EquivalentTo(new[]
        {
            new DroppedRows("range [-60, 360]", "delay", bad.Length, bad[0] + 1, FlightData.All[bad[0]].Delay.ToString(CultureInfo.InvariantCulture)),
            new DroppedRows("allowed values {LAS, SFO}", "origin", notAllowed.Length, notAllowed[0] + 1, FlightData.All[notAllowed[0]].Origin),
        }));
        Assert.That(await OfflineRows.ReadAsync(fs, "flights"), Has.Count.EqualTo(20000));
    }

    [Test]
    public async Task Validate_NotNullWithDropRow_DropsTheNullRows()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date").Validate("delay", FeatureRule.NotNull(), ValidationPolicy.DropRow).Build();

        var report = await fs.IngestAsync(set, DataSource.Json(WriteWithNulls(folder, "n.jsonl", FlightData.All.Take(100).ToArray(), i => i is 3 or 50)));

        Assert.That(report.RowsWritten, Is.EqualTo(98));
        Assert.That(report.DropReasons, Is.EqualTo(new[] { new DroppedRows("not null", "delay", 2, 4, null) }));
    }

    [Test]
    public async Task PushAsync_ValidatorsAndFilters_DropFailTheSameWayAsIngestion()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date")
            .Validate("delay", FeatureRule.Range(-60, 600), ValidationPolicy.DropRow)
            .Validate("distance", FeatureRule.Range(1, null))
            .Filter("not_to_honolulu", r => r.GetString("destination") != "HNL")
            .Build();
        await fs.IngestAsync(set, DataSource.Batches([FlightData.ToBatch(FlightData.All.Take(100).ToArray())]));
        IReadOnlyDictionary<string, object?> Event(string origin, long delay, long distance, string destination) => new Dictionary<string, object?>
        {
            ["date"] = "2001/04/01 10:00", ["delay"] = delay, ["distance"] = distance, ["origin"] = origin, ["destination"] = destination,
        };

        var push = await fs.PushAsync(set, [Event("AAA", 5, 100, "LAS"), Event("BBB", 900, 100, "LAS"), Event("CCC", 5, 100, "HNL")]);
        var e = Assert.ThrowsAsync<ValidationException>(() => fs.PushAsync(set, [Event("DDD", 5, 0, "LAS")]))!;

        Assert.That(push.Rows.Length, Is.EqualTo(1));
        Assert.That(Value(push.Rows, "origin", 0), Is.EqualTo("AAA"));
        Assert.That(push.DropReasons, Is.EqualTo(new[] { new DroppedRows("range [-60, 600]", "delay", 1, 2, "900") }));
        Assert.That(e.Message, Does.Contain("'distance'").And.Contain("row 1 ").And.Contain("range [1, inf]"));
        var vector = await fs.Vector("v").Select("flights.delay").SaveAsync();
        await using var online = await fs.GetOnlineServiceAsync(vector);
        var found = await online.GetManyAsync(new[] { "AAA", "BBB", "CCC", "DDD" }.Select(o => (IReadOnlyDictionary<string, object>)new Dictionary<string, object> { ["origin"] = o }).ToArray());
        Assert.That(found.Select(r => r.Found), Is.EqualTo(new[] { true, false, false, false }));
    }

    [Test]
    public async Task GetFeatureSetAsync_EveryBuiltInStep_RebuildsStepsThatComputeTheSame()
    {
        using var definedFolder = new TempFolder();
        using var reloadedFolder = new TempFolder();
        await using var defined = await TestProjects.OpenAsync(definedFolder);
        await using var reloaded = await TestProjects.OpenAsync(reloadedFolder);
        FeatureSet Define(FeatureStoreCatalog fs) => fs.FeatureSet("flights").Entity("origin").Timestamp("date")
            .Validate("delay", FeatureRule.Range(-60, 360), ValidationPolicy.DropRow)
            .Validate("destination", FeatureRule.AllowedValues("HNL"), ValidationPolicy.Warn)
            .Validate("origin", FeatureRule.Matches("^[A-Z]{3}$"))
            .Validate("distance", FeatureRule.NotNull(), ValidationPolicy.DropRow)
            .Impute("delay", ImputeStrategy.Median)
            .Impute("destination", ImputeStrategy.Constant, "UNK")
            .MapValues("distance", ranges: [new ValueRange(double.NegativeInfinity, 500, "short"), new ValueRange(500, double.PositiveInfinity, "long")], output: "haul")
            .MapValues("origin", map: new Dictionary<string, object> { ["LAS"] = 1, ["SFO"] = 2.5 }, output: "origin_code")
            .DateParts("date", DateParts.Hour | DateParts.DayOfWeek | DateParts.IsWeekend)
            .OneHot("destination", "LAS", "SFO")
            .Drop("date_hour")
            .Build();
        var flights = FlightData.All;
        var half = flights.Take(10_000).ToArray();
        var rest = flights.Skip(10_000).ToArray();

        await defined.FeatureStore.IngestAsync(Define(defined.FeatureStore), DataSource.Batches([FlightData.ToBatch(half)]));
        await defined.FeatureStore.IngestAsync(Define(defined.FeatureStore), DataSource.Batches([FlightData.ToBatch(rest)]));
        await reloaded.FeatureStore.IngestAsync(Define(reloaded.FeatureStore), DataSource.Batches([FlightData.ToBatch(half)]));
        var stored = await reloaded.FeatureStore.GetFeatureSetAsync("flights");
        var report = await reloaded.FeatureStore.IngestAsync(stored, DataSource.Batches([FlightData.ToBatch(rest)]));

        Assert.That(stored.Steps.Select(s => s.Kind), Is.EqualTo(new[]
        {
            "validate", "validate", "validate", "validate", "impute", "impute", "map-values", "map-values", "date-parts", "one-hot", "drop",
        }));
        Assert.That(stored.Steps.Select(s => s.Options.ToJsonString()), Is.EqualTo(Define(reloaded.FeatureStore).Steps.Select(s => s.Options.ToJsonString())));
        Assert.That(report.Version, Is.EqualTo(1), "the rebuilt set is the same definition");
        var expected = await OfflineRows.ReadAsync(defined.FeatureStore, "flights");
        var actual = await OfflineRows.ReadAsync(reloaded.FeatureStore, "flights");
        Assert.That(actual, Has.Count.EqualTo(expected.Count));
        for (var i = 0; i < expected.Count; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]), $"row {i}");
        Assert.That(expected[0].Keys, Is.EquivalentTo(new[]
        {
            "date", "delay", "distance", "origin", "haul", "origin_code", "date_day_of_week", "date_is_weekend", "destination_LAS", "destination_SFO",
        }));
    }

    // ---- custom steps ----

    /// <summary>A custom step: multiplies a column into a new one.</summary>
    private sealed class ScaleStep(string column, double factor, string output) : IFeatureStep
    {
        public ScaleStep(JsonObject o) : this((string)o["column"]!, (double)o["factor"]!, (string)o["output"]!) { }

        public double Factor => factor;

        public string Kind => "acme.scale";

        public JsonObject Options => new() { ["column"] = column, ["factor"] = factor, ["output"] = output };

        public IReadOnlyList<string> InputColumns => [column];

        public RecordBatch Process(RecordBatch batch, FeatureStepContext context)
        {
            var values = Arrays.ToDoubles(batch.Column(column)).Select(v => v * factor).ToArray();
            return Arrays.WithColumn(batch, output, Arrays.Doubles(values, values.Length));
        }
    }

    [Test]
    public async Task Register_CustomStep_RunsAndIsRebuiltByGetFeatureSetAsync()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        fs.Steps.Register("acme.scale", o => new ScaleStep(o));
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date").Step(new ScaleStep("distance", 1.609344, "distance_km")).Build();
        var flights = FlightData.All.Take(1000).ToArray();

        await fs.IngestAsync(set, DataSource.Batches([FlightData.ToBatch(flights)]));
        var stored = await fs.GetFeatureSetAsync("flights");
        var rows = await OfflineRows.ReadAsync(fs, "flights");

        Assert.That(stored.Steps.Single(), Is.InstanceOf<ScaleStep>());
        Assert.That(((ScaleStep)stored.Steps[0]).Factor, Is.EqualTo(1.609344));
        Assert.That(rows.Select(r => (double)r["distance_km"]!), Is.EqualTo(flights.Select(f => f.Distance * 1.609344)).Within(1e-9));

        // the rebuilt set ingests the same way
        await fs.IngestAsync(stored, DataSource.Batches([FlightData.ToBatch(FlightData.All.Skip(1000).Take(10).ToArray())]));
        Assert.That((await OfflineRows.ReadAsync(fs, "flights"))[^1]["distance_km"], Is.EqualTo(FlightData.All[1009].Distance * 1.609344).Within(1e-9));
    }

    [Test]
    public async Task Register_BuiltInKind_IsRejected()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);

        var e = Assert.Throws<ValidationException>(() => project.FeatureStore.Steps.Register("impute", o => new ScaleStep(o)))!;

        Assert.That(e.Message, Does.Contain("built in"));
    }

    [Test]
    public async Task GetFeatureSetAsync_UnregisteredCustomKind_ThrowsInvalidStateNamingTheKind()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.FeatureSet("flights").Entity("origin").Timestamp("date").Step(new ScaleStep("distance", 2, "d2")).SaveAsync();

        var e = Assert.ThrowsAsync<InvalidStateException>(() => fs.GetFeatureSetAsync("flights"))!;
        var e2 = Assert.ThrowsAsync<InvalidStateException>(() => fs.PushAsync(fs.FeatureSet("flights").Entity("origin").Timestamp("date").Build(), [FlightData.All[0].ToEvent()]))!;
        // a new definition (without the step) can still be saved and ingested: that needs only the stored schema
        var report = await fs.IngestAsync(fs.FeatureSet("flights").Entity("origin").Timestamp("date").Build(), DataSource.Batches([FlightData.ToBatch(FlightData.All.Take(5).ToArray())]));

        Assert.That(e.Message, Does.Contain("'acme.scale'").And.Contain("Steps.Register(\"acme.scale\""));
        Assert.That(e2.Message, Does.Contain("'acme.scale'"), "a push runs the stored steps");
        Assert.That(report.Version, Is.EqualTo(2));
    }

    [Test]
    public async Task GetFeatureSetAsync_ComputeStepOfAnotherProcess_ThrowsInvalidStateNamingTheStep()
    {
        using var folder = new TempFolder();
        await using (var project = await TestProjects.OpenAsync(folder))
            await project.FeatureStore.FeatureSet("flights").Entity("origin").Timestamp("date").Compute("double_delay", r => r.GetDouble("delay") * 2).SaveAsync();

        await using var reopened = await TestProjects.OpenAsync(folder);
        var e = Assert.ThrowsAsync<InvalidStateException>(() => reopened.FeatureStore.GetFeatureSetAsync("flights"))!;

        Assert.That(e.Message, Does.Contain("compute step 'double_delay'").And.Contain("user code"));
    }

    private sealed record IngestProgressSnapshot(long Read, long Written, long Dropped);
}
