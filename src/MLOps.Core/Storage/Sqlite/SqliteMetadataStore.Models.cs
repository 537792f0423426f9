using System.Globalization;
using Microsoft.Data.Sqlite;

using static MLOps.Storage.Sqlite.SqliteCommands;

namespace MLOps.Storage.Sqlite;

public sealed partial class SqliteMetadataStore
{
    private sealed class ModelPart(SqliteMetadataStore store) : IModelRecords
    {
        private const string VersionColumns = "project, name, version, framework, hash, size, file_name, created, run_id, description, tags, metrics, parameters, input_schema, output_schema, training_data, feature_vector, files";

        public async Task<ModelVersionRecord> AddVersionAsync(NewModelVersion v, CancellationToken cancellationToken = default)
        {
            var number = await store.WriteAsync((c, tx) =>
            {
                Exec(c, tx, "INSERT INTO models(project, name, description, created, tags) VALUES ($p, $n, NULL, $t, '{}') ON CONFLICT(project, name) DO NOTHING;",
                    ("$p", v.Project), ("$n", v.Name), ("$t", v.Created.UtcTicks));
                var next = Convert.ToInt32(Scalar(c, tx, "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE project = $p AND name = $n;",
                    ("$p", v.Project), ("$n", v.Name)), CultureInfo.InvariantCulture);
                Exec(c, tx, $"INSERT INTO model_versions({VersionColumns}) VALUES ($p, $n, $v, $fw, $h, $s, $fn, $c, $r, $d, $tags, $m, $prm, $in, $out, $td, $fv, $files);",
                    ("$p", v.Project), ("$n", v.Name), ("$v", next), ("$fw", v.Framework), ("$h", v.ContentHash), ("$s", v.Size),
                    ("$fn", v.FileName), ("$c", v.Created.UtcTicks), ("$r", v.RunId), ("$d", v.Description), ("$tags", ToJson(v.Tags)),
                    ("$m", ToJson(v.Metrics)), ("$prm", ToJson(v.Parameters)), ("$in", ToJson(v.InputSchema)), ("$out", ToJson(v.OutputSchema)),
                    ("$td", v.TrainingData), ("$fv", v.FeatureVector), ("$files", ToJson(v.Files)));
                return next;
            }, cancellationToken).ConfigureAwait(false);
            return (await GetVersionAsync(v.Project, v.Name, number, cancellationToken).ConfigureAwait(false))!;
        }

        public Task<RegisteredModelRecord?> GetModelAsync(string project, string name, CancellationToken cancellationToken = default)
            => Task.FromResult(store.Read(c => LoadModels(c, "WHERE m.project = $p AND m.name = $n", ("$p", project), ("$n", name)).FirstOrDefault()));

        public Task<IReadOnlyList<RegisteredModelRecord>> ListModelsAsync(string project, CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlyList<RegisteredModelRecord>>(store.Read(c => LoadModels(c, "WHERE m.project = $p", ("$p", project))));

        public Task<ModelVersionRecord?> GetVersionAsync(string project, string name, int version, CancellationToken cancellationToken = default)
            => Task.FromResult(store.Read(c => LoadVersions(c, "WHERE project = $p AND name = $n AND version = $v", ("$p", project), ("$n", name), ("$v", version)).FirstOrDefault()));

        public Task<IReadOnlyList<ModelVersionRecord>> ListVersionsAsync(string project, string name, CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlyList<ModelVersionRecord>>(store.Read(c => LoadVersions(c, "WHERE project = $p AND name = $n", ("$p", project), ("$n", name))));

        public Task SetAliasAsync(string project, string name, string alias, int version, DateTimeOffset now, CancellationToken cancellationToken = default)
            => store.WriteAsync((c, tx) =>
            {
                if (Scalar(c, tx, "SELECT 1 FROM model_versions WHERE project = $p AND name = $n AND version = $v;", ("$p", project), ("$n", name), ("$v", version)) is null)
                    throw VersionNotFound(c, tx, project, name, version);
                var previous = Scalar(c, tx, "SELECT version FROM model_aliases WHERE project = $p AND name = $n AND alias = $a;", ("$p", project), ("$n", name), ("$a", alias));
                Exec(c, tx, "INSERT INTO model_aliases(project, name, alias, version) VALUES ($p, $n, $a, $v) ON CONFLICT(project, name, alias) DO UPDATE SET version = excluded.version;",
                    ("$p", project), ("$n", name), ("$a", alias), ("$v", version));
                Exec(c, tx, "INSERT INTO model_alias_history(project, name, alias, version, previous, at) VALUES ($p, $n, $a, $v, $prev, $t);",
                    ("$p", project), ("$n", name), ("$a", alias), ("$v", version), ("$prev", previous), ("$t", now.UtcTicks));
            }, cancellationToken);

        public Task<bool> DeleteAliasAsync(string project, string name, string alias, DateTimeOffset now, CancellationToken cancellationToken = default)
            => store.WriteAsync((c, tx) =>
            {
                var previous = Scalar(c, tx, "SELECT version FROM model_aliases WHERE project = $p AND name = $n AND alias = $a;", ("$p", project), ("$n", name), ("$a", alias));
                if (previous is null) return false;
                Exec(c, tx, "DELETE FROM model_aliases WHERE project = $p AND name = $n AND alias = $a;", ("$p", project), ("$n", name), ("$a", alias));
                Exec(c, tx, "INSERT INTO model_alias_history(project, name, alias, version, previous, at) VALUES ($p, $n, $a, NULL, $prev, $t);",
                    ("$p", project), ("$n", name), ("$a", alias), ("$prev", previous), ("$t", now.UtcTicks));
                return true;
            }, cancellationToken);

        public Task<IReadOnlyList<AliasChange>> GetAliasHistoryAsync(string project, string name, string alias, CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlyList<AliasChange>>(store.Read(c => Query(c, null,
                "SELECT alias, version, previous, at FROM model_alias_history WHERE project = $p AND name = $n AND alias = $a ORDER BY rowid;",
                r => new AliasChange(r.GetString(0), r.IsDBNull(1) ? null : r.GetInt32(1), r.IsDBNull(2) ? null : r.GetInt32(2), Time(r.GetInt64(3))),
                ("$p", project), ("$n", name), ("$a", alias))));

        public Task UpdateModelAsync(string project, string name, string? description, IReadOnlyDictionary<string, string?>? tags, CancellationToken cancellationToken = default)
            => store.WriteAsync((c, tx) =>
            {
                var json = (string?)Scalar(c, tx, "SELECT tags FROM models WHERE project = $p AND name = $n;", ("$p", project), ("$n", name))
                    ?? throw ModelNotFound(c, tx, project, name);
                Exec(c, tx, "UPDATE models SET description = COALESCE($d, description), tags = $t WHERE project = $p AND name = $n;",
                    ("$d", description), ("$t", Merge(json, tags)), ("$p", project), ("$n", name));
            }, cancellationToken);

        public Task UpdateVersionAsync(string project, string name, int version, string? description, IReadOnlyDictionary<string, string?>? tags, CancellationToken cancellationToken = default)
            => store.WriteAsync((c, tx) =>
            {
                var json = (string?)Scalar(c, tx, "SELECT tags FROM model_versions WHERE project = $p AND name = $n AND version = $v;", ("$p", project), ("$n", name), ("$v", version))
                    ?? throw VersionNotFound(c, tx, project, name, version);
                Exec(c, tx, "UPDATE model_versions SET description = COALESCE($d, description), tags = $t WHERE project = $p AND name = $n AND version = $v;",
                    ("$d", description), ("$t", Merge(json, tags)), ("$p", project), ("$n", name), ("$v", version));
            }, cancellationToken);

        private static string Merge(string json, IReadOnlyDictionary<string, string?>? changes)
        {
            var current = FromJson<Dictionary<string, string>>(json);
            if (changes is not null)
                foreach (var (k, v) in changes)
                    if (v is null) current.Remove(k); else current[k] = v;
            return ToJson(current);
        }

        private static NotFoundException ModelNotFound(SqliteConnection c, SqliteTransaction? tx, string project, string name)
            => ModelRegistry.ModelNotFound(project, name, Query(c, tx, "SELECT name FROM models WHERE project = $p ORDER BY name;", r => r.GetString(0), ("$p", project)));

        private static NotFoundException VersionNotFound(SqliteConnection c, SqliteTransaction? tx, string project, string name, int version)
        {
            var latest = Scalar(c, tx, "SELECT MAX(version) FROM model_versions WHERE project = $p AND name = $n;", ("$p", project), ("$n", name));
            return latest is null
                ? ModelNotFound(c, tx, project, name)
                : new NotFoundException("model version", $"{name}:{version}", $"Model '{name}' has no version {version}; its versions are 1 to {latest}.");
        }

        private static List<RegisteredModelRecord> LoadModels(SqliteConnection c, string where, params (string, object?)[] parameters)
        {
            var models = Query(c, null,
                $"SELECT m.project, m.name, m.description, m.created, m.tags, (SELECT MAX(version) FROM model_versions v WHERE v.project = m.project AND v.name = m.name) FROM models m {where} ORDER BY m.name;",
                r => new RegisteredModelRecord
                {
                    Project = r.GetString(0),
                    Name = r.GetString(1),
                    Description = Str(r, 2),
                    Created = Time(r.GetInt64(3)),
                    Tags = FromJson<Dictionary<string, string>>(r.GetString(4)),
                    LatestVersion = r.IsDBNull(5) ? 0 : r.GetInt32(5),
                }, parameters);
            for (var i = 0; i < models.Count; i++)
            {
                var m = models[i];
                models[i] = m with
                {
                    Aliases = Query(c, null, "SELECT alias, version FROM model_aliases WHERE project = $p AND name = $n ORDER BY alias;",
                        r => (r.GetString(0), r.GetInt32(1)), ("$p", m.Project), ("$n", m.Name)).ToDictionary(x => x.Item1, x => x.Item2),
                };
            }
            return models;
        }

        private static List<ModelVersionRecord> LoadVersions(SqliteConnection c, string where, params (string, object?)[] parameters)
        {
            var versions = Query(c, null, $"SELECT {VersionColumns} FROM model_versions {where} ORDER BY version DESC;", r => new ModelVersionRecord
            {
                Project = r.GetString(0),
                Name = r.GetString(1),
                Version = r.GetInt32(2),
                Framework = r.GetString(3),
                ContentHash = r.GetString(4),
                Size = r.GetInt64(5),
                FileName = r.GetString(6),
                Created = Time(r.GetInt64(7)),
                RunId = Str(r, 8),
                Description = Str(r, 9),
                Tags = FromJson<Dictionary<string, string>>(r.GetString(10)),
                Metrics = FromJson<Dictionary<string, double>>(r.GetString(11)),
                Parameters = FromJson<Dictionary<string, string>>(r.GetString(12)),
                InputSchema = FromJson<List<ModelColumn>>(r.GetString(13)),
                OutputSchema = FromJson<List<ModelColumn>>(r.GetString(14)),
                TrainingData = Str(r, 15),
                FeatureVector = Str(r, 16),
                Files = FromJson<Dictionary<string, string>>(r.GetString(17)),
            }, parameters);
            if (versions.Count == 0) return versions;
            var aliases = Query(c, null, "SELECT version, alias FROM model_aliases WHERE project = $p AND name = $n ORDER BY alias;",
                r => (r.GetInt32(0), r.GetString(1)), ("$p", versions[0].Project), ("$n", versions[0].Name));
            for (var i = 0; i < versions.Count; i++)
                versions[i] = versions[i] with { Aliases = aliases.Where(a => a.Item1 == versions[i].Version).Select(a => a.Item2).ToList() };
            return versions;
        }
    }
}
