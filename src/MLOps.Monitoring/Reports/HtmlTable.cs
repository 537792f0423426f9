using MLOps.Monitoring.Applications;

namespace MLOps.Monitoring.Reports;

/// <summary>A cell of an <see cref="HtmlTable"/>: escaped text, optionally a CSS class (<c>num</c> right-aligns), a link, or a status badge.</summary>
/// <param name="Text">The text (ignored for a badge).</param>
/// <param name="Class">The cell's CSS class, or <see langword="null"/>.</param>
/// <param name="Href">A link target for the text (a fragment such as <c>#feature-1</c>), or <see langword="null"/>.</param>
/// <param name="Status">A status shown as a badge instead of the text, or <see langword="null"/>.</param>
internal readonly record struct HtmlCell(string Text, string? Class = null, string? Href = null, ResultStatus? Status = null)
{
    /// <summary>A plain text cell.</summary>
    public static implicit operator HtmlCell(string text) => new(text);

    /// <summary>A right-aligned number cell.</summary>
    public static HtmlCell Number(string text) => new(text, "num");

    /// <summary>A cell holding a link.</summary>
    public static HtmlCell Link(string text, string href) => new(text, Href: href);

    /// <summary>A cell holding a status badge.</summary>
    public static HtmlCell Badge(ResultStatus status) => new("", Status: status);
}

/// <summary>Writes a table with a header row and rows of <see cref="HtmlCell"/>s, each row as wide as the header.</summary>
internal static class HtmlTable
{
    /// <summary>Writes the table.</summary>
    /// <exception cref="ArgumentException">A row has another number of cells than the header.</exception>
    public static void Write(HtmlWriter w, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<HtmlCell>> rows)
    {
        w.Open("table").Open("thead").Open("tr");
        foreach (var h in headers) w.Element("th", h);
        w.Close().Close().Open("tbody").Line();
        int n = 0;
        foreach (var row in rows)
        {
            n++;
            if (row.Count != headers.Count)
                throw new ArgumentException($"Row {n} has {row.Count} cells but the table has {headers.Count} columns.", nameof(rows));
            w.Open("tr");
            foreach (var cell in row)
            {
                w.Open("td", ("class", cell.Class));
                if (cell.Status is { } status) w.Badge(status);
                else if (cell.Href is not null) w.Element("a", cell.Text, ("href", cell.Href));
                else w.Text(cell.Text);
                w.Close();
            }
            w.Close().Line();
        }
        w.Close().Close().Line();
    }
}
