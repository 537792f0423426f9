using System.Globalization;
using Microsoft.ML;
using MLOps.Artifacts;
using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.Retrieval;
using MLOps.FeatureStore.Tests.TestSupport;
using MLOps.FeatureStore.Vectors;

namespace MLOps.FeatureStore.Tests.Vectors;

[Parallelizable(ParallelScope.All)]
public sealed class OfflineRetrievalTests
{
    private static object? Value(RecordBatch batch, string column, int row) => Arrays.ValueAt(batch.Column(column), row).ToObject();

    // ---- the pandas merge_asof oracle through the public API ----

    private static async Task<FeatureVector> IngestOracleFeaturesAsync(FeatureStoreCatalog fs, PartitionGranularity partitioning, int chunkSize)
    {
        var set = fs.FeatureSet("delays").Entity("origin").Timestamp("ts").PartitionBy(partitioning).Build();
        var report = await fs.IngestAsync(set, DataSource.Csv(TestProjects.Data("asof/features.csv")), new() { ChunkSize = chunkSize });
        Assert.That(report.RowsWritten, Is.EqualTo(20000));
        return await fs.Vector("oracle").Select("delays.delay", "delays.distance").SaveAsync();
    }

    private static void AssertEqualsOracle(OfflineFeatures training, AsOfData.Expected[] expected)
    {
        Assert.That(training.RowCount, Is.EqualTo(expected.Length));
        Assert.That(training.Schema.FieldsList.Select(f => f.Name), Is.EqualTo(new[] { "row", "origin", "ts", "delay", "distance" }));
        var mismatches = new List<string>();
        for (var i = 0; i < expected.Length; i++)
        {
            var e = expected[i];
            var actual = (Row: Value(training.Batch, "row", i), Origin: Value(training.Batch, "origin", i), Ts: FlightData.Micros((DateTimeOffset)Value(training.Batch, "ts", i)!),
                Delay: Value(training.Batch, "delay", i), Distance: Value(training.Batch, "distance", i));
            if (!Equals(actual.Row, e.Row) || !Equals(actual.Origin, e.Origin) || actual.Ts != e.Ts || !Equals(actual.Delay, e.Delay) || !Equals(actual.Distance, e.Distance))
                mismatches.Add($"entity row {i}: expected {e}, got {actual}");
        }

        Assert.That(mismatches, Is.Empty, string.Join(Environment.NewLine, mismatches.Take(10)));
    }

    [TestCase(PartitionGranularity.None, 100_000)]
    [TestCase(PartitionGranularity.Day, 3000)]
    public async Task GetOfflineFeaturesAsync_OracleEntityRows_EqualPandasMergeAsof(PartitionGranularity partitioning, int chunkSize)
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var vector = await IngestOracleFeaturesAsync(fs, partitioning, chunkSize);

        using var training = await fs.GetOfflineFeaturesAsync(vector, DataSource.Csv(TestProjects.Data("asof/entities.csv")));

        AssertEqualsOracle(training, AsOfData.ExpectedRows);
        Assert.That(training.EntityColumns, Is.EqualTo(new[] { "origin" }));
        Assert.That(training.TimestampColumn, Is.EqualTo("ts"));
        Assert.That(training.FeatureNames, Is.EqualTo(new[] { "delay", "distance" }));
        Assert.That(training.LabelColumn, Is.Null);
    }

    [TestCase(PartitionGranularity.None)]
    [TestCase(PartitionGranularity.Day)]
    public async Task GetOfflineFeaturesAsync_OracleEntityRowsWithTtl_EqualPandasMergeAsofWithTolerance(PartitionGranularity partitioning)
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var vector = await IngestOracleFeaturesAsync(fs, partitioning, 7000);

        using var training = await fs.GetOfflineFeaturesAsync(vector, DataSource.Csv(TestProjects.Data("asof/entities.csv")), new() { Ttl = TimeSpan.FromHours(2) });

        AssertEqualsOracle(training, AsOfData.ExpectedTtlRows);
    }

    [Test]
    public async Task GetOfflineFeaturesAsync_EntityRowsInSeveralChunks_EqualPandasMergeAsof()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var vector = await IngestOracleFeaturesAsync(fs, PartitionGranularity.Month, 20000);
        var entities = File.ReadAllLines(TestProjects.Data("asof/entities.csv"));
        var path = folder.File("many.csv");
        const int Copies = 25; // 75,000 rows: more than one 65,536-row chunk
        File.WriteAllLines(path, Enumerable.Range(0, Copies).SelectMany(c => entities.Skip(1)).Prepend(entities[0]));

        using var training = await fs.GetOfflineFeaturesAsync(vector, DataSource.Csv(path));

        AssertEqualsOracle(training, Enumerable.Range(0, Copies).SelectMany(_ => AsOfData.ExpectedRows).ToArray());
    }

    // ---- without entity rows ----

    [Test]
    public async Task GetOfflineFeaturesAsync_TimeRangeWithoutEntityRows_ReturnsThePrimaryRowsInTheRangeInclusive()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.IngestAsync(fs.FeatureSet("flights").Entity("origin").Timestamp("date").Build(), DataSource.Json(TestProjects.FlightsJson), new() { ChunkSize = 5000 });
        var vector = await fs.Vector("v").Select("flights.delay", "flights.destination").SaveAsync();
        var flights = FlightData.All;
        var start = new DateTimeOffset(flights[3000].Time);
        var end = new DateTimeOffset(flights[9000].Time);

        using var training = await fs.GetOfflineFeaturesAsync(vector, options: new() { Start = start, End = end });
        using var all = await fs.GetOfflineFeaturesAsync(vector);

        var expected = flights.Where(f => f.Time >= start && f.Time <= end).ToArray();
        Assert.That(expected.First().Time, Is.EqualTo(start.UtcDateTime));
        Assert.That(expected.Last().Time, Is.EqualTo(end.UtcDateTime));
        Assert.That(training.Schema.FieldsList.Select(f => f.Name), Is.EqualTo(new[] { "origin", "date", "delay", "destination" }));
        Assert.That(training.RowCount, Is.EqualTo(expected.Length));
        var rows = Enumerable.Range(0, training.RowCount)
            .Select(i => ((DateTimeOffset)Value(training.Batch, "date", i)!, (string)Value(training.Batch, "origin", i)!, (long)Value(training.Batch, "delay", i)!, (string)Value(training.Batch, "destination", i)!))
            .OrderBy(r => r.Item1).ThenBy(r => r.Item2, StringComparer.Ordinal).ThenBy(r => r.Item3).ThenBy(r => r.Item4, StringComparer.Ordinal).ToArray();
        var wanted = expected.Select(f => (new DateTimeOffset(f.Time), f.Origin, f.Delay, f.Destination))
            .OrderBy(r => r.Item1).ThenBy(r => r.Origin, StringComparer.Ordinal).ThenBy(r => r.Delay).ThenBy(r => r.Destination, StringComparer.Ordinal).ToArray();
        Assert.That(rows, Is.EqualTo(wanted));
        Assert.That(all.RowCount, Is.EqualTo(20000));
    }

    // ---- relations and labels ----

    private static async Task<FeatureVector> IngestFlightsAndAirportsAsync(FeatureStoreCatalog fs)
    {
        var delays = fs.FeatureSet("flight_delays").Entity("origin").Timestamp("date")
            .Compute("is_delayed", r => r.GetDouble("delay") > 15)
            .Label("is_delayed")
            .Aggregate("delay", AggregationOp.Avg | AggregationOp.Count, "1d")
            .Build();
        await fs.IngestAsync(delays, DataSource.Json(TestProjects.FlightsJson));
        await fs.IngestAsync(fs.FeatureSet("airports").Entity("iata").Build(), DataSource.Csv(TestProjects.AirportsCsv));
        return await fs.Vector("delay_model")
            .Select("flight_delays.delay_avg_1d", "flight_delays.delay_count_1d", "flight_delays.distance", "airports.state as origin_state", "airports.latitude")
            .Relation("flight_delays.origin", "airports")
            .Label("flight_delays.is_delayed")
            .SaveAsync();
    }

    private static Dictionary<string, string[]> Airports()
        => File.ReadLines(TestProjects.AirportsCsv).Skip(1).Select(SplitCsv).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Last());

    /// <summary>Splits a CSV line with RFC 4180 quoting (airport names hold commas).</summary>
    private static string[] SplitCsv(string line)
    {
        var fields = new List<string>();
        var current = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { current.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else current.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(current.ToString()); current.Clear(); }
            else current.Append(c);
        }

        fields.Add(current.ToString());
        return [.. fields];
    }

    [Test]
    public async Task GetOfflineFeaturesAsync_RelationToAirportsAndLabel_JoinsEveryFlight()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var vector = await IngestFlightsAndAirportsAsync(fs);
        var flights = FlightData.All;
        var airports = Airports();

        using var training = await fs.GetOfflineFeaturesAsync(vector, DataSource.Objects(flights.Select(f => new { origin = f.Origin, date = f.Time })));

        Assert.That(training.RowCount, Is.EqualTo(20000));
        Assert.That(training.Schema.FieldsList.Select(f => f.Name), Is.EqualTo(new[] { "origin", "date", "delay_avg_1d", "delay_count_1d", "distance", "origin_state", "latitude", "is_delayed" }));
        Assert.That(training.FeatureNames, Is.EqualTo(new[] { "delay_avg_1d", "delay_count_1d", "distance", "origin_state", "latitude" }));
        Assert.That(training.LabelColumn, Is.EqualTo("is_delayed"));
        for (var i = 0; i < flights.Count; i += 97)
        {
            var f = flights[i];
            var airport = airports.GetValueOrDefault(f.Origin);
            Assert.That(Value(training.Batch, "origin_state", i), Is.EqualTo(airport?[3]), $"row {i} {f.Origin}");
            Assert.That(Value(training.Batch, "latitude", i), Is.EqualTo(airport is null ? null : double.Parse(airport[5], CultureInfo.InvariantCulture)), $"row {i}");
        }

        // the label and distance of each flight are its own row's (the entity rows are the flights themselves; ties of
        // (origin, minute) take the last ingested row)
        var last = Enumerable.Range(0, flights.Count).GroupBy(i => (flights[i].Origin, flights[i].Date)).ToDictionary(g => g.Key, g => flights[g.Last()]);
        for (var i = 0; i < flights.Count; i++)
        {
            var own = last[(flights[i].Origin, flights[i].Date)];
            Assert.That(Value(training.Batch, "is_delayed", i), Is.EqualTo(own.Delay > 15), $"row {i}");
            Assert.That(Value(training.Batch, "distance", i), Is.EqualTo(own.Distance), $"row {i}");
        }
    }

    [Test]
    public async Task GetOfflineFeaturesAsync_EntityRowsWithOtherTimeColumnAndAColumnNamedLikeAFeature_PrefixesTheFeature()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var vector = await IngestFlightsAndAirportsAsync(fs);
        var flights = FlightData.All.Take(300).ToArray();

        using var training = await fs.GetOfflineFeaturesAsync(vector, DataSource.Objects(flights.Select(f => new { origin = f.Origin, when = f.Time, distance = -1L })),
            new() { TimestampColumn = "when" });

        Assert.That(training.Schema.FieldsList.Select(f => f.Name), Is.EqualTo(new[]
        {
            "origin", "when", "distance", "delay_avg_1d", "delay_count_1d", "flight_delays.distance", "origin_state", "latitude", "is_delayed",
        }));
        Assert.That(training.TimestampColumn, Is.EqualTo("when"));
        Assert.That(training.FeatureNames, Is.EqualTo(new[] { "delay_avg_1d", "delay_count_1d", "flight_delays.distance", "origin_state", "latitude" }), "the names of the columns");
        Assert.That(Value(training.Batch, "distance", 5), Is.EqualTo(-1L), "the entity rows' own column is passed through");
        Assert.That(Value(training.Batch, "flight_delays.distance", 0), Is.EqualTo(flights[0].Distance));
        var view = training.ToDataView();
        Assert.That(training.FeatureNames.All(n => view.Schema.GetColumnOrNull(n) is not null), Is.True);
    }

    [Test]
    public async Task GetOfflineFeaturesAsync_TimeRangeWithARelation_JoinsTheRelatedSet()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var vector = await IngestFlightsAndAirportsAsync(fs);
        var flights = FlightData.All;
        var airports = Airports();

        using var training = await fs.GetOfflineFeaturesAsync(vector, options: new() { End = new DateTimeOffset(flights[999].Time) });

        Assert.That(training.RowCount, Is.EqualTo(flights.Count(f => f.Time <= flights[999].Time)));
        for (var i = 0; i < training.RowCount; i++)
        {
            var origin = (string)Value(training.Batch, "origin", i)!;
            Assert.That(Value(training.Batch, "origin_state", i), Is.EqualTo(airports.GetValueOrDefault(origin)?[3]), origin);
        }
    }

    [Test]
    public async Task GetOfflineFeaturesAsync_StaticPrimarySetWithoutTimes_ReturnsTheLatestIngestedRows()
    {
        using var folder = new TempFolder();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var project = await TestProjects.OpenAsync(folder, time: time);
        var fs = project.FeatureStore;
        var airports = fs.FeatureSet("airports").Entity("iata").Build();
        await fs.IngestAsync(airports, DataSource.Csv(TestProjects.AirportsCsv));
        time.Advance(TimeSpan.FromDays(1));
        await fs.PushAsync(airports, [new Dictionary<string, object?> { ["iata"] = "SFO", ["name"] = "San Francisco International", ["city"] = "San Francisco", ["state"] = "CA", ["country"] = "USA", ["latitude"] = 37.62, ["longitude"] = -122.37 }]);
        await fs.IngestAsync(airports, DataSource.Objects([new { iata = "LAS", name = "Harry Reid", city = "Las Vegas", state = "NV", country = "USA", latitude = 36.08, longitude = -115.15 }]));
        var vector = await fs.Vector("airport").Select("airports.name", "airports.state").SaveAsync();

        using var training = await fs.GetOfflineFeaturesAsync(vector, DataSource.Objects([new { iata = "LAS" }, new { iata = "SFO" }, new { iata = "ZZZ" }]));
        await using var online = await fs.GetOnlineServiceAsync(vector);

        Assert.That(training.Schema.FieldsList.Select(f => f.Name), Is.EqualTo(new[] { "iata", "name", "state" }));
        Assert.That(Value(training.Batch, "name", 0), Is.EqualTo("Harry Reid"), "the later ingestion wins");
        Assert.That(Value(training.Batch, "name", 1), Is.EqualTo(Airports()["SFO"][1]), "pushes are online only");
        Assert.That(Value(training.Batch, "name", 2), Is.Null);
        Assert.That((await online.GetAsync(new Dictionary<string, object> { ["iata"] = "SFO" }))["name"], Is.EqualTo("San Francisco International"));
        Assert.That((await online.GetAsync(new Dictionary<string, object> { ["iata"] = "LAS" }))["name"], Is.EqualTo("Harry Reid"));
    }

    [Test]
    public async Task ToDataView_TrainingSet_TrainsAFastTreeModel()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var vector = await IngestFlightsAndAirportsAsync(fs);
        using var training = await fs.GetOfflineFeaturesAsync(vector, DataSource.Json(TestProjects.FlightsJson), new() { TimestampColumn = "date" });
        var ml = new MLContext(seed: 1);

        var data = training.ToDataView();
        var pipeline = ml.Transforms.Concatenate("Features", "delay_avg_1d", "delay_count_1d", "distance", "latitude")
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: "is_delayed", featureColumnName: "Features", numberOfLeaves: 8, numberOfTrees: 20, minimumExampleCountPerLeaf: 20));
        var model = pipeline.Fit(data);
        var metrics = ml.BinaryClassification.Evaluate(model.Transform(data), labelColumnName: "is_delayed");

        Assert.That(data.Schema["delay_avg_1d"].Type, Is.EqualTo(Microsoft.ML.Data.NumberDataViewType.Single));
        Assert.That(data.Schema["is_delayed"].Type, Is.EqualTo(Microsoft.ML.Data.BooleanDataViewType.Instance));
        Assert.That(data.GetRowCount(), Is.EqualTo(20000));
        Assert.That(metrics.AreaUnderRocCurve, Is.GreaterThan(0.7));
    }

    [Test]
    public async Task SaveAsParquetAsync_TrainingSet_IsReadableBack()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var vector = await IngestFlightsAndAirportsAsync(fs);
        using var training = await fs.GetOfflineFeaturesAsync(vector, DataSource.Json(TestProjects.FlightsJson));
        var path = folder.File("out/training.parquet");

        await training.SaveAsParquetAsync(path);

        var read = new List<RecordBatch>();
        await foreach (var b in DatasetReader.ReadAsync(path, DatasetFormat.Parquet)) read.Add(b);
        Assert.That(read.Sum(b => b.Length), Is.EqualTo(20000));
        Assert.That(read[0].Schema.FieldsList.Select(f => f.Name), Is.EqualTo(training.Schema.FieldsList.Select(f => f.Name)));
        var states = read.SelectMany(b => Enumerable.Range(0, b.Length).Select(i => Value(b, "origin_state", i))).ToArray();
        Assert.That(states, Is.EqualTo(Enumerable.Range(0, 20000).Select(i => Value(training.Batch, "origin_state", i))));
        var averages = read.SelectMany(b => Enumerable.Range(0, b.Length).Select(i => Value(b, "delay_avg_1d", i))).ToArray();
        Assert.That(averages, Is.EqualTo(Enumerable.Range(0, 20000).Select(i => Value(training.Batch, "delay_avg_1d", i))));
        Assert.That(Directory.GetFiles(folder.File("out")), Is.EqualTo(new[] { path }), "no temporary file is left");
        foreach (var b in read) b.Dispose();
    }

    [Test]
    public async Task LogAsInputAsync_TrainingSet_IsARunInputDataset()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var vector = await IngestFlightsAndAirportsAsync(fs);
        using var training = await fs.GetOfflineFeaturesAsync(vector, DataSource.Json(TestProjects.FlightsJson));
        string runId;
        ArtifactRecord record;

        await using (var run = await project.Runs.StartAsync("train"))
        {
            runId = run.Id;
            record = await training.LogAsInputAsync(run, "training-set");
        }

        var stored = await project.Runs.GetAsync(runId);
        Assert.That(stored.Inputs["training-set"], Is.EqualTo(record.Uri));
        Assert.That(record.Kind, Is.EqualTo(ArtifactKind.Dataset));
    }
}
