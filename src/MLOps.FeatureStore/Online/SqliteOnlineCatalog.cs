using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Sql = MLOps.Storage.Sqlite.SqliteCommands;

namespace MLOps.FeatureStore.Online;

/// <summary>
/// The catalog of the SQLite online store: which SQL table holds a feature set, and which positional column
/// (<c>c0</c>, <c>c1</c>, ...) holds each feature, so feature names can be any text.
/// </summary>
internal static class SqliteOnlineCatalog
{
    /// <summary>The catalog version this build writes (<c>PRAGMA user_version</c> of the file).</summary>
    public const int SchemaVersion = 1;

    public const string CreateSql = """
        CREATE TABLE IF NOT EXISTS online_tables(
            project TEXT NOT NULL,
            feature_set TEXT NOT NULL,
            table_name TEXT NOT NULL UNIQUE,
            PRIMARY KEY(project, feature_set)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS online_columns(
            table_name TEXT NOT NULL,
            position INTEGER NOT NULL,
            feature TEXT NOT NULL,
            type TEXT NOT NULL,
            PRIMARY KEY(table_name, position),
            UNIQUE(table_name, feature)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS window_state(
            table_name TEXT NOT NULL,
            k TEXT NOT NULL,
            state BLOB NOT NULL,
            PRIMARY KEY(table_name, k)) WITHOUT ROWID;
        """;

    /// <summary>
    /// The SQL table name of a feature set: <c>fs_&lt;project&gt;_&lt;set&gt;_&lt;hash&gt;</c>, with the names reduced to
    /// lower-case ASCII letters, digits and '_' and shortened, plus 8 hex digits of a SHA-256 of the exact names, so
    /// names that sanitize alike still differ. Deterministic, so every process computes the same name.
    /// </summary>
    public static string TableName(string project, string featureSet)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(project + "\0" + featureSet), hash);
        return $"fs_{Sanitize(project, 24)}_{Sanitize(featureSet, 32)}_{Convert.ToHexStringLower(hash[..4])}";
    }

    private static string Sanitize(string name, int max)
    {
        var sb = new StringBuilder(Math.Min(name.Length, max));
        foreach (var ch in name)
        {
            if (sb.Length == max) break;
            sb.Append(char.IsAsciiLetterOrDigit(ch) ? char.ToLowerInvariant(ch) : '_');
        }
        return sb.ToString();
    }

    public static string ColumnName(int position) => "c" + position.ToString(CultureInfo.InvariantCulture);

    public static string Affinity(FeatureType type) => type switch
    {
        FeatureType.Double => "REAL",
        FeatureType.String => "TEXT",
        _ => "INTEGER", // Int64, Boolean (0/1), Timestamp (microseconds)
    };

    /// <summary>Reads the catalog entry of a feature set, or <see langword="null"/> when it has no table.</summary>
    public static OnlineTableInfo? Load(SqliteConnection c, SqliteTransaction? tx, string project, string featureSet, long schemaCookie)
    {
        if (Sql.Scalar(c, tx, "SELECT table_name FROM online_tables WHERE project = $p AND feature_set = $s;", ("$p", project), ("$s", featureSet)) is not string name)
            return null;
        var columns = Sql.Query(c, tx, "SELECT position, feature, type FROM online_columns WHERE table_name = $t ORDER BY position;",
            r => new CatalogColumn(r.GetInt32(0), r.GetString(1), ParseType(name, r.GetString(1), r.GetString(2))), ("$t", name));
        return new OnlineTableInfo(project, featureSet, name, columns, schemaCookie);
    }

    private static FeatureType ParseType(string table, string feature, string text)
        => Enum.TryParse<FeatureType>(text, ignoreCase: false, out var type) && Enum.IsDefined(type)
            ? type
            : throw new FeatureStoreException($"Feature '{feature}' of online table '{table}' has type '{text}', which this version of MLOps.FeatureStore does not know. Upgrade the package.");

    /// <summary>The schema cookie, which changes whenever any process changes any table (so a cached catalog entry is
    /// current while the cookie is unchanged: every catalog change also runs DDL).</summary>
    public static long SchemaCookie(SqliteConnection c, SqliteTransaction? tx)
        => Convert.ToInt64(Sql.Scalar(c, tx, "PRAGMA schema_version;"), CultureInfo.InvariantCulture);

    /// <summary>
    /// Creates the table of a feature set or adds its new features, inside the caller's IMMEDIATE transaction (so
    /// concurrent callers, in this or other processes, run one after the other and the later sees the earlier's work).
    /// </summary>
    /// <returns>Whether anything changed.</returns>
    public static bool Prepare(SqliteConnection c, SqliteTransaction tx, OnlineTable table)
    {
        var info = Load(c, tx, table.Project, table.FeatureSet, 0);
        if (info is null)
        {
            var name = TableName(table.Project, table.FeatureSet);
            var columns = new StringBuilder();
            for (var i = 0; i < table.Features.Count; i++)
                columns.Append(CultureInfo.InvariantCulture, $", {ColumnName(i)} {Affinity(table.Features[i].Type)}");
            Sql.Exec(c, tx, $"CREATE TABLE \"{name}\"(k TEXT PRIMARY KEY NOT NULL, ts INTEGER NOT NULL{columns}) WITHOUT ROWID;");
            Sql.Exec(c, tx, "INSERT INTO online_tables(project, feature_set, table_name) VALUES ($p, $s, $t);",
                ("$p", table.Project), ("$s", table.FeatureSet), ("$t", name));
            for (var i = 0; i < table.Features.Count; i++) AddCatalogColumn(c, tx, name, i, table.Features[i]);
            return true;
        }

        var changed = false;
        var next = info.Columns.Count == 0 ? 0 : info.Columns[^1].Position + 1;
        foreach (var feature in table.Features)
        {
            if (info.TryGetColumn(feature.Name, out var existing))
            {
                if (existing.Type != feature.Type) throw TypeChanged(table, feature, existing.Type);
                continue;
            }
            Sql.Exec(c, tx, $"ALTER TABLE \"{info.TableName}\" ADD COLUMN {ColumnName(next)} {Affinity(feature.Type)};");
            AddCatalogColumn(c, tx, info.TableName, next, feature);
            next++;
            changed = true;
        }
        return changed;
    }

    private static void AddCatalogColumn(SqliteConnection c, SqliteTransaction tx, string table, int position, FeatureColumn feature)
        => Sql.Exec(c, tx, "INSERT INTO online_columns(table_name, position, feature, type) VALUES ($t, $i, $f, $y);",
            ("$t", table), ("$i", position), ("$f", feature.Name), ("$y", feature.Type.ToString()));

    public static ValidationException TypeChanged(OnlineTable table, FeatureColumn feature, FeatureType stored)
        => new($"Feature '{feature.Name}' of feature set '{table.FeatureSet}' (project '{table.Project}') is stored online as {stored} and cannot change to {feature.Type}. "
            + $"Keep the type {stored}, give the feature another name, or drop the online table (DropAsync) and ingest again.");

    /// <summary>Drops a feature set's table, catalog rows and window state, inside the caller's transaction.</summary>
    /// <returns>Whether the table existed.</returns>
    public static bool Drop(SqliteConnection c, SqliteTransaction tx, string project, string featureSet)
    {
        if (Sql.Scalar(c, tx, "SELECT table_name FROM online_tables WHERE project = $p AND feature_set = $s;", ("$p", project), ("$s", featureSet)) is not string name)
            return false;
        Sql.Exec(c, tx, $"DROP TABLE IF EXISTS \"{name}\";");
        Sql.Exec(c, tx, "DELETE FROM online_columns WHERE table_name = $t;", ("$t", name));
        Sql.Exec(c, tx, "DELETE FROM window_state WHERE table_name = $t;", ("$t", name));
        Sql.Exec(c, tx, "DELETE FROM online_tables WHERE table_name = $t;", ("$t", name));
        return true;
    }
}

/// <summary>A feature's column in the catalog.</summary>
internal readonly record struct CatalogColumn(int Position, string Feature, FeatureType Type)
{
    public string ColumnName => SqliteOnlineCatalog.ColumnName(Position);
}

/// <summary>An immutable snapshot of a feature set's catalog entry.</summary>
internal sealed class OnlineTableInfo
{
    private readonly Dictionary<string, int> _byFeature;

    public OnlineTableInfo(string project, string featureSet, string tableName, List<CatalogColumn> columns, long schemaCookie)
    {
        Project = project;
        FeatureSet = featureSet;
        TableName = tableName;
        Columns = columns;
        SchemaCookie = schemaCookie;
        _byFeature = new Dictionary<string, int>(columns.Count, StringComparer.Ordinal);
        for (var i = 0; i < columns.Count; i++) _byFeature[columns[i].Feature] = i;
    }

    public string Project { get; }

    public string FeatureSet { get; }

    public string TableName { get; }

    /// <summary>The columns by position.</summary>
    public IReadOnlyList<CatalogColumn> Columns { get; }

    public long SchemaCookie { get; }

    public bool TryGetColumn(string feature, out CatalogColumn column)
    {
        if (_byFeature.TryGetValue(feature, out var i))
        {
            column = Columns[i];
            return true;
        }
        column = default;
        return false;
    }

    public string KnownFeatures => Columns.Count == 0 ? "(none)" : string.Join(", ", Columns.Select(c => c.Feature));
}
