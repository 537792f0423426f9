using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace MLOps.FeatureStore.Online;

/// <summary>Thin helpers over SQLitePCL for the online store's hot paths (no boxing, no per-call command objects).</summary>
internal static class SqliteRaw
{
    /// <summary>SQLITE_PREPARE_PERSISTENT: the statement is kept for a long time and reused many times.</summary>
    private const uint PreparePersistent = 0x01;

    public static sqlite3_stmt Prepare(sqlite3 db, string sql, bool persistent = false)
    {
        var rc = raw.sqlite3_prepare_v3(db, sql, persistent ? PreparePersistent : 0, out var stmt);
        if (rc != raw.SQLITE_OK)
        {
            var e = Error(db, rc);
            stmt.Dispose();
            throw e;
        }
        return stmt;
    }

    /// <summary>Steps a statement that returns no rows, then resets it.</summary>
    public static void Execute(sqlite3 db, sqlite3_stmt stmt)
    {
        var rc = raw.sqlite3_step(stmt);
        if (rc == raw.SQLITE_DONE)
        {
            raw.sqlite3_reset(stmt);
            return;
        }
        var e = Error(db, rc);
        raw.sqlite3_reset(stmt);
        throw e;
    }

    public static SqliteException Error(sqlite3 db, int rc)
        => new(raw.sqlite3_errmsg(db).utf8_to_string(), rc, raw.sqlite3_extended_errcode(db));

    /// <summary>SQLITE_BUSY or SQLITE_LOCKED, including their extended codes.</summary>
    public static bool IsBusy(SqliteException e) => Storage.Sqlite.SqliteDefaults.IsBusy(e);

    public static void BindText(sqlite3_stmt stmt, int index, ReadOnlySpan<byte> utf8)
    {
        // An empty span pins to a null pointer, which SQLite binds as NULL: bind an empty string instead.
        if (utf8.IsEmpty) raw.sqlite3_bind_text(stmt, index, string.Empty);
        else raw.sqlite3_bind_text(stmt, index, utf8);
    }

    /// <summary>Encodes a string as UTF-8 into a reusable buffer (grown when needed) and binds it.</summary>
    public static void BindText(sqlite3_stmt stmt, int index, string value, ref byte[] buffer)
    {
        var max = System.Text.Encoding.UTF8.GetMaxByteCount(value.Length);
        if (buffer.Length < max) buffer = new byte[Math.Max(max, buffer.Length * 2)];
        var n = System.Text.Encoding.UTF8.GetBytes(value, buffer);
        BindText(stmt, index, buffer.AsSpan(0, n));
    }

    /// <summary>A text column as a string.</summary>
    public static string ColumnString(sqlite3_stmt stmt, int index)
    {
        var bytes = raw.sqlite3_column_blob(stmt, index);
        return bytes.IsEmpty ? string.Empty : System.Text.Encoding.UTF8.GetString(bytes);
    }

    /// <summary>A blob column as a new array.</summary>
    public static byte[] ColumnBytes(sqlite3_stmt stmt, int index) => raw.sqlite3_column_blob(stmt, index).ToArray();
}
