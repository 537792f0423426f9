using Apache.Arrow;
using Apache.Arrow.Types;
using MLOps.Artifacts;
using Parquet;
using Parquet.Schema;

namespace MLOps.Core.Tests.Data;

/// <summary>
/// The dataset reader keeps the timestamps a Parquet file stores, whatever the machine's zone (CI runs these tests a
/// second time with <c>TZ=America/New_York</c>): <c>isAdjustedToUTC=false</c> columns become zone-less Arrow timestamps
/// of the stored wall-clock values, the others UTC timestamps.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class ParquetTimestampZoneTests
{
    private static readonly DateTime Wall = new(2001, 1, 1, 0, 1, 2, DateTimeKind.Unspecified);

    private static readonly long WallMicros = (Wall.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    [TestCase(DateTimeFormat.Timestamp, false, DateTimeTimeUnit.Micros, TimeUnit.Microsecond, null)]
    [TestCase(DateTimeFormat.Timestamp, false, DateTimeTimeUnit.Millis, TimeUnit.Millisecond, null)]
    [TestCase(DateTimeFormat.Timestamp, false, DateTimeTimeUnit.Nanos, TimeUnit.Nanosecond, null)]
    [TestCase(DateTimeFormat.Timestamp, true, DateTimeTimeUnit.Micros, TimeUnit.Microsecond, "UTC")]
    [TestCase(DateTimeFormat.Timestamp, true, DateTimeTimeUnit.Millis, TimeUnit.Millisecond, "UTC")]
    [TestCase(DateTimeFormat.Timestamp, true, DateTimeTimeUnit.Nanos, TimeUnit.Nanosecond, "UTC")]
    [TestCase(DateTimeFormat.Impala, true, DateTimeTimeUnit.Micros, TimeUnit.Microsecond, "UTC")]
    [TestCase(DateTimeFormat.DateAndTime, true, DateTimeTimeUnit.Millis, TimeUnit.Millisecond, "UTC")]
    public async Task ReadAsync_TimestampEncoding_KeepsTheStoredValue(DateTimeFormat format, bool adjusted, DateTimeTimeUnit unit, TimeUnit arrowUnit, string? zone)
    {
        using var folder = new TempFolder();
        var path = folder.File("t.parquet");
        var field = new DateTimeDataField("at", format, isAdjustedToUTC: adjusted, unit: unit, isNullable: true);
        await using (var stream = File.Create(path))
        {
            await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(field), stream);
            using var rowGroup = writer.CreateRowGroup();
            await rowGroup.WriteAsync<DateTime>(field, new DateTime?[] { Wall, null, new DateTime(1969, 12, 31, 23, 59, 59, 999, DateTimeKind.Unspecified) }, null, null);
            rowGroup.CompleteValidate();
        }

        var batches = new List<RecordBatch>();
        await foreach (var b in DatasetReader.ReadAsync(path, DatasetFormat.Parquet)) batches.Add(b);

        var array = (TimestampArray)batches.Single().Column(0);
        var type = (TimestampType)array.Data.DataType;
        Assert.That(type.Unit, Is.EqualTo(arrowUnit));
        Assert.That(type.Timezone, Is.EqualTo(zone));
        var perMicro = arrowUnit switch { TimeUnit.Millisecond => 0.001, TimeUnit.Nanosecond => 1000.0, _ => 1.0 };
        Assert.That(array.GetValue(0), Is.EqualTo(arrowUnit == TimeUnit.Millisecond ? WallMicros / 1000 : (long)(WallMicros * perMicro)));
        Assert.That(array.IsNull(1), Is.True);
        Assert.That(array.GetValue(2), Is.EqualTo(arrowUnit switch { TimeUnit.Millisecond => -1L, TimeUnit.Nanosecond => -1_000_000L, _ => -1000L }), "a time before 1970");
        foreach (var b in batches) b.Dispose();
    }

    [TestCase("2001-01-01 00:01", "2001-01-01T05:01:00.0000000+00:00")]
    [TestCase("2001/01/01 00:01", "2001-01-01T05:01:00.0000000+00:00")]
    [TestCase("2001-07-01T12:00:00.5", "2001-07-01T16:00:00.5000000+00:00")]
    [TestCase("2001-01-01T00:01+01:00", "2000-12-31T23:01:00.0000000+00:00")]
    [TestCase("2001-01-01T00:01:00Z", "2001-01-01T00:01:00.0000000+00:00")]
    [TestCase("2001-01-01T00:01:00.1234567+02:00", "2000-12-31T22:01:00.1234567+00:00")]
    public void TryParseTimestamp_InAZone_ReadsCellsWithoutOffsetInThatZone(string cell, string expected)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
        Assert.That(CsvBatchReader.TryParseTimestamp(cell, zone, out var value), Is.True);
        Assert.That(value.ToString("O", System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(expected));
    }
}
