using System.Text;
using System.Xml.Linq;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Drift;
using MLOps.Monitoring.Reports;

namespace MLOps.Monitoring.Tests.Reports;

public class DriftReportTests
{
    private static readonly DateTimeOffset Start = new(2001, 2, 15, 0, 0, 0, TimeSpan.Zero);

    private static XElement Section(XDocument doc, string feature) => doc.All("section")
        .Single(s => s.HasClass("feature") && s.Element("h2")!.Nodes().OfType<XText>().First().Value.TrimEnd() == feature);

    [Test]
    public void ToHtml_ShiftedFlights_OneSectionPerFeatureWithAnSvgChart()
    {
        var (report, _, _) = ReportFlights.ShiftedReport();

        var doc = ReportFlights.Parse(report.ToHtml());

        var sections = doc.All("section").Where(s => s.HasClass("feature")).ToList();
        Assert.That(sections.Select(s => s.Element("h2")!.Nodes().OfType<XText>().First().Value.TrimEnd()),
            Is.EqualTo(new[] { "delay", "distance", "origin", "destination" }));
        Assert.That(sections.Select(s => s.All("svg").Count()), Is.All.EqualTo(1));
        var rows = doc.All("tbody").Single().Elements("tr").ToList();
        Assert.That(rows, Has.Count.EqualTo(4));
        Assert.That(rows.Select(r => r.Elements("td").First().Value), Is.EqualTo(new[] { "delay", "distance", "origin", "destination" }));
        Assert.That(doc.All("title").First().Value, Is.EqualTo("Drift of delay:1 (distance x 1.5)"));
    }

    [Test]
    public void ToHtml_NumericFeature_BarHeightsAreTheSharesOnTheReferenceBins()
    {
        var (report, reference, result) = ReportFlights.ShiftedReport();
        var section = Section(ReportFlights.Parse(report.ToHtml()), "distance");

        var refBars = section.All("rect").Where(r => r.HasClass("ref")).ToList();
        var curBars = section.All("rect").Where(r => r.HasClass("cur")).ToList();
        Assert.That(refBars, Has.Count.EqualTo(reference.Bins + 2));
        Assert.That(curBars, Has.Count.EqualTo(reference.Bins + 2));
        double[] refShares = reference.Counts.ToArray().Select(c => c / (double)reference.Count).ToArray();
        double[] curShares = result.Counts.Select(c => c / (double)result.Count).ToArray();
        Assert.That(curShares[^1], Is.GreaterThan(0), "distance x 1.5 puts the longest flights above the reference maximum: the open upper bin");
        Assert.That(refShares[0], Is.Zero);
        Assert.That(refShares[^1], Is.Zero);
        Assert.That(curShares[1], Is.LessThan(refShares[1] / 2), "short flights become rarer");

        // One scale for both series: height = share x (plot height / axis maximum), the same factor for every bar.
        var all = refBars.Concat(curBars).ToList();
        double[] shares = refShares.Concat(curShares).ToArray();
        int tallest = Array.IndexOf(shares, shares.Max());
        double pxPerShare = all[tallest].Number("height") / shares[tallest];
        for (int i = 0; i < all.Count; i++)
            Assert.That(all[i].Number("height"), Is.EqualTo(shares[i] * pxPerShare).Within(0.02), $"bar {i}");
        double baseline = all[0].Number("y") + all[0].Number("height");
        Assert.That(all.Select(r => r.Number("y") + r.Number("height")), Is.All.EqualTo(baseline).Within(0.011));
        Assert.That(all.Max(r => r.Number("height")), Is.LessThanOrEqualTo(section.All("rect").Single(r => r.HasClass("plot-area")).Number("height") + 0.01));

        var labels = section.All("text").Select(t => t.Value).ToList();
        Assert.That(labels, Does.Contain("< " + reference.Edges[0].ToString("G4", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(labels, Does.Contain("> " + reference.Edges[^1].ToString("G4", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(curBars[^1].Element(curBars[^1].Name.Namespace + "title")!.Value, Does.StartWith("above the reference maximum"));
    }

    [Test]
    public void ToHtml_CategoricalFeature_TopCategoriesThenOtherThenUnseen()
    {
        var flights = ReportFlights.Load();
        string?[] reference = flights.Take(10_000).Select(f => (string?)f.Origin).ToArray();
        string?[] current = flights.Skip(10_000).Select(f => (string?)f.Origin).ToArray();
        var origins = CategoricalReference.Create("origin", reference);
        var result = DriftMetrics.Compare(origins, current);
        var report = new DriftReport("t", "e", Start, Start.AddDays(1), ResultStatus.None) { TopCategories = 5 }
            .AddCategorical(origins, result, current, ResultStatus.None);

        var section = Section(ReportFlights.Parse(report.ToHtml()), "origin");

        // Brute force: rank the reference categories by their larger share, pool the rest, then the unseen ones.
        var refCounts = reference.GroupBy(c => c!).ToDictionary(g => g.Key, g => (double)g.Count());
        var curCounts = current.GroupBy(c => c!).ToDictionary(g => g.Key, g => (double)g.Count());
        var ranked = refCounts.Keys.OrderByDescending(k => Math.Max(refCounts[k] / reference.Length, curCounts.GetValueOrDefault(k) / current.Length))
            .ThenBy(k => k, StringComparer.Ordinal).ToList();
        var top = ranked.Take(5).ToList();
        double unseen = curCounts.Where(kv => !refCounts.ContainsKey(kv.Key)).Sum(kv => kv.Value);
        Assert.That(unseen, Is.EqualTo(result.UnseenCount).And.GreaterThan(0));
        var expectedRef = top.Select(k => refCounts[k] / reference.Length)
            .Append(ranked.Skip(5).Sum(k => refCounts[k]) / reference.Length).Append(0).ToArray();
        var expectedCur = top.Select(k => curCounts.GetValueOrDefault(k) / current.Length)
            .Append(ranked.Skip(5).Sum(k => curCounts.GetValueOrDefault(k)) / current.Length).Append(unseen / current.Length).ToArray();

        var refBars = section.All("rect").Where(r => r.HasClass("ref")).ToList();
        var curBars = section.All("rect").Where(r => r.HasClass("cur")).ToList();
        Assert.That(section.All("text").Where(t => !t.HasClass("axis-title")).Select(t => t.Value).Where(v => v != "reference" && v != "current" && !v.EndsWith('%')),
            Is.EqualTo(top.Append("other").Append("unseen")));
        Assert.That(section.All("text").Where(t => t.HasClass("axis-title")).Select(t => t.Value), Is.EqualTo(new[] { "origin", "share of values" }));
        double pxPerShare = refBars[^2].Number("height") / expectedRef[^2];   // "other" is the largest reference share
        for (int i = 0; i < expectedRef.Length; i++)
        {
            Assert.That(refBars[i].Number("height"), Is.EqualTo(expectedRef[i] * pxPerShare).Within(0.02), $"reference {i}");
            Assert.That(curBars[i].Number("height"), Is.EqualTo(expectedCur[i] * pxPerShare).Within(0.02), $"current {i}");
        }
    }

    [Test]
    public void ToHtml_Statuses_HaveTheirColours()
    {
        var numbers = NumericReference.Create("x", [1, 2, 3, 4, 5, 6, 7, 8]);
        var report = new DriftReport("t", "e", Start, Start.AddHours(1), ResultStatus.Possible);
        var statuses = Enum.GetValues<ResultStatus>();
        foreach (var status in statuses)
        {
            var r = NumericReference.Create("f" + status, [1, 2, 3, 4, 5, 6, 7, 8]);
            report.AddNumeric(r, DriftMetrics.Compare(r, [2, 3]), status);
        }
        report.AddTimeSeries("psi", statuses.Select((s, i) => new DriftReportPoint(Start.AddHours(i), i * 0.1, s)).ToList(), 0.1, 0.25);

        var doc = ReportFlights.Parse(report.ToHtml());

        var expected = new Dictionary<ResultStatus, (string Class, string Fill)>
        {
            [ResultStatus.None] = ("s-none", "#2e7d32"),
            [ResultStatus.Possible] = ("s-possible", "#f9a825"),
            [ResultStatus.Detected] = ("s-detected", "#c62828"),
            [ResultStatus.InsufficientData] = ("s-grey", "#757575"),
            [ResultStatus.Error] = ("s-grey", "#757575"),
            [ResultStatus.Irrelevant] = ("s-grey", "#757575"),
        };
        foreach (var status in statuses)
        {
            var badge = Section(doc, "f" + status).Element("h2")!.Element("span")!;
            Assert.That(badge.HasClass("badge") && badge.HasClass(expected[status].Class), $"{status}: {badge}");
        }
        Assert.That(doc.All("p").Single(p => p.HasClass("overall")).Element("span")!.HasClass("s-possible"));
        var circles = doc.All("circle").ToList();
        Assert.That(circles.Select(c => c.Attribute("fill")!.Value), Is.EqualTo(statuses.Select(s => expected[s].Fill)));
        var thresholds = doc.All("line").Where(l => l.HasClass("threshold")).ToList();
        Assert.That(thresholds.Select(l => l.Attribute("stroke")!.Value), Is.EqualTo(new[] { "#f9a825", "#c62828" }));
        var css = doc.All("style").Single().Value;
        Assert.That(css, Does.Contain(".s-detected { background: #c62828; }").And.Contain(".s-none { background: #2e7d32; }"));
    }

    [Test]
    public void ToHtml_HostileNames_AreEscapedAndReadBackVerbatim()
    {
        const string Hostile = "<script>alert(\"x\")</script> & 'quoted' </section>";
        var numbers = NumericReference.Create(Hostile, [1, 2, 3, 4]);
        var categories = CategoricalReference.Create("c" + Hostile, [Hostile, "a&b", "<i>", "a&b"]);
        string?[] current = [Hostile, "\"unseen\" <b>", "a&b", "bad\u0001char"];
        var report = new DriftReport("Title " + Hostile, "endpoint " + Hostile, Start, Start.AddHours(1), ResultStatus.Detected)
            .AddNumeric(numbers, DriftMetrics.Compare(numbers, [2, 3]), ResultStatus.Detected, "message " + Hostile)
            .AddCategorical(categories, DriftMetrics.Compare(categories, current), current, ResultStatus.None)
            .AddTimeSeries("series " + Hostile, [new DriftReportPoint(Start, 1, ResultStatus.None)]);

        string html = report.ToHtml();
        var doc = ReportFlights.Parse(html);

        Assert.That(html, Does.Not.Contain("<script"));
        Assert.That(doc.All("script"), Is.Empty);
        Assert.That(doc.All("title").First().Value, Is.EqualTo("Title " + Hostile));
        Assert.That(doc.All("strong").First().Value, Is.EqualTo("endpoint " + Hostile));
        Assert.That(doc.All("p").Single(p => p.HasClass("message")).Value, Is.EqualTo("message " + Hostile));
        Assert.That(doc.All("tbody").Single().Elements("tr").First().Elements("td").First().Value, Is.EqualTo(Hostile));
        Assert.That(doc.All("h3").Single().Value, Is.EqualTo("series " + Hostile));
        var tooltips = doc.All("title").Select(t => t.Value).ToList();
        Assert.That(tooltips, Has.Some.StartsWith("a&b: current"));
        Assert.That(tooltips, Has.Some.Contains("\"unseen\" <b>"));
        Assert.That(tooltips, Has.Some.Contains("bad\uFFFDchar"), "a control character XML cannot hold becomes U+FFFD");
    }

    [Test]
    public void ToHtml_Page_HasNoScriptAndNoNetworkReference()
    {
        var (report, _, _) = ReportFlights.ShiftedReport();
        report.AddTimeSeries("distance psi", [new(Start, 0.3, ResultStatus.Detected), new(Start.AddHours(1), 0.05, ResultStatus.None)], 0.1, 0.25);

        string html = report.ToHtml();
        var doc = ReportFlights.Parse(html);

        string withoutSvgNamespace = html.Replace("xmlns=\"http://www.w3.org/2000/svg\"", "", StringComparison.Ordinal);
        Assert.That(withoutSvgNamespace, Does.Not.Contain("http").IgnoreCase);
        Assert.That(withoutSvgNamespace, Does.Not.Contain("//"));
        Assert.That(html, Does.Not.Contain("<script").IgnoreCase.And.Not.Contain("url(").IgnoreCase.And.Not.Contain("@import").IgnoreCase.And.Not.Contain("javascript:").IgnoreCase);
        var attributes = doc.Descendants().SelectMany(e => e.Attributes()).ToList();
        Assert.That(attributes.Where(a => a.Name.LocalName is "src" or "srcset" or "xlink:href" || a.Name.LocalName.StartsWith("on", StringComparison.Ordinal)), Is.Empty);
        Assert.That(doc.All("a").Select(a => a.Attribute("href")!.Value), Is.All.StartsWith("#feature-"));
        Assert.That(doc.All("svg").Select(s => s.Name.NamespaceName), Is.All.EqualTo("http://www.w3.org/2000/svg"));
        // CSS is raw text in HTML: an entity there (&quot;) would reach the browser's CSS parser undecoded.
        string css = html[(html.IndexOf("<style>", StringComparison.Ordinal) + 7)..html.IndexOf("</style>", StringComparison.Ordinal)];
        Assert.That(css, Does.Not.Contain("&").And.Contain(".s-detected"));
        Assert.That(doc.All("style").Single().Value, Is.EqualTo(css));
    }

    [Test]
    public void ToHtml_EmptyWindow_RendersWithoutNaN()
    {
        var reference = NumericReference.Create("delay", [1, 5, 9, 12]);
        var empty = DriftMetrics.Compare(reference, [double.NaN, double.NaN], sampleTests: true);
        Assert.That(empty.TotalVariation, Is.NaN, "precondition: an empty window has NaN metrics");
        var categories = CategoricalReference.Create("origin", ["ORD", "ATL"]);
        string?[] none = [null];
        var report = new DriftReport("t", "e", Start, Start, ResultStatus.InsufficientData)
            .AddNumeric(reference, empty, ResultStatus.InsufficientData, "no rows")
            .AddCategorical(categories, DriftMetrics.Compare(categories, none), none, ResultStatus.InsufficientData)
            .AddTimeSeries("psi", [new(Start, double.NaN, ResultStatus.InsufficientData)], 0.1, 0.25)
            .AddTimeSeries("empty", []);

        string html = report.ToHtml();
        var doc = ReportFlights.Parse(html);

        Assert.That(html, Does.Not.Contain("NaN").And.Not.Contain("Infinity").And.Not.Contain("∞"));
        Assert.That(doc.All("rect").Where(r => r.HasClass("cur")).Select(r => r.Number("height")), Is.All.Zero);
        Assert.That(doc.All("p").Where(p => p.HasClass("stats")).Select(p => p.Value), Is.All.StartsWith("no value in the current window"));
        Assert.That(doc.All("tbody").Single().Elements("tr").First().Elements("td").ElementAt(5).Value, Is.EqualTo("–"));
    }

    [Test]
    public void ToHtml_ConstantFeature_RendersWithoutNaN()
    {
        var reference = NumericReference.Create("constant", [5, 5, 5, 5]);
        var same = DriftMetrics.Compare(reference, [5, 5], sampleTests: true);
        var moved = DriftMetrics.Compare(NumericReference.Create("moved", [5, 5, 5]), [7, 7, 3], sampleTests: true);
        var report = new DriftReport("t", "e", Start, Start.AddHours(1), ResultStatus.Detected)
            .AddNumeric(reference, same, ResultStatus.None)
            .AddNumeric(NumericReference.Create("moved", [5, 5, 5]), moved, ResultStatus.Detected)
            .AddTimeSeries("flat", [new(Start, 0.2, ResultStatus.None), new(Start.AddHours(1), 0.2, ResultStatus.None)])
            .AddTimeSeries("zero", [new(Start, 0, ResultStatus.None), new(Start.AddHours(1), 0, ResultStatus.None)]);

        string html = report.ToHtml();
        var doc = ReportFlights.Parse(html);

        Assert.That(html, Does.Not.Contain("NaN").And.Not.Contain("Infinity"));
        var bars = Section(doc, "moved").All("rect").Where(r => r.HasClass("cur")).ToList();
        Assert.That(bars[0].Number("height"), Is.EqualTo(bars[^1].Number("height") / 2).Within(0.01), "one value below 4.5, two above 5.5");
        Assert.That(Section(doc, "constant").All("text").Select(t => t.Value), Does.Contain("< 4.5").And.Contain("> 5.5"));
    }

    [Test]
    public void ToHtml_TimeSeriesWithAGap_BreaksTheLineAndSkipsTheMarker()
    {
        DriftReportPoint[] points = [new(Start, 0.05, ResultStatus.None), new(Start.AddHours(1), 0.15, ResultStatus.Possible),
            new(Start.AddHours(2), double.NaN, ResultStatus.InsufficientData), new(Start.AddHours(3), 0.3, ResultStatus.Detected),
            new(Start.AddHours(4), 0.35, ResultStatus.Detected)];
        var report = new DriftReport("t", "e", Start, Start.AddHours(5), ResultStatus.Detected).AddTimeSeries("psi", points, 0.1, 0.25);

        var doc = ReportFlights.Parse(report.ToHtml());

        var lines = doc.All("polyline").Select(p => p.Attribute("points")!.Value.Split(' ')).ToList();
        Assert.That(lines.Select(l => l.Length), Is.EqualTo(new[] { 2, 2 }));
        Assert.That(doc.All("circle").Count(), Is.EqualTo(4));
        double Y(string point) => double.Parse(point.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(Y(lines[0][0]), Is.GreaterThan(Y(lines[0][1])), "a larger value is drawn higher");
        var threshold = doc.All("line").Where(l => l.HasClass("threshold")).Select(l => l.Number("y1")).ToList();
        Assert.That(threshold[0], Is.GreaterThan(Y(lines[0][1])).And.LessThan(Y(lines[0][0])), "0.1 lies between 0.05 and 0.15");
        Assert.That(doc.All("text").Select(t => t.Value), Does.Contain("2001-02-15 00:00 UTC").And.Contain("2001-02-15 04:00 UTC"));
    }

    [Test]
    public async Task WriteAsync_Stream_WritesTheSameBytesAsToHtml()
    {
        var (report, _, _) = ReportFlights.ShiftedReport();
        using var stream = new MemoryStream();

        await report.WriteAsync(stream);

        Assert.That(stream.ToArray(), Is.EqualTo(new UTF8Encoding(false).GetBytes(report.ToHtml())));
        Assert.That(report.ToHtml(), Is.EqualTo(ReportFlights.ShiftedReport().Report.ToHtml()), "the same inputs give the same page");
    }

    [Test]
    public void ToHtml_AnyCulture_GivesTheSamePage()
    {
        var (report, _, _) = ReportFlights.ShiftedReport();
        report.AddTimeSeries("psi", [new(Start, 0.1234, ResultStatus.None), new(Start.AddHours(1), 1234.5, ResultStatus.Detected)], 0.1, 0.25);
        string invariant = report.ToHtml();
        var previous = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            foreach (var culture in new[] { "de-DE", "fr-FR", "ar-SA" })
            {
                System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo(culture);
                Assert.That(report.ToHtml(), Is.EqualTo(invariant), culture);
            }
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = previous;
        }
    }

    [Test]
    public async Task LogDriftReportAsync_Report_IsAPlotArtifactReadBackWithIdenticalBytes()
    {
        using var folder = new TempFolder();
        var logs = new MLOps.Monitoring.Tests.Capture.CapturingLogger();
        await using var project = await TestProjects.OpenAsync(folder, "report", configure: b => b.UseLoggerFactory(logs));
        var (report, _, _) = ReportFlights.ShiftedReport();

        var record = await project.Monitoring.LogDriftReportAsync("monitoring/delay-1/drift", report);

        Assert.That(record.Kind, Is.EqualTo(MLOps.Artifacts.ArtifactKind.Plot));
        Assert.That(record.FileName, Is.EqualTo("drift.html"));
        await using var read = await project.Artifacts.OpenReadAsync(record.Uri);
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.That(copy.ToArray(), Is.EqualTo(new UTF8Encoding(false).GetBytes(report.ToHtml())));
        var entry = logs.Entries.Single(e => e.EventId.Id == 3401);
        Assert.That(entry.Message, Does.Contain("delay:1").And.Contain(record.Uri).And.Contain("4 features"));

        var options = new MLOps.Artifacts.ArtifactOptions { Description = "weekly drift" };
        options.Tags.Add("week-7");
        var second = await project.Monitoring.LogDriftReportAsync("monitoring/delay-1/drift", report, options, CancellationToken.None);
        var third = await project.Monitoring.LogDriftReportAsync("monitoring/delay-1/drift", report, CancellationToken.None);
        Assert.That((second.Version, third.Version), Is.EqualTo((2, 3)));
        Assert.That((await project.Artifacts.GetAsync("monitoring/delay-1/drift:week-7")).Version, Is.EqualTo(2));
        Assert.That(third.Hash, Is.EqualTo(record.Hash), "the same report gives the same content");
    }

    [Test]
    public async Task LogDriftReportAsync_BadKey_ThrowsValidationNamingTheKey()
    {
        using var folder = new TempFolder();
        await using var project = await TestProjects.OpenAsync(folder, "report");
        var report = new DriftReport("t", "e", Start, Start, ResultStatus.None);

        var ex = Assert.ThrowsAsync<ValidationException>(() => project.Monitoring.LogDriftReportAsync("../escape", report));

        Assert.That(ex!.Message, Does.Contain("'../escape'"));
    }

    [Test]
    public void Constructor_BadArguments_ThrowValidationNamingTheFieldAndFix()
    {
        Assert.That(Assert.Throws<ValidationException>(() => _ = new DriftReport(" ", "e", Start, Start, ResultStatus.None))!.Message, Does.Contain("drift report title"));
        Assert.That(Assert.Throws<ValidationException>(() => _ = new DriftReport("t", "", Start, Start, ResultStatus.None))!.Message, Does.Contain("drift report endpoint"));
        Assert.That(Assert.Throws<ValidationException>(() => _ = new DriftReport("t", "e", Start, Start.AddSeconds(-1), ResultStatus.None))!.Message,
            Does.Contain("ends (2001-02-14 23:59 UTC) before it starts").And.Contain("windowStart <= windowEnd"));
        Assert.That(Assert.Throws<ValidationException>(() => _ = new DriftReport("t", "e", Start, Start, (ResultStatus)7))!.Message,
            Does.Contain("overall status is 7").And.Contain("Detected"));
        Assert.That(Assert.Throws<ValidationException>(() => _ = new DriftReport("t", "e", Start, Start, ResultStatus.None) { TopCategories = 0 })!.Message,
            Does.Contain("TopCategories is 0").And.Contain("1 to 50"));
    }

    [Test]
    public void AddNumeric_MismatchedInputs_ThrowValidationNamingTheFeature()
    {
        var delay = NumericReference.Create("delay", [1, 2, 3, 4]);
        var distance = NumericReference.Create("distance", [1, 2, 3, 4]);
        var coarse = NumericReference.Create("delay", [1, 2, 3, 4], new NumericReferenceOptions { Bins = 3 });
        var report = new DriftReport("t", "e", Start, Start, ResultStatus.None).AddNumeric(delay, DriftMetrics.Compare(delay, [2]), ResultStatus.None);
        var result = DriftMetrics.Compare(distance, [2]);

        Assert.That(Assert.Throws<ValidationException>(() => report.AddNumeric(delay, result, ResultStatus.None))!.Message,
            Does.Contain("feature 'distance' but the reference is of feature 'delay'"));
        Assert.That(Assert.Throws<ValidationException>(() => report.AddNumeric(coarse, DriftMetrics.Compare(delay, [2]), ResultStatus.None))!.Message,
            Does.Contain("has 22 bin counts but its reference has 5"));
        Assert.That(Assert.Throws<ValidationException>(() => report.AddNumeric(delay, DriftMetrics.Compare(delay, [2]), ResultStatus.None))!.Message,
            Does.Contain("already has feature 'delay'"));
        var tampered = DriftMetrics.Compare(distance, [2]) with { Count = 5 };
        Assert.That(Assert.Throws<ValidationException>(() => report.AddNumeric(distance, tampered, ResultStatus.None))!.Message,
            Does.Contain("sum to 1 but the result's Count is 5"));
        Assert.That(Assert.Throws<ValidationException>(() => report.AddNumeric(distance, result, (ResultStatus)(-9)))!.Message,
            Does.Contain("status of feature 'distance' is -9"));
        Assert.That(report.Features, Is.EqualTo(new[] { "delay" }), "a rejected feature is not added");
    }

    [Test]
    public void AddCategorical_CountsOfAnotherWindow_ThrowValidation()
    {
        var origins = CategoricalReference.Create("origin", ["ORD", "ATL"]);
        var result = DriftMetrics.Compare(origins, ["ORD", "ZZZ"]);
        var report = new DriftReport("t", "e", Start, Start, ResultStatus.None);

        Assert.That(Assert.Throws<ValidationException>(() => report.AddCategorical(origins, result, new Dictionary<string, long> { ["ORD"] = 2 }, ResultStatus.None))!.Message,
            Does.Contain("sum to 2 (0 unseen in the reference) but the result has Count 2 and UnseenCount 1"));
        Assert.That(Assert.Throws<ValidationException>(() => report.AddCategorical(origins, result, new Dictionary<string, long> { ["ORD"] = 3, ["ZZZ"] = -1 }, ResultStatus.None))!.Message,
            Does.Contain("category 'ZZZ' of feature 'origin' is -1"));
        report.AddCategorical(origins, result, new Dictionary<string, long> { ["ORD"] = 1, ["ZZZ"] = 1 }, ResultStatus.None);
        Assert.That(report.Features, Is.EqualTo(new[] { "origin" }));
    }

    [Test]
    public void AddTimeSeries_BadPoints_ThrowValidation()
    {
        var report = new DriftReport("t", "e", Start, Start, ResultStatus.None);

        Assert.That(Assert.Throws<ValidationException>(() => report.AddTimeSeries("psi", [new(Start, 1, ResultStatus.None), new(Start, 2, ResultStatus.None)]))!.Message,
            Does.Contain("Point 1 of time series 'psi'").And.Contain("ascending time order"));
        Assert.That(Assert.Throws<ValidationException>(() => report.AddTimeSeries("psi", [], detectedThreshold: double.PositiveInfinity))!.Message,
            Does.Contain("detected threshold of time series 'psi' is Infinity"));
        Assert.That(Assert.Throws<ValidationException>(() => report.AddTimeSeries(" ", []))!.Message, Does.Contain("time series name"));
        report.AddTimeSeries("psi", []);
        Assert.That(Assert.Throws<ValidationException>(() => report.AddTimeSeries("psi", []))!.Message, Does.Contain("already has a time series 'psi'"));
    }
}
