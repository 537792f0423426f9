using MLOps.Monitoring.Analysis;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Tests.Capture;

namespace MLOps.Monitoring.Tests.Analysis;

[Parallelizable(ParallelScope.All)]
public sealed class AnalyzeAsyncTests
{
    [Test]
    public async Task AnalyzeAsync_ClosedWindows_RunsEachApplicationOncePerWindowAndStoresResults()
    {
        await using var f = await AnalysisFixture.StartAsync();
        var rows = new RowCountApplication();
        f.Monitoring.Applications.Add(rows);
        // windows 08:00 (2 requests), 08:10 (1), 08:20 (none), 08:30 (1, not closed at 08:40:10)
        await f.SendAsync(3, [1, 9.5, 12, 31], nowMinutes: 40 + 10 / 60.0);

        var analyses = await f.Monitoring.AnalyzeAsync();

        Assert.That(analyses.Select(a => (a.Start, a.End, a.RowCount)), Is.EqualTo(new[]
        {
            (AnalysisFixture.At(0), AnalysisFixture.At(10), 6L),
            (AnalysisFixture.At(10), AnalysisFixture.At(20), 3L),
        }));
        Assert.That(rows.Seen.Select(s => s.Start), Is.EqualTo(new[] { AnalysisFixture.At(0), AnalysisFixture.At(10) }));
        var stored = await f.Monitoring.GetResultsAsync(f.Endpoint.Id, "rows");
        Assert.That(stored.Select(r => (r.WindowStart, r.WindowEnd, r.Name, r.Value, r.Kind, r.Status, r.Message)), Is.EqualTo(new[]
        {
            (AnalysisFixture.At(0), AnalysisFixture.At(10), "row_count", 6.0, ResultKind.Custom, ResultStatus.None, (string?)"rows"),
            (AnalysisFixture.At(10), AnalysisFixture.At(20), "row_count", 3.0, ResultKind.Custom, ResultStatus.None, (string?)"rows"),
        }));
        var returned = analyses.SelectMany(a => a.Results).Where(r => r.Application == "rows").ToList();
        Assert.That(stored.Select(r => r.Statistics), Is.EqualTo(returned.Select(r => r.Statistics)), "statistics round-trip");
        Assert.That(stored.Select(r => r with { Statistics = returned[0].Statistics }), Is.EqualTo(returned.Select(r => r with { Statistics = returned[0].Statistics })));
        var endpoint = await f.Monitoring.GetEndpointAsync(f.Endpoint.Id);
        Assert.That(endpoint.AnalyzedUntil, Is.EqualTo(AnalysisFixture.At(30)), "the empty 08:20 window is passed too");

        Assert.That(await f.Monitoring.AnalyzeAsync(), Is.Empty, "nothing is analysed twice");
        f.Served.Time.SetUtcNow(AnalysisFixture.At(40.25));
        var next = await f.Monitoring.AnalyzeAsync();
        Assert.That(next.Select(a => (a.Start, a.RowCount)), Is.EqualTo(new[] { (AnalysisFixture.At(30), 3L) }));
        Assert.That(rows.Seen, Has.Count.EqualTo(3));
    }

    [Test]
    public async Task AnalyzeAsync_WindowWithinGracePeriod_IsLeftForLater()
    {
        await using var f = await AnalysisFixture.StartAsync(new MonitoringOptions { AnalysisGracePeriod = TimeSpan.FromSeconds(30) });
        await f.SendAsync(1, [5], nowMinutes: 10.25);

        Assert.That(await f.Monitoring.AnalyzeAsync(), Is.Empty);
        f.Served.Time.SetUtcNow(AnalysisFixture.At(10.5));
        Assert.That((await f.Monitoring.AnalyzeAsync()).Select(a => a.Start), Is.EqualTo(new[] { AnalysisFixture.At(0) }));
    }

    [Test]
    public async Task AnalyzeAsync_ApplicationThrows_ErrorResultAndOtherApplicationsStillRun()
    {
        await using var f = await AnalysisFixture.StartAsync();
        f.Monitoring.Applications.Add(new ThrowingApplication());
        f.Monitoring.Applications.Add(new RowCountApplication());
        await f.SendAsync(2, [1, 11], nowMinutes: 21);

        var analyses = await f.Monitoring.AnalyzeAsync();

        Assert.That(analyses, Has.Count.EqualTo(2));
        var errors = await f.Monitoring.GetResultsAsync(f.Endpoint.Id, "throws");
        Assert.That(errors.Select(e => (e.Name, e.Status, e.Message, double.IsNaN(e.Value))), Is.EqualTo(new[]
        {
            ("error", ResultStatus.Error, (string?)"System.InvalidOperationException: boom in 08:00", true),
            ("error", ResultStatus.Error, (string?)"System.InvalidOperationException: boom in 08:10", true),
        }));
        Assert.That((await f.Monitoring.GetResultsAsync(f.Endpoint.Id, "rows")).Select(r => r.Value), Is.EqualTo(new[] { 2.0, 2.0 }));
        Assert.That(f.Served.Log.Entries.Count(e => e.EventId.Id == 3201 && e.Category == "MLOps.Monitoring" && e.Exception is InvalidOperationException), Is.EqualTo(2));
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task AnalyzeAsync_ApplicationHangs_TimesOutOnTheTimeProviderAndLaterWindowsAreAnalysed(bool honoursCancellation)
    {
        // the other applications get an hour: advancing the clock by 30 s can only time out the hanging one
        await using var f = await AnalysisFixture.StartAsync(new MonitoringOptions { ApplicationTimeout = TimeSpan.FromHours(1) });
        var hangs = new HangingApplication(honoursCancellation);
        f.Monitoring.Applications.Add(hangs, timeout: TimeSpan.FromSeconds(30));
        f.Monitoring.Applications.Add(new RowCountApplication());
        await f.SendAsync(1, [1, 11], nowMinutes: 21);

        var analysis = f.Monitoring.AnalyzeAsync();
        for (int window = 0; window < 2; window++)
        {
            await hangs.Started.WaitAsync(TimeSpan.FromMinutes(1)); // the time-out's timer is set before the application starts
            Assert.That(analysis.IsCompleted, Is.False);
            f.Served.Time.Advance(TimeSpan.FromSeconds(30));
        }
        var analyses = await analysis;

        Assert.That(analyses, Has.Count.EqualTo(2));
        foreach (var a in analyses)
        {
            var error = a.Results.Single(r => r.Application == "hangs");
            Assert.That((error.Name, error.Status), Is.EqualTo(("error", ResultStatus.Error)));
            Assert.That(error.Message, Does.StartWith("timed out after 00:00:30"));
            Assert.That(a.Results.Single(r => r.Application == "rows").Value, Is.EqualTo(1));
        }
        Assert.That(hangs.Cancelled, Is.EqualTo(2), "the application's token is cancelled at the time-out");
        Assert.That(f.Served.Log.Entries.Count(e => e.EventId.Id == 3202 && e.Category == "MLOps.Monitoring"), Is.EqualTo(2));
    }

    private static IEnumerable<TestCaseData> InvalidOutputs()
    {
        yield return new TestCaseData(new Func<ApplicationOutput?>(() => new ApplicationOutput { Results = [new MonitoringResult("a", 1, ResultKind.Custom, ResultStatus.None), new MonitoringResult("a", 2, ResultKind.Custom, ResultStatus.None)] }), "two results are named 'a'").SetName("AnalyzeAsync_DuplicateResultNames_ErrorResult");
        yield return new TestCaseData(new Func<ApplicationOutput?>(() => new ApplicationOutput { Results = [new MonitoringResult(" ", 1, ResultKind.Custom, ResultStatus.None)] }), "result 0 has a name that is only white space").SetName("AnalyzeAsync_BlankResultName_ErrorResult");
        yield return new TestCaseData(new Func<ApplicationOutput?>(() => null), "returned null").SetName("AnalyzeAsync_NullOutput_ErrorResult");
        yield return new TestCaseData(new Func<ApplicationOutput?>(() => new ApplicationOutput { Results = [new MonitoringResult("a", 1, (ResultKind)42, ResultStatus.None)] }), "undefined kind 42").SetName("AnalyzeAsync_UndefinedKind_ErrorResult");
        yield return new TestCaseData(new Func<ApplicationOutput?>(() => new ApplicationOutput { Metrics = new Dictionary<string, double> { [""] = 1 } }), "a metric has a name that is empty").SetName("AnalyzeAsync_BlankMetricName_ErrorResult");
    }

    [TestCaseSource(nameof(InvalidOutputs))]
    public async Task AnalyzeAsync_InvalidOutput_ErrorResult(Func<ApplicationOutput?> output, string problem)
    {
        await using var f = await AnalysisFixture.StartAsync();
        f.Monitoring.Applications.Add(new InvalidApplication("invalid", output));
        await f.SendAsync(1, [1], nowMinutes: 11);

        var analysis = (await f.Monitoring.AnalyzeAsync()).Single();

        var error = analysis.Results.Single(r => r.Application == "invalid");
        Assert.That(error.Status, Is.EqualTo(ResultStatus.Error));
        Assert.That(error.Message, Does.StartWith("invalid output: ").And.Contain(problem));
        Assert.That(analysis.Metrics.Where(m => m.Application == "invalid"), Is.Empty);
    }

    [Test]
    public async Task AnalyzeAsync_EndpointOfAnotherProject_ThrowsNotFound()
    {
        await using var a = await AnalysisFixture.StartAsync();
        await using var b = await ServedFlights.StartAsync();

        var ex = Assert.ThrowsAsync<NotFoundException>(() => b.Project.Monitoring.AnalyzeAsync(new AnalysisRequest { EndpointId = a.Endpoint.Id }));
        Assert.That(ex!.Message, Does.Contain(a.Endpoint.Id).And.Contain(b.Project.Name));
        Assert.ThrowsAsync<NotFoundException>(() => b.Project.Monitoring.GetResultsAsync(a.Endpoint.Id));
        Assert.ThrowsAsync<NotFoundException>(() => b.Project.Monitoring.GetMetricsAsync(a.Endpoint.Id));
    }

    [Test]
    public async Task AnalyzeAsync_UnknownApplication_ThrowsValidationNamingTheRegisteredOnes()
    {
        await using var f = await AnalysisFixture.StartAsync();

        var ex = Assert.ThrowsAsync<ValidationException>(() => f.Monitoring.AnalyzeAsync(new AnalysisRequest { Applications = ["nope"] }));
        Assert.That(ex!.Message, Does.Contain("'nope'").And.Contain("operations"));
    }

    [Test]
    public async Task AnalyzeAsync_TimeRange_ReanalysisReplacesResultsAndLeavesTheWatermark()
    {
        await using var f = await AnalysisFixture.StartAsync();
        var rows = new RowCountApplication();
        f.Monitoring.Applications.Add(rows);
        await f.SendAsync(2, [1, 11, 21], nowMinutes: 31);
        await f.Monitoring.AnalyzeAsync();

        // as after a crash between storing results and moving the watermark: the window is analysed again
        var again = await f.Monitoring.AnalyzeAsync(new AnalysisRequest { EndpointId = f.Endpoint.Id, From = AnalysisFixture.At(12), To = AnalysisFixture.At(15), Applications = ["rows"] });

        Assert.That(again.Select(a => a.Start), Is.EqualTo(new[] { AnalysisFixture.At(10) }));
        Assert.That(rows.Seen, Has.Count.EqualTo(4));
        var stored = await f.Monitoring.GetResultsAsync(f.Endpoint.Id, "rows", "row_count");
        Assert.That(stored.Select(r => r.WindowStart), Is.EqualTo(new[] { AnalysisFixture.At(0), AnalysisFixture.At(10), AnalysisFixture.At(20) }), "replaced, not duplicated");
        Assert.That((await f.Monitoring.GetMetricsAsync(f.Endpoint.Id, "rows", "rows")).Select(m => m.Value), Is.EqualTo(new[] { 2.0, 2.0, 2.0 }));
        Assert.That((await f.Monitoring.GetEndpointAsync(f.Endpoint.Id)).AnalyzedUntil, Is.EqualTo(AnalysisFixture.At(30)));
    }

    [Test]
    public async Task GetResultsAsync_Filters_ReturnOnlyMatchingRecords()
    {
        await using var f = await AnalysisFixture.StartAsync();
        f.Monitoring.Applications.Add(new RowCountApplication());
        f.Monitoring.Applications.Add(new RowCountApplication("other"));
        await f.SendAsync(1, [1, 11, 21], nowMinutes: 31);
        await f.Monitoring.AnalyzeAsync();
        var id = f.Endpoint.Id;

        var all = await f.Monitoring.GetResultsAsync();
        Assert.That(all.Select(r => r.Application).Distinct(), Is.EquivalentTo(new[] { "operations", "drift", "rows", "other" }));
        Assert.That(all.Select(r => r.WindowStart), Is.Ordered);
        Assert.That((await f.Monitoring.GetResultsAsync(id)).Select(r => (r.WindowStart, r.Application, r.Name, r.Value)), Is.EqualTo(all.Select(r => (r.WindowStart, r.Application, r.Name, r.Value))));
        Assert.That((await f.Monitoring.GetResultsAsync(id, "other")).Select(r => (r.Application, r.Name)).Distinct(), Is.EqualTo(new[] { ("other", "row_count") }));
        Assert.That((await f.Monitoring.GetResultsAsync(name: "requests")).Select(r => (r.Application, r.Value)), Is.EqualTo(new[] { ("operations", 1.0), ("operations", 1.0), ("operations", 1.0) }));
        var middle = await f.Monitoring.GetResultsAsync(id, from: AnalysisFixture.At(10), to: AnalysisFixture.At(20));
        Assert.That(middle.Select(r => r.WindowStart).Distinct(), Is.EqualTo(new[] { AnalysisFixture.At(10) }));
        Assert.That(middle.Select(r => r.WindowEnd).Distinct(), Is.EqualTo(new[] { AnalysisFixture.At(20) }));
        Assert.That(await f.Monitoring.GetResultsAsync(id, "rows", "nothing"), Is.Empty);
        Assert.That((await f.Monitoring.GetMetricsAsync(id, "rows", from: AnalysisFixture.At(20))).Select(m => (m.Name, m.WindowStart)), Is.EquivalentTo(new[] { ("batches", AnalysisFixture.At(20)), ("rows", AnalysisFixture.At(20)) }));
        Assert.ThrowsAsync<ValidationException>(() => f.Monitoring.GetResultsAsync(id, "../x"));
    }

    [Test]
    public async Task AnalyzeAsync_DriftStatusResult_SetsLatestDriftAndItsWindow()
    {
        await using var f = await AnalysisFixture.StartAsync();
        f.Monitoring.Applications.Remove("drift"); // replaced by a fixed one
        f.Monitoring.Applications.Add(new FixedResultsApplication("drift",
            new MonitoringResult("distance", 0.4, ResultKind.DataDrift, ResultStatus.Detected),
            new MonitoringResult("drift_status", 0.4, ResultKind.DataDrift, ResultStatus.Possible)));
        await f.SendAsync(1, [1, 11], nowMinutes: 21);

        await f.Monitoring.AnalyzeAsync();

        var endpoint = await f.Monitoring.GetEndpointAsync(f.Endpoint.Id);
        Assert.That((endpoint.LatestDrift, endpoint.LatestDriftWindow), Is.EqualTo(((ResultStatus?)ResultStatus.Possible, (DateTimeOffset?)AnalysisFixture.At(10))));
    }

    [Test]
    public async Task AnalyzeAsync_NoDriftStatusResult_LatestDriftIsTheMostSevereDriftResult()
    {
        await using var f = await AnalysisFixture.StartAsync();
        f.Monitoring.Applications.Remove("drift"); // its drift_status would decide
        f.Monitoring.Applications.Add(new FixedResultsApplication("features",
            new MonitoringResult("distance", 0.1, ResultKind.DataDrift, ResultStatus.None),
            new MonitoringResult("hour", 0.9, ResultKind.DataDrift, ResultStatus.Detected),
            new MonitoringResult("anomaly", 0.9, ResultKind.Anomaly, ResultStatus.Possible)));
        f.Monitoring.Applications.Add(new FixedResultsApplication("prediction", new MonitoringResult("score", 0.2, ResultKind.ConceptDrift, ResultStatus.Possible)));
        await f.SendAsync(1, [1], nowMinutes: 11);

        await f.Monitoring.AnalyzeAsync();

        var endpoint = await f.Monitoring.GetEndpointAsync(f.Endpoint.Id);
        Assert.That(endpoint.LatestDrift, Is.EqualTo(ResultStatus.Detected));
        Assert.That(endpoint.LatestDriftWindow, Is.EqualTo(AnalysisFixture.At(0)));
        // re-analysing an older window does not move the latest drift back
        f.Monitoring.Applications.Remove("features");
        await f.SendAsync(1, [31], nowMinutes: 41);
        await f.Monitoring.AnalyzeAsync();
        await f.Monitoring.AnalyzeAsync(new AnalysisRequest { From = AnalysisFixture.At(0), To = AnalysisFixture.At(10) });
        endpoint = await f.Monitoring.GetEndpointAsync(f.Endpoint.Id);
        Assert.That((endpoint.LatestDrift, endpoint.LatestDriftWindow), Is.EqualTo(((ResultStatus?)ResultStatus.Possible, (DateTimeOffset?)AnalysisFixture.At(30))));
    }

    [Test]
    public async Task AnalyzeAsync_NewProjectInstanceOnTheSameFolder_ResumesAfterTheWatermark()
    {
        using var folder = new TempFolder();
        var name = "resume" + Guid.NewGuid().ToString("N")[..8];
        string endpointId;
        await using (var first = await AnalysisFixture.StartAsync(name: name, folder: folder))
        {
            await first.SendAsync(1, [1, 11], nowMinutes: 21);
            Assert.That(await first.Monitoring.AnalyzeAsync(), Has.Count.EqualTo(2));
            endpointId = first.Endpoint.Id;
        }
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(AnalysisFixture.At(31));
        await using var project = await MLOpsProject.Configure(name).UseHome(folder.Path).CaptureGit(false).UseTimeProvider(time).OpenAsync();
        var rows = new RowCountApplication();
        project.Monitoring.Applications.Add(rows);
        await project.Monitoring.RecordResultsAsync("delay", "1",
            new Apache.Arrow.RecordBatch.Builder().Append("distance", false, c => c.Float(a => a.AppendRange([500f, 700f]))).Build(),
            new Apache.Arrow.RecordBatch.Builder().Append("score", false, c => c.Float(a => a.AppendRange([0.1f, 0.9f]))).Build(),
            AnalysisFixture.At(25));

        var analyses = await project.Monitoring.AnalyzeAsync();

        Assert.That(analyses.Select(a => (a.EndpointId, a.Start, a.RowCount)), Is.EqualTo(new[] { (endpointId, AnalysisFixture.At(20), 2L) }));
        Assert.That(rows.Seen.Select(s => s.Start), Is.EqualTo(new[] { AnalysisFixture.At(20) }));
        var requests = await project.Monitoring.GetResultsAsync(endpointId, "operations", "requests");
        Assert.That(requests.Select(r => (r.WindowStart, r.Value)), Is.EqualTo(new[] { (AnalysisFixture.At(0), 1.0), (AnalysisFixture.At(10), 1.0), (AnalysisFixture.At(20), 2.0) }));
    }

    [Test]
    public async Task AnalyzeAsync_TwoOwnersOnTheSameProject_EachWindowAnalysedOnce()
    {
        using var folder = new TempFolder();
        var name = "owners" + Guid.NewGuid().ToString("N")[..8];
        await using var a = await AnalysisFixture.StartAsync(new MonitoringOptions { AnalysisOwner = "a" }, name: name, folder: folder);
        await a.SendAsync(1, [1, 11, 21, 31], nowMinutes: 41);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(AnalysisFixture.At(41));
        await using var other = await MLOpsProject.Configure(name).UseHome(folder.Path).CaptureGit(false).UseTimeProvider(time).OpenAsync();
        other.UseMonitoring(new MonitoringOptions { AnalysisOwner = "b" });
        RowCountApplication rowsA = new(), rowsB = new();
        a.Monitoring.Applications.Add(rowsA);
        other.Monitoring.Applications.Add(rowsB);

        var both = await Task.WhenAll(a.Monitoring.AnalyzeAsync(), other.Monitoring.AnalyzeAsync());

        Assert.That(both.SelectMany(x => x).Select(w => w.Start).Order(), Is.EqualTo(new[] { AnalysisFixture.At(0), AnalysisFixture.At(10), AnalysisFixture.At(20), AnalysisFixture.At(30) }));
        Assert.That(rowsA.Seen.Concat(rowsB.Seen).Select(s => s.Start).Order(), Is.EqualTo(new[] { AnalysisFixture.At(0), AnalysisFixture.At(10), AnalysisFixture.At(20), AnalysisFixture.At(30) }));
    }
}
