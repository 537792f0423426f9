using System.Globalization;
using Microsoft.Data.Sqlite;

using static MLOps.Storage.Sqlite.SqliteCommands;

namespace MLOps.Storage.Sqlite;

public sealed partial class SqliteMetadataStore
{
    private sealed class ArtifactPart(SqliteMetadataStore store) : IArtifactRecords
    {
        private const string Columns = "a.project, a.key, a.version, a.kind, a.hash, a.size, a.file_name, a.created, a.producer_run_id, a.description, a.metadata";

        public async Task<ArtifactRecord> AddVersionAsync(NewArtifact artifact, CancellationToken cancellationToken = default)
        {
            var version = await store.WriteAsync((c, tx) =>
            {
                var v = Convert.ToInt32(Scalar(c, tx, "SELECT COALESCE(MAX(version), 0) + 1 FROM artifacts WHERE project = $p AND key = $k;",
                    ("$p", artifact.Project), ("$k", artifact.Key)), CultureInfo.InvariantCulture);
                Exec(c, tx, """
                    INSERT INTO artifacts(project, key, version, kind, hash, size, file_name, created, producer_run_id, description, metadata)
                    VALUES ($p, $k, $v, $kind, $h, $s, $f, $c, $r, $d, $m);
                    """,
                    ("$p", artifact.Project), ("$k", artifact.Key), ("$v", v), ("$kind", (int)artifact.Kind), ("$h", artifact.Hash),
                    ("$s", artifact.Size), ("$f", artifact.FileName), ("$c", artifact.Created.UtcTicks), ("$r", artifact.ProducerRunId),
                    ("$d", artifact.Description), ("$m", artifact.MetadataJson));
                foreach (var tag in artifact.Tags.Append("latest").Distinct(StringComparer.Ordinal))
                    SetTag(c, tx, artifact.Project, artifact.Key, tag, v);
                return v;
            }, cancellationToken).ConfigureAwait(false);
            return (await GetAsync(artifact.Project, artifact.Key, version.ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false))!;
        }

        private static void SetTag(SqliteConnection c, SqliteTransaction tx, string project, string key, string tag, int version)
            => Exec(c, tx, "INSERT INTO artifact_tags(project, key, tag, version) VALUES ($p, $k, $t, $v) ON CONFLICT(project, key, tag) DO UPDATE SET version = excluded.version;",
                ("$p", project), ("$k", key), ("$t", tag), ("$v", version));

        public Task<ArtifactRecord?> GetAsync(string project, string key, string versionOrTag, CancellationToken cancellationToken = default)
            => Task.FromResult(store.Read(c =>
            {
                var list = int.TryParse(versionOrTag, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
                    ? Load(c, $"SELECT {Columns} FROM artifacts a WHERE a.project = $p AND a.key = $k AND a.version = $v;", ("$p", project), ("$k", key), ("$v", v))
                    : Load(c, $"SELECT {Columns} FROM artifacts a JOIN artifact_tags t ON t.project = a.project AND t.key = a.key AND t.version = a.version WHERE a.project = $p AND a.key = $k AND t.tag = $t;",
                        ("$p", project), ("$k", key), ("$t", versionOrTag));
                return list.FirstOrDefault();
            }));

        public Task<IReadOnlyList<ArtifactRecord>> ListAsync(string project, ArtifactKind? kind = null, CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlyList<ArtifactRecord>>(store.Read(c => Load(c,
                $"SELECT {Columns} FROM artifacts a JOIN artifact_tags t ON t.project = a.project AND t.key = a.key AND t.version = a.version AND t.tag = 'latest' WHERE a.project = $p AND ($kind IS NULL OR a.kind = $kind) ORDER BY a.key;",
                ("$p", project), ("$kind", kind is null ? null : (int)kind.Value))));

        public Task<IReadOnlyList<ArtifactRecord>> ListVersionsAsync(string project, string key, CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlyList<ArtifactRecord>>(store.Read(c => Load(c,
                $"SELECT {Columns} FROM artifacts a WHERE a.project = $p AND a.key = $k ORDER BY a.version DESC;", ("$p", project), ("$k", key))));

        public Task SetTagAsync(string project, string key, string tag, int version, CancellationToken cancellationToken = default)
            => store.WriteAsync((c, tx) =>
            {
                if (Scalar(c, tx, "SELECT 1 FROM artifacts WHERE project = $p AND key = $k AND version = $v;", ("$p", project), ("$k", key), ("$v", version)) is null)
                    throw new NotFoundException("artifact", $"{key}:{version}", $"Artifact '{key}' of project '{project}' has no version {version}. List its versions with project.Artifacts.ListVersionsAsync(\"{key}\").");
                SetTag(c, tx, project, key, tag, version);
            }, cancellationToken);

        public Task<IReadOnlySet<string>> ListContentHashesAsync(CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlySet<string>>(store.Read(c =>
                Query(c, null, "SELECT hash FROM artifacts UNION SELECT hash FROM model_versions UNION SELECT f.value FROM model_versions v, json_each(v.files) f;",
                    r => r.GetString(0)).ToHashSet(StringComparer.Ordinal)));

        private static List<ArtifactRecord> Load(SqliteConnection c, string sql, params (string, object?)[] parameters)
        {
            var list = Query(c, null, sql, r => new ArtifactRecord
            {
                Project = r.GetString(0),
                Key = r.GetString(1),
                Version = r.GetInt32(2),
                Kind = (ArtifactKind)r.GetInt32(3),
                Hash = r.GetString(4),
                Size = r.GetInt64(5),
                FileName = r.GetString(6),
                Created = Time(r.GetInt64(7)),
                ProducerRunId = Str(r, 8),
                Description = Str(r, 9),
                MetadataJson = Str(r, 10),
            }, parameters);
            if (list.Count == 0) return list;
            // Every listed version is of one project: read their tags in one query, not one per version.
            var tags = Query(c, null, "SELECT key, version, tag FROM artifact_tags WHERE project = $p AND key IN (SELECT value FROM json_each($keys)) ORDER BY tag;",
                    r => (Key: r.GetString(0), Version: r.GetInt32(1), Tag: r.GetString(2)),
                    ("$p", list[0].Project), ("$keys", ToJson(list.Select(a => a.Key).Distinct())))
                .ToLookup(t => (t.Key, t.Version), t => t.Tag);
            for (var i = 0; i < list.Count; i++)
                list[i] = list[i] with { Tags = tags[(list[i].Key, list[i].Version)].ToList() };
            return list;
        }
    }
}
