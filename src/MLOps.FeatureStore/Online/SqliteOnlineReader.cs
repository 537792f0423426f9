using System.Text;
using SQLitePCL;

namespace MLOps.FeatureStore.Online;

/// <summary>
/// A point reader of one online table: its own connection and one persistent prepared statement
/// <c>SELECT ts, cX, cY, ... FROM t WHERE k = ?1</c>, bound, stepped and reset for every read. The statement is reset
/// after each read, so no read transaction stays open and later writes (from any connection or process) are seen.
/// A batch (<see cref="TryReadMany"/>) runs in one explicit read transaction that is committed before it returns.
/// </summary>
/// <remarks>
/// Not thread-safe. It keeps working after its store is disposed, until it is disposed itself.
/// The connection is opened through SQLitePCL with <c>SQLITE_OPEN_NOMUTEX</c>: a reader is used by one thread at a
/// time, so SQLite's per-call connection mutex (taken by every <c>sqlite3_column_*</c> call otherwise) is only cost.
/// </remarks>
internal sealed class SqliteOnlineReader : IOnlineReader
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _select;
    private readonly FeatureType[] _types;
    private readonly string _description;
    private byte[] _keyBuffer = new byte[128];
    private sqlite3_stmt? _begin;
    private sqlite3_stmt? _commit;
    private bool _disposed;

    private SqliteOnlineReader(sqlite3 db, OnlineTableInfo info, IReadOnlyList<CatalogColumn> columns)
    {
        _db = db;
        _types = columns.Select(c => c.Type).ToArray();
        Columns = columns.Select(c => new FeatureColumn(c.Feature, c.Type)).ToArray();
        _description = $"feature set '{info.FeatureSet}' (project '{info.Project}')";
        var sql = new StringBuilder("SELECT ts");
        foreach (var c in columns) sql.Append(", ").Append(c.ColumnName);
        sql.Append(" FROM \"").Append(info.TableName).Append("\" WHERE k = ?1;");
        _select = SqliteRaw.Prepare(_db, sql.ToString(), persistent: true);
    }

    /// <summary>Opens a reader on its own connection.</summary>
    public static SqliteOnlineReader Open(string path, TimeSpan busyTimeout, OnlineTableInfo info, IReadOnlyList<CatalogColumn> columns)
    {
        var rc = raw.sqlite3_open_v2(path, out var db, raw.SQLITE_OPEN_READWRITE | raw.SQLITE_OPEN_NOMUTEX | raw.SQLITE_OPEN_PRIVATECACHE, null);
        try
        {
            if (rc != raw.SQLITE_OK) throw SqliteRaw.Error(db, rc);
            raw.sqlite3_busy_timeout(db, (int)busyTimeout.TotalMilliseconds);
            return new SqliteOnlineReader(db, info, columns);
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    public IReadOnlyList<FeatureColumn> Columns { get; }

    public bool TryRead(string entityKey, Span<FeatureValue> destination, out long eventTime)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(entityKey);
        if (destination.Length < _types.Length)
            throw new ArgumentException($"The destination has {destination.Length} values; the reader returns {_types.Length} (one per column of Columns).", nameof(destination));
        return ReadOne(entityKey, destination, out eventTime);
    }

    /// <summary>
    /// Reads a batch inside one explicit read transaction (<c>BEGIN</c> ... <c>COMMIT</c>): one WAL snapshot and one
    /// read lock for the whole batch instead of one per key, and every row comes from the same commit.
    /// </summary>
    public int TryReadMany(ReadOnlySpan<string?> entityKeys, Span<FeatureValue> destination, Span<long> eventTimes, Span<bool> found)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var width = OnlineReads.CheckMany(entityKeys.Length, _types.Length, destination.Length, eventTimes.Length, found.Length);
        if (entityKeys.Length == 0) return 0;

        // A single key gains nothing from the explicit transaction (two more statements); its implicit one is the same.
        var began = entityKeys.Length > 1 && Begin();
        var hits = 0;
        try
        {
            for (var i = 0; i < entityKeys.Length; i++)
            {
                long time = 0;
                var hit = entityKeys[i] is { } key && ReadOne(key, destination.Slice(i * width, width), out time);
                eventTimes[i] = time;
                found[i] = hit;
                if (hit) hits++;
            }
        }
        finally
        {
            if (began) End();
        }

        return hits;
    }

    private bool Begin()
    {
        // Never nest: a reader holds no transaction between calls, but be safe if one is open (autocommit off).
        if (raw.sqlite3_get_autocommit(_db) == 0) return false;
        _begin ??= SqliteRaw.Prepare(_db, "BEGIN;", persistent: true);
        _commit ??= SqliteRaw.Prepare(_db, "COMMIT;", persistent: true);
        SqliteRaw.Execute(_db, _begin);
        return true;
    }

    private void End()
    {
        // A failed step can end the transaction by itself; commit only what is still open. A read-only COMMIT does not
        // fail in practice, but if it does, roll back so the reader never keeps an old snapshot.
        if (raw.sqlite3_get_autocommit(_db) != 0) return;
        if (raw.sqlite3_step(_commit) == raw.SQLITE_DONE)
        {
            raw.sqlite3_reset(_commit);
            return;
        }
        raw.sqlite3_reset(_commit);
        if (raw.sqlite3_get_autocommit(_db) == 0) raw.sqlite3_exec(_db, "ROLLBACK;");
    }

    private bool ReadOne(string entityKey, Span<FeatureValue> destination, out long eventTime)
    {
        var stmt = _select;
        SqliteRaw.BindText(stmt, 1, entityKey, ref _keyBuffer);
        var rc = raw.sqlite3_step(stmt);
        try
        {
            if (rc == raw.SQLITE_DONE)
            {
                eventTime = 0;
                return false;
            }
            if (rc != raw.SQLITE_ROW)
                throw new FeatureStoreException(rc == raw.SQLITE_ERROR
                    ? $"Reading the online table of {_description} failed: {raw.sqlite3_errmsg(_db).utf8_to_string()}. If the table was dropped, prepare it again and open a new reader."
                    : $"Reading the online table of {_description} failed: {raw.sqlite3_errmsg(_db).utf8_to_string()}.", SqliteRaw.Error(_db, rc));

            eventTime = raw.sqlite3_column_int64(stmt, 0);
            var types = _types;
            for (var i = 0; i < types.Length; i++)
            {
                // Read the value first: NULL reads as 0 (or an empty text), so the type is only asked for those.
                var column = i + 1;
                var type = types[i];
                if (type == FeatureType.Double)
                {
                    var d = raw.sqlite3_column_double(stmt, column);
                    destination[i] = d == 0 && IsNull(stmt, column) ? FeatureValue.Null(type) : FeatureValue.FromDouble(d);
                }
                else if (type == FeatureType.String)
                {
                    var bytes = raw.sqlite3_column_blob(stmt, column);
                    destination[i] = bytes.IsEmpty
                        ? IsNull(stmt, column) ? FeatureValue.Null(type) : FeatureValue.FromString(string.Empty)
                        : FeatureValue.FromString(Encoding.UTF8.GetString(bytes));
                }
                else
                {
                    var n = raw.sqlite3_column_int64(stmt, column);
                    destination[i] = n == 0 && IsNull(stmt, column) ? FeatureValue.Null(type) : type switch
                    {
                        FeatureType.Int64 => FeatureValue.FromInt64(n),
                        FeatureType.Boolean => FeatureValue.FromBoolean(n != 0),
                        _ => FeatureValue.FromTimestamp(n),
                    };
                }
            }
            return true;
        }
        finally
        {
            // Outside TryReadMany's transaction this ends the statement's implicit read transaction, so the next read
            // sees the latest commit.
            raw.sqlite3_reset(stmt);
        }
    }

    private static bool IsNull(sqlite3_stmt stmt, int column) => raw.sqlite3_column_type(stmt, column) == raw.SQLITE_NULL;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _select.Dispose();
        _begin?.Dispose();
        _commit?.Dispose();
        _db.Dispose();
    }
}
