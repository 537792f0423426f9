using System.Xml.Linq;
using MLOps.Monitoring.Reports;

namespace MLOps.Monitoring.Tests.Reports;

public class HtmlWriterTests
{
    [Test]
    public void Element_TextAndAttributes_AreEscapedAndParseBackVerbatim()
    {
        const string Hostile = "a < b & c > \"d\" 'e' </p><script>x</script>";
        var w = new HtmlWriter().Open("div", ("title", Hostile), ("data-none", null)).Element("p", Hostile).Empty("br").Close();

        var div = XElement.Parse(w.ToString());

        Assert.That(div.Attribute("title")!.Value, Is.EqualTo(Hostile));
        Assert.That(div.Attribute("data-none"), Is.Null, "a null attribute is left out");
        Assert.That(div.Element("p")!.Value, Is.EqualTo(Hostile));
        Assert.That(div.Descendants("script"), Is.Empty);
    }

    [Test]
    public void Escape_CharactersXmlCannotHold_BecomeReplacementCharacters()
    {
        string text = "nul\0 bell\u0007 lone\uD800 pair\uD83D\uDE00 tab\t nonchar\uFFFF";

        string escaped = HtmlWriter.Escape(text);

        Assert.That(XElement.Parse("<p>" + escaped + "</p>").Value, Is.EqualTo("nul\uFFFD bell\uFFFD lone\uFFFD pair\uD83D\uDE00 tab\t nonchar\uFFFD"));
    }

    [Test]
    public void Open_NameWithMarkup_ThrowsAndUnclosedElementIsReported()
    {
        Assert.Throws<ArgumentException>(() => new HtmlWriter().Open("p onclick=x"));
        Assert.Throws<ArgumentException>(() => new HtmlWriter().Empty("rect", ("x\" onload=\"y", "1")));
        Assert.Throws<InvalidOperationException>(() => new HtmlWriter().Open("p").ToString());
        Assert.Throws<InvalidOperationException>(() => new HtmlWriter().Close());
    }

    [Test]
    public void Table_Cells_AreTextNumbersLinksAndBadges()
    {
        var w = new HtmlWriter();
        HtmlTable.Write(w, ["a", "b", "c", "d"], [["x & y", HtmlCell.Number("1,234"), HtmlCell.Link("go", "#feature-1"), HtmlCell.Badge(Applications.ResultStatus.Detected)]]);

        var table = XElement.Parse(w.ToString());

        Assert.That(table.Element("thead")!.Descendants("th").Select(th => th.Value), Is.EqualTo(new[] { "a", "b", "c", "d" }));
        var cells = table.Element("tbody")!.Element("tr")!.Elements("td").ToList();
        Assert.That(cells[0].Value, Is.EqualTo("x & y"));
        Assert.That(cells[1].Attribute("class")!.Value, Is.EqualTo("num"));
        Assert.That(cells[2].Element("a")!.Attribute("href")!.Value, Is.EqualTo("#feature-1"));
        Assert.That(cells[3].Element("span")!.Attribute("class")!.Value, Is.EqualTo("badge s-detected"));
        Assert.Throws<ArgumentException>(() => HtmlTable.Write(new HtmlWriter(), ["a", "b"], [["only one"]]));
    }

    [Test]
    public void Style_Css_IsWrittenVerbatimAndMarkupIsRejected()
    {
        Assert.That(new HtmlWriter().Style("p { font-family: Segoe UI, 'x'; }").ToString(), Is.EqualTo("<style>p { font-family: Segoe UI, 'x'; }</style>"));
        Assert.Throws<ArgumentException>(() => new HtmlWriter().Style("p { } </style><script>x</script>"));
        Assert.Throws<ArgumentException>(() => new HtmlWriter().Style("p { content: '&amp;' }"));
    }

    [Test]
    public void Number_AnyDouble_IsInvariantWithoutExponentOrNaN()
    {
        using var _ = new CultureScope("de-DE");
        Assert.That(HtmlWriter.Number(1234.5678), Is.EqualTo("1234.57"));
        Assert.That(HtmlWriter.Number(-0.001), Is.EqualTo("0"));
        Assert.That(HtmlWriter.Number(1e-7, 2), Is.EqualTo("0"));
        Assert.That(HtmlWriter.Number(1e20), Is.EqualTo("100000000000000000000"));
        Assert.That(HtmlWriter.Number(double.NaN), Is.EqualTo("0"));
        Assert.That(HtmlWriter.Number(double.PositiveInfinity), Is.EqualTo("0"));
    }

    [Test]
    public void NiceScale_RandomRanges_CoverTheRangeWithFewRoundTicks()
    {
        for (int seed = 0; seed < 2000; seed++)
        {
            var random = new Random(seed);
            double scale = Math.Pow(10, random.Next(-6, 7));
            double a = (random.NextDouble() - 0.3) * scale, b = (random.NextDouble() - 0.3) * scale;
            double lo = Math.Min(a, b), hi = Math.Max(a, b);

            var (min, max, step) = SvgCharts.NiceScale(lo, hi);

            Assert.That(min, Is.LessThanOrEqualTo(Math.Min(lo, 0)), $"seed {seed}");
            Assert.That(max, Is.GreaterThanOrEqualTo(Math.Max(hi, 0) * (1 - 1e-9)), $"seed {seed}");
            double ticks = (max - min) / step;
            Assert.That(ticks, Is.InRange(1, 6.000001), $"seed {seed}: {min} {max} {step}");
            double mantissa = step / Math.Pow(10, Math.Floor(Math.Log10(step)));
            Assert.That(new[] { 1, 2, 2.5, 5, 10 }.Any(m => Math.Abs(m - mantissa) < 1e-9), $"seed {seed}: step {step}");
        }
        Assert.That(SvgCharts.NiceScale(0, 0), Is.EqualTo((0.0, 1.0, 0.25)));
        Assert.That(SvgCharts.NiceScale(double.NaN, double.PositiveInfinity), Is.EqualTo((0.0, 1.0, 0.25)));
    }

    private sealed class CultureScope : IDisposable
    {
        private readonly System.Globalization.CultureInfo _previous = System.Globalization.CultureInfo.CurrentCulture;

        public CultureScope(string name) => System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo(name);

        public void Dispose() => System.Globalization.CultureInfo.CurrentCulture = _previous;
    }
}
