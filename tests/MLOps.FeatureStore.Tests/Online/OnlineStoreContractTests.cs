using System.Globalization;
using System.Text.Json;
using Apache.Arrow.Types;
using MLOps.FeatureStore.Online;
using MLOps.FeatureStore.Tests.TestSupport;
using static MLOps.FeatureStore.Tests.Online.OnlineBatches;

namespace MLOps.FeatureStore.Tests.Online;

/// <summary>
/// The contract every <see cref="IOnlineStore"/> implementation must pass. Derive once per implementation and
/// implement <see cref="CreateStore"/>; every test runs against it.
/// </summary>
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public abstract class OnlineStoreContractTests
{
    private readonly TempFolder _folder = new();
    private IOnlineStore _store = null!;

    protected abstract IOnlineStore CreateStore(string folder);

    protected string Folder => _folder.Path;

    protected IOnlineStore Store => _store;

    [SetUp]
    public void SetUp() => _store = CreateStore(_folder.Path);

    [TearDown]
    public async Task TearDown()
    {
        await _store.DisposeAsync();
        _folder.Dispose();
    }

    protected static (bool Found, FeatureValue[] Values, long EventTime) Read(IOnlineReader reader, string key)
    {
        var values = new FeatureValue[reader.Columns.Count];
        var found = reader.TryRead(key, values, out var time);
        return (found, values, time);
    }

    protected (bool Found, FeatureValue[] Values, long EventTime) Read(OnlineTable table, string key, params string[] features)
    {
        using var reader = _store.OpenReader(table, features.Length == 0 ? table.Features.Select(f => f.Name).ToArray() : features);
        return Read(reader, key);
    }

    // ---- prepare ----

    [Test]
    public async Task PrepareAsync_NewTable_ReaderFindsNoRow()
    {
        var table = Table();
        await _store.PrepareAsync(table);

        using var reader = _store.OpenReader(table, ["delay", "destination"]);
        var values = new FeatureValue[2];
        Assert.That(reader.TryRead("SFO", values, out _), Is.False);
        Assert.That(values, Is.All.EqualTo(default(FeatureValue)), "a miss leaves the destination untouched");
        Assert.That(reader.Columns, Is.EqualTo(new[] { new FeatureColumn("delay", FeatureType.Double), new FeatureColumn("destination", FeatureType.String) }));
    }

    [Test]
    public async Task PrepareAsync_CalledTwice_KeepsRows()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        await _store.WriteAsync(table, Rows(T0, 5, "SFO"), NoState);
        await _store.PrepareAsync(table);

        var (found, values, _) = Read(table, "SFO", "delay");
        Assert.That(found, Is.True);
        Assert.That(values[0], Is.EqualTo(FeatureValue.FromDouble(5)));
    }

    [Test]
    public async Task PrepareAsync_NewFeatureLater_AddsColumnAndKeepsRows()
    {
        var v1 = Table("flights", new FeatureColumn("delay", FeatureType.Double));
        await _store.PrepareAsync(v1);
        await _store.WriteAsync(v1, Rows(T0, 5, "SFO", "LAX"), NoState);

        var v2 = Table("flights", new FeatureColumn("delay", FeatureType.Double), new FeatureColumn("carrier", FeatureType.String));
        await _store.PrepareAsync(v2);
        await _store.WriteAsync(v2, Batch(("origin", Strings("LAX")), ("ts", Times(T0.AddMinutes(1))), ("delay", Doubles(7)), ("carrier", Strings("UA"))), NoState);

        var sfo = Read(v2, "SFO");
        var lax = Read(v2, "LAX");
        Assert.That(sfo.Values, Is.EqualTo(new[] { FeatureValue.FromDouble(5), FeatureValue.Null(FeatureType.String) }));
        Assert.That(lax.Values, Is.EqualTo(new[] { FeatureValue.FromDouble(7), FeatureValue.FromString("UA") }));
    }

    [Test]
    public async Task PrepareAsync_ChangedType_ThrowsNamingFeatureAndBothTypes()
    {
        await _store.PrepareAsync(Table("flights", new FeatureColumn("delay", FeatureType.Double)));

        var e = Assert.ThrowsAsync<ValidationException>(() => _store.PrepareAsync(Table("flights", new FeatureColumn("delay", FeatureType.String))));
        Assert.That(e!.Message, Does.Contain("'delay'").And.Contain("Double").And.Contain("String"));
        Assert.That(Read(Table("flights", new FeatureColumn("delay", FeatureType.Double)), "SFO").Found, Is.False, "the table is unchanged");
    }

    [Test]
    public async Task PrepareAsync_DuplicateFeature_ThrowsValidation()
    {
        var e = Assert.ThrowsAsync<ValidationException>(() => _store.PrepareAsync(Table("flights", new FeatureColumn("delay", FeatureType.Double), new FeatureColumn("delay", FeatureType.Double))));
        Assert.That(e!.Message, Does.Contain("'delay' is listed twice"));
        await Task.CompletedTask;
    }

    [Test]
    public async Task PrepareAsync_AnyFeatureNames_AreStored()
    {
        FeatureColumn[] odd = [new("avg delay (1h)", FeatureType.Double), new("\"quoted\"; DROP TABLE x;--", FeatureType.String), new("délai_é", FeatureType.Int64), new("select", FeatureType.Boolean)];
        var table = Table("odd names!", odd);
        await _store.PrepareAsync(table);
        await _store.WriteAsync(table, Batch(("origin", Strings("SFO")), ("ts", Times(T0)),
            ("avg delay (1h)", Doubles(1.5)), ("\"quoted\"; DROP TABLE x;--", Strings("q")), ("délai_é", Longs(3)), ("select", Bools(true))), NoState);

        Assert.That(Read(table, "SFO").Values, Is.EqualTo(new[] { FeatureValue.FromDouble(1.5), FeatureValue.FromString("q"), FeatureValue.FromInt64(3), FeatureValue.FromBoolean(true) }));
    }

    [Test]
    public async Task PrepareAsync_FeatureSetsThatSanitizeAlike_AreSeparate()
    {
        var a = Table("a-b", new FeatureColumn("x", FeatureType.Double));
        var b = Table("a_b", new FeatureColumn("x", FeatureType.Double));
        await _store.PrepareAsync(a);
        await _store.PrepareAsync(b);
        await _store.WriteAsync(a, Batch(("origin", Strings("SFO")), ("ts", Times(T0)), ("x", Doubles(1))), NoState);
        await _store.WriteAsync(b, Batch(("origin", Strings("SFO")), ("ts", Times(T0)), ("x", Doubles(2))), NoState);

        Assert.That(Read(a, "SFO").Values[0].Number, Is.EqualTo(1));
        Assert.That(Read(b, "SFO").Values[0].Number, Is.EqualTo(2));
    }

    // ---- write: values ----

    [Test]
    public async Task WriteAsync_EveryType_RoundTrips()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        var seen = new DateTimeOffset(2025, 6, 1, 12, 30, 15, 123, TimeSpan.Zero).AddTicks(4560);
        await _store.WriteAsync(table, Batch(
            ("origin", Strings("SFO")), ("ts", Times(T0)),
            ("delay", Doubles(-12.25)), ("count", Longs(long.MaxValue)), ("late", Bools(true)), ("destination", Strings("Zürich ✈")), ("last_seen", Times(seen))), NoState);

        var (found, values, time) = Read(table, "SFO");
        Assert.That(found, Is.True);
        Assert.That(time, Is.EqualTo(Micros(T0)));
        Assert.That(values, Is.EqualTo(new[]
        {
            FeatureValue.FromDouble(-12.25), FeatureValue.FromInt64(long.MaxValue), FeatureValue.FromBoolean(true),
            FeatureValue.FromString("Zürich ✈"), FeatureValue.FromTimestamp(Micros(seen)),
        }));
        Assert.That(values[4].ToObject(), Is.EqualTo(seen));
    }

    [Test]
    public async Task WriteAsync_NullsOfEveryType_ReadBackAsNullOfTheType()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        await _store.WriteAsync(table, Batch(
            ("origin", Strings("SFO", "LAX")), ("ts", Times(T0, T0)),
            ("delay", Doubles(null, double.NaN)), ("count", Longs(null, 1)), ("late", Bools(null, false)), ("destination", Strings(null, "")), ("last_seen", Times(null, DateTimeOffset.UnixEpoch))), NoState);

        Assert.That(Read(table, "SFO").Values, Is.EqualTo(AllTypes.Select(f => FeatureValue.Null(f.Type)).ToArray()));
        Assert.That(Read(table, "LAX").Values, Is.EqualTo(new[]
        {
            FeatureValue.Null(FeatureType.Double), // NaN is stored as null
            FeatureValue.FromInt64(1), FeatureValue.FromBoolean(false), FeatureValue.FromString(""), FeatureValue.FromTimestamp(0),
        }));
    }

    [Test]
    public async Task WriteAsync_ZeroValuesOfEveryType_AreNotNull()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        await _store.WriteAsync(table, Batch(
            ("origin", Strings("SFO")), ("ts", Times(DateTimeOffset.UnixEpoch)),
            ("delay", Doubles(0.0)), ("count", Longs(0)), ("late", Bools(false)), ("destination", Strings("")), ("last_seen", Times(DateTimeOffset.UnixEpoch))), NoState);

        var (found, values, time) = Read(table, "SFO");
        Assert.That(found, Is.True);
        Assert.That(time, Is.Zero);
        Assert.That(values, Is.EqualTo(new[]
        {
            FeatureValue.FromDouble(0), FeatureValue.FromInt64(0), FeatureValue.FromBoolean(false), FeatureValue.FromString(""), FeatureValue.FromTimestamp(0),
        }));
    }

    [Test]
    public async Task WriteAsync_MissingFeatureColumn_WritesNull()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        await _store.WriteAsync(table, Batch(("origin", Strings("SFO")), ("ts", Times(T0)), ("delay", Doubles(1)), ("destination", Strings("LAX"))), NoState);
        await _store.WriteAsync(table, Rows(T0.AddMinutes(1), 2, "SFO"), NoState);

        var values = Read(table, "SFO").Values;
        Assert.That(values[0], Is.EqualTo(FeatureValue.FromDouble(2)));
        Assert.That(values[3], Is.EqualTo(FeatureValue.Null(FeatureType.String)), "the newer row replaces the whole row");
    }

    [Test]
    public async Task WriteAsync_WiderArrowTypes_AreConverted()
    {
        var table = Table("flights", new FeatureColumn("delay", FeatureType.Double), new FeatureColumn("count", FeatureType.Int64));
        await _store.PrepareAsync(table);
        var floats = new FloatArray.Builder().Append(1.5f).Build();
        await _store.WriteAsync(table, Batch(("origin", Strings("SFO")), ("ts", Times(T0)), ("delay", floats), ("count", Ints(42))), NoState);
        await _store.WriteAsync(table, Batch(("origin", Strings("LAX")), ("ts", Times(T0)), ("delay", Longs(3)), ("count", Longs(-1))), NoState);

        Assert.That(Read(table, "SFO").Values, Is.EqualTo(new[] { FeatureValue.FromDouble(1.5), FeatureValue.FromInt64(42) }));
        Assert.That(Read(table, "LAX").Values, Is.EqualTo(new[] { FeatureValue.FromDouble(3), FeatureValue.FromInt64(-1) }));
    }

    [TestCase(TimeUnit.Second)]
    [TestCase(TimeUnit.Millisecond)]
    [TestCase(TimeUnit.Microsecond)]
    [TestCase(TimeUnit.Nanosecond)]
    public async Task WriteAsync_TimestampUnits_AreConvertedToMicroseconds(TimeUnit unit)
    {
        var table = Table("flights", new FeatureColumn("last_seen", FeatureType.Timestamp));
        await _store.PrepareAsync(table);
        var t = new DateTimeOffset(2001, 1, 1, 0, 47, 0, TimeSpan.Zero);
        var before = new DateTimeOffset(1960, 5, 5, 1, 2, 3, TimeSpan.Zero);
        await _store.WriteAsync(table, Batch(("origin", Strings("SFO")), ("ts", Times(unit, t)), ("last_seen", Times(unit, before))), NoState);

        var (_, values, time) = Read(table, "SFO");
        Assert.That(time, Is.EqualTo(Micros(t)));
        Assert.That(values[0], Is.EqualTo(FeatureValue.FromTimestamp(Micros(before))));
    }

    // ---- write: latest wins ----

    [Test]
    public async Task WriteAsync_OlderEvent_DoesNotOverwrite()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        await _store.WriteAsync(table, Rows(T0.AddHours(1), 10, "SFO"), NoState);
        await _store.WriteAsync(table, Rows(T0, 20, "SFO"), NoState);

        var (_, values, time) = Read(table, "SFO", "delay");
        Assert.That(values[0].Number, Is.EqualTo(10));
        Assert.That(time, Is.EqualTo(Micros(T0.AddHours(1))));
    }

    [Test]
    public async Task WriteAsync_EqualEventTime_LaterWriteWins()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        await _store.WriteAsync(table, Rows(T0, 10, "SFO"), NoState);
        await _store.WriteAsync(table, Rows(T0, 20, "SFO"), NoState);

        Assert.That(Read(table, "SFO", "delay").Values[0].Number, Is.EqualTo(20));
    }

    [TestCase(new[] { 0, 60, 30 }, new[] { 1.0, 2.0, 3.0 }, 2.0, TestName = "WriteAsync_SameKeyTwiceInOneBatch_LatestEventWins(older last)")]
    [TestCase(new[] { 0, 30, 60 }, new[] { 1.0, 2.0, 3.0 }, 3.0, TestName = "WriteAsync_SameKeyTwiceInOneBatch_LatestEventWins(newer last)")]
    [TestCase(new[] { 30, 30, 0 }, new[] { 1.0, 2.0, 3.0 }, 2.0, TestName = "WriteAsync_SameKeyTwiceInOneBatch_LatestEventWins(tie, later row)")]
    public async Task WriteAsync_SameKeyTwiceInOneBatch_LatestEventWins(int[] minutes, double[] delays, double expected)
    {
        var table = Table();
        await _store.PrepareAsync(table);
        await _store.WriteAsync(table, Batch(
            ("origin", Strings(minutes.Select(_ => "SFO").ToArray())),
            ("ts", Times(minutes.Select(m => (DateTimeOffset?)T0.AddMinutes(m)).ToArray())),
            ("delay", Doubles(delays.Select(d => (double?)d).ToArray()))), NoState);

        Assert.That(Read(table, "SFO", "delay").Values[0].Number, Is.EqualTo(expected));
    }

    // ---- write: keys ----

    [Test]
    public async Task WriteAsync_CompoundKey_IsEncodedLikeEntityKey()
    {
        var table = new OnlineTable("proj", "routes",
            [new("origin", FeatureType.String), new("flight", FeatureType.Int64), new("hub", FeatureType.Boolean), new("gate", FeatureType.Int64), new("day", FeatureType.Timestamp)],
            "ts", [new FeatureColumn("delay", FeatureType.Double)]);
        await _store.PrepareAsync(table);
        var day = new DateTimeOffset(2001, 1, 2, 0, 0, 0, TimeSpan.Zero);
        await _store.WriteAsync(table, Batch(
            ("origin", Strings("SFO", "SFO")), ("flight", Longs(-17, 17)), ("hub", Bools(true, false)), ("gate", Ints(3, 3)), ("day", Times(day, day)),
            ("ts", Times(T0, T0)), ("delay", Doubles(1, 2))), NoState);

        Assert.That(Read(table, EntityKey.Encode("SFO", -17L, true, 3, day)).Values[0].Number, Is.EqualTo(1));
        Assert.That(Read(table, EntityKey.Encode("SFO", 17L, false, 3, day)).Values[0].Number, Is.EqualTo(2));
        Assert.That(Read(table, "SFO").Found, Is.False);
    }

    [Test]
    public async Task WriteAsync_CompoundKeyRepeatedInOneBatch_LatestEventOfEachKeyWins()
    {
        var table = new OnlineTable("proj", "routes", [new("origin", FeatureType.String), new("flight", FeatureType.Int64)], "ts", [new FeatureColumn("delay", FeatureType.Double)]);
        await _store.PrepareAsync(table);
        await _store.WriteAsync(table, Batch(
            ("origin", Strings("SFO", "SFO", "SFO", "SFO", "LAX")), ("flight", Ints(1, 2, 1, 1, 1)),
            ("ts", Times(T0.AddMinutes(1), T0, T0, T0.AddMinutes(1), T0)), ("delay", Doubles(1, 2, 3, 4, 5))), NoState);

        Assert.That(Read(table, EntityKey.Encode("SFO", 1)).Values[0].Number, Is.EqualTo(4));
        Assert.That(Read(table, EntityKey.Encode("SFO", 2)).Values[0].Number, Is.EqualTo(2));
        Assert.That(Read(table, EntityKey.Encode("LAX", 1)).Values[0].Number, Is.EqualTo(5));
    }

    [Test]
    public async Task WriteAsync_IntegerKey_IsEncodedLikeEntityKey()
    {
        var table = new OnlineTable("proj", "users", [new("user_id", FeatureType.Int64)], "ts", [new FeatureColumn("score", FeatureType.Double)]);
        await _store.PrepareAsync(table);
        await _store.WriteAsync(table, Batch(("user_id", Longs(1234567890123)), ("ts", Times(T0)), ("score", Doubles(0.5))), NoState);

        Assert.That(Read(table, EntityKey.Encode(1234567890123L)).Values[0].Number, Is.EqualTo(0.5));
    }

    // ---- write: validation ----

    [Test]
    public async Task WriteAsync_NullEntityValue_ThrowsNamingColumnAndRow()
    {
        var table = Table();
        await _store.PrepareAsync(table);

        var e = Assert.ThrowsAsync<ValidationException>(() => _store.WriteAsync(table, Batch(("origin", Strings("SFO", "LAX", null)), ("ts", Times(T0, T0, T0))), NoState));
        Assert.That(e!.Message, Does.Contain("'origin'").And.Contain("row 2"));
        Assert.That(Read(table, "SFO").Found, Is.False, "nothing of the batch is written");
    }

    [Test]
    public async Task WriteAsync_NullTimestamp_ThrowsNamingColumnAndRow()
    {
        var table = Table();
        await _store.PrepareAsync(table);

        var e = Assert.ThrowsAsync<ValidationException>(() => _store.WriteAsync(table, Batch(("origin", Strings("SFO", "LAX")), ("ts", Times(T0, null))), NoState));
        Assert.That(e!.Message, Does.Contain("'ts'").And.Contain("row 1"));
    }

    [Test]
    public async Task WriteAsync_MissingTimestampColumn_ThrowsNamingColumn()
    {
        var table = Table();
        await _store.PrepareAsync(table);

        var e = Assert.ThrowsAsync<ValidationException>(() => _store.WriteAsync(table, Batch(("origin", Strings("SFO")), ("delay", Doubles(1))), NoState));
        Assert.That(e!.Message, Does.Contain("timestamp column 'ts'").And.Contain("origin"));
    }

    [Test]
    public async Task WriteAsync_MissingEntityColumn_ThrowsNamingColumn()
    {
        var table = Table();
        await _store.PrepareAsync(table);

        var e = Assert.ThrowsAsync<ValidationException>(() => _store.WriteAsync(table, Batch(("ts", Times(T0)), ("delay", Doubles(1))), NoState));
        Assert.That(e!.Message, Does.Contain("entity column 'origin'"));
    }

    [Test]
    public async Task WriteAsync_FeatureOfWrongArrowType_ThrowsNamingColumnAndTypes()
    {
        var table = Table();
        await _store.PrepareAsync(table);

        var e = Assert.ThrowsAsync<ValidationException>(() => _store.WriteAsync(table, Batch(("origin", Strings("SFO")), ("ts", Times(T0)), ("delay", Strings("late"))), NoState));
        Assert.That(e!.Message, Does.Contain("'delay'").And.Contain("utf8").IgnoreCase.And.Contain("Double"));
    }

    [Test]
    public void WriteAsync_TableNotPrepared_ThrowsValidation()
    {
        var e = Assert.ThrowsAsync<ValidationException>(() => _store.WriteAsync(Table(), Rows(T0, 1, "SFO"), NoState));
        Assert.That(e!.Message, Does.Contain("PrepareAsync"));
    }

    [Test]
    public async Task WriteAsync_FeatureNotPrepared_ThrowsValidation()
    {
        await _store.PrepareAsync(Table("flights", new FeatureColumn("delay", FeatureType.Double)));

        var e = Assert.ThrowsAsync<ValidationException>(() => _store.WriteAsync(Table(), Rows(T0, 1, "SFO"), NoState));
        Assert.That(e!.Message, Does.Contain("'count'").And.Contain("PrepareAsync"));
    }

    // ---- window state ----

    [Test]
    public async Task WriteAsync_WindowState_RoundTripsWithTheRows()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        await _store.WriteAsync(table, Rows(T0, 1, "SFO", "LAX"), new Dictionary<string, byte[]> { ["SFO"] = [1, 2, 3], ["LAX"] = [], ["JFK"] = [9] });
        await _store.WriteAsync(table, NoRows(), new Dictionary<string, byte[]> { ["SFO"] = [4] });

        var state = await _store.LoadWindowStateAsync(table, ["SFO", "LAX", "JFK", "ORD"]);
        Assert.That(state.Keys, Is.EquivalentTo(new[] { "SFO", "LAX", "JFK" }));
        Assert.That(state["SFO"], Is.EqualTo(new byte[] { 4 }));
        Assert.That(state["LAX"], Is.Empty);
        Assert.That(state["JFK"], Is.EqualTo(new byte[] { 9 }));
        Assert.That(Read(table, "LAX").Found, Is.True);
    }

    [Test]
    public async Task WriteAsync_WindowStateFails_RowsAreRolledBackToo()
    {
        var table = Table();
        await _store.PrepareAsync(table);

        Assert.ThrowsAsync<ValidationException>(() => _store.WriteAsync(table, Rows(T0, 1, "SFO"), new Dictionary<string, byte[]> { ["SFO"] = [1], ["LAX"] = null! }));

        Assert.That(Read(table, "SFO").Found, Is.False);
        Assert.That(await _store.LoadWindowStateAsync(table, ["SFO", "LAX"]), Is.Empty);
    }

    [Test]
    public async Task LoadWindowStateAsync_ManyKeys_ReturnsTheStoredOnes()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        var stored = Enumerable.Range(0, 1500).Where(i => i % 3 == 0).ToDictionary(i => $"k{i}", i => BitConverter.GetBytes(i));
        await _store.WriteAsync(table, NoRows(), stored);

        var state = await _store.LoadWindowStateAsync(table, Enumerable.Range(0, 1500).Select(i => $"k{i}").ToList());

        Assert.That(state, Has.Count.EqualTo(500));
        Assert.That(state.All(kv => stored[kv.Key].SequenceEqual(kv.Value)), Is.True);
    }

    [Test]
    public async Task LoadWindowStateAsync_OtherFeatureSet_IsSeparate()
    {
        var a = Table("a");
        var b = Table("b");
        await _store.PrepareAsync(a);
        await _store.PrepareAsync(b);
        await _store.WriteAsync(a, NoRows(), new Dictionary<string, byte[]> { ["SFO"] = [1] });

        Assert.That(await _store.LoadWindowStateAsync(b, ["SFO"]), Is.Empty);
        Assert.That(await _store.LoadWindowStateAsync(a, []), Is.Empty);
    }

    // ---- readers ----

    [Test]
    public async Task OpenReader_RowsWrittenAfterOpening_AreSeen()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        using var reader = _store.OpenReader(table, ["delay"]);
        Assert.That(Read(reader, "SFO").Found, Is.False);

        await _store.WriteAsync(table, Rows(T0, 1, "SFO"), NoState);
        Assert.That(Read(reader, "SFO").Values[0].Number, Is.EqualTo(1));

        await _store.WriteAsync(table, Rows(T0.AddMinutes(1), 2, "SFO"), NoState);
        Assert.That(Read(reader, "SFO").Values[0].Number, Is.EqualTo(2));
    }

    [Test]
    public async Task OpenReader_SomeFeatures_ReturnsThemInTheRequestedOrder()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        await _store.WriteAsync(table, Batch(("origin", Strings("SFO")), ("ts", Times(T0)), ("delay", Doubles(3)), ("destination", Strings("LAX"))), NoState);

        using var reader = _store.OpenReader(table, ["destination", "delay"]);
        Assert.That(reader.Columns.Select(c => c.Name), Is.EqualTo(new[] { "destination", "delay" }));
        Assert.That(Read(reader, "SFO").Values, Is.EqualTo(new[] { FeatureValue.FromString("LAX"), FeatureValue.FromDouble(3) }));
    }

    [Test]
    public async Task OpenReader_UnknownFeature_ThrowsListingKnownFeatures()
    {
        var table = Table();
        await _store.PrepareAsync(table);

        var e = Assert.Throws<ValidationException>(() => _store.OpenReader(table, ["delay", "speed"]));
        Assert.That(e!.Message, Does.Contain("'speed'").And.Contain("delay, count, late, destination, last_seen"));
    }

    [Test]
    public void OpenReader_NoTable_ThrowsNotFound()
        => Assert.Throws<NotFoundException>(() => _store.OpenReader(Table(), ["delay"]));

    [Test]
    public async Task TryRead_ShortDestination_ThrowsArgument()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        using var reader = _store.OpenReader(table, ["delay", "count"]);

        Assert.Throws<ArgumentException>(() => reader.TryRead("SFO", new FeatureValue[1], out _));
    }

    // ---- batched reads ----

    [Test]
    public async Task TryReadMany_HitsMissesAndNullKeys_FillsTheFoundRowsOnly()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        await _store.WriteAsync(table, Batch(("origin", Strings("SFO", "LAX")), ("ts", Times(T0, T0.AddMinutes(5))),
            ("delay", Doubles(1.5, null)), ("destination", Strings("JFK", "ORD"))), NoState);
        using var reader = _store.OpenReader(table, ["destination", "delay"]);
        var sentinel = FeatureValue.FromString("untouched");
        var values = Enumerable.Repeat(sentinel, 8).ToArray();
        var times = new long[] { -1, -1, -1, -1 };
        var found = new bool[] { true, true, false, true };

        var hits = reader.TryReadMany(["LAX", "nowhere", "SFO", null], values, times, found);

        Assert.That(hits, Is.EqualTo(2));
        Assert.That(found, Is.EqualTo(new[] { true, false, true, false }));
        Assert.That(times, Is.EqualTo(new[] { Micros(T0.AddMinutes(5)), 0, Micros(T0), 0 }));
        Assert.That(values, Is.EqualTo(new[]
        {
            FeatureValue.FromString("ORD"), FeatureValue.Null(FeatureType.Double),
            sentinel, sentinel,
            FeatureValue.FromString("JFK"), FeatureValue.FromDouble(1.5),
            sentinel, sentinel,
        }));
    }

    [Test]
    public async Task TryReadMany_RepeatedKeys_ReadsEveryOccurrence()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        await _store.WriteAsync(table, Rows(T0, 4, "SFO", "LAX"), NoState);
        using var reader = _store.OpenReader(table, ["delay"]);
        var values = new FeatureValue[3];

        var hits = reader.TryReadMany(["SFO", "SFO", "LAX"], values, new long[3], new bool[3]);

        Assert.That(hits, Is.EqualTo(3));
        Assert.That(values, Is.All.EqualTo(FeatureValue.FromDouble(4)));
    }

    [Test]
    public async Task TryReadMany_NoKeys_ReturnsZeroAndTouchesNothing()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        using var reader = _store.OpenReader(table, ["delay"]);

        Assert.That(reader.TryReadMany([], [], [], []), Is.Zero);
    }

    [Test]
    public async Task TryReadMany_ShortBuffers_ThrowArgumentNamingTheBuffer()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        using var reader = _store.OpenReader(table, ["delay", "count"]);
        string?[] keys = ["SFO", "LAX"];

        var destination = Assert.Throws<ArgumentException>(() => reader.TryReadMany(keys, new FeatureValue[3], new long[2], new bool[2]));
        var times = Assert.Throws<ArgumentException>(() => reader.TryReadMany(keys, new FeatureValue[4], new long[1], new bool[2]));
        var found = Assert.Throws<ArgumentException>(() => reader.TryReadMany(keys, new FeatureValue[4], new long[2], new bool[1]));

        Assert.That(destination!.ParamName, Is.EqualTo("destination"));
        Assert.That(times!.ParamName, Is.EqualTo("eventTimes"));
        Assert.That(found!.ParamName, Is.EqualTo("found"));
    }

    [Test]
    public async Task TryReadMany_RowsWrittenBetweenBatches_AreSeen()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        using var reader = _store.OpenReader(table, ["delay"]);
        var values = new FeatureValue[2];
        var found = new bool[2];
        Assert.That(reader.TryReadMany(["SFO", "LAX"], values, new long[2], found), Is.Zero);

        await _store.WriteAsync(table, Rows(T0, 1, "SFO", "LAX"), NoState);
        Assert.That(reader.TryReadMany(["SFO", "LAX"], values, new long[2], found), Is.EqualTo(2), "a batch leaves no old snapshot behind");

        await _store.WriteAsync(table, Rows(T0.AddMinutes(1), 2, "LAX"), NoState);
        Assert.That(reader.TryReadMany(["SFO", "LAX"], values, new long[2], found), Is.EqualTo(2));
        Assert.That(values.Select(v => v.Number), Is.EqualTo(new[] { 1.0, 2.0 }));
        Assert.That(Read(reader, "LAX").Values[0].Number, Is.EqualTo(2), "single reads still see the latest commit");
    }

    [Test]
    public async Task TryReadMany_Flights_MatchesTryReadPerKey()
    {
        var table = new OnlineTable("proj", "flights", [new("origin", FeatureType.String)], "date",
            [new("delay", FeatureType.Double), new("distance", FeatureType.Int64), new("destination", FeatureType.String)]);
        await _store.PrepareAsync(table);
        var flights = ReadFlights();
        await _store.WriteAsync(table, Batch(
            ("origin", Strings(flights.Select(f => f.Origin).ToArray())),
            ("date", Times(flights.Select(f => (DateTimeOffset?)f.Date).ToArray())),
            ("delay", Doubles(flights.Select(f => (double?)f.Delay).ToArray())),
            ("distance", Longs(flights.Select(f => (long?)f.Distance).ToArray())),
            ("destination", Strings(flights.Select(f => f.Destination).ToArray()))), NoState);
        string?[] keys = [.. flights.Select(f => f.Origin).Distinct().Order(StringComparer.Ordinal), "XXX", null, "SFO"];
        using var reader = _store.OpenReader(table, ["destination", "distance", "delay"]);
        var values = new FeatureValue[keys.Length * 3];
        var times = new long[keys.Length];
        var found = new bool[keys.Length];

        var hits = reader.TryReadMany(keys, values, times, found);

        Assert.That(hits, Is.EqualTo(keys.Length - 2));
        for (var i = 0; i < keys.Length; i++)
        {
            var expected = keys[i] is { } key ? Read(reader, key) : (Found: false, Values: new FeatureValue[3], EventTime: 0L);
            Assert.That(found[i], Is.EqualTo(expected.Found), keys[i]);
            Assert.That(times[i], Is.EqualTo(expected.EventTime), keys[i]);
            if (expected.Found) Assert.That(values.AsSpan(i * 3, 3).ToArray(), Is.EqualTo(expected.Values), keys[i]);
        }
    }

    // ---- drop ----

    [Test]
    public async Task DropAsync_Table_RemovesRowsColumnsAndWindowState()
    {
        var table = Table();
        await _store.PrepareAsync(table);
        await _store.WriteAsync(table, Rows(T0, 1, "SFO"), new Dictionary<string, byte[]> { ["SFO"] = [1] });

        await _store.DropAsync(table);

        Assert.Throws<NotFoundException>(() => _store.OpenReader(table, ["delay"]));
        Assert.That(await _store.LoadWindowStateAsync(table, ["SFO"]), Is.Empty);
        var narrower = Table("flights", new FeatureColumn("delay", FeatureType.String));
        await _store.PrepareAsync(narrower); // a new definition, even with another type, is accepted after the drop
        using var reader = _store.OpenReader(narrower, ["delay"]);
        Assert.That(Read(reader, "SFO").Found, Is.False);
        Assert.That(reader.Columns.Single().Type, Is.EqualTo(FeatureType.String));
    }

    [Test]
    public async Task DropAsync_UnknownTable_DoesNothing()
    {
        await _store.DropAsync(Table("never"));
        Assert.Pass();
    }

    // ---- concurrency and real data ----

    [Test]
    public async Task WriteAsync_ConcurrentWritersOnSeveralThreads_LoseNoRows()
    {
        const int Writers = 8, Batches = 10, RowsPerBatch = 50;
        var table = Table();
        await _store.PrepareAsync(table);

        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (var b = 0; b < Batches; b++)
            {
                var keys = Enumerable.Range(0, RowsPerBatch).Select(i => $"w{w}-{b * RowsPerBatch + i}").Append("shared").ToArray();
                var time = T0.AddMinutes(b * Writers + w);
                await _store.WriteAsync(table, Rows(time, b * Writers + w, keys), new Dictionary<string, byte[]> { [$"w{w}"] = [(byte)b] });
            }
        })));

        using var reader = _store.OpenReader(table, ["delay"]);
        var missing = 0;
        for (var w = 0; w < Writers; w++)
            for (var i = 0; i < Batches * RowsPerBatch; i++)
                if (!Read(reader, $"w{w}-{i}").Found) missing++;
        Assert.That(missing, Is.Zero);
        Assert.That(Read(reader, "shared").Values[0].Number, Is.EqualTo(Batches * Writers - 1), "the latest event of all writers");
        var state = await _store.LoadWindowStateAsync(table, Enumerable.Range(0, Writers).Select(w => $"w{w}").ToList());
        Assert.That(state.Values.Select(s => s[0]), Is.All.EqualTo(Batches - 1));
    }

    [Test]
    public async Task WriteAsync_Flights_EachOriginHoldsItsLatestFlight()
    {
        var table = new OnlineTable("proj", "flights", [new("origin", FeatureType.String)], "date",
            [new("delay", FeatureType.Double), new("distance", FeatureType.Int64), new("destination", FeatureType.String)]);
        await _store.PrepareAsync(table);
        var flights = ReadFlights();
        Assert.That(flights, Has.Count.EqualTo(20_000));
        // Shuffled, so older flights often arrive after newer ones of the same origin.
        var shuffled = flights.ToArray();
        new Random(42).Shuffle(shuffled);

        const int BatchSize = 6_000;
        for (var start = 0; start < shuffled.Length; start += BatchSize)
        {
            var part = shuffled.AsSpan(start, Math.Min(BatchSize, shuffled.Length - start)).ToArray();
            await _store.WriteAsync(table, Batch(
                ("origin", Strings(part.Select(f => f.Origin).ToArray())),
                ("date", Times(part.Select(f => (DateTimeOffset?)f.Date).ToArray())),
                ("delay", Doubles(part.Select(f => (double?)f.Delay).ToArray())),
                ("distance", Longs(part.Select(f => (long?)f.Distance).ToArray())),
                ("destination", Strings(part.Select(f => f.Destination).ToArray()))), NoState);
        }

        var latest = new Dictionary<string, Flight>();
        foreach (var f in shuffled)
            if (!latest.TryGetValue(f.Origin, out var cur) || f.Date >= cur.Date) latest[f.Origin] = f;
        using var reader = _store.OpenReader(table, ["delay", "distance", "destination"]);
        var values = new FeatureValue[3];
        var mismatches = new List<string>();
        foreach (var (origin, f) in latest)
        {
            if (!reader.TryRead(origin, values, out var time)) mismatches.Add($"{origin}: missing");
            else if (time != Micros(f.Date) || values[0].Number != f.Delay || values[1].Integer != f.Distance || values[2].Text != f.Destination)
                mismatches.Add($"{origin}: stored {time} {values[0].Number} {values[1].Integer} {values[2].Text}, expected {Micros(f.Date)} {f.Delay} {f.Distance} {f.Destination}");
        }
        Assert.That(latest, Has.Count.GreaterThan(100));
        Assert.That(mismatches, Is.Empty);
    }

    private sealed record Flight(string Origin, DateTimeOffset Date, double Delay, long Distance, string Destination);

    private static List<Flight> ReadFlights()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(TestProjects.FlightsJson));
        return doc.RootElement.EnumerateArray().Select(e => new Flight(
            e.GetProperty("origin").GetString()!,
            new DateTimeOffset(DateTime.ParseExact(e.GetProperty("date").GetString()!, "yyyy/MM/dd HH:mm", CultureInfo.InvariantCulture), TimeSpan.Zero),
            e.GetProperty("delay").GetDouble(),
            e.GetProperty("distance").GetInt64(),
            e.GetProperty("destination").GetString()!)).ToList();
    }

    protected static RecordBatch NoRows() => Batch(("origin", Strings()), ("ts", Times()));
}
