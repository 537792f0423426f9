using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.TestSupport;
using MLOps.FeatureStore.Vectors;
using static MLOps.FeatureStore.Tests.Retrieval.AsOfData;

namespace MLOps.FeatureStore.Tests.Retrieval;

/// <summary>
/// The pandas oracle (tests/oracles/asof_oracle.py) through the public API end to end: features.csv ingested into the
/// day-partitioned offline Parquet store with <c>IngestAsync</c>, then <c>GetOfflineFeaturesAsync</c> for the entity
/// rows of entities.csv, checked row by row against expected.csv (no time limit) and expected_ttl.csv (Ttl = 2 h).
/// Ties of (origin, ts) in features.csv must go to the row ingested last, as pandas' stable sort gives.
/// </summary>
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class OfflineRetrievalOracleTests
{
    private TempFolder _temp = null!;

    [SetUp]
    public void SetUp() => _temp = new TempFolder();

    [TearDown]
    public void TearDown() => _temp.Dispose();

    [TestCase(false)]
    [TestCase(true)]
    public async Task GetOfflineFeaturesAsync_CsvIngestedOnceCsvEntityRows_EqualsPandasOracle(bool ttl)
    {
        await using var project = await TestProjects.OpenAsync(_temp);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("ts").Targets(offline: true, online: false).Build();
        var report = await fs.IngestAsync(set, DataSource.Csv(TestProjects.Data("asof/features.csv")));
        Assert.That(report.RowsWritten, Is.EqualTo(FeatureRows.Count));
        Assert.That(report.OfflineFiles, Has.Count.GreaterThan(1), "day partitions: several files to read");

        using var training = await fs.GetOfflineFeaturesAsync(Vector(fs), DataSource.Csv(TestProjects.Data("asof/entities.csv")), Options(ttl));

        AssertEqualsOracle(training, ttl ? ExpectedTtlRows : ExpectedRows);
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task GetOfflineFeaturesAsync_IngestedInThreePartsBatchEntityRows_EqualsPandasOracle(bool ttl)
    {
        await using var project = await TestProjects.OpenAsync(_temp);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("ts").Targets(offline: true, online: false).Build();

        // three ingestions in file order: a tie across two of them goes to the later one, as within one
        foreach (var part in FeatureRows.ToBatches(7000, 13000))
            await fs.IngestAsync(set, DataSource.Batches([part]));
        using var entities = EntityRows.ToBatch();

        // twice with the same batch: disposing a result leaves the caller's entity rows intact
        for (var round = 0; round < 2; round++)
        {
            using var training = await fs.GetOfflineFeaturesAsync(Vector(fs), entities, Options(ttl));
            AssertEqualsOracle(training, ttl ? ExpectedTtlRows : ExpectedRows);
        }

        Assert.That(((TimestampArray)entities.Column("ts")).Values.ToArray(), Is.EqualTo(EntityRows.Ts));
    }

    private static FeatureVector Vector(FeatureStoreCatalog fs) => fs.Vector("oracle").Select("flights.delay", "flights.distance").Build();

    private static OfflineFeaturesOptions Options(bool ttl) => new() { TimestampColumn = "ts", Ttl = ttl ? TimeSpan.FromHours(2) : null };

    private static void AssertEqualsOracle(OfflineFeatures training, Expected[] expected)
    {
        var batch = training.Batch;
        Assert.That(batch.Schema.FieldsList.Select(f => f.Name), Is.EqualTo(new[] { "row", "origin", "ts", "delay", "distance" }));
        Assert.That(training.RowCount, Is.EqualTo(expected.Length));
        var row = (Int64Array)batch.Column("row");
        var origin = (StringArray)batch.Column("origin");
        var ts = (TimestampArray)batch.Column("ts");
        var delay = (Int64Array)batch.Column("delay");
        var distance = (Int64Array)batch.Column("distance");
        var mismatches = new List<string>();
        for (var i = 0; i < expected.Length; i++)
        {
            var e = expected[i];
            var actual = (row.GetValue(i), origin.GetString(i), ts.Values[i], delay.GetValue(i), distance.GetValue(i));
            if (actual != (e.Row, e.Origin, e.Ts, e.Delay, e.Distance))
                mismatches.Add($"row {i}: got {actual}, pandas {(e.Row, e.Origin, e.Ts, e.Delay, e.Distance)}");
        }

        Assert.That(mismatches, Is.Empty);
        Assert.That(expected.Count(e => e.Delay is null), Is.GreaterThan(0), "the fixture has entity rows without a match");
    }
}
