using Apache.Arrow;
using Microsoft.Extensions.Logging;
using MLOps.Monitoring.Capture;
using MLOps.Monitoring.GroundTruth;
using MLOps.Monitoring.Tests.Capture;

namespace MLOps.Monitoring.Tests.Performance;

[Parallelizable(ParallelScope.All)]
public sealed class GroundTruthTests
{
    [Test]
    public async Task LogGroundTruthAsync_CapturedRows_ReadBackEqualsLoggedWithTime()
    {
        await using var flights = await RecordedFlights.StartAsync(rows: 10);
        flights.Time.Advance(TimeSpan.FromHours(3));

        var result = await flights.Project.Monitoring.LogGroundTruthAsync(flights.Endpoint.Id, flights.Labels(Enumerable.Range(0, 10)));

        Assert.That((result.Rows, result.Matched, result.Unmatched.Count), Is.EqualTo((10, 10, 0)));
        Assert.That(result.Path, Does.StartWith(Path.Combine(flights.Project.Monitoring.CaptureRoot, flights.Endpoint.Id, "ground-truth")).And.EndWith(".parquet"));
        Assert.That(File.Exists(result.Path));
        var rows = await ReadAllAsync(flights);
        Assert.That(rows.Select(r => (r.Key, r.Label)), Is.EqualTo(flights.Recorded.Select(r => (r.Key, r.Flight.Delay))));
        Assert.That(rows.Select(r => r.LoggedAt), Is.All.EqualTo(ServedFlights.T0.AddHours(3)));
    }

    [Test]
    public async Task LogGroundTruthAsync_TypedOverloadWithRows_StoresLabelColumn()
    {
        await using var flights = await RecordedFlights.StartAsync(rows: 4);
        var keys = flights.Recorded.Select(r => r.Key).ToList();

        await flights.Project.Monitoring.LogGroundTruthAsync(flights.Endpoint.Id, keys.Select(k => k.RequestId).ToList(), [true, false, true, true], keys.Select(k => k.Row).ToList());

        var batch = await SingleBatchAsync(flights);
        Assert.That(batch.Schema.FieldsList.Select(f => f.Name), Is.EqualTo(new[] { "request_id", "row", "logged_at", "label" }));
        var labels = (BooleanArray)batch.Column("label");
        Assert.That(Enumerable.Range(0, batch.Length).Select(i => labels.GetValue(i)), Is.EqualTo(new bool?[] { true, false, true, true }));
        Assert.That(((Int32Array)batch.Column("row")).Values.ToArray(), Is.EqualTo(keys.Select(k => k.Row)));
    }

    [Test]
    public async Task LogGroundTruthAsync_IdsNeverCaptured_ThrowsNamingFirstIdsAndCountAndStoresNothing()
    {
        await using var flights = await RecordedFlights.StartAsync(rows: 3);
        var known = flights.Recorded[0].Key;
        string[] ids = [known.RequestId, "ghost-1", "ghost-2", "ghost-3", "ghost-4", "ghost-5", "ghost-6", "ghost-7"];
        int[] rows = [known.Row, 0, 0, 0, 0, 0, 0, 0];

        var ex = Assert.ThrowsAsync<UnmatchedGroundTruthException>(() =>
            flights.Project.Monitoring.LogGroundTruthAsync(flights.Endpoint.Id, ids, [1.0, 2, 3, 4, 5, 6, 7, 8], rows));

        Assert.That(ex!.Unmatched, Has.Count.EqualTo(7));
        Assert.That(ex.EndpointId, Is.EqualTo(flights.Endpoint.Id));
        Assert.That(ex.Message, Does.Contain("7 of 8 labelled rows match no captured row").And.Contain("ghost-1, ghost-2, ghost-3, ghost-4, ghost-5 and 2 more")
            .And.Contain("nothing was stored").And.Contain("UnmatchedGroundTruth.Store"));
        Assert.That(ex, Is.InstanceOf<ValidationException>());
        Assert.That(await ReadAllAsync(flights), Is.Empty);
        Assert.That(Directory.Exists(Path.Combine(flights.Project.Monitoring.CaptureRoot, flights.Endpoint.Id, "ground-truth"))
            ? Directory.EnumerateFiles(Path.Combine(flights.Project.Monitoring.CaptureRoot, flights.Endpoint.Id, "ground-truth")) : [], Is.Empty);
    }

    [Test]
    public async Task LogGroundTruthAsync_RowBeyondTheCapturedRequest_IsUnmatched()
    {
        await using var flights = await RecordedFlights.StartAsync(rows: 2);
        var key = flights.Recorded[0].Key;

        var ex = Assert.ThrowsAsync<UnmatchedGroundTruthException>(() =>
            flights.Project.Monitoring.LogGroundTruthAsync(flights.Endpoint.Id, [key.RequestId], [1.0], [key.Row + 5]));

        Assert.That(ex!.Unmatched, Is.EqualTo(new[] { new GroundTruthKey(key.RequestId, key.Row + 5) }));
        Assert.That(ex.Message, Does.Contain($"{key.RequestId}#{key.Row + 5}"));
    }

    [Test]
    public async Task LogGroundTruthAsync_StoreUnmatched_StoresEveryRowAndReportsTheUnmatched()
    {
        await using var flights = await RecordedFlights.StartAsync(rows: 2);
        var key = flights.Recorded[1].Key;

        var result = await flights.Project.Monitoring.LogGroundTruthAsync(flights.Endpoint.Id, [key.RequestId, "later-request"], [5.0, 7.0], [key.Row, 0],
            new GroundTruthOptions { Unmatched = UnmatchedGroundTruth.Store });

        Assert.That((result.Rows, result.Matched), Is.EqualTo((2, 1)));
        Assert.That(result.Unmatched, Is.EqualTo(new[] { new GroundTruthKey("later-request", 0) }));
        Assert.That((await ReadAllAsync(flights)).Select(r => r.Key), Is.EqualTo(new[] { key, new GroundTruthKey("later-request", 0) }));
        Assert.That(flights.Log.Entries.Any(e => e.EventId.Id == 3301 && e.Level == LogLevel.Warning && e.Message.Contains("later-request")));
    }

    [Test]
    public async Task LogGroundTruthAsync_CapturedFromAfterTheRequests_CountsThemUnmatched()
    {
        await using var flights = await RecordedFlights.StartAsync(rows: 2);
        var key = flights.Recorded[0].Key;

        var ex = Assert.ThrowsAsync<UnmatchedGroundTruthException>(() => flights.Project.Monitoring.LogGroundTruthAsync(flights.Endpoint.Id, [key.RequestId], [1.0], [key.Row],
            new GroundTruthOptions { CapturedFrom = ServedFlights.T0.AddMinutes(1) }));

        Assert.That(ex!.Unmatched, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task LogGroundTruthAsync_SameRowTwice_BothStoredInLoggingOrder()
    {
        await using var flights = await RecordedFlights.StartAsync(rows: 1);
        var key = flights.Recorded[0].Key;

        await flights.Project.Monitoring.LogGroundTruthAsync(flights.Endpoint.Id, [key.RequestId], [1.0], [key.Row]);
        flights.Time.Advance(TimeSpan.FromMinutes(1));
        await flights.Project.Monitoring.LogGroundTruthAsync(flights.Endpoint.Id, [key.RequestId], [2.0], [key.Row]);

        Assert.That((await ReadAllAsync(flights)).Select(r => r.Label), Is.EqualTo(new[] { 1.0, 2.0 }));
    }

    [Test]
    public async Task LogGroundTruthAsync_ConcurrentCalls_EachStoredUnderItsOwnSequence()
    {
        await using var flights = await RecordedFlights.StartAsync(rows: 16);

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() => flights.Project.Monitoring.LogGroundTruthAsync(flights.Endpoint.Id, flights.Labels([i])))));

        Assert.That(results.Select(r => Path.GetFileName(r.Path)[..8]).Order(), Is.EqualTo(Enumerable.Range(1, 16).Select(i => i.ToString("D8"))));
        Assert.That((await ReadAllAsync(flights)).Select(r => r.Key), Is.EquivalentTo(flights.Recorded.Select(r => r.Key)));
    }

    [Test]
    public async Task LogGroundTruthAsync_EndpointOfAnotherProject_ThrowsNotFound()
    {
        using var folder = new TempFolder();
        await using var first = await RecordedFlights.StartAsync(rows: 1, folder: folder, name: "first");
        await using var second = await RecordedFlights.StartAsync(rows: 1, folder: folder, name: "second");
        var key = first.Recorded[0].Key;

        var ex = Assert.ThrowsAsync<NotFoundException>(() => second.Project.Monitoring.LogGroundTruthAsync(first.Endpoint.Id, [key.RequestId], [1.0], [key.Row]));
        Assert.That(ex!.Message, Does.Contain(first.Endpoint.Id));
        Assert.ThrowsAsync<NotFoundException>(async () => { await foreach (var _ in second.Project.Monitoring.ReadGroundTruthAsync(first.Endpoint.Id)) { } });
    }

    [Test]
    public async Task LogGroundTruthAsync_BadBatches_ThrowValidationNamingTheProblem()
    {
        await using var flights = await RecordedFlights.StartAsync(rows: 1);
        var key = flights.Recorded[0].Key;
        var monitoring = flights.Project.Monitoring;
        var id = flights.Endpoint.Id;
        RecordBatch Batch(Action<RecordBatch.Builder> extra) { var b = new RecordBatch.Builder(); extra(b); return b.Build(); }

        var cases = new (RecordBatch Batch, string Expected)[]
        {
            (Batch(b => b.Append("id", false, c => c.String(a => a.Append(key.RequestId))).Append("label", false, c => c.Double(a => a.Append(1)))), "no string column 'request_id' (columns: id, label)"),
            (Batch(b => b.Append("request_id", false, c => c.String(a => a.Append(key.RequestId)))), "no label column"),
            (Batch(b => b.Append("request_id", false, c => c.String(a => a.Append(key.RequestId))).Append("label", true, c => c.Double(a => a.AppendNull()))), "label column 'label' has 1 null values (first at row 0)"),
            (Batch(b => b.Append("request_id", false, c => c.String(a => a.Append(key.RequestId))).Append("logged_at", false, c => c.Double(a => a.Append(1)))), "'logged_at' is reserved"),
            (Batch(b => b.Append("request_id", false, c => c.String(a => a.Append(key.RequestId))).Append("row", false, c => c.Int32(a => a.Append(-1))).Append("label", false, c => c.Double(a => a.Append(1)))), "row at row 0"),
            (Batch(b => b.Append("request_id", false, c => c.String(a => a.Append(""))).Append("label", false, c => c.Double(a => a.Append(1)))), "request_id at row 0 is empty"),
            (Batch(b => b.Append("request_id", false, c => c.String(a => a.Append(key.RequestId))).Append("row", false, c => c.Double(a => a.Append(0))).Append("label", false, c => c.Double(a => a.Append(1)))), "column 'row' is double"),
        };
        foreach (var (batch, expected) in cases)
        {
            var ex = Assert.ThrowsAsync<ValidationException>(() => monitoring.LogGroundTruthAsync(id, batch));
            Assert.That(ex!.Message, Does.Contain(expected));
            Assert.That(ex, Is.Not.InstanceOf<UnmatchedGroundTruthException>());
        }
        Assert.That(Assert.ThrowsAsync<ValidationException>(() => monitoring.LogGroundTruthAsync(id, [key.RequestId, "x"], [1.0]))!.Message, Does.Contain("2 request ids, 1 labels"));
        Assert.That(Assert.ThrowsAsync<ValidationException>(() => monitoring.LogGroundTruthAsync(id, [key.RequestId], [DateTime.UnixEpoch]))!.Message, Does.Contain("labels of type DateTime are not supported"));
        Assert.That(Assert.ThrowsAsync<ValidationException>(() => monitoring.LogGroundTruthAsync(id, [key.RequestId], new string?[] { null }))!.Message, Does.Contain("labels[0] is null"));
        Assert.That(await ReadAllAsync(flights), Is.Empty);
    }

    private static async Task<RecordBatch> SingleBatchAsync(RecordedFlights flights)
    {
        var batches = new List<RecordBatch>();
        await foreach (var batch in flights.Project.Monitoring.ReadGroundTruthAsync(flights.Endpoint.Id)) batches.Add(batch);
        return batches.Single();
    }

    private static async Task<List<(GroundTruthKey Key, double Label, DateTimeOffset LoggedAt)>> ReadAllAsync(RecordedFlights flights)
    {
        var rows = new List<(GroundTruthKey, double, DateTimeOffset)>();
        await foreach (var batch in flights.Project.Monitoring.ReadGroundTruthAsync(flights.Endpoint.Id))
        {
            var ids = (StringArray)batch.Column(CaptureColumns.RequestId);
            var rowIndexes = (Int32Array)batch.Column(CaptureColumns.Row);
            var labels = (DoubleArray)batch.Column("label");
            var times = (TimestampArray)batch.Column(MonitoringCatalog.GroundTruthLoggedAtColumn);
            for (int i = 0; i < batch.Length; i++)
                rows.Add((new GroundTruthKey(ids.GetString(i), rowIndexes.GetValue(i)!.Value), labels.GetValue(i)!.Value, times.GetTimestamp(i)!.Value));
        }
        return rows;
    }
}
