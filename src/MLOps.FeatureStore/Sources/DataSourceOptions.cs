namespace MLOps.FeatureStore.Sources;

/// <summary>How a <see cref="DataSource"/> reads its values.</summary>
/// <example>
/// A Parquet file written by pandas or DuckDB in New York local time (timestamps without a zone):
/// <code>
/// var source = DataSource.Parquet("flights.parquet", new DataSourceOptions
/// {
///     TimeZone = TimeZoneInfo.FindSystemTimeZoneById("America/New_York"),
/// });
/// </code>
/// </example>
public sealed record DataSourceOptions
{
    /// <summary>
    /// The zone of the source's timestamps that carry no zone of their own: text without an offset (CSV cells, JSON
    /// strings, the timestamp column parsed with a feature set's format), Parquet timestamps written with
    /// <c>isAdjustedToUTC=false</c> (the default of pandas and DuckDB), Arrow timestamps without a time zone and
    /// <see cref="DateTime"/> values of kind <see cref="DateTimeKind.Unspecified"/>. Default: UTC. The machine's zone is
    /// never used, except for <see cref="DateTime"/> values of kind <see cref="DateTimeKind.Local"/>, which say so themselves.
    /// </summary>
    /// <remarks>Values with a zone (an offset or <c>Z</c> in the text, <c>isAdjustedToUTC=true</c>, an Arrow timestamp with a
    /// time zone, INT96, <see cref="DateTimeOffset"/>, <see cref="DateTimeKind.Utc"/>) are instants and keep their meaning.
    /// A wall-clock time that occurs twice (clocks going back) is read in standard time; one that does not occur (clocks
    /// going forward) with the zone's standard offset.</remarks>
    /// <value>Defaults to <see cref="TimeZoneInfo.Utc"/>.</value>
    public TimeZoneInfo TimeZone { get; init; } = TimeZoneInfo.Utc;

    /// <summary>The defaults: timestamps without a zone are UTC.</summary>
    public static DataSourceOptions Default { get; } = new();

    private const string NullZone = "DataSourceOptions.TimeZone is null. Leave it out for UTC, or give a zone such as TimeZoneInfo.FindSystemTimeZoneById(\"America/New_York\").";

    /// <summary>Lists every problem of these options at once; each names the property, the value and the fix. Reading the
    /// source throws one <see cref="ValidationException"/> listing them.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate() => TimeZone is null ? [NullZone] : [];

    internal static TimeZoneInfo ZoneOf(DataSourceOptions? options)
        => options?.TimeZone ?? throw new ValidationException(NullZone);
}
