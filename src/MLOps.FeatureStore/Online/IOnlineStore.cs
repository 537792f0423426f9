namespace MLOps.FeatureStore.Online;

/// <summary>
/// An online store: the latest feature values per entity key, plus the sliding-window state of real-time
/// aggregations. The embedded default is <see cref="SqliteOnlineStore"/>; other back-ends (Redis, ...) implement this
/// interface in their own packages and are passed to <c>FeatureStoreOptions.OnlineStore</c>.
/// </summary>
/// <remarks>Implementations are thread-safe.</remarks>
public interface IOnlineStore : IAsyncDisposable
{
    /// <summary>Creates the table of a feature set, or adds the columns it does not have yet. Idempotent.</summary>
    /// <param name="table">The table definition.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the table is ready.</returns>
    Task PrepareAsync(OnlineTable table, CancellationToken cancellationToken = default);

    /// <summary>
    /// Upserts rows and saves window state, in one atomic batch. A row replaces the stored row of its entity only when its
    /// event time is at or after the stored one (so the table keeps the latest values).
    /// </summary>
    /// <param name="table">The table definition.</param>
    /// <param name="rows">Rows with the entity columns, the timestamp column (<see cref="OnlineTable.TimestampColumn"/>,
    /// <c>timestamp[us, UTC]</c>) and any of the feature columns (a missing feature column is written as null).</param>
    /// <param name="windowState">Serialized window state by encoded entity key (see <see cref="EntityKey"/>); may be empty.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the batch is durable.</returns>
    Task WriteAsync(OnlineTable table, RecordBatch rows, IReadOnlyDictionary<string, byte[]> windowState, CancellationToken cancellationToken = default);

    /// <summary>Loads the saved window state of some entities.</summary>
    /// <param name="table">The table definition.</param>
    /// <param name="entityKeys">Encoded entity keys.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The state of the entities that have one.</returns>
    Task<IReadOnlyDictionary<string, byte[]>> LoadWindowStateAsync(OnlineTable table, IReadOnlyCollection<string> entityKeys, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens a reader of some features of a table. A reader owns its connection and prepared statement, so it is not
    /// thread-safe; pool readers to share them between threads (the online feature service does).
    /// </summary>
    /// <param name="table">The table definition.</param>
    /// <param name="features">The feature columns to read, in the order they are returned.</param>
    /// <returns>The reader.</returns>
    IOnlineReader OpenReader(OnlineTable table, IReadOnlyList<string> features);

    /// <summary>Deletes a feature set's table and window state.</summary>
    /// <param name="table">The table definition.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the table is gone.</returns>
    Task DropAsync(OnlineTable table, CancellationToken cancellationToken = default);
}

/// <summary>Reads rows of one online table by entity key. Not thread-safe; dispose it to release its connection.</summary>
public interface IOnlineReader : IDisposable
{
    /// <summary>The columns read, in order.</summary>
    IReadOnlyList<FeatureColumn> Columns { get; }

    /// <summary>Reads the row of one entity into <paramref name="destination"/>.</summary>
    /// <param name="entityKey">The encoded entity key (see <see cref="EntityKey"/>).</param>
    /// <param name="destination">Receives one value per column of <see cref="Columns"/>.</param>
    /// <param name="eventTime">The row's event time in microseconds since the Unix epoch (UTC).</param>
    /// <returns><see langword="false"/> when the entity has no row (then <paramref name="destination"/> is untouched).</returns>
    bool TryRead(string entityKey, Span<FeatureValue> destination, out long eventTime);

    /// <summary>
    /// Reads the rows of many entities in one call. Implementations read the whole batch from one snapshot where they
    /// can (the SQLite store shares one read transaction across the batch); the default implementation calls
    /// <see cref="TryRead"/> per key.
    /// </summary>
    /// <param name="entityKeys">The encoded entity keys (see <see cref="EntityKey"/>); a <see langword="null"/> key is a
    /// miss without a read. Keys may repeat.</param>
    /// <param name="destination">Receives the rows one after the other: the row of key <c>i</c> is the
    /// <c>Columns.Count</c> values starting at <c>i * Columns.Count</c>. The slice of a key without a row is untouched.</param>
    /// <param name="eventTimes">Receives each found row's event time in microseconds since the Unix epoch (UTC); 0 for a miss.</param>
    /// <param name="found">Receives whether each key has a row.</param>
    /// <returns>How many keys have a row.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> holds fewer than
    /// <c>entityKeys.Length * Columns.Count</c> values, or <paramref name="eventTimes"/> or <paramref name="found"/> fewer
    /// than <c>entityKeys.Length</c>.</exception>
    int TryReadMany(ReadOnlySpan<string?> entityKeys, Span<FeatureValue> destination, Span<long> eventTimes, Span<bool> found)
    {
        var width = OnlineReads.CheckMany(entityKeys.Length, Columns.Count, destination.Length, eventTimes.Length, found.Length);
        var hits = 0;
        for (var i = 0; i < entityKeys.Length; i++)
        {
            long time = 0;
            var hit = entityKeys[i] is { } key && TryRead(key, destination.Slice(i * width, width), out time);
            eventTimes[i] = hit ? time : 0;
            found[i] = hit;
            if (hit) hits++;
        }

        return hits;
    }
}

/// <summary>Argument checks shared by <see cref="IOnlineReader.TryReadMany"/> implementations.</summary>
internal static class OnlineReads
{
    /// <summary>Checks the buffer lengths of a batched read and returns the row width.</summary>
    public static int CheckMany(int keys, int width, int destination, int eventTimes, int found)
    {
        if ((long)keys * width > destination)
            throw new ArgumentException($"The destination has {destination} values; {keys} keys x {width} columns need {(long)keys * width}.", nameof(destination));
        if (eventTimes < keys)
            throw new ArgumentException($"The event times have {eventTimes} slots for {keys} keys.", nameof(eventTimes));
        if (found < keys)
            throw new ArgumentException($"The found flags have {found} slots for {keys} keys.", nameof(found));
        return width;
    }
}

/// <summary>The definition of a feature set's online table.</summary>
/// <param name="Project">The project.</param>
/// <param name="FeatureSet">The feature-set name.</param>
/// <param name="Entities">The entity (key) columns.</param>
/// <param name="TimestampColumn">The event-time column name.</param>
/// <param name="Features">The feature columns (every non-key column of the feature set).</param>
public sealed record OnlineTable(string Project, string FeatureSet, IReadOnlyList<FeatureColumn> Entities, string TimestampColumn, IReadOnlyList<FeatureColumn> Features);

/// <summary>One typed feature value, without boxing.</summary>
public readonly record struct FeatureValue
{
    private FeatureValue(FeatureType type, bool isNull, double number, long integer, string? text)
    {
        Type = type;
        IsNull = isNull;
        Number = number;
        Integer = integer;
        Text = text;
    }

    /// <summary>The type.</summary>
    public FeatureType Type { get; }

    /// <summary>Whether the value is null (missing).</summary>
    public bool IsNull { get; }

    /// <summary>The value of a <see cref="FeatureType.Double"/>.</summary>
    public double Number { get; }

    /// <summary>The value of an <see cref="FeatureType.Int64"/>, a <see cref="FeatureType.Boolean"/> (0 or 1) or a
    /// <see cref="FeatureType.Timestamp"/> (microseconds since the Unix epoch, UTC).</summary>
    public long Integer { get; }

    /// <summary>The value of a <see cref="FeatureType.String"/>.</summary>
    public string? Text { get; }

    /// <summary>A null of a type.</summary>
    /// <param name="type">The type.</param>
    /// <returns>The null value.</returns>
    public static FeatureValue Null(FeatureType type) => new(type, true, double.NaN, 0, null);

    /// <summary>A double.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The feature value.</returns>
    public static FeatureValue FromDouble(double value) => new(FeatureType.Double, false, value, 0, null);

    /// <summary>An integer.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The feature value.</returns>
    public static FeatureValue FromInt64(long value) => new(FeatureType.Int64, false, value, value, null);

    /// <summary>A boolean.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The feature value.</returns>
    public static FeatureValue FromBoolean(bool value) => new(FeatureType.Boolean, false, value ? 1 : 0, value ? 1 : 0, null);

    /// <summary>A string (null gives a null value).</summary>
    /// <param name="value">The value.</param>
    /// <returns>The feature value.</returns>
    public static FeatureValue FromString(string? value) => value is null ? Null(FeatureType.String) : new(FeatureType.String, false, double.NaN, 0, value);

    /// <summary>A timestamp in microseconds since the Unix epoch (UTC).</summary>
    /// <param name="microseconds">The value.</param>
    /// <returns>The feature value.</returns>
    public static FeatureValue FromTimestamp(long microseconds) => new(FeatureType.Timestamp, false, microseconds, microseconds, null);

    /// <summary>The value as a double: the number, the integer, 0/1 for booleans; NaN when null or a string.</summary>
    public double AsDouble() => IsNull ? double.NaN : Type switch
    {
        FeatureType.Double => Number,
        FeatureType.String => double.NaN,
        _ => Integer,
    };

    /// <summary>The value boxed: <see cref="double"/>, <see cref="long"/>, <see cref="bool"/>, <see cref="string"/>,
    /// <see cref="DateTimeOffset"/>, or <see langword="null"/>.</summary>
    /// <returns>The boxed value.</returns>
    public object? ToObject() => IsNull ? null : Type switch
    {
        FeatureType.Double => Number,
        FeatureType.Int64 => Integer,
        FeatureType.Boolean => Integer != 0,
        FeatureType.String => Text,
        _ => DateTimeOffset.UnixEpoch.AddTicks(Integer * 10),
    };
}
