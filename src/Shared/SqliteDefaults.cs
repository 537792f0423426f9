using Microsoft.Data.Sqlite;
using Polly;
using Polly.Retry;

namespace MLOps.Storage.Sqlite;

/// <summary>How every SQLite database of MLOps is opened and written: the metadata store and the online feature store.</summary>
internal static class SqliteDefaults
{
    /// <summary>Whether SQLite said the database is busy or locked (extended codes included).</summary>
    public static bool IsBusy(SqliteException e) => (e.SqliteErrorCode & 0xFF) is 5 or 6; // SQLITE_BUSY, SQLITE_LOCKED

    /// <summary>A private-cache, unpooled, read-write-create connection string with a busy timeout.</summary>
    public static string ConnectionString(string path, TimeSpan busyTimeout) => new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Cache = SqliteCacheMode.Private,
        Pooling = false,
        DefaultTimeout = (int)Math.Ceiling(busyTimeout.TotalSeconds),
    }.ToString();

    /// <summary>The retry of a whole write transaction when SQLite stays busy past the busy timeout: exponential, jittered.
    /// <paramref name="onRetry"/> hears of each retry (its 1-based number, the delay before it, the error).</summary>
    public static ResiliencePipeline WriteRetry(int maxRetries, Action<int, TimeSpan, Exception?>? onRetry = null) => new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            OnRetry = onRetry is null ? null : args =>
            {
                onRetry(args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception);
                return default;
            },
            ShouldHandle = new PredicateBuilder().Handle<SqliteException>(IsBusy),
            MaxRetryAttempts = Math.Max(0, maxRetries),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(20),
            MaxDelay = TimeSpan.FromSeconds(1),
        })
        .Build();
}
