using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using MLOps.Artifacts;
using static MLOps.Core.Tests.Data.ProfilingTestData;

namespace MLOps.Core.Tests.Data;

[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class DatasetReaderTests
{
    private static readonly TimestampType Micros = new(TimeUnit.Microsecond, "UTC");
    private TempFolder _temp = null!;

    [SetUp]
    public void SetUp() => _temp = new TempFolder();

    [TearDown]
    public void TearDown() => _temp.Dispose();

    /// <summary>Two batches of every writable type, with nulls in the nullable columns.</summary>
    private static List<RecordBatch> MixedBatches()
    {
        var schema = new Schema.Builder()
            .Field(f => f.Name("i32").DataType(Int32Type.Default).Nullable(true))
            .Field(f => f.Name("i64").DataType(Int64Type.Default).Nullable(false))
            .Field(f => f.Name("f32").DataType(FloatType.Default).Nullable(true))
            .Field(f => f.Name("f64").DataType(DoubleType.Default).Nullable(true))
            .Field(f => f.Name("flag").DataType(BooleanType.Default).Nullable(true))
            .Field(f => f.Name("text").DataType(StringType.Default).Nullable(true))
            .Field(f => f.Name("when").DataType(Micros).Nullable(true))
            .Field(f => f.Name("key").DataType(StringType.Default).Nullable(false))
            .Field(f => f.Name("rank").DataType(DoubleType.Default).Nullable(false))
            .Build();
        var start = new DateTimeOffset(2024, 5, 1, 12, 30, 15, TimeSpan.Zero).AddTicks(1230);
        var batches = new List<RecordBatch>();
        for (var b = 0; b < 2; b++)
        {
            var n = b == 0 ? 10 : 5;
            var i32 = new Int32Array.Builder();
            var i64 = new Int64Array.Builder();
            var f32 = new FloatArray.Builder();
            var f64 = new DoubleArray.Builder();
            var flag = new BooleanArray.Builder();
            var text = new StringArray.Builder();
            var when = new TimestampArray.Builder(Micros);
            var key = new StringArray.Builder();
            var rank = new DoubleArray.Builder();
            for (var i = 0; i < n; i++)
            {
                var k = (b * 10) + i;
                var isNull = k % 4 == 3;
                if (isNull) i32.AppendNull(); else i32.Append(k - 5);
                i64.Append(k * 1_000_000_000_000L);
                if (isNull) f32.AppendNull(); else f32.Append(k / 4f);
                if (isNull) f64.AppendNull(); else f64.Append(k * 0.1);
                if (isNull) flag.AppendNull(); else flag.Append(k % 2 == 0);
                if (isNull) text.AppendNull(); else text.Append(k % 3 == 0 ? "" : $"value é {k}");
                if (isNull) when.AppendNull(); else when.Append(start.AddHours(k));
                key.Append($"k{k}");
                rank.Append(-k / 3.0);
            }

            batches.Add(new RecordBatch(schema,
                [i32.Build(), i64.Build(), f32.Build(), f64.Build(), flag.Build(), text.Build(), when.Build(), key.Build(), rank.Build()], n));
        }

        return batches;
    }

    private static void AssertSameData(IReadOnlyList<RecordBatch> actual, IReadOnlyList<RecordBatch> expected)
    {
        var schema = expected[0].Schema;
        Assert.That(actual.Select(b => b.Schema.FieldsList.Select(f => (f.Name, ArrowTypes.NameOf(f.DataType), f.IsNullable))),
            Is.All.EqualTo(schema.FieldsList.Select(f => (f.Name, ArrowTypes.NameOf(f.DataType), f.IsNullable))));
        Assert.That(actual.Sum(b => b.Length), Is.EqualTo(expected.Sum(b => b.Length)));
        foreach (var field in schema.FieldsList)
            Assert.That(Column(actual, field.Name), Is.EqualTo(Column(expected, field.Name)), field.Name);
    }

    [Test]
    public async Task WriteParquetAsync_ThenReadAsync_RoundTripsValuesAndNulls()
    {
        var batches = MixedBatches();
        var path = _temp.File("mixed.parquet");
        await using (var stream = File.Create(path))
            await DatasetWriter.WriteParquetAsync(batches, stream, CancellationToken.None);

        var read = await ReadAllAsync(path, DatasetFormat.Parquet);

        Assert.That(read.Select(b => b.Length), Is.EqualTo(new[] { 10, 5 }), "one row group per batch");
        Assert.That(((TimestampType)read[0].Schema.GetFieldByName("when").DataType).Unit, Is.EqualTo(TimeUnit.Microsecond));
        AssertSameData(read, batches);
        read.Concat(batches).ToList().ForEach(b => b.Dispose());
    }

    [Test]
    public async Task ReadAsync_ParquetRowGroupLargerThanBatchSize_IsCutIntoBatches()
    {
        var batches = MixedBatches();
        var path = _temp.File("mixed.parquet");
        await using (var stream = File.Create(path))
            await DatasetWriter.WriteParquetAsync(batches, stream, CancellationToken.None);

        var read = await ReadAllAsync(path, DatasetFormat.Parquet, batchSize: 4);

        Assert.That(read.Select(b => b.Length), Is.EqualTo(new[] { 4, 4, 2, 4, 1 }));
        AssertSameData(read, batches);
        read.Concat(batches).ToList().ForEach(b => b.Dispose());
    }

    [Test]
    public async Task WriteArrowFileAsync_ThenReadAsync_RoundTripsValuesAndNulls()
    {
        var batches = MixedBatches();
        var path = _temp.File("mixed.arrow");
        await using (var stream = File.Create(path))
            await DatasetWriter.WriteArrowFileAsync(batches, stream, CancellationToken.None);

        var read = await ReadAllAsync(path, DatasetFormat.Arrow);

        Assert.That(read.Select(b => b.Length), Is.EqualTo(new[] { 10, 5 }));
        AssertSameData(read, batches);
        read.Concat(batches).ToList().ForEach(b => b.Dispose());
    }

    [Test]
    public async Task ReadAsync_ArrowStreamLayout_IsReadLikeTheFileLayout()
    {
        var batches = MixedBatches();
        var path = _temp.File("mixed.ipc");
        await using (var stream = File.Create(path))
        using (var writer = new ArrowStreamWriter(stream, batches[0].Schema))
        {
            foreach (var batch in batches)
                await writer.WriteRecordBatchAsync(batch);
            await writer.WriteEndAsync();
        }

        var read = await ReadAllAsync(path, DatasetFormat.Arrow);

        AssertSameData(read, batches);
        read.Concat(batches).ToList().ForEach(b => b.Dispose());
    }

    [Test]
    public async Task WriteParquetAsync_FlightsFromCsv_ReadsBackSameRows()
    {
        var csv = _temp.File("flights.csv");
        WriteFlightsCsv(csv);
        var fromCsv = await ReadAllAsync(csv, DatasetFormat.Csv, batchSize: 6000);
        var parquet = _temp.File("flights.parquet");
        await using (var stream = File.Create(parquet))
            await DatasetWriter.WriteParquetAsync(fromCsv, stream, CancellationToken.None);

        var fromParquet = await ReadAllAsync(parquet, DatasetFormat.Parquet);

        Assert.That(fromCsv.Select(b => b.Length), Is.EqualTo(new[] { 6000, 6000, 6000, 2000 }));
        AssertSameData(fromParquet, fromCsv);
        Assert.That(Column(fromParquet, "delay"), Is.EqualTo(Flights.Select(f => (object?)(long)f.Delay)));
        Assert.That(Column(fromParquet, "date"), Is.EqualTo(Flights.Select(f => (object?)f.When)));
        fromCsv.Concat(fromParquet).ToList().ForEach(b => b.Dispose());
    }

    [Test]
    public async Task ReadAsync_Csv_InfersTypesAndParsesQuotedCells()
    {
        var path = _temp.File("types.csv");
        await File.WriteAllTextAsync(path,
            "int,real,flag,stamp,text,mixed\n" +
            "1,1,true,2024-01-01 10:00:00,\"a, quoted\",1\n" +
            "-2,2.5e3,False,2024/01/02 11:30,\"say \"\"hi\"\"\",x\n");

        var batches = await ReadAllAsync(path, DatasetFormat.Csv);

        var fields = batches.Single().Schema.FieldsList;
        Assert.That(fields.Select(f => ArrowTypes.NameOf(f.DataType)), Is.EqualTo(new[] { "int64", "double", "bool", "timestamp", "string", "string" }));
        Assert.That(Column(batches, "int"), Is.EqualTo(new object?[] { 1L, -2L }));
        Assert.That(Column(batches, "real"), Is.EqualTo(new object?[] { 1.0, 2500.0 }));
        Assert.That(Column(batches, "flag"), Is.EqualTo(new object?[] { true, false }));
        Assert.That(Column(batches, "stamp"), Is.EqualTo(new object?[]
        {
            new DateTimeOffset(2024, 1, 1, 10, 0, 0, TimeSpan.Zero), new DateTimeOffset(2024, 1, 2, 11, 30, 0, TimeSpan.Zero),
        }));
        Assert.That(Column(batches, "text"), Is.EqualTo(new object?[] { "a, quoted", "say \"hi\"" }));
        Assert.That(Column(batches, "mixed"), Is.EqualTo(new object?[] { "1", "x" }));
        batches.ForEach(b => b.Dispose());
    }

    [Test]
    public async Task ReadCsvAsync_TextColumns_AreReadAsStringsAndTheOthersInferred()
    {
        var path = _temp.File("text.csv");
        await File.WriteAllTextAsync(path,
            "zip,day,count,stamp\n" +
            "02134,2001-02-01 10:00,1,2024-01-01\n" +
            ",2001-03-01 11:00,2,2024-01-02\n" +
            "10001,2001-04-01 12:00,3,2024-01-03\n");

        var batches = new List<RecordBatch>();
        await foreach (var batch in DatasetReader.ReadCsvAsync(path, new CsvReadOptions { BatchSize = 2, TextColumns = new HashSet<string>(StringComparer.Ordinal) { "zip", "day", "absent" } }))
            batches.Add(batch);

        Assert.That(batches.Select(b => b.Length), Is.EqualTo(new[] { 2, 1 }));
        var fields = batches[0].Schema.FieldsList;
        Assert.That(fields.Select(f => ArrowTypes.NameOf(f.DataType)), Is.EqualTo(new[] { "string", "string", "int64", "timestamp" }));
        Assert.That(fields.Select(f => f.IsNullable), Is.EqualTo(new[] { true, false, false, false }));
        Assert.That(Column(batches, "zip"), Is.EqualTo(new object?[] { "02134", null, "10001" }));
        Assert.That(Column(batches, "day"), Is.EqualTo(new object?[] { "2001-02-01 10:00", "2001-03-01 11:00", "2001-04-01 12:00" }));
        Assert.That(Column(batches, "count"), Is.EqualTo(new object?[] { 1L, 2L, 3L }));
        Assert.That(Column(batches, "stamp")[0], Is.EqualTo(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        batches.ForEach(b => b.Dispose());
    }

    [Test]
    public void ReadCsvAsync_MissingFile_ThrowsNotFoundException()
        => Assert.Throws<NotFoundException>(() => DatasetReader.ReadCsvAsync(_temp.File("missing.csv")));

    [Test]
    public async Task WriteParquetAsync_DatesAndDecimals_RoundTripAndAreProfiled()
    {
        var decimalType = new Decimal128Type(10, 2);
        var schema = new Schema.Builder()
            .Field(f => f.Name("day").DataType(Date32Type.Default).Nullable(true))
            .Field(f => f.Name("price").DataType(decimalType).Nullable(true))
            .Build();
        var days = new[] { new DateOnly(2024, 1, 31), new DateOnly(1999, 12, 31) };
        using var batch = new RecordBatch(schema,
        [
            new Date32Array.Builder().Append(days[0]).AppendNull().Append(days[1]).Build(),
            new Decimal128Array.Builder(decimalType).Append(12.34m).Append(-0.5m).AppendNull().Build(),
        ], 3);
        var path = _temp.File("typed.parquet");
        await using (var stream = File.Create(path))
            await DatasetWriter.WriteParquetAsync([batch], stream, CancellationToken.None);

        var read = await ReadAllAsync(path, DatasetFormat.Parquet);
        var profile = DatasetProfiler.Profile(read, "parquet");

        Assert.That(profile.Schema, Is.EqualTo(new[] { new DatasetColumn("day", "date", true), new DatasetColumn("price", "decimal", true) }));
        Assert.That(((Date32Array)read[0].Column(0)).GetDateOnly(0), Is.EqualTo(days[0]));
        Assert.That(((Decimal128Array)read[0].Column(1)).GetValue(1), Is.EqualTo(-0.5m));
        var day = profile.Statistics[0];
        var price = profile.Statistics[1];
        Assert.That((day.Count, day.NullCount), Is.EqualTo((2L, 1L)));
        Assert.That(day.Min, Is.EqualTo(new DateTimeOffset(days[1], TimeOnly.MinValue, TimeSpan.Zero).ToUnixTimeMilliseconds()));
        Assert.That(day.Max, Is.EqualTo(new DateTimeOffset(days[0], TimeOnly.MinValue, TimeSpan.Zero).ToUnixTimeMilliseconds()));
        Assert.That((price.Count, price.NullCount, price.Min, price.Max), Is.EqualTo((2L, 1L, (double?)-0.5, (double?)12.34)));
        Assert.That(price.Mean, Is.EqualTo((12.34 - 0.5) / 2).Within(1e-12));
        Assert.That(profile.Preview[0]["day"], Is.EqualTo(new DateTimeOffset(days[0], TimeOnly.MinValue, TimeSpan.Zero)));
        Assert.That(profile.Preview[0]["price"], Is.EqualTo(12.34));
        read.ForEach(b => b.Dispose());
    }

    [Test]
    public void ReadAsync_MissingFile_ThrowsNotFoundException()
    {
        var path = _temp.File("missing.csv");

        var e = Assert.Throws<NotFoundException>(() => DatasetReader.ReadAsync(path, DatasetFormat.Csv));

        Assert.That(e!.Message, Does.Contain(path));
    }

    [Test]
    public void ReadAsync_BatchSizeNotPositive_ThrowsValidationExceptionNamingTheValue()
    {
        var e = Assert.Throws<ValidationException>(() => DatasetReader.ReadAsync(_temp.File("x.csv"), DatasetFormat.Csv, batchSize: 0));
        Assert.That(e!.Message, Does.Contain("batchSize is 0.").And.Contain("positive"));
        Assert.Throws<ValidationException>(() => DatasetReader.ReadAsync(_temp.File("x.arrow"), DatasetFormat.Arrow, batchSize: -1));
    }

    [Test]
    public async Task ReadAsync_CsvRowWithWrongCellCount_ThrowsArtifactException()
    {
        var path = _temp.File("ragged.csv");
        await File.WriteAllTextAsync(path, "a,b\n1,2\n3\n");

        var e = Assert.ThrowsAsync<ArtifactException>(() => ReadAllAsync(path, DatasetFormat.Csv));

        Assert.That(e!.Message, Does.Contain(path));
    }

    [TestCase(DatasetFormat.Parquet)]
    [TestCase(DatasetFormat.Arrow)]
    public async Task ReadAsync_NotThatFormat_ThrowsArtifactException(DatasetFormat format)
    {
        var path = _temp.File("garbage.bin");
        await File.WriteAllTextAsync(path, "this is not a binary dataset file, just some text that is long enough");

        var e = Assert.ThrowsAsync<ArtifactException>(() => ReadAllAsync(path, format));

        Assert.That(e!.Message, Does.Contain(path));
    }

    [Test]
    public void WriteParquetAsync_NoBatches_ThrowsValidationException()
    {
        using var stream = new MemoryStream();

        Assert.ThrowsAsync<ValidationException>(() => DatasetWriter.WriteParquetAsync([], stream, CancellationToken.None));
        Assert.ThrowsAsync<ValidationException>(() => DatasetWriter.WriteArrowFileAsync([], stream, CancellationToken.None));
    }

    [Test]
    public void WriteParquetAsync_UnsupportedType_ThrowsValidationExceptionNamingColumn()
    {
        using var batch = new RecordBatch.Builder()
            .Append("span", false, new Time64Array.Builder(TimeUnit.Microsecond).Append(5L).Build())
            .Build();
        using var stream = new MemoryStream();

        var e = Assert.ThrowsAsync<ValidationException>(() => DatasetWriter.WriteParquetAsync([batch], stream, CancellationToken.None));

        Assert.That(e!.Message, Does.Contain("'span'"));
    }

    [Test]
    public async Task WriteParquetAsync_EmptyBatch_WritesSchemaWithoutRows()
    {
        var path = _temp.File("empty.parquet");
        using (var empty = new RecordBatch.Builder().Append("x", true, new Int64Array.Builder().Build()).Build())
        await using (var stream = File.Create(path))
            await DatasetWriter.WriteParquetAsync([empty], stream, CancellationToken.None);

        var profile = await DatasetProfiler.ProfileFileAsync(path, DatasetFormat.Parquet, CancellationToken.None);

        Assert.That(profile.RowCount, Is.Zero);
        Assert.That(profile.Schema, Is.EqualTo(new[] { new DatasetColumn("x", "int64", true) }));
    }
}
