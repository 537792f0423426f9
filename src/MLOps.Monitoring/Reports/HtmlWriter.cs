using System.Globalization;
using System.Text;

namespace MLOps.Monitoring.Reports;

/// <summary>
/// A small dependency-free writer of well-formed (XML-parsable) HTML and inline SVG: every text and attribute value is
/// escaped (<c>&amp; &lt; &gt; " '</c>), characters XML cannot hold (control characters, lone surrogates) become U+FFFD,
/// elements are closed in order and void elements are self-closed. It writes no script and no external reference; the
/// report, the notebooks and the UI build on it.
/// </summary>
internal sealed class HtmlWriter
{
    private readonly StringBuilder _sb = new();
    private readonly Stack<string> _open = new();

    /// <summary>The HTML5 doctype (the only raw markup the writer emits).</summary>
    public HtmlWriter Doctype()
    {
        _sb.Append("<!DOCTYPE html>\n");
        return this;
    }

    /// <summary>Opens an element; close it with <see cref="Close"/>.</summary>
    public HtmlWriter Open(string tag, params ReadOnlySpan<(string Name, string? Value)> attributes)
    {
        StartTag(tag, attributes);
        _sb.Append('>');
        _open.Push(tag);
        return this;
    }

    /// <summary>Closes the innermost open element.</summary>
    public HtmlWriter Close()
    {
        if (_open.Count == 0) throw new InvalidOperationException("HtmlWriter.Close: no element is open.");
        _sb.Append("</").Append(_open.Pop()).Append('>');
        return this;
    }

    /// <summary>Writes an element without content (<c>&lt;rect ... /&gt;</c>).</summary>
    public HtmlWriter Empty(string tag, params ReadOnlySpan<(string Name, string? Value)> attributes)
    {
        StartTag(tag, attributes);
        _sb.Append("/>");
        return this;
    }

    /// <summary>Writes an element holding escaped text.</summary>
    public HtmlWriter Element(string tag, string? text, params ReadOnlySpan<(string Name, string? Value)> attributes)
    {
        Open(tag, attributes);
        Text(text);
        return Close();
    }

    /// <summary>Writes escaped text.</summary>
    public HtmlWriter Text(string? text)
    {
        Escape(_sb, text);
        return this;
    }

    /// <summary>Writes a <c>&lt;style&gt;</c> element. CSS is raw text in HTML (entities are not decoded there), so it is written
    /// verbatim and must hold no <c>&lt;</c>, <c>&gt;</c> or <c>&amp;</c>: then HTML and XML parsers read the same rules.</summary>
    public HtmlWriter Style(string css)
    {
        if (css.AsSpan().IndexOfAny("<>&") >= 0)
            throw new ArgumentException("CSS for HtmlWriter.Style must not contain '<', '>' or '&' (HTML reads style as raw text).", nameof(css));
        Open("style");
        _sb.Append(css);
        return Close();
    }

    /// <summary>Writes a new line (between blocks, for a readable source).</summary>
    public HtmlWriter Line()
    {
        _sb.Append('\n');
        return this;
    }

    /// <summary>The markup; every element must be closed.</summary>
    public override string ToString()
    {
        if (_open.Count != 0) throw new InvalidOperationException($"HtmlWriter: element <{_open.Peek()}> is still open.");
        return _sb.ToString();
    }

    /// <summary>Escapes text for element content and attribute values (double- or single-quoted).</summary>
    public static string Escape(string? text)
    {
        var sb = new StringBuilder();
        Escape(sb, text);
        return sb.ToString();
    }

    /// <summary>A number for markup: invariant culture, at most <paramref name="decimals"/> decimals, no exponent, never NaN.</summary>
    public static string Number(double value, int decimals = 2)
    {
        if (!double.IsFinite(value)) return "0";
        var text = Math.Round(value, decimals).ToString("0." + new string('#', decimals), CultureInfo.InvariantCulture);
        return text == "-0" ? "0" : text;
    }

    private void StartTag(string tag, ReadOnlySpan<(string Name, string? Value)> attributes)
    {
        CheckName(tag);
        _sb.Append('<').Append(tag);
        foreach (var (name, value) in attributes)
        {
            if (value is null) continue;
            CheckName(name);
            _sb.Append(' ').Append(name).Append("=\"");
            Escape(_sb, value);
            _sb.Append('"');
        }
    }

    private static void CheckName(string name)
    {
        if (name.Length == 0 || !name.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or ':' or '_'))
            throw new ArgumentException($"'{name}' is not a plain element or attribute name.", nameof(name));
    }

    private static void Escape(StringBuilder sb, string? text)
    {
        if (string.IsNullOrEmpty(text)) return;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&#39;"); break;
                case '\t' or '\n' or '\r': sb.Append(c); break;
                case < ' ' or '\uFFFE' or '\uFFFF': sb.Append('\uFFFD'); break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                    {
                        sb.Append(c).Append(text[++i]);
                    }
                    else if (char.IsSurrogate(c))
                    {
                        sb.Append('\uFFFD');
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
    }
}
