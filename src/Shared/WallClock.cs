namespace MLOps.Internal;

/// <summary>Wall-clock times (a date and time without a zone) read in a declared zone, never in the machine's.</summary>
internal static class WallClock
{
    /// <summary>Whether a zone is UTC (no conversion needed).</summary>
    public static bool IsUtc(TimeZoneInfo zone) => ReferenceEquals(zone, TimeZoneInfo.Utc)
        || (zone.BaseUtcOffset == TimeSpan.Zero && !zone.SupportsDaylightSavingTime);

    /// <summary>
    /// The UTC ticks of a wall-clock time (ticks as of <see cref="DateTime.Ticks"/>) in <paramref name="zone"/>. A time
    /// that occurs twice (the hour repeated when clocks go back) is read in standard time, one that does not occur (the
    /// hour skipped when clocks go forward) with the zone's standard offset. Ticks out of <see cref="DateTime"/>'s range
    /// are returned as they are.
    /// </summary>
    public static long ToUtcTicks(long wallTicks, TimeZoneInfo zone)
    {
        if (IsUtc(zone) || wallTicks < DateTime.MinValue.Ticks || wallTicks > DateTime.MaxValue.Ticks) return wallTicks;
        var utc = wallTicks - zone.GetUtcOffset(new DateTime(wallTicks, DateTimeKind.Unspecified)).Ticks;
        return Math.Clamp(utc, DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks);
    }
}
