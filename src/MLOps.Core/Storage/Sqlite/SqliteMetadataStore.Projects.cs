using Microsoft.Data.Sqlite;

using static MLOps.Storage.Sqlite.SqliteCommands;

namespace MLOps.Storage.Sqlite;

public sealed partial class SqliteMetadataStore
{
    private sealed class ProjectPart(SqliteMetadataStore store) : IProjectRecords
    {
        private const int ParameterKind = 0;
        private const int LabelKind = 1;
        private static readonly string[] ProjectTables = ["runs", "artifacts", "artifact_tags", "models", "model_versions", "model_aliases", "model_alias_history", "project_kv", "specs", "spec_tags", "sequences"];

        public async Task<ProjectRecord> GetOrCreateAsync(string name, string? description, DateTimeOffset now, CancellationToken cancellationToken = default)
        {
            await store.WriteAsync((c, tx) => Exec(c, tx,
                "INSERT INTO projects(name, description, created, updated) VALUES ($n, $d, $t, $t) ON CONFLICT(name) DO NOTHING;",
                ("$n", name), ("$d", description), ("$t", now.UtcTicks)), cancellationToken).ConfigureAwait(false);
            return (await GetAsync(name, cancellationToken).ConfigureAwait(false))!;
        }

        public Task<ProjectRecord?> GetAsync(string name, CancellationToken cancellationToken = default)
            => Task.FromResult(store.Read(c => Load(c, null, name)));

        public Task<IReadOnlyList<ProjectRecord>> ListAsync(CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlyList<ProjectRecord>>(store.Read(c =>
                Query(c, null, "SELECT name FROM projects ORDER BY name;", r => r.GetString(0))
                    .Select(n => Load(c, null, n)!).ToList()));

        public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
            => store.WriteAsync((c, tx) =>
            {
                const string runs = "(SELECT id FROM runs WHERE project = $p)";
                foreach (var table in RunChildTables)
                    Exec(c, tx, $"DELETE FROM {table} WHERE run_id IN {runs};", ("$p", name));
                foreach (var table in ProjectTables)
                    Exec(c, tx, $"DELETE FROM {table} WHERE project = $p;", ("$p", name));
                return Exec(c, tx, "DELETE FROM projects WHERE name = $p;", ("$p", name)) > 0;
            }, cancellationToken);

        public async Task<ProjectRecord> UpdateAsync(string name, IReadOnlyDictionary<string, string?>? parameters, IReadOnlyDictionary<string, string?>? labels, DateTimeOffset now, CancellationToken cancellationToken = default)
        {
            await store.WriteAsync((c, tx) =>
            {
                if (Exec(c, tx, "UPDATE projects SET updated = $t WHERE name = $n;", ("$t", now.UtcTicks), ("$n", name)) == 0)
                    throw new NotFoundException("project", name, $"Project '{name}' does not exist. Open it with MLOpsProject.OpenAsync(\"{name}\") first.");
                Apply(c, tx, name, ParameterKind, parameters);
                Apply(c, tx, name, LabelKind, labels);
            }, cancellationToken).ConfigureAwait(false);
            return (await GetAsync(name, cancellationToken).ConfigureAwait(false))!;
        }

        private static void Apply(SqliteConnection c, SqliteTransaction tx, string project, int kind, IReadOnlyDictionary<string, string?>? values)
        {
            if (values is null) return;
            foreach (var (key, value) in values)
            {
                if (value is null)
                    Exec(c, tx, "DELETE FROM project_kv WHERE project = $p AND kind = $k AND key = $key;", ("$p", project), ("$k", kind), ("$key", key));
                else
                    Exec(c, tx, "INSERT INTO project_kv(project, kind, key, value) VALUES ($p, $k, $key, $v) ON CONFLICT(project, kind, key) DO UPDATE SET value = excluded.value;",
                        ("$p", project), ("$k", kind), ("$key", key), ("$v", value));
            }
        }

        private static ProjectRecord? Load(SqliteConnection c, SqliteTransaction? tx, string name)
        {
            var p = Query(c, tx, "SELECT name, description, created, updated FROM projects WHERE name = $n;",
                r => new ProjectRecord { Name = r.GetString(0), Description = Str(r, 1), Created = Time(r.GetInt64(2)), Updated = Time(r.GetInt64(3)) },
                ("$n", name)).FirstOrDefault();
            if (p is null) return null;
            var kv = Query(c, tx, "SELECT kind, key, value FROM project_kv WHERE project = $n ORDER BY key;",
                r => (Kind: r.GetInt32(0), Key: r.GetString(1), Value: r.GetString(2)), ("$n", name));
            return p with
            {
                Parameters = kv.Where(x => x.Kind == ParameterKind).ToDictionary(x => x.Key, x => x.Value),
                Labels = kv.Where(x => x.Kind == LabelKind).ToDictionary(x => x.Key, x => x.Value),
            };
        }
    }
}
