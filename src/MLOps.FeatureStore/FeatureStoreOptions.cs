namespace MLOps.FeatureStore;

/// <summary>Options of a project's feature store.</summary>
public sealed record FeatureStoreOptions
{
    /// <summary>
    /// The online store. Default: a <see cref="SqliteOnlineStore"/> in <c>&lt;home&gt;/online.db</c>, owned (and disposed)
    /// by the feature store. A store given here is not disposed by the feature store.
    /// </summary>
    public IOnlineStore? OnlineStore { get; init; }

    /// <summary>The root folder of the offline Parquet files. Default: <c>&lt;artifact root&gt;/feature-sets</c>.</summary>
    public string? OfflineRoot { get; init; }

    /// <summary>
    /// Real-time pushes are buffered for the offline target and written when a set's buffer holds this many rows
    /// (default 10,000; see <see cref="FeatureStoreCatalog.FlushPushesAsync"/>).
    /// </summary>
    public int PushFlushRows { get; init; } = 10_000;

    /// <summary>
    /// ... or when the oldest buffered push of a set has waited this long (default one minute; measured with the
    /// project's <see cref="TimeProvider"/>).
    /// </summary>
    public TimeSpan PushFlushInterval { get; init; } = TimeSpan.FromMinutes(1);
}
