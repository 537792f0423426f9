using System.Globalization;
using DuckDB.NET.Data;
using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.TestSupport;
using Parquet;
using Parquet.Schema;

namespace MLOps.FeatureStore.Tests.Sources;

/// <summary>
/// Timestamps without a zone of their own (Parquet <c>isAdjustedToUTC=false</c>, text without an offset, unspecified
/// <see cref="DateTime"/>s, Arrow timestamps without a time zone) are UTC, or the zone the source declares — never the
/// machine's zone. CI runs these tests a second time with <c>TZ=America/New_York</c> (see <c>.ci/run</c>), where a
/// reader that used the machine's zone moves the 00:01 event to 05:01Z and the 00:30 query no longer sees it.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class TimeZoneTests
{
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

    /// <summary>The two events' wall-clock times: SFO at 00:01 (delay 10) and at 02:00 (delay 30) on 2001-01-01.</summary>
    private static readonly DateTime First = new(2001, 1, 1, 0, 1, 0, DateTimeKind.Unspecified);

    private static readonly DateTime Second = new(2001, 1, 1, 2, 0, 0, DateTimeKind.Unspecified);

    private static DateTimeOffset Utc(int hour, int minute) => new(2001, 1, 1, hour, minute, 0, TimeSpan.Zero);

    private static FeatureSet Define(FeatureStoreCatalog fs, string? format = null)
        => fs.FeatureSet("delays").Entity("origin").Timestamp("date", format).Aggregate("delay", AggregationOp.Avg, "1h").Build();

    /// <summary>Ingests the source, then returns the offline event times and the 1h average seen at each query time.</summary>
    private static async Task<(DateTimeOffset[] Offline, double?[] Seen)> IngestAndQueryAsync(TempFolder folder, DataSource source, string? format, params DateTimeOffset[] queries)
    {
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.IngestAsync(Define(fs, format), source);
        var offline = (await OfflineRows.ReadAsync(fs, "delays")).Select(r => (DateTimeOffset)r["date"]!).Order().ToArray();
        var vector = await fs.Vector("v").Select("delays.delay_avg_1h").SaveAsync();
        var entityRows = DataSource.Objects(queries.Select(q => new { origin = "SFO", at = q }));
        using var training = await fs.GetOfflineFeaturesAsync(vector, entityRows, new() { TimestampColumn = "at" });
        var seen = (DoubleArray)training.Batch.Column("delay_avg_1h");
        return (offline, Enumerable.Range(0, seen.Length).Select(i => seen.IsNull(i) || double.IsNaN(seen.GetValue(i)!.Value) ? null : seen.GetValue(i)).ToArray());
    }

    private static async Task<string> WriteParquetAsync(string path, DateTimeDataField field)
    {
        var schema = new ParquetSchema(new DataField<string>("origin", false), field, new DataField<double>("delay", false));
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(schema, stream);
        using var rowGroup = writer.CreateRowGroup();
        await rowGroup.WriteAsync(schema.DataFields[0], new string?[] { "SFO", "SFO" }, null);
        await rowGroup.WriteAsync<DateTime>(schema.DataFields[1], new[] { First, Second }, null, null);
        await rowGroup.WriteAsync<double>(schema.DataFields[2], new[] { 10.0, 30.0 }, null, null);
        rowGroup.CompleteValidate();
        return path;
    }

    public static IEnumerable<TestCaseData> ParquetEncodings()
    {
        yield return new TestCaseData(DateTimeFormat.Timestamp, false, DateTimeTimeUnit.Micros).SetArgDisplayNames("int64-micros-local");
        yield return new TestCaseData(DateTimeFormat.Timestamp, false, DateTimeTimeUnit.Millis).SetArgDisplayNames("int64-millis-local");
        yield return new TestCaseData(DateTimeFormat.Timestamp, false, DateTimeTimeUnit.Nanos).SetArgDisplayNames("int64-nanos-local");
        yield return new TestCaseData(DateTimeFormat.Timestamp, true, DateTimeTimeUnit.Micros).SetArgDisplayNames("int64-micros-utc");
        yield return new TestCaseData(DateTimeFormat.Timestamp, true, DateTimeTimeUnit.Millis).SetArgDisplayNames("int64-millis-utc");
        yield return new TestCaseData(DateTimeFormat.Timestamp, true, DateTimeTimeUnit.Nanos).SetArgDisplayNames("int64-nanos-utc");
        yield return new TestCaseData(DateTimeFormat.Impala, true, DateTimeTimeUnit.Micros).SetArgDisplayNames("int96");
        yield return new TestCaseData(DateTimeFormat.DateAndTime, true, DateTimeTimeUnit.Millis).SetArgDisplayNames("legacy-timestamp-millis");
    }

    [TestCaseSource(nameof(ParquetEncodings))]
    public async Task IngestAsync_ParquetTimestampEncoding_LandsAtTheStoredUtcTimeAndIsSeenPointInTime(DateTimeFormat format, bool adjusted, DateTimeTimeUnit unit)
    {
        using var folder = new TempFolder();
        var path = await WriteParquetAsync(folder.File("t.parquet"), new DateTimeDataField("date", format, isAdjustedToUTC: adjusted, unit: unit, isNullable: false));

        var (offline, seen) = await IngestAndQueryAsync(folder, DataSource.Parquet(path), null, Utc(0, 30), Utc(2, 30));

        Assert.That(offline, Is.EqualTo(new[] { Utc(0, 1), Utc(2, 0) }));
        Assert.That(seen, Is.EqualTo(new double?[] { 10, 30 }));
    }

    [Test]
    public async Task IngestAsync_ZonelessParquetWithDeclaredZone_ReadsWallClockInThatZone()
    {
        using var folder = new TempFolder();
        var path = await WriteParquetAsync(folder.File("t.parquet"), new DateTimeDataField("date", DateTimeFormat.Timestamp, isAdjustedToUTC: false, unit: DateTimeTimeUnit.Micros, isNullable: false));

        var (offline, seen) = await IngestAndQueryAsync(folder, DataSource.Parquet(path, new DataSourceOptions { TimeZone = NewYork }), null, Utc(0, 30), Utc(5, 30));

        Assert.That(offline, Is.EqualTo(new[] { Utc(5, 1), Utc(7, 0) }), "New York is UTC-5 in January");
        Assert.That(seen, Is.EqualTo(new double?[] { null, 10 }));
    }

    [Test]
    public async Task IngestAsync_UtcAdjustedParquetWithDeclaredZone_KeepsTheInstant()
    {
        using var folder = new TempFolder();
        var path = await WriteParquetAsync(folder.File("t.parquet"), new DateTimeDataField("date", DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Micros, isNullable: false));

        var (offline, _) = await IngestAndQueryAsync(folder, DataSource.Parquet(path, new DataSourceOptions { TimeZone = NewYork }), null, Utc(0, 30));

        Assert.That(offline, Is.EqualTo(new[] { Utc(0, 1), Utc(2, 0) }));
    }

    /// <summary>Files as DuckDB writes them (TIMESTAMP = isAdjustedToUTC=false micros, as pandas also writes by default).</summary>
    [TestCase("TIMESTAMP '{0}'", "UTC")]
    [TestCase("CAST(TIMESTAMP '{0}' AS TIMESTAMP_MS)", "UTC")]
    [TestCase("CAST(TIMESTAMP '{0}' AS TIMESTAMP_NS)", "UTC")]
    [TestCase("TIMESTAMP '{0}'", "America/New_York")]
    [TestCase("CAST(TIMESTAMP '{0}' AS TIMESTAMP_NS)", "America/New_York")]
    public async Task IngestAsync_ParquetWrittenByDuckDb_ReadsWallClockInTheSourceZone(string expression, string zone)
    {
        using var folder = new TempFolder();
        var path = folder.File("duck.parquet");
        using (var duck = new DuckDBConnection("DataSource=:memory:"))
        {
            duck.Open();
            using var command = duck.CreateCommand();
            var first = string.Format(CultureInfo.InvariantCulture, expression, "2001-01-01 00:01:00");
            var second = string.Format(CultureInfo.InvariantCulture, expression, "2001-01-01 02:00:00");
            command.CommandText = $"COPY (SELECT 'SFO' AS origin, {first} AS date, 10.0::DOUBLE AS delay UNION ALL SELECT 'SFO', {second}, 30.0::DOUBLE) TO '{path}' (FORMAT PARQUET)";
            command.ExecuteNonQuery();
        }

        var options = new DataSourceOptions { TimeZone = TimeZoneInfo.FindSystemTimeZoneById(zone) };
        var (offline, _) = await IngestAndQueryAsync(folder, DataSource.Parquet(path, options), null, Utc(0, 30));

        var shift = zone == "UTC" ? 0 : 5;
        Assert.That(offline, Is.EqualTo(new[] { Utc(shift, 1), Utc(2 + shift, 0) }));
    }

    [Test]
    public async Task IngestAsync_ParquetDateColumn_IsMidnightUtcOrInTheDeclaredZone()
    {
        using var folder = new TempFolder();
        var path = folder.File("d.parquet");
        var schema = new ParquetSchema(new DataField<string>("origin", false), new DataField<DateOnly>("date", false), new DataField<double>("delay", false));
        await using (var stream = File.Create(path))
        {
            await using var writer = await ParquetWriter.CreateAsync(schema, stream);
            using var rowGroup = writer.CreateRowGroup();
            await rowGroup.WriteAsync(schema.DataFields[0], new string?[] { "SFO" }, null);
            await rowGroup.WriteAsync<DateOnly>(schema.DataFields[1], new[] { new DateOnly(2001, 1, 2) }, null, null);
            await rowGroup.WriteAsync<double>(schema.DataFields[2], new[] { 10.0 }, null, null);
            rowGroup.CompleteValidate();
        }

        using (var utcFolder = new TempFolder())
        {
            var (utc, _) = await IngestAndQueryAsync(utcFolder, DataSource.Parquet(path), null, Utc(0, 30));
            Assert.That(utc, Is.EqualTo(new[] { new DateTimeOffset(2001, 1, 2, 0, 0, 0, TimeSpan.Zero) }));
        }

        var (zoned, _) = await IngestAndQueryAsync(folder, DataSource.Parquet(path, new DataSourceOptions { TimeZone = NewYork }), null, Utc(0, 30));
        Assert.That(zoned, Is.EqualTo(new[] { new DateTimeOffset(2001, 1, 2, 5, 0, 0, TimeSpan.Zero) }));
    }

    /// <summary>Text without an offset, in CSV (inferred, and parsed with the set's format) and JSON.</summary>
    [TestCase("csv", null, "2001-01-01 00:01", "2001-01-01 02:00")]
    [TestCase("csv", null, "2001/01/01 00:01", "2001/01/01 02:00")]
    [TestCase("csv", "yyyyMMdd HHmm", "20010101 0001", "20010101 0200")]
    [TestCase("json", null, "2001-01-01T00:01:00", "2001-01-01T02:00:00")]
    [TestCase("json", null, "2001-01-01 00:01:00.000", "2001-01-01 02:00:00.000")]
    [TestCase("json", "yyyyMMdd HHmm", "20010101 0001", "20010101 0200")]
    public async Task IngestAsync_TextWithoutOffset_IsUtcOrTheDeclaredZone(string kind, string? format, string first, string second)
    {
        foreach (var zone in new[] { TimeZoneInfo.Utc, NewYork })
        {
            using var folder = new TempFolder();
            var options = new DataSourceOptions { TimeZone = zone };
            DataSource source;
            if (kind == "csv")
            {
                await File.WriteAllTextAsync(folder.File("t.csv"), $"origin,date,delay\nSFO,{first},10\nSFO,{second},30\n");
                source = DataSource.Csv(folder.File("t.csv"), options);
            }
            else
            {
                await File.WriteAllTextAsync(folder.File("t.json"), $"[{{\"origin\":\"SFO\",\"date\":\"{first}\",\"delay\":10}},{{\"origin\":\"SFO\",\"date\":\"{second}\",\"delay\":30}}]");
                source = DataSource.Json(folder.File("t.json"), options);
            }

            var (offline, _) = await IngestAndQueryAsync(folder, source, format, Utc(0, 30));

            var shift = zone == NewYork ? 5 : 0;
            Assert.That(offline, Is.EqualTo(new[] { Utc(shift, 1), Utc(2 + shift, 0) }), zone.Id);
        }
    }

    [TestCase("csv")]
    [TestCase("json")]
    public async Task IngestAsync_TextWithOffset_KeepsTheInstantWhateverTheDeclaredZone(string kind)
    {
        using var folder = new TempFolder();
        var options = new DataSourceOptions { TimeZone = NewYork };
        DataSource source;
        if (kind == "csv")
        {
            await File.WriteAllTextAsync(folder.File("t.csv"), "origin,date,delay\nSFO,2001-01-01T01:01:00+01:00,10\nSFO,2001-01-01T02:00:00Z,30\n");
            source = DataSource.Csv(folder.File("t.csv"), options);
        }
        else
        {
            await File.WriteAllTextAsync(folder.File("t.json"), "[{\"origin\":\"SFO\",\"date\":\"2001-01-01T01:01:00+01:00\",\"delay\":10},{\"origin\":\"SFO\",\"date\":\"2001-01-01T02:00:00Z\",\"delay\":30}]");
            source = DataSource.Json(folder.File("t.json"), options);
        }

        var (offline, seen) = await IngestAndQueryAsync(folder, source, null, Utc(0, 30));

        Assert.That(offline, Is.EqualTo(new[] { Utc(0, 1), Utc(2, 0) }));
        Assert.That(seen, Is.EqualTo(new double?[] { 10 }));
    }

    private sealed record Event(string origin, DateTime date, double delay);

    [Test]
    public async Task IngestAsync_DateTimeKinds_UnspecifiedIsTheSourceZoneLocalIsConvertedUtcIsKept()
    {
        var local = new DateTime(2001, 1, 1, 0, 1, 0, DateTimeKind.Local);
        var cases = new (DateTime Value, TimeZoneInfo Zone, DateTimeOffset Expected)[]
        {
            (First, TimeZoneInfo.Utc, Utc(0, 1)),
            (First, NewYork, Utc(5, 1)),
            (DateTime.SpecifyKind(First, DateTimeKind.Utc), NewYork, Utc(0, 1)),
            (local, NewYork, new DateTimeOffset(local.ToUniversalTime())),
        };
        foreach (var (value, zone, expected) in cases)
        {
            foreach (var dictionaries in new[] { false, true })
            {
                using var folder = new TempFolder();
                var options = new DataSourceOptions { TimeZone = zone };
                var source = dictionaries
                    ? DataSource.Objects(new[] { new Dictionary<string, object?> { ["origin"] = "SFO", ["date"] = value, ["delay"] = 10.0 } }, options)
                    : DataSource.Objects(new[] { new Event("SFO", value, 10) }, options);

                var (offline, _) = await IngestAndQueryAsync(folder, source, null, Utc(0, 30));

                Assert.That(offline, Is.EqualTo(new[] { expected }), $"{value.Kind} in {zone.Id}, dictionaries: {dictionaries}");
            }
        }
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("UTC")]
    [TestCase("America/New_York")]
    public async Task IngestAsync_ArrowTimestamps_WithAZoneAreInstantsWithoutAreWallClockInTheSourceZone(string? arrowZone)
    {
        foreach (var zone in new[] { TimeZoneInfo.Utc, NewYork })
        {
            using var folder = new TempFolder();
            var type = new Apache.Arrow.Types.TimestampType(Apache.Arrow.Types.TimeUnit.Millisecond, arrowZone);
            // the raw values: milliseconds since the epoch of 00:01 and 02:00 (UTC, or the wall clock for a zone-less type)
            var raw = new[] { Utc(0, 1).ToUnixTimeMilliseconds(), Utc(2, 0).ToUnixTimeMilliseconds() };
            var times = new TimestampArray(type, new ArrowBuffer(System.Runtime.InteropServices.MemoryMarshal.AsBytes(raw.AsSpan()).ToArray()), ArrowBuffer.Empty, 2, 0, 0);
            var batch = new RecordBatch.Builder()
                .Append("origin", false, c => c.String(b => b.Append("SFO").Append("SFO")))
                .Append("date", false, times)
                .Append("delay", false, c => c.Double(b => b.Append(10).Append(30)))
                .Build();

            var (offline, _) = await IngestAndQueryAsync(folder, DataSource.Batches([batch], new DataSourceOptions { TimeZone = zone }), null, Utc(0, 30));

            var shift = string.IsNullOrEmpty(arrowZone) && zone == NewYork ? 5 : 0;
            Assert.That(offline, Is.EqualTo(new[] { Utc(shift, 1), Utc(2 + shift, 0) }), zone.Id);
        }
    }

    [Test]
    public async Task IngestAsync_ComputedUnspecifiedDateTime_IsUtc()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("computed").Entity("origin")
            .Compute("at", FeatureType.Timestamp, _ => new DateTime(2001, 1, 1, 0, 1, 0, DateTimeKind.Unspecified))
            .Build();
        await fs.IngestAsync(set, DataSource.Objects(new[] { new { origin = "SFO" } }));

        var rows = await OfflineRows.ReadAsync(fs, "computed");

        Assert.That(rows.Single()["at"], Is.EqualTo(Utc(0, 1)));
    }

    /// <summary>Wall-clock times around New York's 2001 clock changes: the repeated hour reads as standard time, the skipped one with the standard offset.</summary>
    [TestCase("2001-10-28 01:30", "2001-10-28T06:30:00Z")]
    [TestCase("2001-04-01 02:30", "2001-04-01T07:30:00Z")]
    [TestCase("2001-07-01 12:00", "2001-07-01T16:00:00Z")]
    public async Task IngestAsync_WallClockAroundClockChanges_FollowsTheDocumentedRule(string wall, string expected)
    {
        using var folder = new TempFolder();
        await File.WriteAllTextAsync(folder.File("t.csv"), $"origin,date,delay\nSFO,{wall},10\n");

        var (offline, _) = await IngestAndQueryAsync(folder, DataSource.Csv(folder.File("t.csv"), new DataSourceOptions { TimeZone = NewYork }), null, Utc(0, 30));

        Assert.That(offline, Is.EqualTo(new[] { DateTimeOffset.Parse(expected, CultureInfo.InvariantCulture) }));
    }

    [Test]
    public void DataSourceOptions_NullZone_ThrowsNamingTheOption()
    {
        var e = Assert.Throws<ValidationException>(() => DataSource.Parquet("x.parquet", new DataSourceOptions { TimeZone = null! }))!;
        Assert.That(e.Message, Does.Contain("DataSourceOptions.TimeZone"));
    }
}
