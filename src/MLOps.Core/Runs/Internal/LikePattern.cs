using System.Text;
using System.Text.RegularExpressions;

namespace MLOps.Runs.Internal;

/// <summary>
/// The <c>like</c> / <c>ilike</c> patterns of run filters, with MLflow's semantics: <c>%</c> matches any run of characters,
/// <c>_</c> exactly one character (one Unicode code point, so a character outside the BMP counts once), everything else
/// matches itself — there is no escape character. <c>like</c> is case-sensitive; <c>ilike</c> compares both sides
/// lower-cased with the invariant culture, so it folds every script (SQLite's own <c>LIKE</c> and <c>lower()</c> only
/// fold ASCII).
/// </summary>
internal static class LikePattern
{
    /// <summary>The name of the SQL function the SQLite store registers on each connection for <c>ilike</c>.</summary>
    public const string LowerFunction = "mlops_lower";

    /// <summary>The case folding of <c>ilike</c>, applied to both the value and the pattern.</summary>
    public static string? Fold(string? value) => value?.ToLowerInvariant();

    /// <summary>Translates a like pattern to an SQLite <c>GLOB</c> pattern (case-sensitive, code-point aware): <c>%</c> to
    /// <c>*</c>, <c>_</c> to <c>?</c>, and the GLOB metacharacters <c>*</c>, <c>?</c> and <c>[</c> to one-character classes
    /// (<c>[*]</c>, <c>[?]</c>, <c>[[]</c>) so they match themselves.</summary>
    public static string ToGlob(string pattern)
    {
        var sb = new StringBuilder(pattern.Length + 8);
        foreach (var c in pattern)
        {
            switch (c)
            {
                case '%': sb.Append('*'); break;
                case '_': sb.Append('?'); break;
                case '*': sb.Append("[*]"); break;
                case '?': sb.Append("[?]"); break;
                case '[': sb.Append("[[]"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.ToString();
    }

    /// <summary>Matches a value in memory with the same semantics (for values that are not stored as text, such as states).</summary>
    public static bool IsMatch(string value, string pattern, bool ignoreCase)
    {
        if (ignoreCase)
        {
            value = Fold(value)!;
            pattern = Fold(pattern)!;
        }
        var regex = new StringBuilder("^");
        foreach (var c in pattern)
        {
            regex.Append(c switch
            {
                '%' => "(?s:.*)",
                '_' => "(?:[\\uD800-\\uDBFF][\\uDC00-\\uDFFF]|(?s:.))",
                _ => Regex.Escape(c.ToString()),
            });
        }
        return Regex.IsMatch(value, regex.Append("\\z").ToString(), RegexOptions.CultureInvariant);
    }
}
