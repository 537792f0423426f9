using System.Globalization;
using System.Xml.Linq;
using Apache.Arrow;
using Microsoft.Extensions.Time.Testing;
using MLOps.Artifacts;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Drift;
using MLOps.Monitoring.Endpoints;
using MLOps.Monitoring.Reports;
using MLOps.Monitoring.Tests.Capture;
using MLOps.Monitoring.Tests.Drift;

namespace MLOps.Monitoring.Tests.Reports;

/// <summary><c>project.Monitoring.CreateDriftReportAsync</c> on real captured traffic of a real model served in-process
/// (<see cref="ServedFlights"/>): two windows of 10 minutes, the first as trained, the second with distance x 1.5.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class DriftReportFromAnalysisTests
{
    private static readonly DateTimeOffset Shifted = ServedFlights.T0.AddMinutes(10);

    [Test]
    public async Task CreateDriftReportAsync_ShiftedDistance_DistanceDetectedHourNoneAsTheStoredAnalysis()
    {
        await using var served = await ServedFlights.StartAsync();
        var endpoint = await ServeTwoWindowsAsync(served);
        await served.Project.Monitoring.AnalyzeAsync();

        var report = await served.Project.Monitoring.CreateDriftReportAsync(endpoint.Id, Shifted);

        Assert.That(report.Title, Is.EqualTo($"Drift of {endpoint.Name}"));
        Assert.That(report.Endpoint, Is.EqualTo(endpoint.Name));
        Assert.That((report.WindowStart, report.WindowEnd), Is.EqualTo((Shifted, Shifted.AddMinutes(10))));
        Assert.That(report.Features, Is.EqualTo(new[] { "distance", "hour" }));
        var stored = (await served.Project.Monitoring.GetResultsAsync(endpoint.Id, "drift", from: Shifted, to: Shifted.AddMinutes(10))).ToDictionary(r => r.Name);
        Assert.That(report.Status, Is.EqualTo(ResultStatus.Detected).And.EqualTo(stored["drift_status"].Status));
        var doc = ReportFlights.Parse(report.ToHtml());
        Assert.That(Badge(doc, "distance"), Is.EqualTo("s-detected"));
        Assert.That(Badge(doc, "hour"), Is.EqualTo("s-none"));
        Assert.That(stored["distance"].Status, Is.EqualTo(ResultStatus.Detected), "the same analysis as the drift application");
        Assert.That(stored["hour"].Status, Is.EqualTo(ResultStatus.None));
        Assert.That(Message(doc, "distance"), Is.EqualTo(stored["distance"].Message));
        Assert.That(Message(doc, "hour"), Is.EqualTo(stored["hour"].Message));
        Assert.That(served.Log.Entries.Count(e => e.EventId.Id == 3101), Is.EqualTo(1), "the registered drift application's references are reused");
        Assert.That(served.Log.Entries.Single(e => e.EventId.Id == 3450).Message, Does.Contain("500 captured rows").And.Contain("Detected"));
    }

    [Test]
    public async Task CreateDriftReportAsync_PreviousWindowAnalysed_TimeSeriesHasOnePointPerWindowColouredByStatus()
    {
        await using var served = await ServedFlights.StartAsync();
        var endpoint = await ServeTwoWindowsAsync(served);
        await served.Project.Monitoring.AnalyzeAsync();

        var report = await served.Project.Monitoring.CreateDriftReportAsync(endpoint.Id, Shifted);

        var doc = ReportFlights.Parse(report.ToHtml());
        var series = doc.All("section").Where(s => s.HasClass("series")).ToList();
        Assert.That(series.Select(s => s.Element("h3")!.Value), Is.EqualTo(new[] { "distance PSI per window", "hour PSI per window" }));
        var distance = series[0].All("circle").Select(c => c.Attribute("fill")!.Value).ToList();
        Assert.That(distance, Is.EqualTo(new[] { "#2e7d32", "#c62828" }), "the first window as trained (none), the shifted one detected");
        var stored = (await served.Project.Monitoring.GetResultsAsync(endpoint.Id, "drift", "distance")).ToList();
        Assert.That(stored.Select(r => r.WindowStart), Is.EqualTo(new[] { ServedFlights.T0, Shifted }));
        Assert.That(stored[1].Statistics["psi"], Is.GreaterThan(stored[0].Statistics["psi"]));
    }

    [Test]
    public async Task CreateDriftReportAsync_ThenLogDriftReportAsync_HtmlArtifactReadsBack()
    {
        await using var served = await ServedFlights.StartAsync();
        var endpoint = await ServeTwoWindowsAsync(served);

        var report = await served.Project.Monitoring.CreateDriftReportAsync(endpoint.Id, Shifted);
        var record = await served.Project.Monitoring.LogDriftReportAsync("monitoring/delay/drift", report);

        Assert.That(record.Kind, Is.EqualTo(ArtifactKind.Plot));
        await using var read = await served.Project.Artifacts.OpenReadAsync(record.Uri);
        using var reader = new StreamReader(read);
        string html = await reader.ReadToEndAsync();
        Assert.That(html, Is.EqualTo(report.ToHtml()));
        Assert.That(Badge(ReportFlights.Parse(html), "distance"), Is.EqualTo("s-detected"), "not analysed before: the report analyses the window itself");
        var series = ReportFlights.Parse(html).All("section").Where(s => s.HasClass("series")).ToList();
        Assert.That(series.Select(s => s.All("circle").Count()), Is.EqualTo(new[] { 1, 1 }), "no stored result: the series is the current window only");
    }

    [Test]
    public async Task CreateDriftReportAsync_CategoricalFeatureWithUnseenOrigins_SectionCountsTheUnseenAsTheAnalysis()
    {
        using var folder = new TempFolder();
        var time = new FakeTimeProvider(ServedFlights.T0.AddMinutes(30));
        await using var project = await TestProjects.OpenAsync(folder, "recorded", time);
        var flights = ReportFlights.Load();
        var training = flights.Take(5_000).ToList();
        var dataset = await project.Artifacts.LogDatasetAsync("flights-training", new RecordBatch.Builder()
            .Append("origin", false, c => c.String(a => a.AppendRange(training.Select(f => f.Origin))))
            .Append("distance", false, c => c.Double(a => a.AppendRange(training.Select(f => f.Distance))))
            .Build());
        var endpoint = await project.Monitoring.RegisterEndpointAsync("flights", "1", new EndpointReference(dataset.Uri, null));
        var live = flights.Skip(5_000).Take(2_000).Select((f, i) => i % 10 == 0 ? f with { Origin = "ZZZ" } : f).ToList();
        var inputs = new RecordBatch.Builder()
            .Append("origin", false, c => c.String(a => a.AppendRange(live.Select(f => f.Origin))))
            .Append("distance", false, c => c.Double(a => a.AppendRange(live.Select(f => f.Distance))))
            .Build();
        var outputs = new RecordBatch.Builder().Append("score", false, c => c.Double(a => a.AppendRange(live.Select(f => f.Delay)))).Build();
        await project.Monitoring.RecordResultsAsync("flights", "1", inputs, outputs, ServedFlights.T0.AddMinutes(1));
        await project.Monitoring.AnalyzeAsync();

        var report = await project.Monitoring.CreateDriftReportAsync(endpoint.Id, ServedFlights.T0);

        var stored = (await project.Monitoring.GetResultsAsync(endpoint.Id, "drift")).ToDictionary(r => r.Name);
        Assert.That(report.Features, Is.EqualTo(new[] { "origin", "distance" }), "input columns with a reference, in the window's column order; the output has none");
        var doc = ReportFlights.Parse(report.ToHtml());
        var trainingOrigins = training.Select(f => f.Origin).ToHashSet();
        int unseen = live.Count(f => !trainingOrigins.Contains(f.Origin));
        Assert.That(unseen, Is.GreaterThanOrEqualTo(200), "ZZZ in every tenth row, and origins of later months");
        Assert.That(stored["origin"].Status, Is.EqualTo(ResultStatus.Detected), stored["origin"].Message);
        Assert.That(Badge(doc, "origin"), Is.EqualTo("s-detected"));
        Assert.That(Message(doc, "origin"), Is.EqualTo(stored["origin"].Message));
        Assert.That(Section(doc, "origin").All("p").Single(p => p.HasClass("stats")).Value, Does.Contain("2,000 current values").And.Contain(unseen.ToString("N0", CultureInfo.InvariantCulture) + " in categories unseen"));
        Assert.That(Section(doc, "origin").All("text").Select(t => t.Value), Does.Contain("unseen"));
        Assert.That(report.Status, Is.EqualTo(stored["drift_status"].Status));
    }

    [Test]
    public async Task CreateDriftReportAsync_UnknownOrOtherProjectsEndpoint_NotFoundException()
    {
        await using var served = await ServedFlights.StartAsync();
        await using var other = await ServedFlights.StartAsync();
        var otherEndpoint = await other.Project.Monitoring.RegisterEndpointAsync("delay", "1");

        var unknown = Assert.ThrowsAsync<NotFoundException>(() => served.Project.Monitoring.CreateDriftReportAsync("no-such-endpoint", ServedFlights.T0));
        var foreign = Assert.ThrowsAsync<NotFoundException>(() => served.Project.Monitoring.CreateDriftReportAsync(otherEndpoint.Id, ServedFlights.T0));

        Assert.That(unknown!.Message, Does.Contain("no-such-endpoint"));
        Assert.That(foreign!.Message, Does.Contain(otherEndpoint.Id));
    }

    [Test]
    public async Task CreateDriftReportAsync_WindowWithoutRows_ValidationExceptionNamesTheWindow()
    {
        await using var served = await ServedFlights.StartAsync();
        var endpoint = await ServeTwoWindowsAsync(served);

        var ex = Assert.ThrowsAsync<ValidationException>(() => served.Project.Monitoring.CreateDriftReportAsync(endpoint.Id, ServedFlights.T0.AddHours(2)));

        Assert.That(ex!.Message, Does.Contain("no captured row").And.Contain("2026-03-01T10:00:00.0000000+00:00").And.Contain("first request"));
    }

    [Test]
    public async Task CreateDriftReportAsync_EndpointWithoutReference_ValidationExceptionNamesTheFix()
    {
        await using var served = await ServedFlights.StartAsync();
        var endpoint = await served.Project.Monitoring.RegisterEndpointAsync("hand-made");

        var ex = Assert.ThrowsAsync<ValidationException>(() => served.Project.Monitoring.CreateDriftReportAsync(endpoint.Id, ServedFlights.T0));

        Assert.That(ex!.Message, Does.Contain("hand-made").And.Contain("no reference").And.Contain("ModelLogOptions.TrainingData").And.Contain("EndpointReference.FromProfile"));
    }

    [Test]
    public async Task CreateDriftReportAsync_StartInsideAWindow_ValidationExceptionNamesTheWindowStart()
    {
        await using var served = await ServedFlights.StartAsync();
        var endpoint = await ServeTwoWindowsAsync(served);

        var ex = Assert.ThrowsAsync<ValidationException>(() => served.Project.Monitoring.CreateDriftReportAsync(endpoint.Id, Shifted.AddMinutes(3)));

        Assert.That(ex!.Message, Does.Contain("windowStart").And.Contain("not the start of an analysis window").And.Contain("Pass 2026-03-01T08:10:00.0000000+00:00"));
    }

    [Test]
    public async Task MonitoringGuide_DriftReportOfAnAnalysedWindowExample_Runs()
    {
        await using var served = await ServedFlights.StartAsync();
        await ServeTwoWindowsAsync(served);
        var project = served.Project;

        // --- docs/monitoring.md, "Drift report", "From an analysed window" ---
        await project.Monitoring.AnalyzeAsync();                        // the closed windows: 08:00 as trained, 08:10 distance x 1.5
        ModelEndpoint endpoint = await project.Monitoring.FindEndpointAsync("delay", "1");
        var windowStart = new DateTimeOffset(2026, 3, 1, 8, 10, 0, TimeSpan.Zero);

        DriftReport report = await project.Monitoring.CreateDriftReportAsync(endpoint.Id, windowStart);
        ArtifactRecord record = await project.Monitoring.LogDriftReportAsync($"monitoring/delay-1/drift-{windowStart:yyyyMMdd'T'HHmm}", report);
        Console.WriteLine($"{report.Status}: {record.Uri}");             // Detected: store://artifacts/{project}/monitoring/delay-1/drift-20260301T0810:1
        // --- end of example ---

        Assert.That(report.Status, Is.EqualTo(ResultStatus.Detected));
        Assert.That(record.Uri, Is.EqualTo($"store://artifacts/{project.Name}/monitoring/delay-1/drift-20260301T0810:1"));
    }

    /// <summary>Serves 500 flights as trained in the window at T0, then 500 with distance x 1.5 in the next window, and moves the
    /// clock past the second window's grace period.</summary>
    private static async Task<ModelEndpoint> ServeTwoWindowsAsync(ServedFlights served)
    {
        ModelEndpoint endpoint;
        await using (var capture = await served.Project.Monitoring.StartCaptureAsync(served.Server))
        {
            endpoint = capture.Endpoints.Single();
            await DriftApplicationTests.SendAsync(served, rows: 500, distanceFactor: 1.0);
            served.Time.SetUtcNow(Shifted);
            await DriftApplicationTests.SendAsync(served, rows: 500, distanceFactor: 1.5, skip: 500);
        }
        served.Time.SetUtcNow(Shifted.AddMinutes(11));
        return endpoint;
    }

    private static XElement Section(XDocument doc, string feature) => doc.All("section")
        .Single(s => s.HasClass("feature") && s.Element("h2")!.Nodes().OfType<XText>().First().Value.TrimEnd() == feature);

    /// <summary>The status class of a feature's badge (<c>s-detected</c>, <c>s-none</c>, ...).</summary>
    private static string Badge(XDocument doc, string feature)
        => Section(doc, feature).Element("h2")!.Element("span")!.Attribute("class")!.Value.Split(' ').Single(c => c.StartsWith("s-", StringComparison.Ordinal));

    private static string Message(XDocument doc, string feature) => Section(doc, feature).All("p").Single(p => p.HasClass("message")).Value;
}
