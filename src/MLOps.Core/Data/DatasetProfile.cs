using System.Text.Json;

namespace MLOps.Data;

/// <summary>
/// The profile of a dataset artifact: its schema, row count, a preview of its first rows and statistics for
/// every column (in the spirit of MLRun's dataset artifacts and pandas' <c>describe()</c>).
/// </summary>
/// <remarks>
/// Profiles are stored as the metadata of <see cref="ArtifactKind.Dataset"/> artifacts: <see cref="ToJson"/> writes
/// the JSON that goes into <see cref="NewArtifact.MetadataJson"/> and <see cref="FromJson"/> reads it back.
/// Two profiles are equal when all their members are equal, lists and preview rows compared element by element.
/// </remarks>
public sealed record DatasetProfile
{
    /// <summary>The largest number of rows in <see cref="Preview"/>.</summary>
    public const int PreviewRowCount = 20;

    /// <summary>The file format the dataset was read from: <c>"parquet"</c>, <c>"csv"</c> or <c>"arrow"</c>.</summary>
    public required string Format { get; init; }

    /// <summary>The number of rows in the dataset.</summary>
    public required long RowCount { get; init; }

    /// <summary>The columns, in dataset order.</summary>
    public required IReadOnlyList<DatasetColumn> Schema { get; init; }

    /// <summary>
    /// The first <see cref="PreviewRowCount"/> rows (fewer when the dataset is shorter), each a map from column name to
    /// value, in column order.
    /// </summary>
    /// <remarks>
    /// A value is a <see cref="string"/>, <see cref="double"/> (floating-point and decimal columns), <see cref="long"/>
    /// (integer columns; unsigned 64-bit values above <see cref="long.MaxValue"/> are <see cref="double"/>),
    /// <see cref="bool"/>, <see cref="DateTimeOffset"/> (timestamp and date columns, in UTC) or <see langword="null"/>.
    /// Binary values are Base64 strings, times of day and durations are <c>c</c>-formatted <see cref="TimeSpan"/> strings
    /// and columns of other types (lists, structs, ...) preview as <see langword="null"/>.
    /// After <see cref="FromJson"/> values are converted back by the column's <see cref="DatasetColumn.Type"/>: integer
    /// columns give <see cref="long"/>, floating-point and decimal columns <see cref="double"/> (NaN and infinities are
    /// written as the strings <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c> and read back as doubles), boolean
    /// columns <see cref="bool"/>, timestamp and date columns <see cref="DateTimeOffset"/>; anything else, or a value
    /// of a column missing from <see cref="Schema"/>, comes back as the plain JSON scalar (a string, a
    /// <see cref="long"/> for an integral number, otherwise a <see cref="double"/>, or a <see cref="bool"/>).
    /// </remarks>
    public required IReadOnlyList<IReadOnlyDictionary<string, object?>> Preview { get; init; }

    /// <summary>The statistics of every column, in the order of <see cref="Schema"/>.</summary>
    public required IReadOnlyList<ColumnStatistics> Statistics { get; init; }

    /// <summary>Writes the profile as compact JSON with camelCase property names (members that are null are left out).</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson() => JsonSerializer.Serialize(this, DatasetProfileJson.Options);

    /// <summary>Reads a profile written by <see cref="ToJson"/>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The profile; preview values are converted back as described on <see cref="Preview"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="json"/> is null.</exception>
    /// <exception cref="ValidationException">The text is not the JSON of a dataset profile.</exception>
    public static DatasetProfile FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        DatasetProfile? profile;
        try
        {
            profile = JsonSerializer.Deserialize<DatasetProfile>(json, DatasetProfileJson.Options);
        }
        catch (JsonException e)
        {
            throw new ValidationException($"The text is not the JSON of a dataset profile ({e.Message}). Pass the output of DatasetProfile.ToJson().", e);
        }

        if (profile is null || profile.Schema is null || profile.Preview is null || profile.Statistics is null || profile.Format is null)
            throw new ValidationException("The text is not the JSON of a dataset profile: 'format', 'rowCount', 'schema', 'preview' and 'statistics' are required and must not be null. Pass the output of DatasetProfile.ToJson().");

        return profile with { Preview = DatasetProfileJson.CoercePreview(profile.Preview, profile.Schema) };
    }

    /// <summary>Compares every member; lists and preview rows are compared element by element.</summary>
    /// <param name="other">The other profile.</param>
    /// <returns>Whether the profiles are equal.</returns>
    public bool Equals(DatasetProfile? other)
    {
        if (ReferenceEquals(this, other))
            return true;
        if (other is null)
            return false;
        return Format == other.Format
            && RowCount == other.RowCount
            && Schema.SequenceEqual(other.Schema)
            && Statistics.SequenceEqual(other.Statistics)
            && PreviewEquals(Preview, other.Preview);
    }

    /// <summary>A hash code consistent with <see cref="Equals(DatasetProfile?)"/>.</summary>
    /// <returns>The hash code.</returns>
    public override int GetHashCode() => HashCode.Combine(Format, RowCount, Schema.Count, Statistics.Count, Preview.Count);

    private static bool PreviewEquals(IReadOnlyList<IReadOnlyDictionary<string, object?>> left, IReadOnlyList<IReadOnlyDictionary<string, object?>> right)
    {
        if (left.Count != right.Count)
            return false;
        for (var i = 0; i < left.Count; i++)
        {
            if (left[i].Count != right[i].Count)
                return false;
            foreach (var (key, value) in left[i])
            {
                if (!right[i].TryGetValue(key, out var otherValue) || !Equals(value, otherValue))
                    return false;
            }
        }

        return true;
    }
}

/// <summary>A column of a dataset.</summary>
/// <param name="Name">The column name.</param>
/// <param name="Type">
/// The Arrow-style type name: <c>"bool"</c>, <c>"int8"</c>, <c>"int16"</c>, <c>"int32"</c>, <c>"int64"</c>,
/// <c>"uint8"</c> to <c>"uint64"</c>, <c>"float16"</c>, <c>"float"</c>, <c>"double"</c>, <c>"decimal"</c>,
/// <c>"string"</c>, <c>"binary"</c>, <c>"timestamp"</c>, <c>"date"</c>, <c>"time"</c>, <c>"duration"</c>, or the Arrow
/// name of any other type (<c>"list"</c>, <c>"struct"</c>, ...). Dictionary-encoded columns have the type of their values.
/// </param>
/// <param name="Nullable">Whether the column may hold nulls.</param>
public sealed record DatasetColumn(string Name, string Type, bool Nullable);

/// <summary>
/// The statistics of one column, like a column of pandas' <c>describe()</c>.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><description>Numeric columns (integers, floating-point, decimals) get <see cref="Mean"/>, <see cref="Std"/>,
/// <see cref="Min"/>, <see cref="Max"/>, the quartiles and a <see cref="Histogram"/>. Values are converted to
/// <see cref="double"/>, so 64-bit integers beyond 2^53 are rounded.</description></item>
/// <item><description>Timestamp and date columns get only <see cref="Min"/> and <see cref="Max"/>, as Unix epoch milliseconds (UTC).</description></item>
/// <item><description>String and boolean columns get <see cref="Unique"/> and <see cref="TopValues"/> (booleans as <c>"true"</c>/<c>"false"</c>).</description></item>
/// <item><description>Other columns get only <see cref="Count"/> and <see cref="NullCount"/>.</description></item>
/// </list>
/// Floating-point NaN and infinities count as nulls. Members that do not apply, or that need more values than there
/// are (a standard deviation needs two), are <see langword="null"/>.
/// </remarks>
public sealed record ColumnStatistics
{
    /// <summary>The largest number of entries in <see cref="TopValues"/>.</summary>
    public const int TopValueCount = 10;

    /// <summary>The column name.</summary>
    public required string Name { get; init; }

    /// <summary>The number of non-null values (NaN and infinities count as null).</summary>
    public long Count { get; init; }

    /// <summary>The number of nulls, including floating-point NaN and infinities.</summary>
    public long NullCount { get; init; }

    /// <summary>The arithmetic mean of a numeric column.</summary>
    public double? Mean { get; init; }

    /// <summary>The sample standard deviation (divided by n - 1) of a numeric column with at least two values.</summary>
    public double? Std { get; init; }

    /// <summary>The smallest value; Unix epoch milliseconds (UTC) for timestamp and date columns.</summary>
    public double? Min { get; init; }

    /// <summary>The largest value; Unix epoch milliseconds (UTC) for timestamp and date columns.</summary>
    public double? Max { get; init; }

    /// <summary>The first quartile, linearly interpolated between the closest ranks like pandas' default.</summary>
    public double? P25 { get; init; }

    /// <summary>The median, linearly interpolated between the closest ranks like pandas' default.</summary>
    public double? P50 { get; init; }

    /// <summary>The third quartile, linearly interpolated between the closest ranks like pandas' default.</summary>
    public double? P75 { get; init; }

    /// <summary>The 20-bin equal-width histogram of a numeric column with at least one value.</summary>
    public Histogram? Histogram { get; init; }

    /// <summary>The number of distinct values of a string or boolean column.</summary>
    public long? Unique { get; init; }

    /// <summary>
    /// The <see cref="TopValueCount"/> most frequent values of a string or boolean column, most frequent first, ties in
    /// ordinal order of the value.
    /// </summary>
    public IReadOnlyList<ValueCount>? TopValues { get; init; }

    /// <summary>Compares every member; <see cref="TopValues"/> element by element.</summary>
    /// <param name="other">The other statistics.</param>
    /// <returns>Whether the statistics are equal.</returns>
    public bool Equals(ColumnStatistics? other)
    {
        if (ReferenceEquals(this, other))
            return true;
        if (other is null)
            return false;
        return Name == other.Name
            && Count == other.Count
            && NullCount == other.NullCount
            && Nullable.Equals(Mean, other.Mean)
            && Nullable.Equals(Std, other.Std)
            && Nullable.Equals(Min, other.Min)
            && Nullable.Equals(Max, other.Max)
            && Nullable.Equals(P25, other.P25)
            && Nullable.Equals(P50, other.P50)
            && Nullable.Equals(P75, other.P75)
            && Equals(Histogram, other.Histogram)
            && Unique == other.Unique
            && (TopValues is null ? other.TopValues is null : other.TopValues is not null && TopValues.SequenceEqual(other.TopValues));
    }

    /// <summary>A hash code consistent with <see cref="Equals(ColumnStatistics?)"/>.</summary>
    /// <returns>The hash code.</returns>
    public override int GetHashCode() => HashCode.Combine(Name, Count, NullCount, Mean, Min, Max, Unique);
}

/// <summary>
/// An equal-width histogram of 20 bins over [min, max]. Bin <c>i</c> holds the values in
/// [<c>Edges[i]</c>, <c>Edges[i + 1]</c>); the last bin also holds <c>Edges[20]</c> (it is closed).
/// When every value is the same, all edges equal that value and the first bin holds every value.
/// </summary>
/// <param name="Edges">The 21 bin edges, from the minimum to the maximum.</param>
/// <param name="Counts">The 20 bin counts; they add up to the column's non-null count.</param>
public sealed record Histogram(IReadOnlyList<double> Edges, IReadOnlyList<long> Counts)
{
    /// <summary>The number of bins.</summary>
    public const int BinCount = 20;

    /// <summary>Compares the edges and the counts element by element.</summary>
    /// <param name="other">The other histogram.</param>
    /// <returns>Whether the histograms are equal.</returns>
    public bool Equals(Histogram? other)
    {
        if (ReferenceEquals(this, other))
            return true;
        return other is not null && Edges.SequenceEqual(other.Edges) && Counts.SequenceEqual(other.Counts);
    }

    /// <summary>A hash code consistent with <see cref="Equals(Histogram?)"/>.</summary>
    /// <returns>The hash code.</returns>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var count in Counts)
            hash.Add(count);
        return hash.ToHashCode();
    }
}

/// <summary>A value of a string or boolean column and how many times it occurs.</summary>
/// <param name="Value">The value.</param>
/// <param name="Count">How many rows hold it.</param>
public sealed record ValueCount(string Value, long Count);
