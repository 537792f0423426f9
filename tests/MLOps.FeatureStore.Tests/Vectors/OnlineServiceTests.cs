using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using MLOps.FeatureStore.Online;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.TestSupport;
using MLOps.FeatureStore.Vectors;
using static MLOps.FeatureStore.Tests.Online.OnlineBatches;

namespace MLOps.FeatureStore.Tests.Vectors;

/// <summary>The online feature service over the SQLite online store: batched lookups give the rows of single lookups.</summary>
[Parallelizable(ParallelScope.All)]
public class OnlineServiceTests
{
    private static Dictionary<string, object> Key(string column, object value) => new() { [column] = value };

    /// <summary>Asserts that <see cref="OnlineFeatureService.GetManyAsync"/> returns, row by row, what
    /// <see cref="OnlineFeatureService.GetAsync"/> returns for each key.</summary>
    private static async Task<IReadOnlyList<FeatureRow>> AssertManyMatchesSingleAsync(OnlineFeatureService online, IReadOnlyList<IReadOnlyDictionary<string, object>> keys)
    {
        var many = await online.GetManyAsync(keys);
        Assert.That(many, Has.Count.EqualTo(keys.Count));
        var mismatches = new List<string>();
        for (var i = 0; i < keys.Count; i++)
        {
            var single = await online.GetAsync(keys[i]);
            if (single.Found != many[i].Found || !single.Values.SequenceEqual(many[i].Values) || !single.Names.SequenceEqual(many[i].Names))
                mismatches.Add($"{i} {string.Join(",", keys[i].Values)}: many [{many[i]}] found {many[i].Found}, single [{single}] found {single.Found}");
        }

        Assert.That(mismatches, Is.Empty);
        return many;
    }

    [Test]
    public async Task GetManyAsync_FlightsWithAirportsByDestination_MatchesGetAsyncPerKey()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.IngestAsync(fs.FeatureSet("flight_delays").Entity("origin").Timestamp("date").Build(), DataSource.Json(TestProjects.FlightsJson));
        await fs.IngestAsync(fs.FeatureSet("airports").Entity("iata").Build(), DataSource.Csv(TestProjects.AirportsCsv));
        var vector = await fs.Vector("destinations")
            .Select("flight_delays.delay", "flight_delays.distance", "flight_delays.destination", "airports.state as destination_state", "airports.latitude as destination_latitude")
            .Relation("flight_delays.destination", "airports")
            .SaveAsync();
        await using var online = await fs.GetOnlineServiceAsync(vector);
        string[] origins;
        using (var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(TestProjects.FlightsJson)))
            origins = doc.RootElement.EnumerateArray().Select(e => e.GetProperty("origin").GetString()!).Distinct().Order(StringComparer.Ordinal).ToArray();
        // More keys than one batch holds, with repeats and unknown origins.
        var keys = origins.Append("XXX").Concat(origins.Reverse()).Append("SFO").Select(o => (IReadOnlyDictionary<string, object>)Key("origin", o)).ToList();
        Assert.That(keys, Has.Count.GreaterThan(256));

        var rows = await AssertManyMatchesSingleAsync(online, keys);

        Assert.That(rows[origins.Length].Found, Is.False, "XXX");
        Assert.That(rows[origins.Length].IsNull("delay"), Is.True);
        Assert.That(rows.Count(r => r.Found), Is.GreaterThan(400));
        Assert.That(rows.Count(r => r.GetString("destination_state") is not null), Is.GreaterThan(400));
        var sfo = rows[^1];
        Assert.That(sfo.Found, Is.True);
        Assert.That(sfo.GetString("destination"), Is.Not.Null);
    }

    [Test]
    public async Task GetManyAsync_OnlineTtlAndMissingPolicies_MatchGetAsyncPerKey()
    {
        var time = new FakeTimeProvider(T0.AddHours(2));
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder, time: time);
        var fs = project.FeatureStore;
        var sensors = fs.FeatureSet("sensors").Entity("id").Timestamp("ts").OnlineTtl(TimeSpan.FromHours(1)).Build();
        await fs.IngestAsync(sensors, DataSource.Batches([Batch(
            ("id", Strings("expired", "live", "boundary")),
            ("ts", Times(T0.AddMinutes(30), T0.AddMinutes(90), T0.AddMinutes(60))),
            ("temp", Doubles(10, 20, 30)),
            ("count", Longs(1, 2, 6)))]));
        var vector = await fs.Vector("sensors").Select("sensors.*").SaveAsync();
        await using var online = await fs.GetOnlineServiceAsync(vector, new OnlineServiceOptions
        {
            Missing = MissingPolicy.Constant,
            Constant = -1,
            MissingByFeature = new Dictionary<string, MissingPolicy> { ["count"] = MissingPolicy.Mean },
        });
        IReadOnlyDictionary<string, object>[] keys = [Key("id", "expired"), Key("id", "live"), Key("id", "boundary"), Key("id", "unknown")];

        var rows = await AssertManyMatchesSingleAsync(online, keys);

        Assert.That(rows.Select(r => r.Found), Is.EqualTo(new[] { false, true, true, false }));
        Assert.That(rows.Select(r => r.GetDouble("temp")), Is.EqualTo(new[] { -1.0, 20, 30, -1 }));
        Assert.That(rows.Select(r => r.GetValue("count")), Is.EqualTo(new[] { FeatureValue.FromInt64(3), FeatureValue.FromInt64(2), FeatureValue.FromInt64(6), FeatureValue.FromInt64(3) }));

        time.Advance(TimeSpan.FromMinutes(1));
        rows = await AssertManyMatchesSingleAsync(online, keys);
        Assert.That(rows.Select(r => r.Found), Is.EqualTo(new[] { false, true, false, false }), "the TTL is checked against the clock of each call");
    }

    [Test]
    public async Task GetManyAsync_RelationOnIntegerColumnWithNullsAndMisses_MatchesGetAsyncPerKey()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.IngestAsync(fs.FeatureSet("users").Entity("user_id").Build(), DataSource.Batches([Batch(
            ("user_id", Longs(7, -3)), ("country", Strings("FR", "NZ")))]));
        await fs.IngestAsync(fs.FeatureSet("orders").Entity("order_id").Timestamp("ts").Build(), DataSource.Batches([Batch(
            ("order_id", Strings("o1", "o2", "o3", "o4")),
            ("ts", Times(T0, T0, T0, T0)),
            ("user_id", Longs(7, null, 99, -3)),
            ("amount", Doubles(1.5, 2.5, 3.5, 4.5)))]));
        var vector = await fs.Vector("orders").Select("orders.amount", "users.country").Relation("orders.user_id", "users").SaveAsync();
        await using var online = await fs.GetOnlineServiceAsync(vector);
        IReadOnlyDictionary<string, object>[] keys = [Key("order_id", "o1"), Key("order_id", "o2"), Key("order_id", "o3"), Key("order_id", "o4"), Key("order_id", "o5")];

        var rows = await AssertManyMatchesSingleAsync(online, keys);

        Assert.That(rows.Select(r => r.Found), Is.EqualTo(new[] { true, false, false, true, false }));
        Assert.That(rows.Select(r => r.GetString("country")), Is.EqualTo(new[] { "FR", null, null, "NZ", null }));
        Assert.That(rows.Select(r => r.GetDouble("amount")), Is.EqualTo(new[] { 1.5, 2.5, 3.5, 4.5, double.NaN }));
    }

    [Test]
    public async Task GetManyAsync_CompoundKeyAndSharedEntity_MatchesGetAsyncPerKey()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.IngestAsync(fs.FeatureSet("routes").Entity("origin", "flight").Timestamp("ts").Build(), DataSource.Batches([Batch(
            ("origin", Strings("SFO", "SFO", "LAX")), ("flight", Longs(1, 2, 1)), ("ts", Times(T0, T0, T0)), ("delay", Doubles(5, 6, 7)))]));
        await fs.IngestAsync(fs.FeatureSet("weather").Entity("origin").Timestamp("ts").Build(), DataSource.Batches([Batch(
            ("origin", Strings("SFO")), ("ts", Times(T0)), ("wind", Doubles(12)))]));
        var vector = await fs.Vector("routes").Select("routes.delay", "weather.wind").SaveAsync();
        await using var online = await fs.GetOnlineServiceAsync(vector);
        Assert.That(online.EntityColumns, Is.EqualTo(new[] { "origin", "flight" }));
        IReadOnlyDictionary<string, object>[] keys =
        [
            new Dictionary<string, object> { ["origin"] = "SFO", ["flight"] = 2L },
            new Dictionary<string, object> { ["origin"] = "LAX", ["flight"] = 1 },
            new Dictionary<string, object> { ["origin"] = "SFO", ["flight"] = 3L },
            new Dictionary<string, object> { ["origin"] = "SFO", ["flight"] = 1L },
        ];

        var rows = await AssertManyMatchesSingleAsync(online, keys);

        Assert.That(rows.Select(r => r.GetDouble("delay")), Is.EqualTo(new[] { 6, 7, double.NaN, 5 }));
        Assert.That(rows.Select(r => r.GetDouble("wind")), Is.EqualTo(new[] { 12, double.NaN, 12, 12 }));
        Assert.That(rows.Select(r => r.Found), Is.EqualTo(new[] { true, false, false, true }));
    }

    [Test]
    public async Task GetManyAsync_MissingKeyColumn_ThrowsValidationNamingColumnAndIndex()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        await using var online = await SensorsAsync(project);

        var e = Assert.ThrowsAsync<ValidationException>(async () => await online.GetManyAsync([Key("id", "a"), Key("name", "b")]));
        Assert.That(e!.Message, Does.Contain("'id'").And.Contain("index 1"));
        Assert.That((await online.GetManyAsync([Key("id", "a")]))[0].Found, Is.True, "the service still works");
    }

    [Test]
    public async Task GetManyAsync_NullEntry_ThrowsValidationNamingIndexAndFix()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        await using var online = await SensorsAsync(project);

        var e = Assert.ThrowsAsync<ValidationException>(async () => await online.GetManyAsync([Key("id", "a"), null!]));
        Assert.That(e!.Message, Does.Contain("keys[1] is null").And.Contain("leave the null entry out"));
        Assert.That((await online.GetManyAsync([Key("id", "a")]))[0].Found, Is.True, "the service still works");
    }

    [Test]
    public async Task GetManyAsync_NoKeys_ReturnsNoRows()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        await using var online = await SensorsAsync(project);

        Assert.That(await online.GetManyAsync([]), Is.Empty);
    }

    [Test]
    public async Task GetManyAsync_Cancelled_ThrowsOperationCanceled()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        await using var online = await SensorsAsync(project);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        Assert.CatchAsync<OperationCanceledException>(async () => await online.GetManyAsync([Key("id", "a")], cts.Token));
    }

    [Test]
    public async Task GetAsync_ConcurrentCallers_GetTheRowsOfOneCaller()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        await using var online = await SensorsAsync(project);
        IReadOnlyDictionary<string, object>[] keys = [.. Enumerable.Range(0, 50).Select(i => Key("id", i % 2 == 0 ? "a" : "b")), Key("id", "unknown")];
        var expected = (await online.GetManyAsync(keys)).Select(r => r.ToString()).ToArray();

        var failures = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            for (var n = 0; n < 100; n++)
            {
                var i = (t * 31 + n) % keys.Length;
                if ((await online.GetAsync(keys[i])).ToString() != expected[i]) Interlocked.Increment(ref failures);
                var many = await online.GetManyAsync(keys);
                if (!many.Select(r => r.ToString()).SequenceEqual(expected)) Interlocked.Increment(ref failures);
            }
        })));

        Assert.That(failures, Is.Zero);
    }

    [Test]
    public async Task GetAsync_AfterDispose_ThrowsObjectDisposed()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var online = await SensorsAsync(project);
        Assert.That((await online.GetAsync(Key("id", "a"))).Found, Is.True);

        await online.DisposeAsync();
        await online.DisposeAsync(); // twice is fine

        Assert.ThrowsAsync<ObjectDisposedException>(async () => await online.GetAsync(Key("id", "a")));
        Assert.ThrowsAsync<ObjectDisposedException>(async () => await online.GetManyAsync([Key("id", "a")]));
    }

    private static async Task<OnlineFeatureService> SensorsAsync(MLOpsProject project)
    {
        var fs = project.FeatureStore;
        await fs.IngestAsync(fs.FeatureSet("sensors").Entity("id").Timestamp("ts").Build(), DataSource.Batches([Batch(
            ("id", Strings("a", "b")), ("ts", Times(T0, T0.AddMinutes(1))), ("temp", Doubles(1, null)), ("site", Strings("north", "south")))]));
        var vector = await fs.Vector("sensors").Select("sensors.*").SaveAsync();
        return await fs.GetOnlineServiceAsync(vector);
    }
}
