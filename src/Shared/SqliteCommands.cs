using Microsoft.Data.Sqlite;

namespace MLOps.Storage.Sqlite;

/// <summary>
/// Small ADO.NET helpers for SQL that is not on a hot path (schema set-up, catalogs): a command with named parameters,
/// executed for its row count, its first value or a list of mapped rows. Linked as source into every package that
/// keeps a SQLite database (the metadata store, the online feature store), so no package depends on another's internals.
/// </summary>
internal static class SqliteCommands
{
    /// <summary>A command on the connection (and transaction) with the SQL and its named parameters (null as DBNull).</summary>
    public static SqliteCommand Command(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters)
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    /// <summary>Executes SQL that returns no rows.</summary>
    /// <returns>The number of rows changed.</returns>
    public static int Exec(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(c, tx, sql, parameters);
        return cmd.ExecuteNonQuery();
    }

    /// <summary>Executes SQL and returns the first column of the first row (null for none or NULL).</summary>
    public static object? Scalar(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(c, tx, sql, parameters);
        var v = cmd.ExecuteScalar();
        return v is DBNull ? null : v;
    }

    /// <summary>Executes SQL and maps each row.</summary>
    public static List<T> Query<T>(SqliteConnection c, SqliteTransaction? tx, string sql, Func<SqliteDataReader, T> map, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(c, tx, sql, parameters);
        using var r = cmd.ExecuteReader();
        var list = new List<T>();
        while (r.Read()) list.Add(map(r));
        return list;
    }
}
