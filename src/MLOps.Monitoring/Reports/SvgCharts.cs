using System.Globalization;
using MLOps.Monitoring.Applications;

namespace MLOps.Monitoring.Reports;

/// <summary>One slot of a two-series bar chart: a histogram bin or a category, with the reference and current shares.</summary>
/// <param name="Label">The axis label (empty for none).</param>
/// <param name="Description">The full name for the tooltip (a bin's range, an untruncated category).</param>
/// <param name="Reference">The reference share in [0, 1].</param>
/// <param name="ReferenceCount">The reference count.</param>
/// <param name="Current">The current share in [0, 1].</param>
/// <param name="CurrentCount">The current count.</param>
/// <param name="LabelAtStart">Whether the label marks the slot's left boundary (a bin's lower edge) rather than its centre.</param>
internal readonly record struct BarSlot(string Label, string Description, double Reference, long ReferenceCount, double Current, long CurrentCount, bool LabelAtStart = false);

/// <summary>A horizontal threshold line of a line chart.</summary>
/// <param name="Label">The label drawn at its right end.</param>
/// <param name="Value">The value.</param>
/// <param name="Status">The status reached at the threshold (decides the colour).</param>
internal readonly record struct Threshold(string Label, double Value, ResultStatus Status);

/// <summary>Inline SVG charts written with <see cref="HtmlWriter"/>: a two-series (reference vs current) bar chart of shares and a
/// line chart of a result over windows with threshold lines. Pure markup (no script, no external reference); coordinates in a
/// fixed view box that scales to the page.</summary>
internal static class SvgCharts
{
    private const string SvgNamespace = "http://www.w3.org/2000/svg";
    private const double Width = 720, Height = 300, Left = 56, Right = 16, Top = 30, Bottom = 74;
    private const double PlotWidth = Width - Left - Right, PlotHeight = Height - Top - Bottom, Baseline = Top + PlotHeight;

    /// <summary>Writes a bar chart of the reference and current shares per slot (side by side), with a percent axis, the slot
    /// labels (every <paramref name="labelEvery"/>-th, and the first and last), the axis titles and a legend; every bar is
    /// drawn, a zero share with height 0, and carries a tooltip with its share and count.</summary>
    public static void Bars(HtmlWriter w, string title, IReadOnlyList<BarSlot> slots, string xTitle, int labelEvery = 1)
    {
        double max = 0;
        foreach (var s in slots) max = Math.Max(max, Math.Max(s.Reference, s.Current));
        var (_, yMax, step) = NiceScale(0, max);
        OpenSvg(w, title);
        for (int k = 0; k * step <= yMax + step / 2; k++)
            YTick(w, Baseline - k * step / yMax * PlotHeight, ReportStyle.Percent(k * step));

        double slot = PlotWidth / Math.Max(slots.Count, 1), bar = slot * 0.4;
        for (int i = 0; i < slots.Count; i++)
        {
            var s = slots[i];
            double x = Left + i * slot;
            Bar(w, "bar ref", x + slot * 0.1, bar, s.Reference / yMax, ReportStyle.ReferenceColor, $"{s.Description}: reference {ReportStyle.Percent(s.Reference)} ({ReportStyle.Count(s.ReferenceCount)})");
            Bar(w, "bar cur", x + slot * 0.5, bar, s.Current / yMax, ReportStyle.CurrentColor, $"{s.Description}: current {ReportStyle.Percent(s.Current)} ({ReportStyle.Count(s.CurrentCount)})");
            if (s.Label.Length > 0 && (i % labelEvery == 0 || i == 0 || i == slots.Count - 1))
            {
                double cx = s.LabelAtStart ? x : x + slot / 2, cy = Baseline + 12;
                if (s.LabelAtStart) w.Empty("line", ("x1", N(cx)), ("y1", N(Baseline)), ("x2", N(cx)), ("y2", N(Baseline + 4)), ("stroke", ReportStyle.AxisColor), ("stroke-width", "1"));
                w.Element("text", s.Label, ("x", N(cx)), ("y", N(cy)), ("font-size", "10"), ("fill", ReportStyle.AxisColor), ("text-anchor", "end"),
                    ("transform", $"rotate(-40 {N(cx)} {N(cy)})"));
            }
        }
        Axes(w, xTitle, "share of values");
        Legend(w);
        w.Close().Line();
    }

    /// <summary>Writes a line chart of values over time: a polyline broken at non-finite values, a marker per window coloured
    /// by its status (with a tooltip), dashed threshold lines, time labels at the first, middle and last window, and the axis titles.</summary>
    public static void Line(HtmlWriter w, string title, IReadOnlyList<DriftReportPoint> points, IReadOnlyList<Threshold> thresholds, string yTitle)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var p in points)
        {
            if (!double.IsFinite(p.Value)) continue;
            lo = Math.Min(lo, p.Value);
            hi = Math.Max(hi, p.Value);
        }
        foreach (var t in thresholds)
        {
            lo = Math.Min(lo, t.Value);
            hi = Math.Max(hi, t.Value);
        }
        var (yMin, yMax, step) = NiceScale(lo, hi);
        double Y(double v) => Baseline - (v - yMin) / (yMax - yMin) * PlotHeight;

        long t0 = points.Count == 0 ? 0 : points[0].WindowStart.UtcTicks, t1 = points.Count == 0 ? 0 : points[^1].WindowStart.UtcTicks;
        double X(DateTimeOffset t) => t1 == t0 ? Left + PlotWidth / 2 : Left + (t.UtcTicks - t0) / (double)(t1 - t0) * PlotWidth;

        OpenSvg(w, title);
        for (int k = 0; yMin + k * step <= yMax + step / 2; k++)
            YTick(w, Y(yMin + k * step), ReportStyle.Value(Math.Round(yMin + k * step, 10)));
        foreach (var th in thresholds)
        {
            string y = N(Y(th.Value));
            w.Empty("line", ("class", "threshold"), ("x1", N(Left)), ("y1", y), ("x2", N(Left + PlotWidth)), ("y2", y),
                ("stroke", ReportStyle.Color(th.Status)), ("stroke-width", "1.5"), ("stroke-dasharray", "6 4"));
            w.Element("text", th.Label, ("x", N(Left + PlotWidth - 4)), ("y", N(Y(th.Value) - 4)), ("font-size", "10"), ("text-anchor", "end"), ("fill", ReportStyle.Color(th.Status)));
        }

        var run = new List<string>();
        foreach (var p in points)
        {
            if (double.IsFinite(p.Value)) { run.Add(N(X(p.WindowStart)) + "," + N(Y(p.Value))); continue; }
            Polyline(w, run);
        }
        Polyline(w, run);
        foreach (var p in points)
        {
            if (!double.IsFinite(p.Value)) continue;
            w.Open("circle", ("class", "point"), ("cx", N(X(p.WindowStart))), ("cy", N(Y(p.Value))), ("r", "3.5"), ("fill", ReportStyle.Color(p.Status)))
                .Element("title", $"{ReportStyle.Time(p.WindowStart)}: {ReportStyle.Value(p.Value)} ({ReportStyle.Label(p.Status)})").Close();
        }
        if (points.Count > 0)
        {
            int[] labelled = points.Count switch { 1 => [0], 2 => [0, 1], _ => [0, points.Count / 2, points.Count - 1] };
            foreach (int i in labelled)
            {
                string anchor = points.Count == 1 ? "middle" : i == 0 ? "start" : i == points.Count - 1 ? "end" : "middle";
                w.Element("text", ReportStyle.Time(points[i].WindowStart), ("x", N(X(points[i].WindowStart))), ("y", N(Baseline + 16)), ("font-size", "10"),
                    ("fill", ReportStyle.AxisColor), ("text-anchor", anchor));
            }
        }
        Axes(w, "window start", yTitle);
        w.Close().Line();
    }

    /// <summary>A round axis range covering [<paramref name="lo"/>, <paramref name="hi"/>] and 0, and its tick step (about 4
    /// ticks; steps of 1, 2, 2.5 or 5 times a power of ten). Non-finite bounds are ignored; an empty range gives [0, 1].</summary>
    internal static (double Min, double Max, double Step) NiceScale(double lo, double hi)
    {
        lo = double.IsFinite(lo) ? Math.Min(lo, 0) : 0;
        hi = double.IsFinite(hi) ? Math.Max(hi, 0) : 0;
        double range = hi - lo;
        if (!(range > 0) || !double.IsFinite(range)) return (0, 1, 0.25);
        double raw = range / 4, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1, 2, 2.5, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw * (1 - 1e-12));
        return (Math.Floor(lo / step + 1e-9) * step, Math.Ceiling(hi / step - 1e-9) * step, step);
    }

    private static void OpenSvg(HtmlWriter w, string title)
    {
        w.Open("svg", ("xmlns", SvgNamespace), ("viewBox", $"0 0 {N(Width)} {N(Height)}"), ("width", N(Width)), ("height", N(Height)),
            ("role", "img"), ("aria-label", title), ("font-family", "system-ui, sans-serif"));
        w.Element("title", title);
        w.Empty("rect", ("class", "plot-area"), ("x", N(Left)), ("y", N(Top)), ("width", N(PlotWidth)), ("height", N(PlotHeight)), ("fill", "#ffffff"));
    }

    private static void YTick(HtmlWriter w, double y, string label)
    {
        w.Empty("line", ("x1", N(Left)), ("y1", N(y)), ("x2", N(Left + PlotWidth)), ("y2", N(y)), ("stroke", "#e5e5e5"), ("stroke-width", "1"));
        w.Element("text", label, ("x", N(Left - 6)), ("y", N(y + 3.5)), ("font-size", "10"), ("text-anchor", "end"), ("fill", ReportStyle.AxisColor));
    }

    private static void Bar(HtmlWriter w, string cssClass, double x, double width, double fraction, string color, string tooltip)
    {
        double h = Math.Max(0, fraction) * PlotHeight;
        w.Open("rect", ("class", cssClass), ("x", N(x)), ("y", N(Baseline - h)), ("width", N(width)), ("height", N(h)), ("fill", color))
            .Element("title", tooltip).Close();
    }

    private static void Polyline(HtmlWriter w, List<string> run)
    {
        if (run.Count > 1)
            w.Empty("polyline", ("class", "series"), ("points", string.Join(' ', run)), ("fill", "none"), ("stroke", ReportStyle.ReferenceColor), ("stroke-width", "2"));
        run.Clear();
    }

    private static void Axes(HtmlWriter w, string xTitle, string yTitle)
    {
        w.Element("text", xTitle, ("class", "axis-title"), ("x", N(Left + PlotWidth / 2)), ("y", N(Height - 6)), ("font-size", "11"), ("text-anchor", "middle"), ("fill", "#222222"));
        w.Element("text", yTitle, ("class", "axis-title"), ("x", "0"), ("y", "0"), ("font-size", "11"), ("text-anchor", "middle"), ("fill", "#222222"),
            ("transform", $"translate(12 {N(Top + PlotHeight / 2)}) rotate(-90)"));
        w.Empty("line", ("x1", N(Left)), ("y1", N(Top)), ("x2", N(Left)), ("y2", N(Baseline)), ("stroke", ReportStyle.AxisColor), ("stroke-width", "1"));
        w.Empty("line", ("x1", N(Left)), ("y1", N(Baseline)), ("x2", N(Left + PlotWidth)), ("y2", N(Baseline)), ("stroke", ReportStyle.AxisColor), ("stroke-width", "1"));
    }

    private static void Legend(HtmlWriter w)
    {
        double x = Left;
        foreach (var (name, color) in new[] { ("reference", ReportStyle.ReferenceColor), ("current", ReportStyle.CurrentColor) })
        {
            w.Empty("rect", ("x", N(x)), ("y", "10"), ("width", "12"), ("height", "12"), ("fill", color));
            w.Element("text", name, ("x", N(x + 16)), ("y", "20"), ("font-size", "11"), ("fill", "#222222"));
            x += 90;
        }
    }

    private static string N(double value) => HtmlWriter.Number(value);

    /// <summary>An edge value for an axis label: 4 significant digits, invariant.</summary>
    internal static string Edge(double value) => value.ToString("G4", CultureInfo.InvariantCulture);
}
