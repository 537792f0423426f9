using System.Globalization;
using Microsoft.Data.Sqlite;

using static MLOps.Storage.Sqlite.SqliteCommands;

namespace MLOps.Storage.Sqlite;

public sealed partial class SqliteMetadataStore
{
    private sealed class SpecPart(SqliteMetadataStore store) : ISpecRecords
    {
        private const string Latest = "latest";
        private const string Columns = "s.project, s.kind, s.name, s.version, s.body, s.description, s.labels, s.created, s.updated, s.status";

        public Task<SpecRecord> SaveAsync(NewSpec spec, CancellationToken cancellationToken = default)
        {
            Throw.IfNull(spec);
            return store.WriteAsync((c, tx) =>
            {
                // Compare with the version the 'latest' tag points at; number new versions after the highest one.
                var current = Query(c, tx, $"""
                    SELECT s.version, s.body FROM specs s
                    JOIN spec_tags t ON t.project = s.project AND t.kind = s.kind AND t.name = s.name AND t.version = s.version
                    WHERE s.project = $p AND s.kind = $k AND s.name = $n AND t.tag = '{Latest}';
                    """, r => (Version: r.GetInt32(0), Body: r.GetString(1)),
                    ("$p", spec.Project), ("$k", spec.Kind), ("$n", spec.Name)).FirstOrDefault();
                int version;
                if (current.Body is not null && string.Equals(current.Body, spec.Body, StringComparison.Ordinal))
                {
                    version = current.Version;
                }
                else
                {
                    version = Convert.ToInt32(Scalar(c, tx, "SELECT COALESCE(MAX(version), 0) + 1 FROM specs WHERE project = $p AND kind = $k AND name = $n;",
                        ("$p", spec.Project), ("$k", spec.Kind), ("$n", spec.Name)), CultureInfo.InvariantCulture);
                    Exec(c, tx, """
                        INSERT INTO specs(project, kind, name, version, body, description, labels, created, updated, status)
                        VALUES ($p, $k, $n, $v, $b, $d, $l, $t, $t, NULL);
                        """,
                        ("$p", spec.Project), ("$k", spec.Kind), ("$n", spec.Name), ("$v", version), ("$b", spec.Body),
                        ("$d", spec.Description), ("$l", ToJson(spec.Labels ?? new Dictionary<string, string>())), ("$t", spec.Created.UtcTicks));
                    SetTag(c, tx, spec.Project, spec.Kind, spec.Name, Latest, version);
                }
                return Load(c, tx, "s.project = $p AND s.kind = $k AND s.name = $n AND s.version = $v", null,
                    ("$p", spec.Project), ("$k", spec.Kind), ("$n", spec.Name), ("$v", version))[0];
            }, cancellationToken);
        }

        public Task<SpecRecord?> GetAsync(string project, string kind, string name, string versionOrTag = Latest, CancellationToken cancellationToken = default)
            => Task.FromResult(store.Read(c =>
            {
                var list = int.TryParse(versionOrTag, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
                    ? Load(c, null, "s.project = $p AND s.kind = $k AND s.name = $n AND s.version = $v", null,
                        ("$p", project), ("$k", kind), ("$n", name), ("$v", v))
                    : Load(c, null, "s.project = $p AND s.kind = $k AND s.name = $n AND t.tag = $t", "$t",
                        ("$p", project), ("$k", kind), ("$n", name), ("$t", versionOrTag));
                return list.FirstOrDefault();
            }));

        public Task<IReadOnlyList<SpecRecord>> ListAsync(string project, string kind, CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlyList<SpecRecord>>(store.Read(c =>
                Load(c, null, "s.project = $p AND s.kind = $k AND t.tag = $t", "$t", ("$p", project), ("$k", kind), ("$t", Latest))));

        public Task<IReadOnlyList<SpecRecord>> ListVersionsAsync(string project, string kind, string name, CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlyList<SpecRecord>>(store.Read(c =>
                Load(c, null, "s.project = $p AND s.kind = $k AND s.name = $n", null, ("$p", project), ("$k", kind), ("$n", name))));

        public Task SetTagAsync(string project, string kind, string name, string tag, int version, CancellationToken cancellationToken = default)
            => store.WriteAsync((c, tx) =>
            {
                if (Scalar(c, tx, "SELECT 1 FROM specs WHERE project = $p AND kind = $k AND name = $n AND version = $v;",
                        ("$p", project), ("$k", kind), ("$n", name), ("$v", version)) is null)
                    throw VersionNotFound(c, tx, project, kind, name, version);
                SetTag(c, tx, project, kind, name, tag, version);
            }, cancellationToken);

        public Task UpdateStatusAsync(string project, string kind, string name, int version, string status, DateTimeOffset now, CancellationToken cancellationToken = default)
            => store.WriteAsync((c, tx) =>
            {
                if (Exec(c, tx, "UPDATE specs SET status = $s, updated = $t WHERE project = $p AND kind = $k AND name = $n AND version = $v;",
                        ("$s", status), ("$t", now.UtcTicks), ("$p", project), ("$k", kind), ("$n", name), ("$v", version)) == 0)
                    throw VersionNotFound(c, tx, project, kind, name, version);
            }, cancellationToken);

        public Task<bool> DeleteAsync(string project, string kind, string name, CancellationToken cancellationToken = default)
            => store.WriteAsync((c, tx) =>
            {
                Exec(c, tx, "DELETE FROM spec_tags WHERE project = $p AND kind = $k AND name = $n;", ("$p", project), ("$k", kind), ("$n", name));
                return Exec(c, tx, "DELETE FROM specs WHERE project = $p AND kind = $k AND name = $n;", ("$p", project), ("$k", kind), ("$n", name)) > 0;
            }, cancellationToken);

        public Task<long> ClaimSequenceAsync(string project, string scope, string token, DateTimeOffset now, CancellationToken cancellationToken = default)
            => store.WriteAsync((c, tx) =>
            {
                // One IMMEDIATE transaction: the read of the existing claim or of the scope's maximum and the insert cannot
                // interleave with another writer, in this process or another one.
                var existing = Scalar(c, tx, "SELECT seq FROM sequences WHERE project = $p AND scope = $s AND token = $tok;",
                    ("$p", project), ("$s", scope), ("$tok", token));
                if (existing is not null) return Convert.ToInt64(existing, CultureInfo.InvariantCulture);
                var next = Convert.ToInt64(Scalar(c, tx, "SELECT COALESCE(MAX(seq), 0) + 1 FROM sequences WHERE project = $p AND scope = $s;",
                    ("$p", project), ("$s", scope)), CultureInfo.InvariantCulture);
                Exec(c, tx, "INSERT INTO sequences(project, scope, token, seq, created) VALUES ($p, $s, $tok, $seq, $t);",
                    ("$p", project), ("$s", scope), ("$tok", token), ("$seq", next), ("$t", now.UtcTicks));
                return next;
            }, cancellationToken);

        public Task<bool> ReleaseSequenceAsync(string project, string scope, string token, CancellationToken cancellationToken = default)
            => store.WriteAsync((c, tx) => Exec(c, tx, "DELETE FROM sequences WHERE project = $p AND scope = $s AND token = $tok;",
                ("$p", project), ("$s", scope), ("$tok", token)) > 0, cancellationToken);

        private static void SetTag(SqliteConnection c, SqliteTransaction tx, string project, string kind, string name, string tag, int version)
            => Exec(c, tx, "INSERT INTO spec_tags(project, kind, name, tag, version) VALUES ($p, $k, $n, $t, $v) ON CONFLICT(project, kind, name, tag) DO UPDATE SET version = excluded.version;",
                ("$p", project), ("$k", kind), ("$n", name), ("$t", tag), ("$v", version));

        private static NotFoundException VersionNotFound(SqliteConnection c, SqliteTransaction tx, string project, string kind, string name, int version)
        {
            var latest = Scalar(c, tx, "SELECT MAX(version) FROM specs WHERE project = $p AND kind = $k AND name = $n;", ("$p", project), ("$k", kind), ("$n", name));
            return latest is null
                ? new NotFoundException(kind, name, $"The {kind} '{name}' does not exist in project '{project}'. Save it first (ISpecRecords.SaveAsync), or list the existing ones with ISpecRecords.ListAsync(\"{project}\", \"{kind}\").")
                : new NotFoundException(kind + " version", $"{name}:{version}", $"The {kind} '{name}' of project '{project}' has no version {version}; its versions are 1 to {latest}.");
        }

        /// <summary>Loads versions (oldest first within a name, names in order) with their tags. <paramref name="tagParameter"/>
        /// names the parameter to join the tag table on, when the filter selects by tag.</summary>
        private static List<SpecRecord> Load(SqliteConnection c, SqliteTransaction? tx, string where, string? tagParameter, params (string, object?)[] parameters)
        {
            var join = tagParameter is null ? "" : "JOIN spec_tags t ON t.project = s.project AND t.kind = s.kind AND t.name = s.name AND t.version = s.version";
            var list = Query(c, tx, $"SELECT {Columns} FROM specs s {join} WHERE {where} ORDER BY s.name, s.version;", r => new SpecRecord
            {
                Project = r.GetString(0),
                Kind = r.GetString(1),
                Name = r.GetString(2),
                Version = r.GetInt32(3),
                Body = r.GetString(4),
                Description = Str(r, 5),
                Labels = FromJson<Dictionary<string, string>>(r.GetString(6)),
                Created = Time(r.GetInt64(7)),
                Updated = Time(r.GetInt64(8)),
                Status = Str(r, 9),
                Tags = [],
            }, parameters);
            if (list.Count == 0) return list;
            // Every loaded version is of one project and kind: read their tags in one query, not one per version.
            var tags = Query(c, tx, "SELECT name, version, tag FROM spec_tags WHERE project = $p AND kind = $k AND name IN (SELECT value FROM json_each($names)) ORDER BY tag;",
                    r => (Name: r.GetString(0), Version: r.GetInt32(1), Tag: r.GetString(2)),
                    ("$p", list[0].Project), ("$k", list[0].Kind), ("$names", ToJson(list.Select(s => s.Name).Distinct())))
                .ToLookup(t => (t.Name, t.Version), t => t.Tag);
            for (var i = 0; i < list.Count; i++)
                list[i] = list[i] with { Tags = tags[(list[i].Name, list[i].Version)].ToList() };
            return list;
        }
    }
}
