using Apache.Arrow;
using Apache.Arrow.Types;
using MLOps.Artifacts;
using static MLOps.Core.Tests.Data.ProfilingTestData;

namespace MLOps.Core.Tests.Data;

[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class DatasetProfilerTests
{
    private const double Tolerance = 1e-9;
    private TempFolder _temp = null!;

    [SetUp]
    public void SetUp() => _temp = new TempFolder();

    [TearDown]
    public void TearDown() => _temp.Dispose();

    /// <summary>Writes the flights in a format: CSV directly, Parquet and Arrow from the batches the CSV reader gives.</summary>
    private async Task<string> WriteFlightsAsync(DatasetFormat format)
    {
        var csv = _temp.File("flights.csv");
        WriteFlightsCsv(csv);
        if (format == DatasetFormat.Csv)
            return csv;

        var batches = await ReadAllAsync(csv, DatasetFormat.Csv, batchSize: 5000);
        try
        {
            var path = _temp.File(format == DatasetFormat.Parquet ? "flights.parquet" : "flights.arrow");
            await using var stream = File.Create(path);
            if (format == DatasetFormat.Parquet)
                await DatasetWriter.WriteParquetAsync(batches, stream, CancellationToken.None);
            else
                await DatasetWriter.WriteArrowFileAsync(batches, stream, CancellationToken.None);
            return path;
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }
    }

    private static IEnumerable<DatasetFormat> Formats => [DatasetFormat.Csv, DatasetFormat.Parquet, DatasetFormat.Arrow];

    [TestCaseSource(nameof(Formats))]
    public async Task ProfileFileAsync_Flights_HasRowCountSchemaAndFormat(DatasetFormat format)
    {
        var path = await WriteFlightsAsync(format);

        var profile = await DatasetProfiler.ProfileFileAsync(path, format, CancellationToken.None);

        Assert.That(profile.RowCount, Is.EqualTo(20_000));
        Assert.That(profile.Format, Is.EqualTo(DatasetProfiler.FormatName(format)));
        Assert.That(profile.Schema, Is.EqualTo(new[]
        {
            new DatasetColumn("date", "timestamp", false),
            new DatasetColumn("delay", "int64", false),
            new DatasetColumn("distance", "int64", false),
            new DatasetColumn("origin", "string", false),
            new DatasetColumn("destination", "string", false),
        }));
        Assert.That(profile.Statistics.Select(s => s.Name), Is.EqualTo(profile.Schema.Select(c => c.Name)));
    }

    [TestCaseSource(nameof(Formats))]
    public async Task ProfileFileAsync_Flights_PreviewIsFirstTwentyRecords(DatasetFormat format)
    {
        var path = await WriteFlightsAsync(format);

        var profile = await DatasetProfiler.ProfileFileAsync(path, format, CancellationToken.None);

        Assert.That(profile.Preview, Has.Count.EqualTo(20));
        for (var i = 0; i < 20; i++)
        {
            var expected = Flights[i];
            var row = profile.Preview[i];
            Assert.That(row.Keys, Is.EqualTo(new[] { "date", "delay", "distance", "origin", "destination" }));
            Assert.That(row["date"], Is.EqualTo(expected.When));
            Assert.That(row["delay"], Is.EqualTo((long)expected.Delay).And.TypeOf<long>());
            Assert.That(row["distance"], Is.EqualTo((long)expected.Distance).And.TypeOf<long>());
            Assert.That(row["origin"], Is.EqualTo(expected.Origin));
            Assert.That(row["destination"], Is.EqualTo(expected.Destination));
        }
    }

    [TestCaseSource(nameof(Formats))]
    public async Task ProfileFileAsync_Flights_NumericStatisticsMatchLinq(DatasetFormat format)
    {
        var path = await WriteFlightsAsync(format);

        var profile = await DatasetProfiler.ProfileFileAsync(path, format, CancellationToken.None);

        AssertNumericStatistics(profile.Statistics.Single(s => s.Name == "delay"), Flights.Select(f => (double)f.Delay).ToList());
        AssertNumericStatistics(profile.Statistics.Single(s => s.Name == "distance"), Flights.Select(f => (double)f.Distance).ToList());
    }

    [TestCaseSource(nameof(Formats))]
    public async Task ProfileFileAsync_Flights_TopOriginsMatchGroupBy(DatasetFormat format)
    {
        var path = await WriteFlightsAsync(format);

        var profile = await DatasetProfiler.ProfileFileAsync(path, format, CancellationToken.None);

        var origin = profile.Statistics.Single(s => s.Name == "origin");
        var expected = Flights.GroupBy(f => f.Origin)
            .Select(g => new ValueCount(g.Key, g.Count()))
            .OrderByDescending(v => v.Count).ThenBy(v => v.Value, StringComparer.Ordinal)
            .Take(10)
            .ToList();
        Assert.That(origin.TopValues, Is.EqualTo(expected));
        Assert.That(origin.Unique, Is.EqualTo(Flights.Select(f => f.Origin).Distinct().Count()));
        Assert.That(origin.Count, Is.EqualTo(20_000));
        Assert.That(origin.NullCount, Is.Zero);
        Assert.That(origin.Mean, Is.Null);
        Assert.That(origin.Histogram, Is.Null);
    }

    [TestCaseSource(nameof(Formats))]
    public async Task ProfileFileAsync_Flights_TimestampsHaveOnlyMinAndMax(DatasetFormat format)
    {
        var path = await WriteFlightsAsync(format);

        var profile = await DatasetProfiler.ProfileFileAsync(path, format, CancellationToken.None);

        var date = profile.Statistics.Single(s => s.Name == "date");
        Assert.That(date.Min, Is.EqualTo(Flights.Min(f => f.When).ToUnixTimeMilliseconds()));
        Assert.That(date.Max, Is.EqualTo(Flights.Max(f => f.When).ToUnixTimeMilliseconds()));
        Assert.That(date.Count, Is.EqualTo(20_000));
        Assert.That(new object?[] { date.Mean, date.Std, date.P50, date.Histogram, date.Unique, date.TopValues }, Is.All.Null);
    }

    [Test]
    public async Task ProfileFileAsync_FormatsGiveSameStatistics_ExceptFormat()
    {
        var csv = await DatasetProfiler.ProfileFileAsync(await WriteFlightsAsync(DatasetFormat.Csv), DatasetFormat.Csv, CancellationToken.None);
        var parquet = await DatasetProfiler.ProfileFileAsync(await WriteFlightsAsync(DatasetFormat.Parquet), DatasetFormat.Parquet, CancellationToken.None);
        var arrow = await DatasetProfiler.ProfileFileAsync(await WriteFlightsAsync(DatasetFormat.Arrow), DatasetFormat.Arrow, CancellationToken.None);

        Assert.That(parquet with { Format = "csv" }, Is.EqualTo(csv));
        Assert.That(arrow with { Format = "csv" }, Is.EqualTo(csv));
    }

    [Test]
    public void Profile_BatchesBuiltInMemory_StreamsOverBatchesAndMatchesLinq()
    {
        var batches = FlightBatches(batchSize: 3000).ToList();
        try
        {
            var profile = DatasetProfiler.Profile(batches, "arrow");

            Assert.That(batches, Has.Count.EqualTo(7));
            Assert.That(profile.RowCount, Is.EqualTo(20_000));
            Assert.That(profile.Schema.Select(c => c.Type), Is.EqualTo(new[] { "timestamp", "int32", "int32", "string", "string" }));
            Assert.That(profile.Preview, Has.Count.EqualTo(20));
            AssertNumericStatistics(profile.Statistics[1], Flights.Select(f => (double)f.Delay).ToList());
            AssertNumericStatistics(profile.Statistics[2], Flights.Select(f => (double)f.Distance).ToList());
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }
    }

    [Test]
    public async Task ProfileFileAsync_CsvWithEmptyCells_CountsNulls()
    {
        var path = _temp.File("nulls.csv");
        await File.WriteAllTextAsync(path,
            "id,score,name,flag,when\n" +
            "1,1.5,a,true,2024-01-01T00:00:00Z\n" +
            "2,,b,,2024-01-02\n" +
            ",3.5,,false,\n" +
            "4,NaN,a,TRUE,2024-01-03T10:00:00+02:00\n");

        var profile = await DatasetProfiler.ProfileFileAsync(path, DatasetFormat.Csv, CancellationToken.None);

        Assert.That(profile.Schema, Is.EqualTo(new[]
        {
            new DatasetColumn("id", "int64", true),
            new DatasetColumn("score", "double", true),
            new DatasetColumn("name", "string", true),
            new DatasetColumn("flag", "bool", true),
            new DatasetColumn("when", "timestamp", true),
        }));
        var stats = profile.Statistics.ToDictionary(s => s.Name);
        Assert.That((stats["id"].Count, stats["id"].NullCount), Is.EqualTo((3L, 1L)));
        Assert.That(stats["id"].Mean, Is.EqualTo(7.0 / 3).Within(Tolerance));
        Assert.That((stats["score"].Count, stats["score"].NullCount), Is.EqualTo((2L, 2L)), "NaN counts as null");
        Assert.That(stats["score"].Mean, Is.EqualTo(2.5).Within(Tolerance));
        Assert.That(stats["score"].Std, Is.EqualTo(Math.Sqrt(2)).Within(Tolerance));
        Assert.That(stats["score"].Histogram!.Counts.Sum(), Is.EqualTo(2));
        Assert.That((stats["name"].Count, stats["name"].NullCount, stats["name"].Unique), Is.EqualTo((3L, 1L, (long?)2)));
        Assert.That(stats["name"].TopValues, Is.EqualTo(new[] { new ValueCount("a", 2), new ValueCount("b", 1) }));
        Assert.That((stats["flag"].Count, stats["flag"].NullCount, stats["flag"].Unique), Is.EqualTo((3L, 1L, (long?)2)));
        Assert.That(stats["flag"].TopValues, Is.EqualTo(new[] { new ValueCount("true", 2), new ValueCount("false", 1) }));
        Assert.That((stats["when"].Count, stats["when"].NullCount), Is.EqualTo((3L, 1L)));
        Assert.That(stats["when"].Min, Is.EqualTo(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds()));
        Assert.That(stats["when"].Max, Is.EqualTo(new DateTimeOffset(2024, 1, 3, 8, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds()));

        Assert.That(profile.Preview[2]["id"], Is.Null);
        Assert.That(profile.Preview[1]["score"], Is.Null);
        Assert.That(profile.Preview[3]["score"], Is.NaN);
        Assert.That(profile.Preview[2]["name"], Is.Null);
        Assert.That(profile.Preview[3]["flag"], Is.EqualTo(true));
        Assert.That(profile.Preview[3]["when"], Is.EqualTo(new DateTimeOffset(2024, 1, 3, 8, 0, 0, TimeSpan.Zero)));
    }

    [Test]
    public void Profile_ColumnOfNullsOnly_HasCountsAndNoStatistics()
    {
        using var batch = new RecordBatch.Builder()
            .Append("x", true, new DoubleArray.Builder().AppendNull().Append(double.NaN).AppendNull().Build())
            .Build();

        var stats = DatasetProfiler.Profile([batch], "arrow").Statistics.Single();

        Assert.That((stats.Count, stats.NullCount), Is.EqualTo((0L, 3L)));
        Assert.That(new object?[] { stats.Mean, stats.Std, stats.Min, stats.Max, stats.P50, stats.Histogram }, Is.All.Null);
    }

    [Test]
    public void Profile_AllValuesEqual_SingleHistogramBinHoldsEverything()
    {
        using var batch = new RecordBatch.Builder()
            .Append("x", false, new Int64Array.Builder().Append(7).Append(7).Append(7).Build())
            .Build();

        var stats = DatasetProfiler.Profile([batch], "arrow").Statistics.Single();

        Assert.That(stats.Histogram!.Edges, Has.Count.EqualTo(21).And.All.EqualTo(7.0));
        Assert.That(stats.Histogram.Counts, Has.Count.EqualTo(20));
        Assert.That(stats.Histogram.Counts.Count(c => c > 0), Is.EqualTo(1));
        Assert.That(stats.Histogram.Counts[0], Is.EqualTo(3));
        Assert.That((stats.Mean, stats.Std, stats.P25, stats.P75), Is.EqualTo(((double?)7, (double?)0, (double?)7, (double?)7)));
    }

    [Test]
    public void Profile_SingleValue_HasNoStandardDeviation()
    {
        using var batch = new RecordBatch.Builder().Append("x", false, new DoubleArray.Builder().Append(1.5).Build()).Build();

        var stats = DatasetProfiler.Profile([batch], "arrow").Statistics.Single();

        Assert.That(stats.Mean, Is.EqualTo(1.5));
        Assert.That(stats.Std, Is.Null);
    }

    [Test]
    public void Profile_SmallSample_QuartilesMatchPandasLinearInterpolation()
    {
        // pandas.Series([1, 2, 3, 4, 10]).describe(): 25% 2.0, 50% 3.0, 75% 4.0; Series([1, 2, 3, 4]): 1.75, 2.5, 3.25.
        using var five = new RecordBatch.Builder().Append("x", false, new DoubleArray.Builder().AppendRange([10, 1, 4, 2, 3]).Build()).Build();
        using var four = new RecordBatch.Builder().Append("x", false, new DoubleArray.Builder().AppendRange([4, 3, 2, 1]).Build()).Build();

        var a = DatasetProfiler.Profile([five], "arrow").Statistics.Single();
        var b = DatasetProfiler.Profile([four], "arrow").Statistics.Single();

        Assert.That((a.P25, a.P50, a.P75), Is.EqualTo(((double?)2, (double?)3, (double?)4)));
        Assert.That((b.P25, b.P50, b.P75), Is.EqualTo(((double?)1.75, (double?)2.5, (double?)3.25)));
    }

    [Test]
    public void Profile_DictionaryEncodedStrings_CountsDecodedValues()
    {
        var dictionary = new StringArray.Builder().Append("x").Append("y").Build();
        var indices = new Int32Array.Builder().Append(1).Append(0).Append(1).AppendNull().Build();
        var type = new DictionaryType(Int32Type.Default, StringType.Default, false);
        var schema = new Schema.Builder().Field(f => f.Name("c").DataType(type).Nullable(true)).Build();
        using var batch = new RecordBatch(schema, [new DictionaryArray(type, indices, dictionary)], 4);

        var profile = DatasetProfiler.Profile([batch], "arrow");

        Assert.That(profile.Schema.Single().Type, Is.EqualTo("string"));
        Assert.That(profile.Statistics.Single().TopValues, Is.EqualTo(new[] { new ValueCount("y", 2), new ValueCount("x", 1) }));
        Assert.That(profile.Statistics.Single().NullCount, Is.EqualTo(1));
        Assert.That(profile.Preview.Select(r => r["c"]), Is.EqualTo(new object?[] { "y", "x", "y", null }));
    }

    [Test]
    public void Profile_BatchesWithDifferentColumns_ThrowsValidationException()
    {
        using var first = new RecordBatch.Builder().Append("x", false, new Int64Array.Builder().Append(1).Build()).Build();
        using var second = new RecordBatch.Builder().Append("y", false, new Int64Array.Builder().Append(1).Build()).Build();

        var e = Assert.Throws<ValidationException>(() => DatasetProfiler.Profile([first, second], "arrow"));

        Assert.That(e!.Message, Does.Contain("'y'").And.Contain("'x'"));
    }

    [Test]
    public void Profile_NoBatches_IsEmpty()
    {
        var profile = DatasetProfiler.Profile([], "csv");

        Assert.That((profile.RowCount, profile.Schema.Count, profile.Preview.Count, profile.Statistics.Count), Is.EqualTo((0L, 0, 0, 0)));
    }

    [Test]
    public async Task ProfileFileAsync_HeaderOnlyCsv_KeepsColumnsAsStrings()
    {
        var path = _temp.File("empty.csv");
        await File.WriteAllTextAsync(path, "a,b\n");

        var profile = await DatasetProfiler.ProfileFileAsync(path, DatasetFormat.Csv, CancellationToken.None);

        Assert.That(profile.RowCount, Is.Zero);
        Assert.That(profile.Schema, Is.EqualTo(new[] { new DatasetColumn("a", "string", false), new DatasetColumn("b", "string", false) }));
        Assert.That(profile.Statistics.Select(s => s.Unique), Is.All.EqualTo(0));
    }

    [TestCaseSource(nameof(Formats))]
    public async Task ProfileFileAsync_CanceledToken_ThrowsOperationCanceled(DatasetFormat format)
    {
        var path = await WriteFlightsAsync(format);
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        Assert.That(async () => await DatasetProfiler.ProfileFileAsync(path, format, cancellation.Token), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public void Profile_ValuesAtTheEndsOfTheDoubleRange_HistogramStaysFinite()
    {
        using var batch = new RecordBatch.Builder()
            .Append("x", false, new DoubleArray.Builder().Append(-double.MaxValue).Append(0).Append(double.MaxValue).Build())
            .Build();

        var histogram = DatasetProfiler.Profile([batch], "arrow").Statistics.Single().Histogram!;

        Assert.That(histogram.Edges, Is.All.Matches<double>(double.IsFinite));
        Assert.That((histogram.Edges[0], histogram.Edges[20]), Is.EqualTo((-double.MaxValue, double.MaxValue)));
        Assert.That(histogram.Counts, Is.EqualTo(new long[] { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1 }));
    }

    [TestCase("data.parquet", DatasetFormat.Parquet)]
    [TestCase("DATA.PARQUET", DatasetFormat.Parquet)]
    [TestCase("/tmp/x/data.csv", DatasetFormat.Csv)]
    [TestCase("data.arrow", DatasetFormat.Arrow)]
    [TestCase("data.feather", DatasetFormat.Arrow)]
    [TestCase("data.ipc", DatasetFormat.Arrow)]
    public void DetectFormat_KnownExtension_ReturnsFormat(string path, DatasetFormat expected)
        => Assert.That(DatasetReader.DetectFormat(path), Is.EqualTo(expected));

    [TestCase("data.txt", ".txt")]
    [TestCase("data.csv.gz", ".gz")]
    [TestCase("data", "no extension")]
    public void DetectFormat_UnknownExtension_ThrowsValidationExceptionNamingFileAndSupportedExtensions(string path, string expectedMention)
    {
        var e = Assert.Throws<ValidationException>(() => DatasetReader.DetectFormat(path));

        Assert.That(e!.Message, Does.Contain($"'{path}'").And.Contain(expectedMention));
        Assert.That(e.Message, Does.Contain(".parquet").And.Contain(".csv").And.Contain(".arrow").And.Contain(".feather").And.Contain(".ipc"));
    }

    private static void AssertNumericStatistics(ColumnStatistics stats, IReadOnlyList<double> values)
    {
        var min = values.Min();
        var max = values.Max();
        Assert.Multiple(() =>
        {
            Assert.That(stats.Count, Is.EqualTo(values.Count));
            Assert.That(stats.NullCount, Is.Zero);
            Assert.That(stats.Mean, Is.EqualTo(values.Average()).Within(Tolerance));
            Assert.That(stats.Std, Is.EqualTo(SampleStd(values)).Within(Tolerance));
            Assert.That(stats.Min, Is.EqualTo(min));
            Assert.That(stats.Max, Is.EqualTo(max));
            Assert.That(stats.P25, Is.EqualTo(Quantile(values, 0.25)).Within(Tolerance));
            Assert.That(stats.P50, Is.EqualTo(Quantile(values, 0.5)).Within(Tolerance));
            Assert.That(stats.P75, Is.EqualTo(Quantile(values, 0.75)).Within(Tolerance));
            Assert.That(stats.Unique, Is.Null);
            Assert.That(stats.TopValues, Is.Null);
        });

        var histogram = stats.Histogram!;
        Assert.That(histogram.Edges, Has.Count.EqualTo(21));
        Assert.That(histogram.Counts, Has.Count.EqualTo(20));
        Assert.That(histogram.Edges[0], Is.EqualTo(min));
        Assert.That(histogram.Edges[20], Is.EqualTo(max));
        for (var i = 0; i <= 20; i++)
            Assert.That(histogram.Edges[i], Is.EqualTo(min + ((max - min) * i / 20)).Within(Tolerance));
        Assert.That(histogram.Counts.Sum(), Is.EqualTo(stats.Count));
        var expectedCounts = Enumerable.Range(0, 20)
            .Select(i => (long)values.Count(v => v >= histogram.Edges[i] && (i == 19 ? v <= histogram.Edges[20] : v < histogram.Edges[i + 1])))
            .ToList();
        Assert.That(histogram.Counts, Is.EqualTo(expectedCounts));
    }
}
