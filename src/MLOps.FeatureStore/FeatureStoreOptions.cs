namespace MLOps.FeatureStore;

/// <summary>Options of a project's feature store.</summary>
public sealed record FeatureStoreOptions
{
    /// <summary>
    /// The online store. A store given here is not disposed by the feature store.
    /// <value>Defaults to a <see cref="SqliteOnlineStore"/> in <c>&lt;home&gt;/online.db</c>, owned (and disposed) by the
    /// feature store.</value>
    /// </summary>
    public IOnlineStore? OnlineStore { get; init; }

    /// <summary>The root folder of the offline Parquet files; not blank when set.
    /// <value>Defaults to <c>&lt;artifact root&gt;/feature-sets</c>.</value></summary>
    public string? OfflineRoot { get; init; }

    /// <summary>
    /// Real-time pushes are buffered for the offline target and written when a set's buffer holds this many rows
    /// (positive; see <see cref="FeatureStoreCatalog.FlushPushesAsync"/>). <value>Defaults to 10,000.</value>
    /// </summary>
    public int PushFlushRows { get; init; } = 10_000;

    /// <summary>
    /// ... or when the oldest buffered push of a set has waited this long (positive; measured with the project's
    /// <see cref="TimeProvider"/>). <value>Defaults to one minute.</value>
    /// </summary>
    public TimeSpan PushFlushInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Lists every problem of these options at once; each names the property, the value and the fix. Opening the
    /// feature store (<c>project.FeatureStore(options)</c>) throws one <see cref="ValidationException"/> listing them.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (OfflineRoot is { } root && string.IsNullOrWhiteSpace(root))
            errors.Add($"FeatureStoreOptions.OfflineRoot is blank ('{root}'); give a folder, or leave it null for <artifact root>/feature-sets.");
        if (PushFlushRows <= 0)
            errors.Add($"FeatureStoreOptions.PushFlushRows is {PushFlushRows}; use a positive number of rows (default 10,000).");
        if (PushFlushInterval <= TimeSpan.Zero)
            errors.Add($"FeatureStoreOptions.PushFlushInterval is {PushFlushInterval}; use a positive interval (default 00:01:00).");
        return errors;
    }
}
