namespace MLOps.FeatureStore.Online;

/// <summary>Options of the embedded SQLite online store (<see cref="SqliteOnlineStore"/>).</summary>
public sealed class SqliteOnlineStoreOptions
{
    /// <summary>How long a statement waits for a lock held by another connection or process.
    /// <value>Defaults to 30 seconds.</value></summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many times a whole write transaction is retried when the database stays busy or locked beyond
    /// <see cref="BusyTimeout"/>. <value>Defaults to 10.</value></summary>
    public int MaxWriteRetries { get; set; } = 10;

    /// <summary>The <c>synchronous</c> pragma: <c>NORMAL</c> (durable across process crashes in WAL mode), <c>FULL</c>
    /// (also across power loss) or <c>OFF</c>. <value>Defaults to NORMAL.</value></summary>
    public string Synchronous { get; set; } = "NORMAL";

    /// <summary>How many idle read connections the store keeps for <see cref="SqliteOnlineStore.LoadWindowStateAsync"/>
    /// (readers opened with <see cref="SqliteOnlineStore.OpenReader"/> own their connection).
    /// <value>Defaults to 4.</value></summary>
    public int MaxIdleReadConnections { get; set; } = 4;

    /// <summary>Lists every problem of these options at once; each names the property, the value and the fix.
    /// <see cref="SqliteOnlineStore"/> throws one <see cref="ValidationException"/> listing them.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (BusyTimeout < TimeSpan.Zero || BusyTimeout.TotalMilliseconds > int.MaxValue)
            errors.Add($"BusyTimeout is {BusyTimeout}; use a non-negative time span, e.g. 30 seconds.");
        if (MaxWriteRetries < 0)
            errors.Add($"MaxWriteRetries is {MaxWriteRetries}; use 0 or more, e.g. 10.");
        if (Synchronous is not ("NORMAL" or "FULL" or "OFF" or "EXTRA"))
            errors.Add($"Synchronous is '{Synchronous}'; use NORMAL, FULL, EXTRA or OFF.");
        if (MaxIdleReadConnections < 0)
            errors.Add($"MaxIdleReadConnections is {MaxIdleReadConnections}; use 0 or more, e.g. 4.");
        return errors;
    }
}
