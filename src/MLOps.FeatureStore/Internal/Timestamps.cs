using System.Globalization;
using MLOps.Artifacts;

namespace MLOps.FeatureStore.Internal;

/// <summary>
/// Timestamps as microseconds since the Unix epoch (UTC): parsing and conversion. A value without a zone of its own
/// (text without an offset, a <see cref="DateTime"/> of kind <see cref="DateTimeKind.Unspecified"/>, an Arrow timestamp
/// without a time zone) is a wall-clock time in the source's zone (<see cref="Sources.DataSourceOptions.TimeZone"/>,
/// UTC by default), never in the machine's zone.
/// </summary>
internal static class Timestamps
{
    private const long EpochTicks = 621355968000000000L;

    private static readonly string[] Formats =
    [
        "yyyy'/'MM'/'dd HH':'mm", "yyyy'/'MM'/'dd HH':'mm':'ss", "yyyy'/'MM'/'dd", "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFFF",
    ];

    public static long FromDateTimeOffset(DateTimeOffset d) => (d.UtcTicks - EpochTicks) / 10;

    /// <summary>A <see cref="DateTime"/>: UTC as it is, a local time converted from the machine's zone (that is what
    /// <see cref="DateTimeKind.Local"/> means), an unspecified one as a wall-clock time in UTC.</summary>
    public static long FromDateTime(DateTime d) => FromDateTime(d, TimeZoneInfo.Utc);

    /// <summary>A <see cref="DateTime"/>: UTC as it is, a local time converted from the machine's zone, an unspecified
    /// one as a wall-clock time in <paramref name="zone"/>.</summary>
    public static long FromDateTime(DateTime d, TimeZoneInfo zone) => d.Kind switch
    {
        DateTimeKind.Utc => (d.Ticks - EpochTicks) / 10,
        DateTimeKind.Local => (d.ToUniversalTime().Ticks - EpochTicks) / 10,
        _ => FromWallClock((d.Ticks - EpochTicks) / 10, zone),
    };

    /// <summary>
    /// A wall-clock time in a zone (microseconds since the epoch as if the zone were UTC) as microseconds since the epoch
    /// (UTC). A time that occurs twice (the hour repeated when clocks go back) is read in standard time, one that does not
    /// occur (the hour skipped when clocks go forward) with the zone's standard offset.
    /// </summary>
    public static long FromWallClock(long wallMicros, TimeZoneInfo zone)
        => IsUtc(zone) ? wallMicros : wallMicros + (WallClock.ToUtcTicks(EpochTicks + wallMicros * 10, zone) - (EpochTicks + wallMicros * 10)) / 10;

    /// <summary>Whether a zone is UTC (no conversion needed).</summary>
    public static bool IsUtc(TimeZoneInfo zone) => WallClock.IsUtc(zone);

    public static DateTimeOffset ToDateTimeOffset(long micros) => new(EpochTicks + micros * 10, TimeSpan.Zero);

    /// <summary>The expected text formats, for error messages.</summary>
    public static string Expected(string? format, TimeZoneInfo? zone = null) => format is null
        ? $"ISO 8601 (2001-01-31T13:45:00Z) or yyyy/MM/dd HH:mm[:ss] (no offset means {ZoneName(zone)})"
        : $"the format '{format}' (no offset means {ZoneName(zone)})";

    private static string ZoneName(TimeZoneInfo? zone) => zone is null || IsUtc(zone) ? "UTC" : $"the source's zone {zone.Id}";

    /// <summary>Parses a timestamp: with an exact format when given, else ISO 8601 or yyyy/MM/dd HH:mm[:ss]; no offset means UTC.</summary>
    public static bool TryParse(string text, string? format, out long micros) => TryParse(text, format, TimeZoneInfo.Utc, out micros);

    /// <summary>
    /// Parses a timestamp: with an exact format when given, else ISO 8601 or yyyy/MM/dd HH:mm[:ss]. An offset (or Z)
    /// in the text is converted to UTC; no offset means a wall-clock time in <paramref name="zone"/>.
    /// </summary>
    public static bool TryParse(string text, string? format, TimeZoneInfo zone, out long micros)
    {
        micros = 0;
        if (format is null && TryParseFixed(text.AsSpan(), out micros, out var hasZone))
        {
            if (!hasZone) micros = FromWallClock(micros, zone);
            return true;
        }

        // no Assume* style: a time without an offset comes back as Unspecified and unconverted (not in the machine's zone);
        // one with an offset or Z is converted to UTC by the parser itself
        const DateTimeStyles styles = DateTimeStyles.AdjustToUniversal | DateTimeStyles.AllowWhiteSpaces;
        DateTime parsed;
        if (format is not null)
        {
            if (!DateTime.TryParseExact(text, format, CultureInfo.InvariantCulture, styles, out parsed)) return false;
        }
        else if (!DateTime.TryParseExact(text, Formats, CultureInfo.InvariantCulture, styles, out parsed)
                 && !DateTime.TryParse(text, CultureInfo.InvariantCulture, styles, out parsed))
        {
            return false;
        }

        micros = FromDateTime(parsed, zone);
        return true;
    }

    /// <summary>
    /// A fast path for <c>yyyy/MM/dd HH:mm[:ss]</c> and <c>yyyy-MM-ddTHH:mm[:ss][Z]</c> without allocation;
    /// <paramref name="hasZone"/> tells whether the text ended with Z (else the value is a wall-clock time).
    /// </summary>
    private static bool TryParseFixed(ReadOnlySpan<char> s, out long micros, out bool hasZone)
    {
        micros = 0;
        hasZone = false;
        if (s.Length is not (16 or 19 or 17 or 20)) return false;
        if (s.Length is 17 or 20)
        {
            if (s[^1] != 'Z') return false;
            s = s[..^1];
            hasZone = true;
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
