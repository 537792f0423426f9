using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using MLOps.Runs.Internal;
using Polly;

using static MLOps.Storage.Sqlite.SqliteCommands;

namespace MLOps.Storage.Sqlite;

/// <summary>Options of the SQLite metadata store (configuration section <c>Sqlite</c> of <see cref="MLOpsOptions"/>).
/// Frozen like <see cref="MLOpsOptions"/> once the project is open.</summary>
public sealed class SqliteStoreOptions
{
    private TimeSpan _busyTimeout = TimeSpan.FromSeconds(30);
    private int _maxWriteRetries = 10;
    private string _synchronous = "NORMAL";
    private string? _frozenFor;

    /// <summary>How long a statement waits for a lock held by another connection or process.
    /// <value>Defaults to 30 seconds.</value></summary>
    public TimeSpan BusyTimeout { get => _busyTimeout; set => _busyTimeout = Settable(value); }

    /// <summary>How many times a whole write transaction is retried when the database stays busy or locked.
    /// <value>Defaults to 10.</value></summary>
    public int MaxWriteRetries { get => _maxWriteRetries; set => _maxWriteRetries = Settable(value); }

    /// <summary>The <c>synchronous</c> pragma: <c>NORMAL</c> (durable across process crashes in WAL mode) or <c>FULL</c>
    /// (also across power loss). <value>Defaults to NORMAL.</value></summary>
    public string Synchronous { get => _synchronous; set => _synchronous = Settable(value); }

    /// <summary>Lists every problem at once, each naming its key (relative to this section), the value and the fix.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (BusyTimeout <= TimeSpan.Zero) errors.Add($"BusyTimeout is {BusyTimeout}; use a positive timeout (default 00:00:30).");
        if (MaxWriteRetries < 0) errors.Add($"MaxWriteRetries is {MaxWriteRetries}; use 0 or more (default 10).");
        if (Synchronous is not ("NORMAL" or "FULL" or "EXTRA" or "OFF"))
            errors.Add($"Synchronous is '{Synchronous}'; use NORMAL, FULL, EXTRA or OFF (default NORMAL).");
        return errors;
    }

    internal SqliteStoreOptions Freeze(string project)
    {
        var copy = (SqliteStoreOptions)MemberwiseClone();
        copy._frozenFor = project;
        return copy;
    }

    private T Settable<T>(T value, [System.Runtime.CompilerServices.CallerMemberName] string property = "")
        => FrozenOptions.Checked(_frozenFor, nameof(SqliteStoreOptions), property, value);
}

/// <summary>
/// The embedded default metadata store: one SQLite file in WAL mode with a busy timeout, prepared statements,
/// one transaction per batch and versioned schema migrations that run once even when several processes open the
/// file at the same moment.
/// </summary>
/// <remarks>Thread-safe. Several processes may share one file: writes are serialised by SQLite's lock, waits are
/// bounded by <see cref="SqliteStoreOptions.BusyTimeout"/> and whole transactions are retried on <c>SQLITE_BUSY</c>,
/// so <c>database is locked</c> does not reach the caller under normal contention.</remarks>
public sealed partial class SqliteMetadataStore : IMetadataStore
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly string _connectionString;
    private readonly SqliteStoreOptions _options;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentBag<SqliteConnection> _readers = new();
    private readonly ResiliencePipeline _writeRetry;
    private readonly SemaphoreSlim _initLock = new(1, 1);
    private SqliteConnection? _writer;
    private volatile bool _initialized;
    private bool _disposed;

    /// <summary>Creates a store over a SQLite file (created with its folder when missing).</summary>
    /// <param name="path">The database file path.</param>
    /// <param name="options">Options, or <see langword="null"/> for the defaults.</param>
    /// <param name="loggerFactory">Where the store logs its retries of busy writes (category <c>MLOps.Core.Storage</c>); none when null.</param>
    public SqliteMetadataStore(string path, SqliteStoreOptions? options = null, Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory = null)
    {
        Names.Required(path, "SQLite file path", "Pass a file path such as '/data/mlops.db'.");
        _options = options ?? new SqliteStoreOptions();
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = SqliteDefaults.ConnectionString(Path, _options.BusyTimeout);
        var logger = loggerFactory is null ? null : loggerFactory.CreateLogger("MLOps.Core.Storage");
        _writeRetry = SqliteDefaults.WriteRetry(_options.MaxWriteRetries, logger is null ? null : (attempt, delay, exception) => CoreLog.StoreWriteRetry(logger, exception, Path, attempt, delay));
        Projects = new ProjectPart(this);
        Runs = new RunPart(this);
        Artifacts = new ArtifactPart(this);
        Models = new ModelPart(this);
        Specs = new SpecPart(this);
    }

    /// <summary>The full path of the database file.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public IProjectRecords Projects { get; }

    /// <inheritdoc/>
    public IRunRecords Runs { get; }

    /// <inheritdoc/>
    public IArtifactRecords Artifacts { get; }

    /// <inheritdoc/>
    public IModelRecords Models { get; }

    /// <inheritdoc/>
    public ISpecRecords Specs { get; }

    /// <summary>The schema version this build of the store writes.</summary>
    public static int SchemaVersion => SqliteSchema.Migrations[^1].Version;

    private static bool IsBusy(SqliteException e) => SqliteDefaults.IsBusy(e);

    /// <inheritdoc/>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        if (_initialized) return;
        await _initLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_initialized) return;
            var dir = System.IO.Path.GetDirectoryName(Path);
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            await _writeRetry.ExecuteAsync(static (self, ct) =>
            {
                using var c = self.OpenRaw();
                using (var cmd = c.CreateCommand())
                {
                    cmd.CommandText = "PRAGMA journal_mode=WAL;";
                    cmd.ExecuteNonQuery();
                }
                using var tx = c.BeginTransaction(deferred: false);
                var current = Convert.ToInt32(Scalar(c, tx, "PRAGMA user_version;"), CultureInfo.InvariantCulture);
                if (current > SchemaVersion)
                    throw new MetadataStoreException($"The metadata store '{self.Path}' has schema version {current}, newer than this MLOps version supports ({SchemaVersion}). Upgrade the MLOps.Core package.");
                if (current < SchemaVersion)
                {
                    Exec(c, tx, "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied INTEGER NOT NULL);");
                    foreach (var (version, description, sql) in SqliteSchema.Migrations)
                    {
                        if (version <= current) continue;
                        Exec(c, tx, sql);
                        Exec(c, tx, "INSERT INTO schema_migrations(version, description, applied) VALUES ($v, $d, $t);",
                            ("$v", version), ("$d", description), ("$t", DateTimeOffset.UtcNow.UtcTicks));
                    }
                    Exec(c, tx, $"PRAGMA user_version={SchemaVersion};");
                }
                tx.Commit();
                return ValueTask.CompletedTask;
            }, this, cancellationToken).ConfigureAwait(false);
            _initialized = true;
        }
        catch (SqliteException e)
        {
            throw new MetadataStoreException($"Could not open the metadata store '{Path}': {e.Message}. Check that the folder is writable and the file is a SQLite database.", e);
        }
        finally
        {
            _initLock.Release();
        }
    }

    private SqliteConnection OpenRaw()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"PRAGMA busy_timeout={(int)_options.BusyTimeout.TotalMilliseconds}; PRAGMA synchronous={_options.Synchronous}; PRAGMA foreign_keys=OFF;";
        cmd.ExecuteNonQuery();
        c.CreateFunction<string?, string?>(LikePattern.LowerFunction, LikePattern.Fold, isDeterministic: true); // ilike in run searches
        return c;
    }

    private void EnsureReady()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_initialized)
            throw new InvalidStateException($"The metadata store '{Path}' is not initialised. Call InitializeAsync() first (MLOpsProject does this for you).");
    }

    /// <summary>Runs a read on a pooled connection.</summary>
    internal T Read<T>(Func<SqliteConnection, T> read)
    {
        EnsureReady();
        if (!_readers.TryTake(out var c)) c = OpenRaw();
        try
        {
            return read(c);
        }
        catch (SqliteException e)
        {
            throw new MetadataStoreException(IsBusy(e)
                ? $"Reading the metadata store '{Path}' waited beyond the busy timeout ({_options.BusyTimeout}) for a lock held by another connection. Raise SqliteStoreOptions.BusyTimeout or retry."
                : $"Reading the metadata store '{Path}' failed: {e.Message}", e);
        }
        finally
        {
            if (_disposed) c.Dispose(); else _readers.Add(c);
        }
    }

    /// <summary>Runs a write in one IMMEDIATE transaction on the writer connection, retried as a whole on busy.</summary>
    internal async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> write, CancellationToken cancellationToken)
    {
        EnsureReady();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await _writeRetry.ExecuteAsync(static (state, ct) =>
            {
                var (self, write) = state;
                self._writer ??= self.OpenRaw();
                using var tx = self._writer.BeginTransaction(deferred: false);
                var result = write(self._writer, tx);
                tx.Commit();
                return ValueTask.FromResult(result);
            }, (this, write), cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException e)
        {
            throw new MetadataStoreException(IsBusy(e)
                ? $"The metadata store '{Path}' stayed locked by another writer beyond the busy timeout and {_options.MaxWriteRetries} retries. Raise SqliteStoreOptions.BusyTimeout or reduce concurrent writers."
                : $"Writing the metadata store '{Path}' failed: {e.Message}", e);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    internal Task WriteAsync(Action<SqliteConnection, SqliteTransaction> write, CancellationToken cancellationToken)
        => WriteAsync<bool>((c, tx) => { write(c, tx); return true; }, cancellationToken);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            _metricStatements?.Dispose();
            _metricStatements = null;
            if (_writer is not null)
            {
                try
                {
                    Exec(_writer, null, "PRAGMA busy_timeout=100; PRAGMA optimize;"); // SQLite's advice on closing: refresh planner statistics, without waiting long for a lock
                }
                catch (SqliteException)
                {
                    // best effort: another process may hold the lock
                }
                _writer.Dispose();
            }
            _writer = null;
            while (_readers.TryTake(out var c)) c.Dispose();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    // ---- small ADO helpers ----

    internal static DateTimeOffset Time(long ticks) => new(ticks, TimeSpan.Zero);

    internal static DateTimeOffset? Time(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : Time(r.GetInt64(i));

    internal static string? Str(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    internal static string ToJson<T>(T value) => JsonSerializer.Serialize(value, Json);

    internal static T FromJson<T>(string? json) where T : new()
        => string.IsNullOrEmpty(json) ? new T() : JsonSerializer.Deserialize<T>(json, Json) ?? new T();
}
