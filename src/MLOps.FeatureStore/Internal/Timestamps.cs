using System.Globalization;

namespace MLOps.FeatureStore.Internal;

/// <summary>Timestamps as microseconds since the Unix epoch (UTC): parsing and conversion.</summary>
internal static class Timestamps
{
    private const long EpochTicks = 621355968000000000L;

    private static readonly string[] Formats =
    [
        "yyyy'/'MM'/'dd HH':'mm", "yyyy'/'MM'/'dd HH':'mm':'ss", "yyyy'/'MM'/'dd", "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFFF",
    ];

    public static long FromDateTimeOffset(DateTimeOffset d) => (d.UtcTicks - EpochTicks) / 10;

    public static long FromDateTime(DateTime d) => ((d.Kind == DateTimeKind.Local ? d.ToUniversalTime() : d).Ticks - EpochTicks) / 10;

    public static DateTimeOffset ToDateTimeOffset(long micros) => new(EpochTicks + micros * 10, TimeSpan.Zero);

    /// <summary>The expected text formats, for error messages.</summary>
    public static string Expected(string? format) => format is null
        ? "ISO 8601 (2001-01-31T13:45:00Z) or yyyy/MM/dd HH:mm[:ss] (UTC)"
        : $"the format '{format}' (UTC)";

    /// <summary>Parses a timestamp: with an exact format when given, else ISO 8601 or yyyy/MM/dd HH:mm[:ss]; no offset means UTC.</summary>
    public static bool TryParse(string text, string? format, out long micros)
    {
        micros = 0;
        if (format is null && TryParseFixed(text.AsSpan(), out micros)) return true;
        const DateTimeStyles styles = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal | DateTimeStyles.AllowWhiteSpaces;
        if (format is not null)
        {
            if (!DateTimeOffset.TryParseExact(text, format, CultureInfo.InvariantCulture, styles, out var exact)) return false;
            micros = FromDateTimeOffset(exact);
            return true;
        }

        if (DateTimeOffset.TryParseExact(text, Formats, CultureInfo.InvariantCulture, styles, out var known)
            || DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, styles, out known))
        {
            micros = FromDateTimeOffset(known);
            return true;
        }

        return false;
    }

    /// <summary>A fast path for <c>yyyy/MM/dd HH:mm[:ss]</c> and <c>yyyy-MM-ddTHH:mm[:ss][Z]</c> without allocation.</summary>
    private static bool TryParseFixed(ReadOnlySpan<char> s, out long micros)
    {
        micros = 0;
        if (s.Length is not (16 or 19 or 17 or 20)) return false;
        if (s.Length is 17 or 20)
        {
            if (s[^1] != 'Z') return false;
            s = s[..^1];
        }

        if (!(s[4] == s[7] && s[4] is '/' or '-' && s[10] is ' ' or 'T' && s[13] == ':')) return false;
        if (!Digits(s, 0, 4, out var year) || !Digits(s, 5, 2, out var month) || !Digits(s, 8, 2, out var day)
            || !Digits(s, 11, 2, out var hour) || !Digits(s, 14, 2, out var minute)) return false;
        var second = 0;
        if (s.Length == 19 && (s[16] != ':' || !Digits(s, 17, 2, out second))) return false;
        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year is >= 1 and <= 9999 ? year : 2000, month) || year < 1
            || hour > 23 || minute > 59 || second > 59) return false;
        var ticks = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).Ticks;
        micros = (ticks - EpochTicks) / 10;
        return true;
    }

    private static bool Digits(ReadOnlySpan<char> s, int start, int count, out int value)
    {
        value = 0;
        for (var i = start; i < start + count; i++)
        {
            var c = s[i];
            if (c is < '0' or > '9') return false;
            value = value * 10 + (c - '0');
        }

        return true;
    }
}
