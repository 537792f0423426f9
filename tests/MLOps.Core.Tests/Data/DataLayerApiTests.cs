using Apache.Arrow;
using Apache.Arrow.Types;
using static MLOps.Core.Tests.Data.ProfilingTestData;

namespace MLOps.Core.Tests.Data;

/// <summary>
/// The public data layer as a package outside Core uses it (FeatureStore, Serving, a monitoring application): readers
/// with options, the atomic Parquet file writer, the incremental profile builder and ArrowDataView, over the 20,000
/// real flights; and bad input at each entry point answered with a typed exception naming the field, value and fix.
/// </summary>
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class DataLayerApiTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static Schema OtherSchema => new Schema.Builder().Field(f => f.Name("x").DataType(DoubleType.Default).Nullable(false)).Build();

    private static RecordBatch Doubles(params double[] values)
        => new(OtherSchema, [new DoubleArray.Builder().AppendRange(values).Build()], values.Length);

    private string[] FilesIn(string folder) => Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [Test]
    public async Task WriteParquetFileAsync_Flights_ReadBackTheSameRowsAndLeavesOnlyTheFile()
    {
        var path = Path.Combine(_temp.Path, "out", "flights.parquet");   // the folder does not exist yet

        await DatasetWriter.WriteParquetFileAsync(FlightBatches(4096), path);

        Assert.That(FilesIn(Path.GetDirectoryName(path)!), Is.EqualTo(new[] { "flights.parquet" }), "no temporary file is left");
        var batches = await ReadAllAsync(path, DatasetFormat.Parquet);
        Assert.That(batches.Sum(b => b.Length), Is.EqualTo(Flights.Count));
        Assert.That(Column(batches, "origin"), Is.EqualTo(Flights.Select(f => (object?)f.Origin).ToList()));
        Assert.That(Column(batches, "delay"), Is.EqualTo(Flights.Select(f => (object?)f.Delay).ToList()));
        batches.ForEach(b => b.Dispose());
    }

    [Test]
    public async Task ReadParquetAsync_ColumnsAndBatchSize_ReadsOnlyThoseColumnsInFileOrder()
    {
        var path = _temp.File("flights.parquet");
        await DatasetWriter.WriteParquetFileAsync(FlightBatches(20_000), path);

        var batches = new List<RecordBatch>();
        var options = new ParquetReadOptions { Columns = ["origin", "delay", "not-in-file"], BatchSize = 3000 };
        await foreach (var batch in DatasetReader.ReadParquetAsync(path, options))
            batches.Add(batch);

        Assert.That(batches.Select(b => b.Length).Max(), Is.EqualTo(3000));
        Assert.That(batches.Sum(b => b.Length), Is.EqualTo(Flights.Count));
        Assert.That(batches[0].Schema.FieldsList.Select(f => f.Name), Is.EqualTo(new[] { "delay", "origin" }), "file order, unknown names ignored");
        Assert.That(Column(batches, "origin"), Is.EqualTo(Flights.Select(f => (object?)f.Origin).ToList()));
        batches.ForEach(b => b.Dispose());
    }

    [Test]
    public async Task ReadCsvAsync_TimeZoneOption_ReadsZoneLessCellsAsWallClockInThatZone()
    {
        var path = _temp.File("flights.csv");
        WriteFlightsCsv(path);
        var newYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

        var batches = new List<RecordBatch>();
        await foreach (var batch in DatasetReader.ReadCsvAsync(path, new CsvReadOptions { TimeZone = newYork, TextColumns = new HashSet<string> { "distance" } }))
            batches.Add(batch);

        // a wall-clock time minus the zone's offset at it (standard time for the repeated and the skipped hour)
        var expected = Flights.Select(f => DateTime.SpecifyKind(f.When.DateTime, DateTimeKind.Unspecified))
            .Select(local => (object?)new DateTimeOffset(local.Ticks - newYork.GetUtcOffset(local).Ticks, TimeSpan.Zero)).ToList();
        Assert.That(Column(batches, "date"), Is.EqualTo(expected));
        Assert.That(batches[0].Schema.GetFieldByName("distance").DataType, Is.InstanceOf<StringType>(), "a text column stays text");
        batches.ForEach(b => b.Dispose());
    }

    [Test]
    public async Task ParquetBatchWriter_DisposedWithoutComplete_LeavesTheExistingFileAndNoTemporaryFile()
    {
        var path = _temp.File("flights.parquet");
        await DatasetWriter.WriteParquetFileAsync(FlightBatches(5000), path);
        var schema = FlightBatches(10).First().Schema;

        await using (var writer = await ParquetBatchWriter.CreateFileAsync(schema, path))
        {
            foreach (var batch in FlightBatches(100).Take(3))
                await writer.WriteAsync(batch);
            Assert.That((writer.RowCount, writer.RowGroupCount), Is.EqualTo((300L, 3)));
            Assert.That(Directory.GetFiles(_temp.Path), Has.Length.EqualTo(2), "the rows go to a temporary file next to the destination");
        }

        Assert.That(FilesIn(_temp.Path), Is.EqualTo(new[] { "flights.parquet" }));
        var rows = (await ReadAllAsync(path, DatasetFormat.Parquet)).Sum(b => b.Length);
        Assert.That(rows, Is.EqualTo(Flights.Count), "the abandoned write did not touch the destination");
    }

    [Test]
    public async Task ParquetBatchWriter_Complete_ReplacesTheFileAndRejectsMoreBatches()
    {
        var path = _temp.File("flights.parquet");
        await DatasetWriter.WriteParquetFileAsync(FlightBatches(5000), path);
        var first = FlightBatches(250).First();

        var writer = await ParquetBatchWriter.CreateFileAsync(first.Schema, path);
        await writer.WriteAsync(first);
        await writer.CompleteAsync();

        Assert.ThrowsAsync<InvalidStateException>(() => writer.WriteAsync(first));
        Assert.ThrowsAsync<InvalidStateException>(() => writer.CompleteAsync());
        await writer.DisposeAsync();
        Assert.That(FilesIn(_temp.Path), Is.EqualTo(new[] { "flights.parquet" }));
        var batches = await ReadAllAsync(path, DatasetFormat.Parquet);
        Assert.That(batches.Sum(b => b.Length), Is.EqualTo(250));
        Assert.That(Column(batches, "destination"), Is.EqualTo(Flights.Take(250).Select(f => (object?)f.Destination).ToList()));
    }

    [Test]
    public async Task ParquetBatchWriter_BatchWithOtherColumns_ThrowsValidationExceptionNamingTheColumns()
    {
        var first = FlightBatches(100).First();
        await using var writer = await ParquetBatchWriter.CreateAsync(first.Schema, new MemoryStream());

        var e = Assert.ThrowsAsync<ValidationException>(() => writer.WriteAsync(Doubles(1, 2)));

        Assert.That(e!.Message, Does.Contain("(x: double)").And.Contain("origin: string").And.Contain("same columns"));
    }

    [Test]
    public void WriteParquetFileAsync_SecondBatchWithOtherColumns_ThrowsAndLeavesNoFile()
    {
        var path = _temp.File("mixed.parquet");
        var batches = new[] { FlightBatches(100).First(), Doubles(1) };

        var e = Assert.ThrowsAsync<ValidationException>(() => DatasetWriter.WriteParquetFileAsync(batches, path));

        Assert.That(e!.Message, Does.Contain("Record batch 1"));
        Assert.That(Directory.GetFiles(_temp.Path), Is.Empty, "neither the file nor its temporary file exists");
    }

    [Test]
    public async Task DatasetProfileBuilder_FlightBatches_EqualsTheProfileOfTheWrittenFile()
    {
        var path = _temp.File("flights.parquet");
        await DatasetWriter.WriteParquetFileAsync(FlightBatches(20_000), path);
        var builder = new DatasetProfileBuilder("parquet");

        await foreach (var batch in DatasetReader.ReadParquetAsync(path, new ParquetReadOptions { BatchSize = 1500 }))
        {
            using (batch)
                builder.Add(batch);
        }

        Assert.That((builder.RowCount, builder.BatchCount), Is.EqualTo((20_000L, 14)));
        Assert.That(builder.Build(), Is.EqualTo(await DatasetProfiler.ProfileFileAsync(path)));
        Assert.That(builder.Build().Statistics.Single(s => s.Name == "origin").Unique, Is.EqualTo(Flights.Select(f => f.Origin).Distinct().Count()));
    }

    [Test]
    public async Task ArrowDataView_OverParquetBatches_HasEveryFlight()
    {
        var path = _temp.File("flights.parquet");
        await DatasetWriter.WriteParquetFileAsync(FlightBatches(20_000), path);
        var batches = new List<RecordBatch>();
        await foreach (var batch in DatasetReader.ReadParquetAsync(path, new ParquetReadOptions { BatchSize = 7000 }))
            batches.Add(batch);

        var view = new ArrowDataView(batches, numbersAsSingle: false);

        Assert.That(view.GetRowCount(), Is.EqualTo(Flights.Count));
        var ml = new Microsoft.ML.MLContext(seed: 1);
        var delays = ml.Data.CreateEnumerable<DelayRow>(view, reuseRowObject: false).Select(r => r.Delay).ToList();
        Assert.That(delays, Is.EqualTo(Flights.Select(f => f.Delay).ToList()));
        batches.ForEach(b => b.Dispose());
    }

    private sealed class DelayRow
    {
        [Microsoft.ML.Data.ColumnName("delay")]
        public int Delay { get; set; }
    }

    [TestCase("")]
    [TestCase("   ")]
    public void ReadParquetAsync_EmptyPath_ThrowsValidationExceptionNamingTheField(string path)
    {
        var e = Assert.Throws<ValidationException>(() => DatasetReader.ReadParquetAsync(path));
        Assert.That(e!.Message, Does.Contain("dataset file path").And.Contain("Pass the path"));
    }

    [Test]
    public void ReadCsvAsync_BatchSizeNotPositive_ThrowsValidationExceptionNamingOptionAndValue()
    {
        var path = _temp.File("flights.csv");
        WriteFlightsCsv(path);

        var e = Assert.Throws<ValidationException>(() => DatasetReader.ReadCsvAsync(path, new CsvReadOptions { BatchSize = -5 }));

        Assert.That(e!.Message, Does.Contain("CsvReadOptions.BatchSize is -5").And.Contain("positive"));
    }

    [Test]
    public void ReadArrowAsync_MissingFile_ThrowsNotFoundExceptionWhenCalled()
    {
        var e = Assert.Throws<NotFoundException>(() => DatasetReader.ReadArrowAsync(_temp.File("missing.arrow")));
        Assert.That(e!.Message, Does.Contain("missing.arrow"));
    }

    [Test]
    public void ReadAsync_UndefinedFormat_ThrowsValidationExceptionListingTheFormats()
    {
        var e = Assert.Throws<ValidationException>(() => DatasetReader.ReadAsync(_temp.File("x.bin"), (DatasetFormat)42));
        Assert.That(e!.Message, Does.Contain("42").And.Contain("DatasetFormat.Parquet"));
    }

    [Test]
    public void ReadParquetAsync_NotParquet_ThrowsArtifactExceptionNamingTheFile()
    {
        var path = _temp.File("flights.parquet");
        WriteFlightsCsv(path);

        var e = Assert.ThrowsAsync<ArtifactException>(async () =>
        {
            await foreach (var batch in DatasetReader.ReadParquetAsync(path))
                batch.Dispose();
        });

        Assert.That(e!.Message, Does.Contain(path));
    }

    [Test]
    public void WriteParquetAsync_ReadOnlyStream_ThrowsValidationException()
    {
        using var readOnly = new MemoryStream([], writable: false);
        var e = Assert.ThrowsAsync<ValidationException>(() => DatasetWriter.WriteParquetAsync(FlightBatches(100).Take(1), readOnly));
        Assert.That(e!.Message, Does.Contain("not writable"));
        Assert.ThrowsAsync<ArgumentNullException>(() => DatasetWriter.WriteParquetAsync(null!, new MemoryStream()));
    }

    [Test]
    public void DatasetProfileBuilder_EmptyFormat_ThrowsValidationException()
    {
        var e = Assert.Throws<ValidationException>(() => _ = new DatasetProfileBuilder(" "));
        Assert.That(e!.Message, Does.Contain("profile format").And.Contain("only white space"));
        Assert.Throws<ArgumentNullException>(() => new DatasetProfileBuilder("parquet").Add(null!));
    }
}
