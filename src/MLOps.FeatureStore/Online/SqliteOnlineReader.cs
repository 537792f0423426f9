using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace MLOps.FeatureStore.Online;

/// <summary>
/// A point reader of one online table: its own connection and one persistent prepared statement
/// <c>SELECT ts, cX, cY, ... FROM t WHERE k = ?1</c>, bound, stepped and reset for every read. The statement is reset
/// after each read, so no read transaction stays open and later writes (from any connection or process) are seen.
/// </summary>
/// <remarks>Not thread-safe. It keeps working after its store is disposed, until it is disposed itself.</remarks>
internal sealed class SqliteOnlineReader : IOnlineReader
{
    private readonly SqliteConnection _connection;
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _select;
    private readonly FeatureType[] _types;
    private readonly string _description;
    private byte[] _keyBuffer = new byte[128];
    private bool _disposed;

    public SqliteOnlineReader(SqliteConnection connection, OnlineTableInfo info, IReadOnlyList<CatalogColumn> columns)
    {
        _connection = connection;
        _db = connection.Handle!;
        _types = columns.Select(c => c.Type).ToArray();
        Columns = columns.Select(c => new FeatureColumn(c.Feature, c.Type)).ToArray();
        _description = $"feature set '{info.FeatureSet}' (project '{info.Project}')";
        var sql = new StringBuilder("SELECT ts");
        foreach (var c in columns) sql.Append(", ").Append(c.ColumnName);
        sql.Append(" FROM \"").Append(info.TableName).Append("\" WHERE k = ?1;");
        _select = SqliteRaw.Prepare(_db, sql.ToString(), persistent: true);
    }

    public IReadOnlyList<FeatureColumn> Columns { get; }

    public bool TryRead(string entityKey, Span<FeatureValue> destination, out long eventTime)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(entityKey);
        if (destination.Length < _types.Length)
            throw new ArgumentException($"The destination has {destination.Length} values; the reader returns {_types.Length} (one per column of Columns).", nameof(destination));

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
                throw new MLOpsException(rc == raw.SQLITE_ERROR
                    ? $"Reading the online table of {_description} failed: {raw.sqlite3_errmsg(_db).utf8_to_string()}. If the table was dropped, prepare it again and open a new reader."
                    : $"Reading the online table of {_description} failed: {raw.sqlite3_errmsg(_db).utf8_to_string()}.", SqliteRaw.Error(_db, rc));

            eventTime = raw.sqlite3_column_int64(stmt, 0);
            var types = _types;
            for (var i = 0; i < types.Length; i++)
            {
                var column = i + 1;
                var type = types[i];
                if (raw.sqlite3_column_type(stmt, column) == raw.SQLITE_NULL)
                {
                    destination[i] = FeatureValue.Null(type);
                    continue;
                }
                destination[i] = type switch
                {
                    FeatureType.Double => FeatureValue.FromDouble(raw.sqlite3_column_double(stmt, column)),
                    FeatureType.Int64 => FeatureValue.FromInt64(raw.sqlite3_column_int64(stmt, column)),
                    FeatureType.Boolean => FeatureValue.FromBoolean(raw.sqlite3_column_int64(stmt, column) != 0),
                    FeatureType.String => FeatureValue.FromString(SqliteRaw.ColumnString(stmt, column)),
                    _ => FeatureValue.FromTimestamp(raw.sqlite3_column_int64(stmt, column)),
                };
            }
            return true;
        }
        finally
        {
            // Ends the statement's implicit read transaction, so the next read sees the latest commit.
            raw.sqlite3_reset(stmt);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _select.Dispose();
        _connection.Dispose();
    }
}
