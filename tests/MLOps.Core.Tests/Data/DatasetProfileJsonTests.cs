using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using MLOps.Artifacts;
using static MLOps.Core.Tests.Data.ProfilingTestData;

namespace MLOps.Core.Tests.Data;

[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class DatasetProfileJsonTests
{
    private TempFolder _temp = null!;

    [SetUp]
    public void SetUp() => _temp = new TempFolder();

    [TearDown]
    public void TearDown() => _temp.Dispose();

    [Test]
    public async Task FromJson_ToJsonOfFlightsProfile_RoundTrips()
    {
        var csv = _temp.File("flights.csv");
        WriteFlightsCsv(csv);
        var profile = await DatasetProfiler.ProfileFileAsync(csv, DatasetFormat.Csv, CancellationToken.None);

        var back = DatasetProfile.FromJson(profile.ToJson());

        Assert.That(back, Is.EqualTo(profile));
        Assert.That(back.Preview[0]["date"], Is.TypeOf<DateTimeOffset>().And.EqualTo(Flights[0].When));
        Assert.That(back.Preview[0]["delay"], Is.TypeOf<long>());
        Assert.That(back.Statistics[1].Histogram!.Counts.Sum(), Is.EqualTo(20_000));
    }

    [Test]
    public void FromJson_PreviewValues_ComeBackAsTheirColumnTypes()
    {
        var schema = new Schema.Builder()
            .Field(f => f.Name("d").DataType(DoubleType.Default).Nullable(true))
            .Field(f => f.Name("l").DataType(Int64Type.Default).Nullable(true))
            .Field(f => f.Name("b").DataType(BooleanType.Default).Nullable(true))
            .Field(f => f.Name("s").DataType(StringType.Default).Nullable(true))
            .Field(f => f.Name("t").DataType(new TimestampType(TimeUnit.Millisecond, "UTC")).Nullable(true))
            .Build();
        var when = new DateTimeOffset(2020, 2, 29, 23, 59, 59, 999, TimeSpan.Zero);
        using var batch = new RecordBatch(schema,
        [
            new DoubleArray.Builder().Append(3).Append(double.NaN).Append(0.1).Build(),
            new Int64Array.Builder().Append(long.MaxValue).AppendNull().Append(-1).Build(),
            new BooleanArray.Builder().Append(true).AppendNull().Append(false).Build(),
            new StringArray.Builder().Append("42").AppendNull().Append("ünïcode \"quoted\"").Build(),
            new TimestampArray.Builder(new TimestampType(TimeUnit.Millisecond, "UTC")).Append(when).AppendNull().Append(when.AddDays(1)).Build(),
        ], 3);
        var profile = DatasetProfiler.Profile([batch], "arrow");

        var back = DatasetProfile.FromJson(profile.ToJson());

        Assert.That(back, Is.EqualTo(profile));
        Assert.That(back.Preview[0].Values, Is.EqualTo(new object?[] { 3.0, long.MaxValue, true, "42", when }));
        Assert.That(back.Preview[0]["d"], Is.TypeOf<double>());
        Assert.That(back.Preview[0]["s"], Is.TypeOf<string>());
        Assert.That(back.Preview[1]["d"], Is.NaN);
        Assert.That(back.Preview[1].Values.Skip(1), Is.All.Null);
        Assert.That(back.Preview[2]["d"], Is.EqualTo(0.1));
    }

    [Test]
    public void ToJson_UsesCamelCaseAndLeavesOutNulls()
    {
        using var batch = new RecordBatch.Builder().Append("name", false, new StringArray.Builder().Append("a").Build()).Build();
        var profile = DatasetProfiler.Profile([batch], "csv");

        using var json = JsonDocument.Parse(profile.ToJson());

        var root = json.RootElement;
        Assert.That(root.GetProperty("format").GetString(), Is.EqualTo("csv"));
        Assert.That(root.GetProperty("rowCount").GetInt64(), Is.EqualTo(1));
        var stats = root.GetProperty("statistics")[0];
        Assert.That(stats.GetProperty("unique").GetInt64(), Is.EqualTo(1));
        Assert.That(stats.TryGetProperty("mean", out _), Is.False);
        Assert.That(stats.GetProperty("topValues")[0].GetProperty("value").GetString(), Is.EqualTo("a"));
        Assert.That(root.GetProperty("schema")[0].GetProperty("type").GetString(), Is.EqualTo("string"));
    }

    [TestCase("not json")]
    [TestCase("{\"format\":\"csv\"}")]
    [TestCase("null")]
    public void FromJson_NotAProfile_ThrowsValidationException(string json)
        => Assert.Throws<ValidationException>(() => DatasetProfile.FromJson(json));
}
