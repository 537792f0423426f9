using System.Globalization;
using MLOps.Monitoring.Applications;

namespace MLOps.Monitoring.Reports;

/// <summary>The look shared by the reports: status colours and labels, the series colours, the page's inline CSS and the
/// formatting of numbers and times for text.</summary>
internal static class ReportStyle
{
    /// <summary>The colour of the reference series.</summary>
    public const string ReferenceColor = "#7a8ca5";

    /// <summary>The colour of the current series.</summary>
    public const string CurrentColor = "#e07b39";

    /// <summary>The colour of axes and grid text.</summary>
    public const string AxisColor = "#555555";

    /// <summary>The page's CSS (inline: the report loads nothing), with \n line ends whatever the checkout's.</summary>
    public static readonly string Css = """
        body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 0; color: #222; background: #fafafa; }
        main { max-width: 980px; margin: 0 auto; padding: 16px 24px 48px; }
        h1 { font-size: 1.6em; margin: 0.6em 0 0.2em; }
        h2 { font-size: 1.25em; margin: 1.4em 0 0.4em; }
        h3 { font-size: 1.05em; margin: 1em 0 0.3em; }
        .meta, .message, .stats { color: #444; margin: 0.3em 0; }
        .message { font-style: italic; }
        table { border-collapse: collapse; width: 100%; font-size: 0.9em; background: #fff; }
        th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
        th { background: #f0f0f0; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        section.feature, section.series { background: #fff; border: 1px solid #e2e2e2; border-radius: 6px; padding: 4px 16px 12px; margin: 16px 0; }
        svg { display: block; max-width: 100%; height: auto; }
        .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 0.8em; font-weight: 600; color: #fff; vertical-align: middle; }
        .s-none { background: #2e7d32; }
        .s-possible { background: #f9a825; color: #222; }
        .s-detected { background: #c62828; }
        .s-grey { background: #757575; }
        """.ReplaceLineEndings("\n");

    /// <summary>The fill colour of a status (none green, possible amber, detected red, the others grey).</summary>
    public static string Color(ResultStatus status) => status switch
    {
        ResultStatus.None => "#2e7d32",
        ResultStatus.Possible => "#f9a825",
        ResultStatus.Detected => "#c62828",
        _ => "#757575",
    };

    /// <summary>The CSS class of a status badge.</summary>
    public static string CssClass(ResultStatus status) => status switch
    {
        ResultStatus.None => "badge s-none",
        ResultStatus.Possible => "badge s-possible",
        ResultStatus.Detected => "badge s-detected",
        _ => "badge s-grey",
    };

    /// <summary>The label of a status.</summary>
    public static string Label(ResultStatus status) => status switch
    {
        ResultStatus.None => "no drift",
        ResultStatus.Possible => "possible",
        ResultStatus.Detected => "detected",
        ResultStatus.InsufficientData => "insufficient data",
        ResultStatus.Error => "error",
        ResultStatus.Irrelevant => "no status",
        _ => status.ToString(),
    };

    /// <summary>Writes a status badge.</summary>
    public static HtmlWriter Badge(this HtmlWriter writer, ResultStatus status)
        => writer.Element("span", Label(status), ("class", CssClass(status)));

    /// <summary>A value for text: 4 significant digits, "–" for NaN, "∞" for infinity.</summary>
    public static string Value(double value) => double.IsNaN(value) ? "–"
        : double.IsPositiveInfinity(value) ? "∞"
        : double.IsNegativeInfinity(value) ? "-∞"
        : value.ToString("G4", CultureInfo.InvariantCulture);

    /// <summary>A count for text (thousands separated).</summary>
    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A share as a percentage for text.</summary>
    public static string Percent(double share) => (share * 100).ToString("0.##", CultureInfo.InvariantCulture) + " %";

    /// <summary>A time for text, in UTC.</summary>
    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC";
}
