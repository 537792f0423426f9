namespace MLOps.Storage.Sqlite;

/// <summary>The versioned schema migrations of the SQLite metadata store. Append new versions; never edit old ones.</summary>
internal static class SqliteSchema
{
    public static readonly IReadOnlyList<(int Version, string Description, string Sql)> Migrations =
    [
        (1, "projects, runs, metrics, artifacts, models", """
            CREATE TABLE projects(
                name TEXT PRIMARY KEY,
                description TEXT,
                created INTEGER NOT NULL,
                updated INTEGER NOT NULL);
            CREATE TABLE project_kv(
                project TEXT NOT NULL, kind INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                PRIMARY KEY(project, kind, key)) WITHOUT ROWID;

            CREATE TABLE runs(
                id TEXT PRIMARY KEY,
                project TEXT NOT NULL,
                name TEXT NOT NULL,
                state INTEGER NOT NULL,
                parent_id TEXT,
                iteration INTEGER,
                start_time INTEGER NOT NULL,
                end_time INTEGER,
                host TEXT,
                git_commit TEXT,
                git_dirty INTEGER,
                error TEXT,
                error_stack TEXT);
            CREATE INDEX ix_runs_project_start ON runs(project, start_time, id);
            CREATE INDEX ix_runs_parent ON runs(parent_id, iteration) WHERE parent_id IS NOT NULL;

            CREATE TABLE run_params(run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, num REAL,
                PRIMARY KEY(run_id, key)) WITHOUT ROWID;
            CREATE INDEX ix_run_params_key ON run_params(key, num);
            CREATE TABLE run_labels(run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                PRIMARY KEY(run_id, key)) WITHOUT ROWID;
            CREATE TABLE run_results(run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL,
                PRIMARY KEY(run_id, key)) WITHOUT ROWID;
            CREATE INDEX ix_run_results_key ON run_results(key, value);

            CREATE TABLE metrics(run_id TEXT NOT NULL, key TEXT NOT NULL, step INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL);
            CREATE INDEX ix_metrics_run_key ON metrics(run_id, key, step, ts);
            CREATE TABLE latest_metrics(run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL, step INTEGER NOT NULL, ts INTEGER NOT NULL,
                PRIMARY KEY(run_id, key)) WITHOUT ROWID;
            CREATE INDEX ix_latest_metrics_key ON latest_metrics(key, value);

            CREATE TABLE run_links(run_id TEXT NOT NULL, direction INTEGER NOT NULL, name TEXT NOT NULL, uri TEXT NOT NULL,
                PRIMARY KEY(run_id, direction, name)) WITHOUT ROWID;
            CREATE INDEX ix_run_links_uri ON run_links(uri);
            CREATE TABLE run_logs(run_id TEXT NOT NULL, ts INTEGER NOT NULL, level TEXT NOT NULL, category TEXT NOT NULL, message TEXT NOT NULL);
            CREATE INDEX ix_run_logs_run ON run_logs(run_id);

            CREATE TABLE artifacts(
                project TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL,
                kind INTEGER NOT NULL, hash TEXT NOT NULL, size INTEGER NOT NULL, file_name TEXT NOT NULL,
                created INTEGER NOT NULL, producer_run_id TEXT, description TEXT, metadata TEXT,
                PRIMARY KEY(project, key, version)) WITHOUT ROWID;
            CREATE INDEX ix_artifacts_hash ON artifacts(hash);
            CREATE INDEX ix_artifacts_run ON artifacts(producer_run_id) WHERE producer_run_id IS NOT NULL;
            CREATE TABLE artifact_tags(project TEXT NOT NULL, key TEXT NOT NULL, tag TEXT NOT NULL, version INTEGER NOT NULL,
                PRIMARY KEY(project, key, tag)) WITHOUT ROWID;

            CREATE TABLE models(project TEXT NOT NULL, name TEXT NOT NULL, description TEXT, created INTEGER NOT NULL, tags TEXT NOT NULL,
                PRIMARY KEY(project, name)) WITHOUT ROWID;
            CREATE TABLE model_versions(
                project TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
                framework TEXT NOT NULL, hash TEXT NOT NULL, size INTEGER NOT NULL, file_name TEXT NOT NULL,
                created INTEGER NOT NULL, run_id TEXT, description TEXT, tags TEXT NOT NULL, metrics TEXT NOT NULL,
                parameters TEXT NOT NULL, input_schema TEXT NOT NULL, output_schema TEXT NOT NULL,
                training_data TEXT, feature_vector TEXT, files TEXT NOT NULL,
                PRIMARY KEY(project, name, version)) WITHOUT ROWID;
            CREATE INDEX ix_model_versions_run ON model_versions(run_id) WHERE run_id IS NOT NULL;
            CREATE TABLE model_aliases(project TEXT NOT NULL, name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL,
                PRIMARY KEY(project, name, alias)) WITHOUT ROWID;
            CREATE TABLE model_alias_history(project TEXT NOT NULL, name TEXT NOT NULL, alias TEXT NOT NULL,
                version INTEGER, previous INTEGER, at INTEGER NOT NULL);
            CREATE INDEX ix_model_alias_history ON model_alias_history(project, name, alias);
            """),
        (2, "specs, spec tags, sequences", """
            CREATE TABLE specs(
                project TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
                body TEXT NOT NULL, description TEXT, labels TEXT NOT NULL,
                created INTEGER NOT NULL, updated INTEGER NOT NULL, status TEXT,
                PRIMARY KEY(project, kind, name, version)) WITHOUT ROWID;
            CREATE TABLE spec_tags(project TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, tag TEXT NOT NULL, version INTEGER NOT NULL,
                PRIMARY KEY(project, kind, name, tag)) WITHOUT ROWID;
            CREATE TABLE sequences(project TEXT NOT NULL, scope TEXT NOT NULL, token TEXT NOT NULL, seq INTEGER NOT NULL, created INTEGER NOT NULL,
                PRIMARY KEY(project, scope, token)) WITHOUT ROWID;
            CREATE UNIQUE INDEX ix_sequences_scope_seq ON sequences(project, scope, seq);
            """),
    ];
}
