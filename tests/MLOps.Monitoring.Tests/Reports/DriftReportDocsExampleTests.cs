using System.Text;
using MLOps.Artifacts;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Drift;
using MLOps.Monitoring.Reports;

namespace MLOps.Monitoring.Tests.Reports;

/// <summary>The example of docs/monitoring.md, "Drift report", compiled and run; it also keeps docs/images/drift-report-example.html
/// current (set MLOPS_UPDATE_DOCS=1 to rewrite it after a deliberate change of the page).</summary>
public class DriftReportDocsExampleTests
{
    [Test]
    [SetCulture("en-US")]
    public async Task MonitoringGuide_DriftReportExample_RunsAndMatchesTheCheckedInPage()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder, "flights");
        IReadOnlyList<FlightRow> flights = ReportFlights.Load();

        // --- docs/monitoring.md, "Drift report" ---
        var training = flights.Take(10_000).ToList();                                          // January to mid February
        var live = flights.Skip(10_000).Select(f => f with { Distance = f.Distance * 1.5 }).ToList(); // the rest, distance x 1.5

        static ResultStatus ByPsi(double psi) => double.IsNaN(psi) ? ResultStatus.InsufficientData
            : psi >= 0.25 ? ResultStatus.Detected : psi >= 0.1 ? ResultStatus.Possible : ResultStatus.None;

        var report = new DriftReport("Drift of delay:1", "delay:1", live[0].Date, live[^1].Date, ResultStatus.Detected);

        var numeric = new (string Name, Func<FlightRow, double> Value)[] { ("delay", f => f.Delay), ("distance", f => f.Distance) };
        foreach (var (name, value) in numeric)
        {
            var reference = NumericReference.Create(name, training.Select(value).ToArray());
            var drift = DriftMetrics.Compare(reference, live.Select(value).ToArray(), sampleTests: true);
            report.AddNumeric(reference, drift, ByPsi(drift.PopulationStability), $"PSI {drift.PopulationStability:F3} on the reference bins (possible >= 0.1, detected >= 0.25)");

            // The same result over ten windows of 1,000 live rows, with its thresholds.
            var points = live.Chunk(1_000).Select(window =>
            {
                double psi = DriftMetrics.Compare(reference, window.Select(value).ToArray()).PopulationStability;
                return new DriftReportPoint(window[0].Date, psi, ByPsi(psi));
            }).ToList();
            report.AddTimeSeries($"{name} PSI per 1,000 rows", points, possibleThreshold: 0.1, detectedThreshold: 0.25);
        }

        var origins = CategoricalReference.Create("origin", training.Select(f => (string?)f.Origin).ToArray());
        string?[] liveOrigins = live.Select(f => (string?)f.Origin).ToArray();
        CategoricalDriftResult originDrift = DriftMetrics.Compare(origins, liveOrigins);
        report.AddCategorical(origins, originDrift, liveOrigins, ByPsi(originDrift.PopulationStability),
            $"PSI {originDrift.PopulationStability:F3}; chi-square p {originDrift.ChiSquare.PValue:G3}");

        string html = report.ToHtml();                                                     // or: await report.WriteAsync(stream)
        ArtifactRecord record = await project.Monitoring.LogDriftReportAsync("monitoring/delay-1/drift", report);
        Console.WriteLine($"{record.Uri}: {record.Size:N0} bytes");                        // store://artifacts/flights/monitoring/delay-1/drift:1
        // --- end of example ---

        Assert.That(record.Uri, Is.EqualTo("store://artifacts/flights/monitoring/delay-1/drift:1"));
        Assert.That(record.Size, Is.EqualTo(Encoding.UTF8.GetByteCount(html)));
        var doc = ReportFlights.Parse(html);
        Assert.That(doc.All("section").Count(s => s.HasClass("feature")), Is.EqualTo(3));
        var statuses = doc.All("tbody").Single().Elements("tr").Select(r => (r.Elements("td").First().Value, r.Elements("td").ElementAt(2).Value)).ToList();
        Assert.That(statuses, Is.EqualTo(new[] { ("delay", "no drift"), ("distance", "detected"), ("origin", "no drift") }),
            "distance x 1.5 is detected on exactly the shifted feature");

        string checkedIn = Path.Combine(RepositoryRoot(), "docs", "images", "drift-report-example.html");
        if (Environment.GetEnvironmentVariable("MLOPS_UPDATE_DOCS") == "1")
            await File.WriteAllTextAsync(checkedIn, html, new UTF8Encoding(false));
        Assert.That(File.Exists(checkedIn), $"{checkedIn} is missing; run this test with MLOPS_UPDATE_DOCS=1 to write it.");
        Assert.That(html, Does.Not.Contain("\r"));
        Assert.That((await File.ReadAllTextAsync(checkedIn)).ReplaceLineEndings("\n"), Is.EqualTo(html),
            "docs/images/drift-report-example.html is not the page the example renders; run this test with MLOPS_UPDATE_DOCS=1 and review the diff.");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "docs", "monitoring.md"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException("No folder above the test output holds docs/monitoring.md.");
    }
}
