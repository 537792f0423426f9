using Apache.Arrow;
using MLOps.Monitoring.Capture;
using MLOps.Monitoring.Endpoints;
using MLOps.Monitoring.Tests.Capture;

namespace MLOps.Monitoring.Tests.Endpoints;

[Parallelizable(ParallelScope.All)]
public sealed class ModelEndpointTests
{
    private static RecordBatch Inputs(params float[] distances) => new RecordBatch.Builder()
        .Append("distance", false, c => c.Float(a => a.AppendRange(distances)))
        .Append("hour", false, c => c.Float(a => a.AppendRange(distances.Select((_, i) => (float)(i % 24)))))
        .Build();

    private static RecordBatch Outputs(params float[] probabilities) => new RecordBatch.Builder()
        .Append("Probability", false, c => c.Float(a => a.AppendRange(probabilities)))
        .Build();

    [Test]
    public async Task RegisterEndpointAsync_ByHand_IsListedAndFoundByNameAndId()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder, "hand");

        var endpoint = await project.Monitoring.RegisterEndpointAsync("churn", "3");
        var again = await project.Monitoring.RegisterEndpointAsync("churn", "3");
        var other = await project.Monitoring.RegisterEndpointAsync("churn");

        Assert.That(again.Id, Is.EqualTo(endpoint.Id));
        Assert.That(other.Id, Is.Not.EqualTo(endpoint.Id));
        Assert.That((await project.Monitoring.ListEndpointsAsync()).Select(e => e.Name), Is.EqualTo(new[] { "churn:3", "churn" }));
        Assert.That((await project.Monitoring.FindEndpointAsync("churn", "3")).Id, Is.EqualTo(endpoint.Id));
        Assert.That((await project.Monitoring.GetEndpointAsync(other.Id)).ModelVersion, Is.Null);
        Assert.That(endpoint.State, Is.EqualTo(EndpointState.Registered));
        Assert.That(endpoint.Reference, Is.Null);
    }

    [Test]
    public async Task RegisterEndpointAsync_NewReference_ReplacesItAndKeepsTheCounters()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder, "reference");
        var endpoint = await project.Monitoring.RegisterEndpointAsync("churn", "1");
        await project.Monitoring.RecordResultsAsync("churn", "1", Inputs(1, 2), Outputs(0.1f, 0.2f));
        var profile = DatasetProfiler.Profile([Inputs(100, 200, 300)], "arrow");

        await project.Monitoring.RegisterEndpointAsync("churn", "1", EndpointReference.FromProfile(profile));

        var stored = await project.Monitoring.GetEndpointAsync(endpoint.Id);
        Assert.That(stored.Reference!.Profile!.Statistics.Single(s => s.Name == "distance").Max, Is.EqualTo(300));
        Assert.That(stored.RequestCount, Is.EqualTo(2));
    }

    [Test]
    public async Task FindEndpointAsync_UnknownName_ThrowsNotFoundNamingItAndTheExistingOnes()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder, "unknown");
        await project.Monitoring.RegisterEndpointAsync("churn", "1");

        var ex = Assert.ThrowsAsync<NotFoundException>(() => project.Monitoring.FindEndpointAsync("delays", "2"));

        Assert.That(ex!.Key, Is.EqualTo("delays:2"));
        Assert.That(ex.Message, Does.Contain("'delays:2'").And.Contain("churn:1").And.Contain("RegisterEndpointAsync"));
    }

    [Test]
    public async Task RecordResultsAsync_UnknownEndpoint_ThrowsNotFoundNamingIt()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder, "unknown-results");

        var ex = Assert.ThrowsAsync<NotFoundException>(() => project.Monitoring.RecordResultsAsync("nope", null, Inputs(1), Outputs(0.5f)));

        Assert.That(ex!.Message, Does.Contain("'nope'"));
    }

    [Test]
    public async Task RecordResultsAsync_DifferentRowCounts_ThrowsValidationNamingBoth()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder, "rows");
        await project.Monitoring.RegisterEndpointAsync("churn", "1");

        var ex = Assert.ThrowsAsync<ValidationException>(() => project.Monitoring.RecordResultsAsync("churn", "1", Inputs(1, 2, 3), Outputs(0.5f)));

        Assert.That(ex!.Message, Does.Contain("3 rows").And.Contain("outputs 1"));
    }

    [Test]
    public async Task GetEndpointAsync_IdOfAnotherProject_ThrowsNotFound()
    {
        using var folder = new TempFolder();
        await using var a = await TestProjects.OpenAsync(folder, "team-a");
        await using var b = await TestProjects.OpenAsync(folder, "team-b");
        var endpoint = await a.Monitoring.RegisterEndpointAsync("churn", "1");
        await a.Monitoring.RecordResultsAsync("churn", "1", Inputs(1), Outputs(0.5f));

        var ex = Assert.ThrowsAsync<NotFoundException>(() => b.Monitoring.GetEndpointAsync(endpoint.Id));
        Assert.ThrowsAsync<NotFoundException>(async () =>
        {
            await foreach (var _ in b.Monitoring.ReadCapturedAsync(endpoint.Id)) { }
        });

        Assert.That(ex!.Message, Does.Contain(endpoint.Id).And.Contain("team-b"));
        Assert.That(await b.Monitoring.ListEndpointsAsync(), Is.Empty);
        Assert.That((await a.Monitoring.GetEndpointAsync(endpoint.Id)).Project, Is.EqualTo("team-a"));
    }

    [Test]
    public async Task RecordResultsAsync_Batch_RowsReadBackEqualAndCounted()
    {
        using var folder = new TempFolder();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(ServedFlights.T0);
        await using var project = await TestProjects.OpenAsync(folder, "batch", time);
        var endpoint = await project.Monitoring.RegisterEndpointAsync("churn", "1");
        float[] distances = [250, 500, 1000, 2000];
        float[] probabilities = [0.1f, 0.4f, 0.6f, 0.9f];
        var at = ServedFlights.T0.AddHours(-3);

        var updated = await project.Monitoring.RecordResultsAsync("churn", "1", Inputs(distances), Outputs(probabilities), at);

        var batch = new List<RecordBatch>();
        await foreach (var b in project.Monitoring.ReadCapturedAsync(endpoint.Id)) batch.Add(b);
        var read = batch.Single();
        Assert.That(((FloatArray)read.Column(CaptureColumns.Input("distance"))).Values.ToArray(), Is.EqualTo(distances));
        Assert.That(((FloatArray)read.Column(CaptureColumns.Output("Probability"))).Values.ToArray(), Is.EqualTo(probabilities));
        var times = (TimestampArray)read.Column(CaptureColumns.Time);
        Assert.That(Enumerable.Range(0, read.Length).Select(i => times.GetTimestamp(i)), Has.All.EqualTo(at));
        var ids = (StringArray)read.Column(CaptureColumns.RequestId);
        Assert.That(Enumerable.Range(0, read.Length).Select(i => ids.GetString(i)).Distinct().Count(), Is.EqualTo(4));
        Assert.That(read.Column(CaptureColumns.LatencyMs).NullCount, Is.EqualTo(4));
        Assert.That(updated.RequestCount, Is.EqualTo(4));
        Assert.That(updated.FirstRequest, Is.EqualTo(at));
        Assert.That((await project.Monitoring.GetEndpointAsync(endpoint.Id)).LastRequest, Is.EqualTo(at));
    }
}
