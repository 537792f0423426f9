using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Polly;
using MLOps.Storage.Sqlite;
using SQLitePCL;
using Sql = MLOps.Storage.Sqlite.SqliteCommands;

namespace MLOps.FeatureStore.Online;

/// <summary>
/// The embedded default online store: one SQLite file in WAL mode, one table per feature set holding the latest row of
/// each entity (primary key: the encoded entity key), plus the window state of real-time aggregations.
/// </summary>
/// <remarks>
/// <para>Thread-safe. Several processes may share one file: writes go through one writer connection per store, each
/// <see cref="WriteAsync"/> is one <c>BEGIN IMMEDIATE</c> transaction (rows and window state together), waits for
/// another process's lock are bounded by <see cref="SqliteOnlineStoreOptions.BusyTimeout"/> and whole transactions are
/// retried on <c>SQLITE_BUSY</c>/<c>SQLITE_LOCKED</c>.</para>
/// <para>Feature columns are stored positionally (<c>c0</c>, <c>c1</c>, ...) and mapped to feature names by a catalog
/// table, so feature names can be any text. Doubles are stored as REAL (NaN is stored as null), integers, booleans
/// (0/1) and timestamps (microseconds since the Unix epoch, UTC) as INTEGER, strings as TEXT.</para>
/// <para>Readers from <see cref="OpenReader"/> own their connection: they keep working after the store is disposed,
/// until they are disposed themselves.</para>
/// </remarks>
public sealed class SqliteOnlineStore : IOnlineStore
{
    private const int CancellationCheckRows = 4096;

    private readonly string _connectionString;
    private readonly SqliteOnlineStoreOptions _options;
    private readonly ResiliencePipeline _writeRetry;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentBag<SqliteConnection> _idleReaders = new();
    private readonly ConcurrentDictionary<(string Project, string FeatureSet), OnlineTableInfo> _tables = new();
    private readonly Dictionary<string, UpsertStatement> _upserts = new(StringComparer.Ordinal); // guarded by _writeLock
    private SqliteConnection? _writer;
    private sqlite3_stmt? _windowUpsert;
    private int _idleCount;
    private volatile bool _initialized;
    private volatile bool _disposed;

    /// <summary>Creates a store over a SQLite file (created with its folder on first use).</summary>
    /// <param name="path">The database file path.</param>
    /// <param name="options">Options, or <see langword="null"/> for the defaults. The store takes a copy: changing
    /// <paramref name="options"/> after construction has no effect on it.</param>
    /// <exception cref="ValidationException">The options are invalid (every problem is listed).</exception>
    public SqliteOnlineStore(string path, SqliteOnlineStoreOptions? options = null)
    {
        Throw.IfNullOrWhitespace(path);
        // a private copy, validated once: later changes to the caller's (settable) options have no effect
        _options = options is null ? new SqliteOnlineStoreOptions() : new SqliteOnlineStoreOptions
        {
            BusyTimeout = options.BusyTimeout,
            MaxWriteRetries = options.MaxWriteRetries,
            Synchronous = options.Synchronous,
            MaxIdleReadConnections = options.MaxIdleReadConnections,
        };
        var errors = _options.Validate();
        if (errors.Count > 0) throw new ValidationException("The SQLite online store options are invalid", errors);
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = SqliteDefaults.ConnectionString(Path, _options.BusyTimeout);
        _writeRetry = SqliteDefaults.WriteRetry(_options.MaxWriteRetries);
    }

    /// <summary>The full path of the database file.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    /// <exception cref="ValidationException">The definition is invalid, or a feature already stored has another type
    /// (the message names the feature, the stored type and the new one).</exception>
    public Task PrepareAsync(OnlineTable table, CancellationToken cancellationToken = default)
    {
        Validate(table);
        return WriteAsync(static (self, c, tx, table) =>
        {
            SqliteOnlineCatalog.Prepare(c, tx, table);
            return true;
        }, table, cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>Entity columns may be string, int64, int32, bool or timestamp and are encoded as
    /// <see cref="EntityKey.Encode"/> does. The timestamp column may have any unit (converted to microseconds; a column
    /// without a time zone is read as UTC). Feature columns: double (also float, int64, int32), int64 (also int32),
    /// bool, string and timestamp, matching the feature's type. Columns of the rows that are not features are ignored.
    /// Within a batch, rows are applied in order, so of two rows with the same key and event time the later one wins.</remarks>
    /// <exception cref="ValidationException">A column is missing or has a type the feature cannot take, an entity or
    /// timestamp value is null (the message names the column and the row), the table was not prepared for a feature,
    /// or a window state is null.</exception>
    public async Task WriteAsync(OnlineTable table, RecordBatch rows, IReadOnlyDictionary<string, byte[]> windowState, CancellationToken cancellationToken = default)
    {
        Validate(table);
        Throw.IfNull(rows);
        Throw.IfNull(windowState);
        var batch = OnlineRowBatch.Create(table, rows);
        if (batch.Length == 0 && windowState.Count == 0) return;
        await WriteAsync(static (self, c, tx, state) =>
        {
            self.Write(c, tx, state.table, state.batch, state.windowState, state.cancellationToken);
            return true;
        }, (table, batch, windowState, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private void Write(SqliteConnection c, SqliteTransaction tx, OnlineTable table, OnlineRowBatch batch, IReadOnlyDictionary<string, byte[]> windowState, CancellationToken cancellationToken)
    {
        var info = CurrentInfo(c, tx, table.Project, table.FeatureSet)
            ?? throw new ValidationException($"Feature set '{table.FeatureSet}' (project '{table.Project}') has no online table. Call PrepareAsync(table) before writing.");
        foreach (var feature in table.Features)
        {
            if (!info.TryGetColumn(feature.Name, out var stored))
                throw new ValidationException($"The online table of feature set '{table.FeatureSet}' (project '{table.Project}') has no column for feature '{feature.Name}'. Call PrepareAsync(table) with the current definition before writing. Known features: {info.KnownFeatures}.");
            if (stored.Type != feature.Type) throw SqliteOnlineCatalog.TypeChanged(table, feature, stored.Type);
        }

        var db = c.Handle!;
        if (batch.Length > 0)
        {
            var upsert = Upsert(db, info);
            var binders = new OnlineRowBatch.ColumnBinder[info.Columns.Count];
            for (var i = 0; i < binders.Length; i++)
                binders[i] = batch.Feature(info.Columns[i].Feature) ?? OnlineRowBatch.NullBinder.Instance;
            var stmt = upsert.Statement;
            var rows = batch.RowsToWrite;
            for (var r = 0; r < rows.Length; r++)
            {
                if (r % CancellationCheckRows == CancellationCheckRows - 1) cancellationToken.ThrowIfCancellationRequested();
                var row = rows[r];
                batch.BindKey(stmt, 1, row);
                raw.sqlite3_bind_int64(stmt, 2, batch.EventTime(row));
                for (var i = 0; i < binders.Length; i++) binders[i].Bind(stmt, i + 3, row);
                SqliteRaw.Execute(db, stmt);
            }
        }

        if (windowState.Count > 0)
        {
            var stmt = _windowUpsert ??= SqliteRaw.Prepare(db,
                "INSERT INTO window_state(table_name, k, state) VALUES (?1, ?2, ?3) ON CONFLICT(table_name, k) DO UPDATE SET state = excluded.state;", persistent: true);
            var buffer = new byte[128];
            raw.sqlite3_bind_text(stmt, 1, info.TableName);
            foreach (var (key, state) in windowState)
            {
                if (key is null || state is null)
                    throw new ValidationException($"The window state of entity '{key}' of feature set '{table.FeatureSet}' is null. Pass serialized state for every key, or leave the key out.");
                SqliteRaw.BindText(stmt, 2, key, ref buffer);
                // An empty span pins to a null pointer, which SQLite binds as NULL: bind an empty blob instead.
                if (state.Length == 0) raw.sqlite3_bind_zeroblob(stmt, 3, 0);
                else raw.sqlite3_bind_blob(stmt, 3, state);
                SqliteRaw.Execute(db, stmt);
            }
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyDictionary<string, byte[]>> LoadWindowStateAsync(OnlineTable table, IReadOnlyCollection<string> entityKeys, CancellationToken cancellationToken = default)
    {
        Validate(table);
        Throw.IfNull(entityKeys);
        EnsureInitialized();
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (entityKeys.Count == 0) return Task.FromResult<IReadOnlyDictionary<string, byte[]>>(result);
        Read(c =>
        {
            var tableName = SqliteOnlineCatalog.TableName(table.Project, table.FeatureSet);
            var db = c.Handle!;
            using var stmt = SqliteRaw.Prepare(db, "SELECT state FROM window_state WHERE table_name = ?1 AND k = ?2;");
            raw.sqlite3_bind_text(stmt, 1, tableName);
            var buffer = new byte[128];
            // One read transaction for the whole lookup, so the states are of one moment.
            using var tx = c.BeginTransaction(deferred: true);
            var n = 0;
            foreach (var key in entityKeys)
            {
                if (++n % CancellationCheckRows == 0) cancellationToken.ThrowIfCancellationRequested();
                if (key is null || result.ContainsKey(key)) continue;
                SqliteRaw.BindText(stmt, 2, key, ref buffer);
                var rc = raw.sqlite3_step(stmt);
                if (rc == raw.SQLITE_ROW) result[key] = SqliteRaw.ColumnBytes(stmt, 0);
                var e = rc is raw.SQLITE_ROW or raw.SQLITE_DONE ? null : SqliteRaw.Error(db, rc);
                raw.sqlite3_reset(stmt);
                if (e is not null) throw e;
            }
            tx.Commit();
            return true;
        }, "Loading window state from");
        return Task.FromResult<IReadOnlyDictionary<string, byte[]>>(result);
    }

    /// <inheritdoc/>
    /// <remarks>The reader owns a connection to the file and one prepared statement, reused for every read; it sees
    /// rows committed after it was opened. It keeps working after this store is disposed, until it is disposed itself.</remarks>
    /// <exception cref="NotFoundException">The feature set has no online table (call <see cref="PrepareAsync"/> first).</exception>
    /// <exception cref="ValidationException">A feature is unknown (the message lists the known ones) or is stored with
    /// another type than the definition says.</exception>
    public IOnlineReader OpenReader(OnlineTable table, IReadOnlyList<string> features)
    {
        Validate(table);
        Throw.IfNull(features);
        EnsureInitialized();
        var info = Read(c => SqliteOnlineCatalog.Load(c, null, table.Project, table.FeatureSet, 0), "Reading the catalog of")
            ?? throw new NotFoundException("online table", $"{table.Project}/{table.FeatureSet}",
                $"Feature set '{table.FeatureSet}' (project '{table.Project}') has no online table in '{Path}'. Ingest it with an online target (or call PrepareAsync) first.");
        var columns = new CatalogColumn[features.Count];
        List<string>? unknown = null;
        for (var i = 0; i < columns.Length; i++)
        {
            var name = features[i];
            if (name is null || !info.TryGetColumn(name, out columns[i]))
            {
                (unknown ??= []).Add(name ?? "(null)");
                continue;
            }
            var declared = table.Features.FirstOrDefault(f => f.Name == name);
            if (declared is not null && declared.Type != columns[i].Type) throw SqliteOnlineCatalog.TypeChanged(table, declared, columns[i].Type);
        }
        if (unknown is not null)
            throw new ValidationException($"Feature set '{table.FeatureSet}' (project '{table.Project}') has no online feature{(unknown.Count == 1 ? "" : "s")} {string.Join(", ", unknown.Select(u => $"'{u}'"))}. Known features: {info.KnownFeatures}.");
        try
        {
            return SqliteOnlineReader.Open(Path, _options.BusyTimeout, info, columns);
        }
        catch (SqliteException e)
        {
            throw new FeatureStoreException($"Opening a reader of feature set '{table.FeatureSet}' in the online store '{Path}' failed: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public Task DropAsync(OnlineTable table, CancellationToken cancellationToken = default)
    {
        Validate(table);
        return WriteAsync(static (self, c, tx, table) =>
        {
            var name = SqliteOnlineCatalog.TableName(table.Project, table.FeatureSet);
            if (self._upserts.Remove(name, out var upsert)) upsert.Statement.Dispose();
            self._tables.TryRemove((table.Project, table.FeatureSet), out _);
            return SqliteOnlineCatalog.Drop(c, tx, table.Project, table.FeatureSet);
        }, table, cancellationToken);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var upsert in _upserts.Values) upsert.Statement.Dispose();
            _upserts.Clear();
            _windowUpsert?.Dispose();
            _windowUpsert = null;
            if (_writer is not null)
            {
                try
                {
                    Sql.Exec(_writer, null, "PRAGMA busy_timeout=100; PRAGMA optimize;"); // refresh planner statistics, without waiting long for a lock
                }
                catch (SqliteException)
                {
                    // best effort: another process may hold the lock
                }
                _writer.Dispose();
                _writer = null;
            }
            DrainIdleReaders();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void DrainIdleReaders()
    {
        while (_idleReaders.TryTake(out var c)) c.Dispose();
    }

    // ---- connections, initialisation, transactions ----

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        try
        {
            c.Open();
            Sql.Exec(c, null, string.Create(CultureInfo.InvariantCulture,
                $"PRAGMA busy_timeout={(int)_options.BusyTimeout.TotalMilliseconds}; PRAGMA synchronous={_options.Synchronous};"));
            return c;
        }
        catch
        {
            c.Dispose();
            throw;
        }
    }

    private void EnsureInitialized()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_initialized) return;
        _writeLock.Wait();
        try
        {
            InitializeLocked(CancellationToken.None);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Opens the writer connection, turns WAL on and creates the catalog; runs once, under the write lock.</summary>
    private void InitializeLocked(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_initialized) return;
        try
        {
            var dir = System.IO.Path.GetDirectoryName(Path);
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            _writeRetry.Execute(static (self, ct) =>
            {
                self._writer ??= self.Open();
                var c = self._writer;
                Sql.Exec(c, null, "PRAGMA journal_mode=WAL;");
                using var tx = c.BeginTransaction(deferred: false);
                var version = Convert.ToInt32(Sql.Scalar(c, tx, "PRAGMA user_version;"), CultureInfo.InvariantCulture);
                if (version > SqliteOnlineCatalog.SchemaVersion)
                    throw new FeatureStoreException($"The online store '{self.Path}' has schema version {version}, newer than this MLOps.FeatureStore supports ({SqliteOnlineCatalog.SchemaVersion}). Upgrade the package.");
                if (version < SqliteOnlineCatalog.SchemaVersion)
                {
                    Sql.Exec(c, tx, SqliteOnlineCatalog.CreateSql);
                    Sql.Exec(c, tx, $"PRAGMA user_version={SqliteOnlineCatalog.SchemaVersion};");
                }
                tx.Commit();
            }, this, cancellationToken);
            _initialized = true;
        }
        catch (SqliteException e)
        {
            _writer?.Dispose();
            _writer = null;
            throw new FeatureStoreException($"Could not open the online store '{Path}': {e.Message}. Check that the folder is writable and the file is a SQLite database.", e);
        }
    }

    /// <summary>Runs a write in one IMMEDIATE transaction on the writer connection, retried as a whole on busy.</summary>
    private async Task<TResult> WriteAsync<TState, TResult>(Func<SqliteOnlineStore, SqliteConnection, SqliteTransaction, TState, TResult> write, TState state, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            InitializeLocked(cancellationToken);
            return await _writeRetry.ExecuteAsync(static (s, ct) =>
            {
                var (self, write, state) = s;
                var c = self._writer!;
                using var tx = c.BeginTransaction(deferred: false);
                var result = write(self, c, tx, state);
                tx.Commit();
                return ValueTask.FromResult(result);
            }, (this, write, state), cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException e)
        {
            // A failed transaction may have changed the schema cookie or left statements on a stale schema.
            _tables.Clear();
            throw new FeatureStoreException(SqliteRaw.IsBusy(e)
                ? $"The online store '{Path}' stayed locked by another writer beyond the busy timeout and {_options.MaxWriteRetries} retries. Raise SqliteOnlineStoreOptions.BusyTimeout or reduce concurrent writers."
                : $"Writing the online store '{Path}' failed: {e.Message}", e);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Runs a read on a pooled connection.</summary>
    private T Read<T>(Func<SqliteConnection, T> read, string what)
    {
        SqliteConnection c;
        if (_idleReaders.TryTake(out var idle))
        {
            Interlocked.Decrement(ref _idleCount);
            c = idle;
        }
        else
        {
            c = Open();
        }
        var keep = true;
        try
        {
            return read(c);
        }
        catch (SqliteException e)
        {
            keep = false;
            throw new FeatureStoreException(SqliteRaw.IsBusy(e)
                ? $"{what} the online store '{Path}' waited beyond the busy timeout ({_options.BusyTimeout}) for a lock held by another connection. Raise SqliteOnlineStoreOptions.BusyTimeout or retry."
                : $"{what} the online store '{Path}' failed: {e.Message}", e);
        }
        finally
        {
            if (keep && !_disposed && Interlocked.Increment(ref _idleCount) <= _options.MaxIdleReadConnections)
            {
                _idleReaders.Add(c);
                if (_disposed) DrainIdleReaders(); // the store was disposed meanwhile
            }
            else
            {
                if (keep && !_disposed) Interlocked.Decrement(ref _idleCount);
                c.Dispose();
            }
        }
    }

    /// <summary>The catalog entry of a feature set as of the current transaction, cached while the schema cookie is unchanged.</summary>
    private OnlineTableInfo? CurrentInfo(SqliteConnection c, SqliteTransaction tx, string project, string featureSet)
    {
        var cookie = SqliteOnlineCatalog.SchemaCookie(c, tx);
        if (_tables.TryGetValue((project, featureSet), out var cached) && cached.SchemaCookie == cookie) return cached;
        var info = SqliteOnlineCatalog.Load(c, tx, project, featureSet, cookie);
        if (info is null) _tables.TryRemove((project, featureSet), out _);
        else _tables[(project, featureSet)] = info;
        return info;
    }

    /// <summary>The upsert statement of a table on the writer connection, prepared again when the catalog changed.</summary>
    private UpsertStatement Upsert(sqlite3 db, OnlineTableInfo info)
    {
        if (_upserts.TryGetValue(info.TableName, out var existing))
        {
            if (ReferenceEquals(existing.Info, info)) return existing;
            existing.Statement.Dispose();
            _upserts.Remove(info.TableName);
        }
        var quoted = $"\"{info.TableName}\"";
        var sql = new StringBuilder($"INSERT INTO {quoted}(k, ts");
        foreach (var col in info.Columns) sql.Append(", ").Append(col.ColumnName);
        sql.Append(") VALUES (?1, ?2");
        for (var i = 0; i < info.Columns.Count; i++) sql.Append(CultureInfo.InvariantCulture, $", ?{i + 3}");
        sql.Append(") ON CONFLICT(k) DO UPDATE SET ts = excluded.ts");
        foreach (var col in info.Columns) sql.Append(CultureInfo.InvariantCulture, $", {col.ColumnName} = excluded.{col.ColumnName}");
        sql.Append(CultureInfo.InvariantCulture, $" WHERE excluded.ts >= {quoted}.ts;");
        var upsert = new UpsertStatement(info, SqliteRaw.Prepare(db, sql.ToString(), persistent: true));
        _upserts[info.TableName] = upsert;
        return upsert;
    }

    private static void Validate(OnlineTable table)
    {
        Throw.IfNull(table);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(table.Project)) errors.Add("Project is empty.");
        if (string.IsNullOrWhiteSpace(table.FeatureSet)) errors.Add("FeatureSet is empty.");
        if (table.Entities is null || table.Entities.Count == 0) errors.Add("Entities is empty; a feature set needs at least one entity (key) column.");
        if (string.IsNullOrWhiteSpace(table.TimestampColumn)) errors.Add("TimestampColumn is empty.");
        if (table.Features is null) errors.Add("Features is null; pass an empty list for a table without features.");
        else
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var f in table.Features)
            {
                if (f is null || string.IsNullOrEmpty(f.Name)) errors.Add("A feature has no name.");
                else if (!seen.Add(f.Name)) errors.Add($"Feature '{f.Name}' is listed twice.");
                else if (!Enum.IsDefined(f.Type)) errors.Add($"Feature '{f.Name}' has the unknown type {(int)f.Type}.");
            }
        }
        if (errors.Count > 0)
            throw new ValidationException($"The online table definition of feature set '{table.FeatureSet}' (project '{table.Project}') is invalid", errors);
    }

    private sealed record UpsertStatement(OnlineTableInfo Info, sqlite3_stmt Statement);
}
