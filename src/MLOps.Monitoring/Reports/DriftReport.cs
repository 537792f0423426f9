using System.Globalization;
using System.Text;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Drift;

namespace MLOps.Monitoring.Reports;

/// <summary>One window of a result's time series in a <see cref="DriftReport"/>.</summary>
/// <param name="WindowStart">The window's start.</param>
/// <param name="Value">The result's value in that window; NaN (or infinity) is drawn as a gap.</param>
/// <param name="Status">The result's status in that window (the marker's colour).</param>
public readonly record struct DriftReportPoint(DateTimeOffset WindowStart, double Value, ResultStatus Status);

/// <summary>
/// A drift report of one endpoint and window as a self-contained HTML page: a header with the overall status, a results table
/// (one row per feature: status, rows, missing, the distances and the test p-value, the detector's message), optional line
/// charts of results over windows with their thresholds, and one section per feature with an inline SVG chart of the reference
/// against the current shares (numeric: the reference's bins with the two open edge bins; categorical: the top categories,
/// "other" and "unseen"). The page has inline CSS, no script and no external reference; the same inputs give the same bytes.
/// </summary>
/// <remarks>Build one from an endpoint's window with <c>project.Monitoring.CreateDriftReportAsync</c>, or add features with <see cref="AddNumeric"/> and <c>AddCategorical</c>; then render with <see cref="ToHtml"/>,
/// <see cref="WriteAsync"/> or log it with <c>project.Monitoring.LogDriftReportAsync</c>. Not thread-safe while being built.</remarks>
public sealed class DriftReport
{
    /// <summary>The default of <see cref="TopCategories"/>.</summary>
    public const int DefaultTopCategories = 10;

    private readonly List<Feature> _features = [];
    private readonly List<Series> _series = [];
    private int _topCategories = DefaultTopCategories;

    /// <summary>Starts a report.</summary>
    /// <param name="title">The page title, e.g. <c>Drift of delay:3</c>.</param>
    /// <param name="endpoint">The endpoint's name (model and version).</param>
    /// <param name="windowStart">The first time of the current window.</param>
    /// <param name="windowEnd">The end of the current window (not before <paramref name="windowStart"/>).</param>
    /// <param name="status">The overall (endpoint) status.</param>
    /// <exception cref="ValidationException">The title or endpoint is empty, the window ends before it starts, or the status is not a <see cref="ResultStatus"/>.</exception>
    public DriftReport(string title, string endpoint, DateTimeOffset windowStart, DateTimeOffset windowEnd, ResultStatus status)
    {
        Title = Names.Required(title, "drift report title", "Pass a title, e.g. 'Drift of delay:3'.");
        Endpoint = Names.Required(endpoint, "drift report endpoint", "Pass the endpoint's name (ModelEndpoint.Name), e.g. 'delay:3'.");
        if (windowEnd < windowStart)
            throw new ValidationException($"The drift report window ends ({ReportStyle.Time(windowEnd)}) before it starts ({ReportStyle.Time(windowStart)}). Pass windowStart <= windowEnd.");
        WindowStart = windowStart;
        WindowEnd = windowEnd;
        Status = CheckStatus(status, "overall status");
    }

    /// <summary>The title.</summary>
    public string Title { get; }

    /// <summary>The endpoint's name.</summary>
    public string Endpoint { get; }

    /// <summary>The current window's start.</summary>
    public DateTimeOffset WindowStart { get; }

    /// <summary>The current window's end.</summary>
    public DateTimeOffset WindowEnd { get; }

    /// <summary>The overall status.</summary>
    public ResultStatus Status { get; }

    /// <summary>The names of the features added so far, in order.</summary>
    public IReadOnlyList<string> Features => _features.Select(f => f.Name).ToList();

    /// <summary>The number of categories drawn by name in a categorical chart (the most frequent in the reference or the window);
    /// the other reference categories are pooled as "other", categories unseen in the reference as "unseen".</summary>
    /// <value>Defaults to <see cref="DefaultTopCategories"/>; 1 to 50.</value>
    /// <exception cref="ValidationException">The value is out of range.</exception>
    public int TopCategories
    {
        get => _topCategories;
        set => _topCategories = value is >= 1 and <= 50 ? value
            : throw new ValidationException(string.Create(CultureInfo.InvariantCulture,
                $"DriftReport.TopCategories is {value}: a chart shows 1 to 50 categories by name. Use a value in that range (the default is {DefaultTopCategories})."));
    }

    /// <summary>Adds a numeric feature: its reference, its drift result against that reference and the detector's verdict.</summary>
    /// <param name="reference">The feature's reference.</param>
    /// <param name="result">The drift metrics of the current window against <paramref name="reference"/> (<see cref="DriftMetrics.Compare(NumericReference, ReadOnlySpan{double}, bool)"/>).</param>
    /// <param name="status">The feature's status.</param>
    /// <param name="message">The detector and threshold (or why there is no status), or <see langword="null"/>.</param>
    /// <returns>This report.</returns>
    /// <exception cref="ValidationException">The result is of another feature or another binning, the feature is already in the report, or the status is not defined.</exception>
    public DriftReport AddNumeric(NumericReference reference, NumericDriftResult result, ResultStatus status, string? message = null)
    {
        Throw.IfNull(reference);
        Throw.IfNull(result);
        SameFeature(reference.Feature, result.Feature);
        if (result.Counts.Count != reference.Counts.Length)
            throw new ValidationException(string.Create(CultureInfo.InvariantCulture,
                $"The drift result of feature '{reference.Feature}' has {result.Counts.Count} bin counts but its reference has {reference.Counts.Length} ({reference.Bins} bins and the two open edge bins). Pass the result of DriftMetrics.Compare against this reference."));
        long sum = 0;
        foreach (long c in result.Counts)
        {
            if (c < 0) throw new ValidationException($"The drift result of feature '{reference.Feature}' has a negative bin count ({c}). Pass the result of DriftMetrics.Compare.");
            sum += c;
        }
        if (sum != result.Count)
            throw new ValidationException(string.Create(CultureInfo.InvariantCulture,
                $"The bin counts of feature '{reference.Feature}' sum to {sum} but the result's Count is {result.Count}. Pass the result of DriftMetrics.Compare unchanged."));
        Add(new Feature(reference.Feature, CheckStatus(status, $"status of feature '{reference.Feature}'"), message, reference, result, null, null, null));
        return this;
    }

    /// <summary>Adds a categorical feature: its reference, its drift result, the window's counts per category and the detector's verdict.</summary>
    /// <param name="reference">The feature's reference.</param>
    /// <param name="result">The drift metrics of the current window against <paramref name="reference"/>.</param>
    /// <param name="currentCounts">The window's count per category (missing values excluded), as compared in <paramref name="result"/>.</param>
    /// <param name="status">The feature's status.</param>
    /// <param name="message">The detector and threshold (or why there is no status), or <see langword="null"/>.</param>
    /// <returns>This report.</returns>
    /// <exception cref="ValidationException">The result is of another feature, the counts do not add up to the result's
    /// <see cref="CategoricalDriftResult.Count"/> and <see cref="CategoricalDriftResult.UnseenCount"/>, the feature is already in the report, or the status is not defined.</exception>
    public DriftReport AddCategorical(CategoricalReference reference, CategoricalDriftResult result, IReadOnlyDictionary<string, long> currentCounts, ResultStatus status, string? message = null)
    {
        Throw.IfNull(reference);
        Throw.IfNull(result);
        Throw.IfNull(currentCounts);
        SameFeature(reference.Feature, result.Feature);
        long sum = 0, unseen = 0;
        foreach (var (category, count) in currentCounts)
        {
            if (count < 0)
                throw new ValidationException($"The current count of category '{category}' of feature '{reference.Feature}' is {count}. Pass counts >= 0.");
            sum += count;
            if (!reference.Counts.ContainsKey(category)) unseen += count;
        }
        if (sum != result.Count || unseen != result.UnseenCount)
            throw new ValidationException(string.Create(CultureInfo.InvariantCulture,
                $"The current counts of feature '{reference.Feature}' sum to {sum} ({unseen} unseen in the reference) but the result has Count {result.Count} and UnseenCount {result.UnseenCount}. Pass the counts of the window the result was computed on (missing values excluded)."));
        var counts = new Dictionary<string, long>(currentCounts, StringComparer.Ordinal);
        Add(new Feature(reference.Feature, CheckStatus(status, $"status of feature '{reference.Feature}'"), message, null, null, reference, result, counts));
        return this;
    }

    /// <summary>Adds a categorical feature, counting the window's categories from its values.</summary>
    /// <param name="reference">The feature's reference.</param>
    /// <param name="result">The drift metrics of <paramref name="current"/> against <paramref name="reference"/>.</param>
    /// <param name="current">The window's values the result was computed on (null is missing).</param>
    /// <param name="status">The feature's status.</param>
    /// <param name="message">The detector and threshold (or why there is no status), or <see langword="null"/>.</param>
    /// <returns>This report.</returns>
    /// <exception cref="ValidationException">As <see cref="AddCategorical(CategoricalReference, CategoricalDriftResult, IReadOnlyDictionary{string, long}, ResultStatus, string?)"/>.</exception>
    public DriftReport AddCategorical(CategoricalReference reference, CategoricalDriftResult result, ReadOnlySpan<string?> current, ResultStatus status, string? message = null)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        CategoricalReference.Tally(current, counts);
        return AddCategorical(reference, result, counts, status, message);
    }

    /// <summary>Adds a line chart of a result over windows (for example the PSI of one feature), with optional threshold lines.</summary>
    /// <param name="name">The result's name, e.g. <c>distance psi</c>.</param>
    /// <param name="points">The windows in time order (start times ascending, no two equal).</param>
    /// <param name="possibleThreshold">The value from which the status is <see cref="ResultStatus.Possible"/>, or <see langword="null"/>.</param>
    /// <param name="detectedThreshold">The value from which the status is <see cref="ResultStatus.Detected"/>, or <see langword="null"/>.</param>
    /// <returns>This report.</returns>
    /// <exception cref="ValidationException">The name is empty or already used, a time is out of order, a status is not defined, or a threshold is not finite.</exception>
    public DriftReport AddTimeSeries(string name, IReadOnlyList<DriftReportPoint> points, double? possibleThreshold = null, double? detectedThreshold = null)
    {
        Names.Required(name, "time series name", "Pass the result's name, e.g. 'distance psi'.");
        Throw.IfNull(points);
        if (_series.Any(s => s.Name == name))
            throw new ValidationException($"The drift report already has a time series '{name}'. Give each series its own name.");
        for (int i = 0; i < points.Count; i++)
        {
            CheckStatus(points[i].Status, $"status of point {i} of time series '{name}'");
            if (i > 0 && points[i].WindowStart <= points[i - 1].WindowStart)
                throw new ValidationException($"Point {i} of time series '{name}' starts at {points[i].WindowStart:O}, not after point {i - 1} ({points[i - 1].WindowStart:O}). Pass the windows in ascending time order, one point per window.");
        }
        var thresholds = new List<Threshold>();
        AddThreshold(thresholds, name, "possible", possibleThreshold, ResultStatus.Possible);
        AddThreshold(thresholds, name, "detected", detectedThreshold, ResultStatus.Detected);
        _series.Add(new Series(name, [.. points], thresholds));
        return this;
    }

    /// <summary>Renders the report as one self-contained HTML page (UTF-8 text, no script, no external reference).</summary>
    /// <returns>The page.</returns>
    public string ToHtml()
    {
        var w = new HtmlWriter().Doctype();
        w.Open("html", ("lang", "en")).Line();
        w.Open("head").Empty("meta", ("charset", "utf-8")).Empty("meta", ("name", "viewport"), ("content", "width=device-width, initial-scale=1"))
            .Element("title", Title).Style(ReportStyle.Css).Close().Line();
        w.Open("body").Open("main").Line();
        WriteHeader(w);
        WriteTable(w);
        foreach (var series in _series) WriteSeries(w, series);
        for (int i = 0; i < _features.Count; i++) WriteFeature(w, _features[i], i);
        w.Close().Close().Line().Close().Line();
        return w.ToString();
    }

    /// <summary>Writes the page (<see cref="ToHtml"/>) to a stream as UTF-8 without a byte order mark.</summary>
    /// <param name="stream">The stream (not disposed).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the page is written.</returns>
    public async Task WriteAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        Throw.IfNull(stream);
        await stream.WriteAsync(ToUtf8(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The page as UTF-8 bytes without a byte order mark.</summary>
    internal byte[] ToUtf8() => new UTF8Encoding(false).GetBytes(ToHtml());

    private void WriteHeader(HtmlWriter w)
    {
        w.Open("header").Element("h1", Title).Line();
        w.Open("p", ("class", "meta")).Text("Endpoint ").Element("strong", Endpoint)
            .Text($" · window {ReportStyle.Time(WindowStart)} to {ReportStyle.Time(WindowEnd)} · {_features.Count} features").Close().Line();
        w.Open("p", ("class", "overall")).Text("Overall status: ").Badge(Status);
        var counts = _features.GroupBy(f => f.Status).OrderByDescending(g => g.Key).Select(g => $"{g.Count()} {ReportStyle.Label(g.Key)}").ToList();
        if (counts.Count > 0) w.Text(" (features: " + string.Join(", ", counts) + ")");
        w.Close().Close().Line();
    }

    private void WriteTable(HtmlWriter w)
    {
        w.Open("section", ("class", "results")).Element("h2", "Results").Line();
        if (_features.Count == 0)
        {
            w.Element("p", "No feature in this report.").Close().Line();
            return;
        }
        string[] headers = ["Feature", "Type", "Status", "Rows", "Missing", "TVD", "Hellinger", "PSI", "JS distance", "Test p-value", "Detector"];
        HtmlTable.Write(w, headers, _features.Select((f, i) =>
        {
            var (count, missing, tvd, hellinger, psi, js, p, test) = f.Metrics();
            return (IReadOnlyList<HtmlCell>)
            [
                HtmlCell.Link(f.Name, "#feature-" + (i + 1).ToString(CultureInfo.InvariantCulture)),
                f.IsNumeric ? "numeric" : "categorical",
                HtmlCell.Badge(f.Status),
                HtmlCell.Number(ReportStyle.Count(count)),
                HtmlCell.Number(ReportStyle.Count(missing)),
                HtmlCell.Number(ReportStyle.Value(tvd)),
                HtmlCell.Number(ReportStyle.Value(hellinger)),
                HtmlCell.Number(ReportStyle.Value(psi)),
                HtmlCell.Number(ReportStyle.Value(js)),
                HtmlCell.Number(p is null ? "–" : $"{ReportStyle.Value(p.Value)} ({test})"),
                f.Message ?? "",
            ];
        }));
        w.Close().Line();
    }

    private static void WriteSeries(HtmlWriter w, Series series)
    {
        w.Open("section", ("class", "series")).Element("h3", series.Name).Line();
        SvgCharts.Line(w, series.Name + " over windows", series.Points, series.Thresholds, "value");
        w.Close().Line();
    }

    private void WriteFeature(HtmlWriter w, Feature f, int index)
    {
        w.Open("section", ("class", "feature"), ("id", "feature-" + (index + 1).ToString(CultureInfo.InvariantCulture)));
        w.Open("h2").Text(f.Name + " ").Badge(f.Status).Close().Line();
        if (f.Message is not null) w.Element("p", f.Message, ("class", "message")).Line();
        var (count, missing, _, _, _, _, _, _) = f.Metrics();
        string window = count == 0 ? "no value in the current window" : $"{ReportStyle.Count(count)} current values";
        if (f.NumericReference is { } nr)
        {
            w.Element("p", $"{window}, {ReportStyle.Count(missing)} missing; reference {ReportStyle.Count(nr.Count)} values, mean {ReportStyle.Value(nr.Mean)}, std {ReportStyle.Value(nr.StandardDeviation)}; {nr.Bins} bins over [{SvgCharts.Edge(nr.Edges[0])}, {SvgCharts.Edge(nr.Edges[^1])}] and two open edge bins.", ("class", "stats")).Line();
            SvgCharts.Bars(w, $"{f.Name}: reference vs current share per bin", NumericSlots(nr, f.NumericResult!), f.Name, Math.Max(1, (int)Math.Ceiling(nr.Bins / 10.0)));
        }
        else
        {
            var cr = f.CategoricalReference!;
            w.Element("p", $"{window}, {ReportStyle.Count(missing)} missing, {ReportStyle.Count(f.CategoricalResult!.UnseenCount)} in categories unseen in the reference; reference {ReportStyle.Count(cr.Count)} values in {ReportStyle.Count(cr.Counts.Count)} categories.", ("class", "stats")).Line();
            SvgCharts.Bars(w, $"{f.Name}: reference vs current share per category", CategorySlots(cr, f.CurrentCounts!, TopCategories), f.Name);
        }
        w.Close().Line();
    }

    /// <summary>The bins of a numeric feature: the open bin below the minimum, the inner bins (labelled by their lower edge, at
    /// their left boundary) and the open bin above the maximum.</summary>
    internal static List<BarSlot> NumericSlots(NumericReference reference, NumericDriftResult result)
    {
        var edges = reference.Edges;
        var refCounts = reference.Counts;
        var slots = new List<BarSlot>(refCounts.Length);
        for (int i = 0; i < refCounts.Length; i++)
        {
            string label, description;
            if (i == 0) (label, description) = ("< " + SvgCharts.Edge(edges[0]), "below the reference minimum " + SvgCharts.Edge(edges[0]));
            else if (i == refCounts.Length - 1) (label, description) = ("> " + SvgCharts.Edge(edges[^1]), "above the reference maximum " + SvgCharts.Edge(edges[^1]));
            else (label, description) = (SvgCharts.Edge(edges[i - 1]), $"[{SvgCharts.Edge(edges[i - 1])}, {SvgCharts.Edge(edges[i])}{(i == refCounts.Length - 2 ? "]" : ")")}");
            bool inner = i > 0 && i < refCounts.Length - 1;
            slots.Add(new BarSlot(label, description, Share(refCounts[i], reference.Count), refCounts[i], Share(result.Counts[i], result.Count), result.Counts[i], inner));
        }
        return slots;
    }

    /// <summary>The categories of a categorical feature: the <paramref name="top"/> reference categories with the largest share in
    /// the reference or the window (ties by name), "other" for the remaining reference categories, "unseen" for the window's
    /// categories the reference never saw.</summary>
    internal static List<BarSlot> CategorySlots(CategoricalReference reference, IReadOnlyDictionary<string, long> current, int top)
    {
        long currentTotal = current.Values.Sum();
        var ranked = reference.Counts
            .Select(kv => (Name: kv.Key, Ref: kv.Value, Cur: current.GetValueOrDefault(kv.Key)))
            .OrderByDescending(c => Math.Max(Share(c.Ref, reference.Count), Share(c.Cur, currentTotal)))
            .ThenBy(c => c.Name, StringComparer.Ordinal)
            .ToList();
        var slots = ranked.Take(top).Select(c => new BarSlot(Truncate(c.Name), c.Name, Share(c.Ref, reference.Count), c.Ref, Share(c.Cur, currentTotal), c.Cur)).ToList();
        if (ranked.Count > top)
        {
            var rest = ranked.Skip(top).ToList();
            long r = rest.Sum(c => c.Ref), cur = rest.Sum(c => c.Cur);
            slots.Add(new BarSlot("other", $"other: {rest.Count} reference categories", Share(r, reference.Count), r, Share(cur, currentTotal), cur));
        }
        var unseen = current.Where(kv => kv.Value > 0 && !reference.Counts.ContainsKey(kv.Key)).OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        long u = unseen.Sum(kv => kv.Value);
        string names = unseen.Count == 0 ? "none" : Names.ListSome(unseen.Select(kv => kv.Key), max: 5);
        slots.Add(new BarSlot("unseen", $"unseen in the reference ({names})", 0, 0, Share(u, currentTotal), u));
        return slots;
    }

    private static double Share(long count, long total) => total > 0 ? count / (double)total : 0;

    private static string Truncate(string name) => name.Length <= 18 ? name : name[..17] + "…";

    private void Add(Feature feature)
    {
        if (_features.Any(f => f.Name == feature.Name))
            throw new ValidationException($"The drift report already has feature '{feature.Name}'. Add each feature once.");
        _features.Add(feature);
    }

    private static void SameFeature(string reference, string result)
    {
        if (reference != result)
            throw new ValidationException($"The drift result is of feature '{result}' but the reference is of feature '{reference}'. Pass the result computed against this reference (DriftMetrics.Compare(reference, window)).");
    }

    private static ResultStatus CheckStatus(ResultStatus status, string field)
        => Enum.IsDefined(status) ? status
            : throw new ValidationException($"The {field} is {(int)status}, not a ResultStatus. Pass one of {string.Join(", ", Enum.GetNames<ResultStatus>())}.");

    private static void AddThreshold(List<Threshold> thresholds, string series, string level, double? value, ResultStatus status)
    {
        if (value is not { } v) return;
        if (!double.IsFinite(v))
            throw new ValidationException($"The {level} threshold of time series '{series}' is {v.ToString(CultureInfo.InvariantCulture)}. Pass a finite value or null for none.");
        thresholds.Add(new Threshold($"{level} ≥ {ReportStyle.Value(v)}", v, status));
    }

    private sealed record Series(string Name, IReadOnlyList<DriftReportPoint> Points, IReadOnlyList<Threshold> Thresholds);

    private sealed record Feature(string Name, ResultStatus Status, string? Message,
        NumericReference? NumericReference, NumericDriftResult? NumericResult,
        CategoricalReference? CategoricalReference, CategoricalDriftResult? CategoricalResult, IReadOnlyDictionary<string, long>? CurrentCounts)
    {
        public bool IsNumeric => NumericReference is not null;

        public (long Count, long Missing, double Tvd, double Hellinger, double Psi, double Js, double? P, string Test) Metrics()
            => NumericResult is { } n
                ? (n.Count, n.MissingCount, n.TotalVariation, n.Hellinger, n.PopulationStability, n.JensenShannon, n.KolmogorovSmirnov?.PValue, "KS")
                : (CategoricalResult!.Count, CategoricalResult.MissingCount, CategoricalResult.TotalVariation, CategoricalResult.Hellinger,
                    CategoricalResult.PopulationStability, CategoricalResult.JensenShannon, CategoricalResult.ChiSquare.PValue, "chi-square");
    }
}
