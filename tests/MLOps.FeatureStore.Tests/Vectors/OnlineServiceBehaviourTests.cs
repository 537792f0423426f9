using Microsoft.Extensions.Time.Testing;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.TestSupport;
using MLOps.FeatureStore.Vectors;

namespace MLOps.FeatureStore.Tests.Vectors;

[Parallelizable(ParallelScope.All)]
public sealed class OnlineServiceBehaviourTests
{
    private static IReadOnlyDictionary<string, object> Key(string origin) => new Dictionary<string, object> { ["origin"] = origin };

    /// <summary>The latest flight of each origin: the greatest time, ties going to the later in the file (ingested later).</summary>
    private static Dictionary<string, Flight> LatestByOrigin(IEnumerable<Flight> flights)
        => flights.Select((f, i) => (f, i)).GroupBy(x => x.f.Origin)
            .ToDictionary(g => g.Key, g => g.OrderBy(x => x.f.Micros).ThenBy(x => x.i).Last().f);

    private static async Task<FeatureVector> IngestAsync(FeatureStoreCatalog fs, TimeSpan? ttl = null, int chunkSize = 3000)
    {
        var builder = fs.FeatureSet("flights").Entity("origin").Timestamp("date");
        if (ttl is { } t) builder.OnlineTtl(t);
        await fs.IngestAsync(builder.Build(), DataSource.Json(TestProjects.FlightsJson), new() { ChunkSize = chunkSize });
        return await fs.Vector("v").Select("flights.delay", "flights.distance", "flights.destination").SaveAsync();
    }

    [Test]
    public async Task GetAsyncAndGetManyAsync_EveryOrigin_ReturnTheLatestFlight()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var vector = await IngestAsync(fs);
        var latest = LatestByOrigin(FlightData.All);
        var origins = latest.Keys.Order(StringComparer.Ordinal).ToArray();

        await using var online = await fs.GetOnlineServiceAsync(vector);
        var many = await online.GetManyAsync(origins.Select(Key).ToArray());

        Assert.That(online.Columns.Select(c => $"{c.Name}:{c.Type}"), Is.EqualTo(new[] { "delay:Int64", "distance:Int64", "destination:String" }));
        Assert.That(online.EntityColumns, Is.EqualTo(new[] { "origin" }));
        Assert.That(many, Has.Count.EqualTo(origins.Length));
        for (var i = 0; i < origins.Length; i++)
        {
            var f = latest[origins[i]];
            Assert.That(many[i].Found, Is.True, origins[i]);
            Assert.That(many[i].ToDictionary(), Is.EqualTo(new Dictionary<string, object?> { ["delay"] = f.Delay, ["distance"] = f.Distance, ["destination"] = f.Destination }), origins[i]);
        }

        foreach (var origin in new[] { "SFO", "DTW", "SHV" })
        {
            var row = await online.GetAsync(Key(origin));
            Assert.That(row.GetDouble("delay"), Is.EqualTo(latest[origin].Delay));
            Assert.That(row.GetString("destination"), Is.EqualTo(latest[origin].Destination));
            Assert.That(row.ToSingles(), Is.EqualTo(new[] { (float)latest[origin].Delay, latest[origin].Distance, float.NaN }));
            Assert.That(online.Get(Key(origin)).ToString(), Is.EqualTo(row.ToString()));
        }
    }

    [Test]
    public async Task GetAsync_CompoundKey_ReturnsTheLatestFlightOfTheRoute()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await fs.IngestAsync(fs.FeatureSet("routes").Entity("origin", "destination").Timestamp("date").Build(), DataSource.Json(TestProjects.FlightsJson), new() { ChunkSize = 4000 });
        var vector = await fs.Vector("r").Select("routes.*").SaveAsync();
        var latest = FlightData.All.Select((f, i) => (f, i)).GroupBy(x => (x.f.Origin, x.f.Destination)).ToDictionary(g => g.Key, g => g.OrderBy(x => x.f.Micros).ThenBy(x => x.i).Last().f);

        await using var online = await fs.GetOnlineServiceAsync(vector);

        Assert.That(online.EntityColumns, Is.EqualTo(new[] { "origin", "destination" }));
        foreach (var ((origin, destination), f) in latest.Take(50))
        {
            var row = await online.GetAsync(new Dictionary<string, object> { ["origin"] = origin, ["destination"] = destination });
            Assert.That(row.Found, Is.True);
            Assert.That(row["delay"], Is.EqualTo(f.Delay), $"{origin}-{destination}");
        }

        Assert.That((await online.GetAsync(new Dictionary<string, object> { ["origin"] = "LAS", ["destination"] = "LAS" })).Found, Is.False);
    }

    [Test]
    public async Task GetAsync_UnknownEntity_IsNotFoundWithNulls()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var vector = await IngestAsync(fs);
        await using var online = await fs.GetOnlineServiceAsync(vector);

        var row = await online.GetAsync(Key("ZZZ"));

        Assert.That(row.Found, Is.False);
        Assert.That(row.ToDictionary(), Is.EqualTo(new Dictionary<string, object?> { ["delay"] = null, ["distance"] = null, ["destination"] = null }));
        Assert.That(row.IsNull("delay"), Is.True);
        Assert.That(row.GetDouble("delay"), Is.NaN);
        Assert.That(row.GetString("destination"), Is.Null);
        var e = Assert.Throws<ValidationException>(() => row.GetValue("dealy"))!;
        Assert.That(e.Message, Does.Contain("'dealy'").And.Contain("delay, distance, destination"));
    }

    [Test]
    public async Task GetAsync_OnlineTtl_ExpiresRowsWithTheClock()
    {
        using var folder = new TempFolder();
        var lastFlight = FlightData.All.Max(f => f.Micros);
        var time = new FakeTimeProvider(FlightData.FromMicros(lastFlight).AddMinutes(30));
        await using var project = await TestProjects.OpenAsync(folder, time: time);
        var fs = project.FeatureStore;
        var vector = await IngestAsync(fs, ttl: TimeSpan.FromHours(2));
        var latest = LatestByOrigin(FlightData.All);
        await using var online = await fs.GetOnlineServiceAsync(vector);

        var live = latest.Values.Where(f => f.Micros >= lastFlight + 30 * 60_000_000L - 2 * 3_600_000_000L).Select(f => f.Origin).ToHashSet();
        Assert.That(live, Is.Not.Empty);
        Assert.That(live.Count, Is.LessThan(latest.Count));
        foreach (var (origin, f) in latest)
        {
            var row = await online.GetAsync(Key(origin));
            Assert.That(row.Found, Is.EqualTo(live.Contains(origin)), origin);
            Assert.That(row["delay"], Is.EqualTo(live.Contains(origin) ? f.Delay : null), origin);
        }

        // exactly at the TTL the row is still live; a microsecond later it is gone
        var last = latest.Values.First(f => f.Micros == lastFlight);
        time.SetUtcNow(FlightData.FromMicros(lastFlight).AddHours(2));
        Assert.That((await online.GetAsync(Key(last.Origin))).Found, Is.True);
        time.Advance(TimeSpan.FromTicks(10));
        var expired = await online.GetAsync(Key(last.Origin));
        Assert.That(expired.Found, Is.False);
        Assert.That(expired.ToDictionary().Values, Is.All.Null);
    }

    [Test]
    public async Task GetAsync_MissingPolicies_FillFromTheStatistics()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var vector = await IngestAsync(fs);
        var stats = (await fs.GetStatisticsAsync("flights"))!;
        var delay = stats.Statistics.Single(s => s.Name == "delay");
        var distance = stats.Statistics.Single(s => s.Name == "distance");

        async Task<FeatureRow> Missing(OnlineServiceOptions options)
        {
            await using var online = await fs.GetOnlineServiceAsync(vector, options);
            return await online.GetAsync(Key("ZZZ"));
        }

        var mean = await Missing(new() { Missing = MissingPolicy.Mean });
        var min = await Missing(new() { Missing = MissingPolicy.Min });
        var max = await Missing(new() { Missing = MissingPolicy.Max });
        var constant = await Missing(new() { Missing = MissingPolicy.Constant, Constant = -1 });
        var mixed = await Missing(new() { Missing = MissingPolicy.Min, MissingByFeature = new Dictionary<string, MissingPolicy> { ["distance"] = MissingPolicy.Max, ["delay"] = MissingPolicy.Null } });

        Assert.That(mean.Found, Is.False);
        Assert.That(mean["delay"], Is.EqualTo((long)Math.Round(delay.Mean!.Value)), "int64 features get the rounded mean");
        Assert.That(mean["distance"], Is.EqualTo((long)Math.Round(distance.Mean!.Value)));
        Assert.That(mean["destination"], Is.Null, "a string feature has no mean");
        Assert.That(min["delay"], Is.EqualTo(-59L));
        Assert.That(max["delay"], Is.EqualTo(522L));
        Assert.That(max["distance"], Is.EqualTo(FlightData.All.Max(f => f.Distance)));
        Assert.That(constant["delay"], Is.EqualTo(-1L));
        Assert.That(mixed["delay"], Is.Null);
        Assert.That(mixed["distance"], Is.EqualTo(FlightData.All.Max(f => f.Distance)));
        await using var online = await fs.GetOnlineServiceAsync(vector, new() { Missing = MissingPolicy.Mean });
        Assert.That((await online.GetAsync(Key("SFO")))["delay"], Is.EqualTo(LatestByOrigin(FlightData.All)["SFO"].Delay), "a found row is not imputed");
    }

    [Test]
    public async Task GetAsync_ExpiredRowWithMissingPolicy_IsImputed()
    {
        using var folder = new TempFolder();
        var time = new FakeTimeProvider(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var project = await TestProjects.OpenAsync(folder, time: time);
        var fs = project.FeatureStore;
        var vector = await IngestAsync(fs, ttl: TimeSpan.FromDays(1));

        await using var online = await fs.GetOnlineServiceAsync(vector, new() { Missing = MissingPolicy.Max });
        var row = await online.GetAsync(Key("SFO"));

        Assert.That(row.Found, Is.False);
        Assert.That(row["delay"], Is.EqualTo(522L));
    }

    [Test]
    public async Task GetAsync_EightConcurrentTasks_GetConsistentRows()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var vector = await IngestAsync(fs);
        var latest = LatestByOrigin(FlightData.All);
        var origins = latest.Keys.Order(StringComparer.Ordinal).ToArray();
        await using var online = await fs.GetOnlineServiceAsync(vector);

        var tasks = Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            var wrong = new List<string>();
            for (var round = 0; round < 5; round++)
                for (var i = t; i < origins.Length + t; i++)
                {
                    var origin = origins[i % origins.Length];
                    var row = await online.GetAsync(Key(origin));
                    if (!row.Found || !Equals(row["delay"], latest[origin].Delay) || !Equals(row["destination"], latest[origin].Destination))
                        wrong.Add($"{origin}: {row}");
                }

            return wrong;
        })).ToArray();
        var results = await Task.WhenAll(tasks);

        Assert.That(results.SelectMany(w => w), Is.Empty);
    }

    [Test]
    public async Task GetAsync_MissingKeyColumn_ThrowsNamingTheEntityColumns()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var vector = await IngestAsync(fs);
        await using var online = await fs.GetOnlineServiceAsync(vector);

        var e = Assert.ThrowsAsync<ValidationException>(async () => await online.GetAsync(new Dictionary<string, object> { ["airport"] = "SFO" }))!;

        Assert.That(e.Message, Does.Contain("'origin'"));
        Assert.ThrowsAsync<ValidationException>(async () => await online.GetManyAsync([Key("SFO"), new Dictionary<string, object>()]));
        Assert.That((await online.GetAsync(Key("SFO"))).Found, Is.True, "the service still works");
    }

    [Test]
    public async Task GetAsync_RelationToAirports_JoinsOnline()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        await IngestAsync(fs);
        await fs.IngestAsync(fs.FeatureSet("airports").Entity("iata").Build(), DataSource.Csv(TestProjects.AirportsCsv));
        var vector = await fs.Vector("with_airport").Select("flights.delay", "airports.state as origin_state", "airports.city").Relation("flights.origin", "airports").SaveAsync();

        await using var online = await fs.GetOnlineServiceAsync(vector);
        var sfo = await online.GetAsync(Key("SFO"));
        var unknown = await online.GetAsync(Key("ZZZ"));

        Assert.That(sfo.Found, Is.True);
        Assert.That(sfo["origin_state"], Is.EqualTo("CA"));
        Assert.That(sfo["city"], Is.EqualTo("San Francisco"));
        Assert.That(unknown.Found, Is.False);
        Assert.That(unknown.ToDictionary().Values, Is.All.Null);
    }

    [Test]
    public async Task GetOnlineServiceAsync_LabelOfTheVector_IsNotServed()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date").Compute("is_delayed", r => r.GetDouble("delay") > 15).Label("is_delayed").Build();
        await fs.IngestAsync(set, DataSource.Json(TestProjects.FlightsJson));
        var vector = await fs.Vector("v").Select("flights.*").Label("flights.is_delayed").SaveAsync();

        await using var online = await fs.GetOnlineServiceAsync(vector);

        Assert.That(online.Columns.Select(c => c.Name), Is.EqualTo(new[] { "delay", "distance", "destination" }));
        Assert.That((await online.GetAsync(Key("SFO"))).Found, Is.True);
    }

    [Test]
    public async Task GetAsync_AfterDispose_ThrowsObjectDisposed()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder);
        var fs = project.FeatureStore;
        var vector = await IngestAsync(fs);
        var online = await fs.GetOnlineServiceAsync(vector);
        await online.GetAsync(Key("SFO"));

        await online.DisposeAsync();

        Assert.Throws<ObjectDisposedException>(() => online.Get(Key("SFO")));
    }
}
