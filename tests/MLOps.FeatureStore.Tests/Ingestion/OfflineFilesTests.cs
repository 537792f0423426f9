using DuckDB.NET.Data;
using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Offline;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.TestSupport;

namespace MLOps.FeatureStore.Tests.Ingestion;

public class OfflineFilesTests
{
    [Test]
    public async Task IngestAsync_ShuffledRowsOverMorePartitionsThanOpenFiles_CommitsEveryRowInSeveralFilesPerPartition()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var shuffled = FlightData.All.OrderBy(f => (f.Time.Ticks * 7919) % 10007).ToArray();
        var set = fs.FeatureSet("daily").Entity("origin").Timestamp("date").PartitionBy(PartitionGranularity.Day).Build();

        var report = await fs.IngestAsync(set, DataSource.Batches(FlightData.ToBatches(shuffled, 2500)), new() { ChunkSize = 2500 });

        var partitions = report.OfflineFiles.Select(Path.GetDirectoryName).Distinct().Count();
        Assert.That(partitions, Is.GreaterThan(OfflineWriteSession.MaxOpenFiles), "the flights span more days than files may be open");
        Assert.That(report.OfflineFiles.Count, Is.GreaterThan(partitions), "a partition closed early gets a second file");
        Assert.That(Directory.EnumerateFiles(fs.OfflineRoot, "*.tmp", SearchOption.AllDirectories), Is.Empty);
        using var duck = new DuckDBConnection("Data Source=:memory:");
        duck.Open();
        using var cmd = duck.CreateCommand();
        cmd.CommandText = $"SELECT count(*), sum(delay) FROM read_parquet('{Path.Combine(fs.OfflineRoot, project.Name, "daily").Replace('\\', '/')}/**/*.parquet', hive_partitioning = false)";
        using var reader = cmd.ExecuteReader();
        Assert.That(reader.Read(), Is.True);
        Assert.That(Convert.ToInt64(reader.GetValue(0)), Is.EqualTo(20_000));
        Assert.That(reader.GetValue(1).ToString(), Is.EqualTo(FlightData.All.Sum(f => (long)f.Delay).ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }
}

public class ChunkBoundaryTests
{
    [TestCase(48)]    // rows 47 and 48 are two LAS departures at 2001/01/01 09:50: the boundary falls between them
    [TestCase(997)]
    [TestCase(5000)]
    public async Task IngestAsync_TieOfEqualTimesAcrossAChunkBoundary_SameAggregatesAsOneChunk(int chunkSize)
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        FeatureSet Define(string name) => fs.FeatureSet(name).Entity("origin").Timestamp("date")
            .Aggregate("delay", AggregationOp.Count | AggregationOp.Sum | AggregationOp.Last, "1h").Build();

        await fs.IngestAsync(Define("whole"), DataSource.Json(TestProjects.FlightsJson), new() { ChunkSize = 100_000 });
        await fs.IngestAsync(Define("chunked"), DataSource.Json(TestProjects.FlightsJson), new() { ChunkSize = chunkSize });

        var whole = await OfflineRows.ReadAsync(fs, "whole");
        var chunked = await OfflineRows.ReadAsync(fs, "chunked");
        Assert.That(chunked, Has.Count.EqualTo(20_000));
        for (var i = 0; i < whole.Count; i++)
            foreach (var column in new[] { "date", "origin", "delay", "delay_count_1h", "delay_sum_1h", "delay_last_1h" })
                Assert.That(chunked[i][column], Is.EqualTo(whole[i][column]), $"row {i + 1}, {column}");
        Assert.That(whole[47]["delay_count_1h"], Is.EqualTo(whole[48]["delay_count_1h"]), "the two LAS departures at 09:50 see each other");
    }
}
