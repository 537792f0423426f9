using DuckDB.NET.Data;
using MLOps.Artifacts;
using MLOps.FeatureStore.Tests.TestSupport;
using static MLOps.FeatureStore.Tests.Retrieval.AsOfData;

namespace MLOps.FeatureStore.Tests.Retrieval;

/// <summary>
/// A second reader of the point-in-time fixtures: the flights written as Parquet with <see cref="DatasetWriter.WriteParquetAsync"/>,
/// joined by DuckDB's <c>ASOF LEFT JOIN</c> and by our engine over <see cref="DatasetReader.ReadAsync"/>, both checked
/// against the pandas oracle (expected.csv, expected_ttl.csv).
/// </summary>
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class DuckDbCrossCheckTests
{
    private TempFolder _temp = null!;

    [SetUp]
    public void SetUp() => _temp = new TempFolder();

    [TearDown]
    public void TearDown() => _temp.Dispose();

    [Test]
    public async Task AsofLeftJoin_DuckDbOverParquet_EqualsPandasExceptTies()
    {
        var (features, entities) = await WriteParquetAsync();
        var rows = DuckDbAsOf(features, entities);
        var expected = ExpectedRows;
        var expectedTtl = ExpectedTtlRows;
        Assert.That(rows, Has.Count.EqualTo(expected.Length));

        // DuckDB's ASOF join picks one of the right rows that tie on (origin, ts) without saying which (its sort is not
        // stable on the input order), where pandas and our engine pick the last ingested. Those rows are only checked to
        // hold one of the tied values; every other row must equal pandas exactly.
        var f = FeatureRows;
        var tied = Enumerable.Range(0, f.Count).GroupBy(i => (f.Origin[i], f.Ts[i])).Where(g => g.Count() > 1)
            .ToDictionary(g => g.Key, g => g.Select(i => ((long?)f.Delay[i], (long?)f.Distance[i])).ToArray());
        var ties = 0;
        var tiesAsPandas = 0;
        var mismatches = new List<string>();
        for (var i = 0; i < expected.Length; i++)
        {
            var (row, origin, matchedTs, delay, distance, ageMicros) = rows[i];
            Assert.That(row, Is.EqualTo(expected[i].Row));
            var withinTtl = ageMicros is <= TwoHours;
            var ttl = withinTtl ? (delay, distance) : (null, null);
            if (matchedTs is { } t && tied.TryGetValue((origin, t), out var candidates))
            {
                ties++;
                if ((delay, distance) == (expected[i].Delay, expected[i].Distance)) tiesAsPandas++;
                if (!candidates.Contains((delay, distance)) || expected[i].Delay is null || (expectedTtl[i].Delay is null) == withinTtl)
                    mismatches.Add($"tie row {row}: DuckDB {delay}/{distance} is not one of the tied rows, or the 2h window disagrees with pandas");
                continue;
            }

            if ((delay, distance) != (expected[i].Delay, expected[i].Distance))
                mismatches.Add($"row {row}: DuckDB {delay}/{distance}, pandas {expected[i].Delay}/{expected[i].Distance}");
            if (ttl != (expectedTtl[i].Delay, expectedTtl[i].Distance))
                mismatches.Add($"row {row} within 2h: DuckDB {ttl.delay}/{ttl.distance}, pandas {expectedTtl[i].Delay}/{expectedTtl[i].Distance}");
        }

        Assert.That(mismatches, Is.Empty);
        Assert.That(ties, Is.GreaterThan(75), "the fixture has entity rows that hit ties");
        TestContext.Out.WriteLine($"{ties} entity rows hit tied feature rows; DuckDB chose the row pandas chose for {tiesAsPandas} of them.");
    }

    [Test]
    public async Task Match_OverParquetReadBack_EqualsPandas()
    {
        var (features, entities) = await WriteParquetAsync();
        var featureBatches = await ReadAllAsync(features, batchSize: 4096);
        var entityBatches = await ReadAllAsync(entities, batchSize: 100_000);
        Assert.That(featureBatches, Has.Count.GreaterThan(1), "several chunks on the right");
        Assert.That(entityBatches, Has.Count.EqualTo(1));

        foreach (var (tolerance, expected) in new[] { ((long?)null, ExpectedRows), (TwoHours, ExpectedTtlRows) })
        {
            var joined = Join(featureBatches, entityBatches[0], tolerance);
            var rows = (Int64Array)entityBatches[0].Column("row");
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.That(rows.GetValue(i), Is.EqualTo(expected[i].Row));
                Assert.That((joined.Delay.GetValue(i), joined.Distance.GetValue(i)), Is.EqualTo((expected[i].Delay, expected[i].Distance)), $"row {i}, tolerance {tolerance}");
            }
        }

        foreach (var b in featureBatches.Concat(entityBatches)) b.Dispose();
    }

    /// <summary>Writes features.csv (in 5 row groups) and entities.csv as Parquet files.</summary>
    private async Task<(string Features, string Entities)> WriteParquetAsync()
    {
        var features = _temp.File("features.parquet");
        var entities = _temp.File("entities.parquet");
        await using (var stream = File.Create(features))
            await DatasetWriter.WriteParquetAsync(FeatureRows.ToBatches(4000, 8000, 12000, 16000), stream, CancellationToken.None);
        await using (var stream = File.Create(entities))
            await DatasetWriter.WriteParquetAsync([EntityRows.ToBatch()], stream, CancellationToken.None);
        return (features, entities);
    }

    private static async Task<List<RecordBatch>> ReadAllAsync(string path, int batchSize)
    {
        var batches = new List<RecordBatch>();
        await foreach (var b in DatasetReader.ReadAsync(path, DatasetFormat.Parquet, batchSize)) batches.Add(b);
        return batches;
    }

    /// <summary>DuckDB's as-of join of the entities against the features, in entity row order.</summary>
    private static List<(long Row, string Origin, long? MatchedTs, long? Delay, long? Distance, long? AgeMicros)> DuckDbAsOf(string features, string entities)
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT e.row, e.origin, epoch_us(f.ts), f.delay, f.distance, epoch_us(e.ts) - epoch_us(f.ts)
            FROM read_parquet('{Quote(entities)}') e
            ASOF LEFT JOIN read_parquet('{Quote(features)}') f ON e.origin = f.origin AND e.ts >= f.ts
            ORDER BY e.row
            """;
        using var reader = command.ExecuteReader();
        var rows = new List<(long, string, long?, long?, long?, long?)>();
        while (reader.Read())
        {
            rows.Add((reader.GetInt64(0), reader.GetString(1), Nullable(reader, 2), Nullable(reader, 3), Nullable(reader, 4), Nullable(reader, 5)));
        }

        return rows;
    }

    private static long? Nullable(DuckDBDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    private static string Quote(string path) => path.Replace("'", "''");
}
