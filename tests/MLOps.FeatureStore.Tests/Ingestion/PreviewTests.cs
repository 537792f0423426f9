using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.TestSupport;
using MLOps.FeatureStore.Transformations;

namespace MLOps.FeatureStore.Tests.Ingestion;

[Parallelizable(ParallelScope.All)]
public sealed class PreviewTests
{
    private static FeatureSet Define(FeatureStoreCatalog fs)
        => fs.FeatureSet("flights").Entity("origin").Timestamp("date")
            .DateParts("date", DateParts.Hour)
            .Aggregate("delay", AggregationOp.Count | AggregationOp.Avg, "1d")
            .Build();

    private static object?[] Column(RecordBatch batch, string column) => Enumerable.Range(0, batch.Length).Select(i => Arrays.ValueAt(batch.Column(column), i).ToObject()).ToArray();

    [Test]
    public async Task PreviewAsync_NewSet_ComputesTheFirstRowsAndWritesNothing()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;

        var preview = await fs.PreviewAsync(Define(fs), DataSource.Json(TestProjects.FlightsJson), rows: 50);

        Assert.That(preview.RowsRead, Is.EqualTo(50));
        Assert.That(preview.Rows.Length, Is.EqualTo(50));
        Assert.That(preview.Rows.Schema.FieldsList.Select(f => f.Name), Is.EqualTo(new[] { "date", "delay", "distance", "origin", "destination", "date_hour", "delay_count_1d", "delay_avg_1d" }));
        Assert.That(Column(preview.Rows, "date_hour"), Is.EqualTo(FlightData.All.Take(50).Select(f => (object)(long)f.Time.Hour)));
        Assert.That(preview.Statistics.RowCount, Is.EqualTo(50));
        Assert.That(await fs.ListFeatureSetsAsync(), Is.Empty);
        Assert.That(Directory.Exists(fs.OfflineRoot), Is.False);
    }

    [Test]
    public async Task PreviewAsync_StoredSetWithAggregations_ContinuesTheStoredWindowsWithoutAdvancingThem()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var flights = FlightData.All;
        var cut = Enumerable.Range(15_000, 1000).First(i => flights[i].Date != flights[i - 1].Date);
        await fs.IngestAsync(Define(fs), DataSource.Batches([FlightData.ToBatch(flights.Take(cut).ToArray())]));
        var rest = flights.Skip(cut).ToArray();

        var first = await fs.PreviewAsync(Define(fs), DataSource.Batches([FlightData.ToBatch(rest)]), rows: 300);
        var second = await fs.PreviewAsync(Define(fs), DataSource.Batches([FlightData.ToBatch(rest)]), rows: 300);
        await fs.IngestAsync(Define(fs), DataSource.Batches([FlightData.ToBatch(rest)]));
        var ingested = (await OfflineRows.ReadAsync(fs, "flights")).Skip(cut).Take(300).ToArray();

        Assert.That(Column(second.Rows, "delay_count_1d"), Is.EqualTo(Column(first.Rows, "delay_count_1d")), "a preview does not save window state");
        // the last rows of the preview may share a timestamp with rows past the sample, which the ingestion sees too
        var comparable = Enumerable.Range(0, 300).Where(i => rest[i].Date != rest[300].Date).ToArray();
        Assert.That(comparable.Select(i => Column(first.Rows, "delay_count_1d")[i]), Is.EqualTo(comparable.Select(i => ingested[i]["delay_count_1d"])));
        Assert.That(comparable.Select(i => Column(first.Rows, "delay_avg_1d")[i]), Is.EqualTo(comparable.Select(i => ingested[i]["delay_avg_1d"])));
        Assert.That(comparable.Any(i => (double)ingested[i]["delay_count_1d"]! > 1), Is.True, "the windows reach into the first ingestion");
    }

    [Test]
    public async Task PreviewAsync_ValidatorWithDropRow_ReportsTheDroppedRows()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date").Validate("delay", FeatureRule.Range(null, 60), ValidationPolicy.DropRow).Build();
        var sample = FlightData.All.Take(500).ToArray();

        var preview = await fs.PreviewAsync(set, DataSource.Json(TestProjects.FlightsJson), rows: 500);

        var bad = Enumerable.Range(0, 500).Where(i => sample[i].Delay > 60).ToArray();
        Assert.That(preview.Rows.Length, Is.EqualTo(500 - bad.Length));
        Assert.That(preview.DropReasons, Is.EqualTo(new[] { new DroppedRows("range [-inf, 60]", "delay", bad.Length, bad[0] + 1, sample[bad[0]].Delay.ToString(System.Globalization.CultureInfo.InvariantCulture)) }));
    }
}
