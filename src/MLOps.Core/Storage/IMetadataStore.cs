namespace MLOps.Storage;

/// <summary>
/// The one abstraction through which every catalog reads and writes metadata. Nothing else in MLOps for
/// .NET talks to a database. Implementations: <see cref="Sqlite.SqliteMetadataStore"/> (the embedded default);
/// later the HTTP client of MLOps.Server and PostgreSQL. Every implementation passes the same contract suite.
/// </summary>
/// <remarks>Implementations are thread-safe and safe to share between projects of one process.</remarks>
public interface IMetadataStore : IAsyncDisposable
{
    /// <summary>Projects: creation, parameters, labels, listing and deletion.</summary>
    IProjectRecords Projects { get; }

    /// <summary>Runs: state, parameters, results, metrics, labels, lineage links, logs and search.</summary>
    IRunRecords Runs { get; }

    /// <summary>Artifact versions and tags.</summary>
    IArtifactRecords Artifacts { get; }

    /// <summary>Registered models, their versions, tags and aliases.</summary>
    IModelRecords Models { get; }

    /// <summary>Versioned specs of objects that extension packages define (feature sets, feature vectors, serving graphs),
    /// their tags and status, and per-scope sequence numbers.</summary>
    ISpecRecords Specs { get; }

    /// <summary>Prepares the store for use (creates or migrates the schema). Safe to call from several processes at once.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the store is ready.</returns>
    Task InitializeAsync(CancellationToken cancellationToken = default);
}

/// <summary>Project records.</summary>
public interface IProjectRecords
{
    /// <summary>Returns the project, creating it when it does not exist yet.</summary>
    /// <param name="name">The validated project name.</param>
    /// <param name="description">A description for a new project (ignored when it exists).</param>
    /// <param name="now">The creation time.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The project.</returns>
    Task<ProjectRecord> GetOrCreateAsync(string name, string? description, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Returns the project or <see langword="null"/>.</summary>
    /// <param name="name">The project name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The project or <see langword="null"/>.</returns>
    Task<ProjectRecord?> GetAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Lists every project, ordered by name.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The projects.</returns>
    Task<IReadOnlyList<ProjectRecord>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes a project and every run, artifact record, model, spec and sequence of it.</summary>
    /// <param name="name">The project name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when the project existed.</returns>
    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Sets (or, with a <see langword="null"/> value, removes) project parameters and labels.</summary>
    /// <param name="name">The project name.</param>
    /// <param name="parameters">Parameters to set; a <see langword="null"/> value removes the key.</param>
    /// <param name="labels">Labels to set; a <see langword="null"/> value removes the key.</param>
    /// <param name="now">The update time.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The updated project.</returns>
    Task<ProjectRecord> UpdateAsync(string name, IReadOnlyDictionary<string, string?>? parameters, IReadOnlyDictionary<string, string?>? labels, DateTimeOffset now, CancellationToken cancellationToken = default);
}

/// <summary>Run records.</summary>
public interface IRunRecords
{
    /// <summary>Creates a run in the <see cref="RunState.Running"/> state.</summary>
    /// <param name="run">The new run.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The stored run.</returns>
    Task<RunRecord> CreateAsync(NewRun run, CancellationToken cancellationToken = default);

    /// <summary>Returns a run with its labels, parameters, results, latest metrics and links, or <see langword="null"/>.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The run or <see langword="null"/>.</returns>
    Task<RunRecord?> GetAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Moves a run to a final state. Only a running (or created) run can end; ending an ended run is an error.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="state">The final state.</param>
    /// <param name="endTime">When the run ended.</param>
    /// <param name="error">The error message of a failed or aborted run.</param>
    /// <param name="errorStack">The stack trace of a failed run.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the state is stored.</returns>
    Task EndAsync(string runId, RunState state, DateTimeOffset endTime, string? error, string? errorStack, CancellationToken cancellationToken = default);

    /// <summary>Sets labels (overwriting existing keys); a <see langword="null"/> value removes the label.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="labels">The labels.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    Task SetLabelsAsync(string runId, IReadOnlyDictionary<string, string?> labels, CancellationToken cancellationToken = default);

    /// <summary>Logs parameters. Re-logging the same value is a no-op; a different value throws <see cref="ParameterConflictException"/> and stores nothing of the batch.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="parameters">The parameters (invariant string form).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    Task LogParametersAsync(string runId, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken = default);

    /// <summary>Logs results (scalars); a result logged again is overwritten.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="results">The results.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    Task LogResultsAsync(string runId, IReadOnlyDictionary<string, double> results, CancellationToken cancellationToken = default);

    /// <summary>Appends metric points of one or more runs in one transaction and updates each key's latest value.</summary>
    /// <param name="points">The points.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    Task LogMetricsAsync(IReadOnlyList<MetricEntry> points, CancellationToken cancellationToken = default);

    /// <summary>Returns the history of one metric of a run ordered by step, then timestamp, then insertion.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="key">The metric key.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The points.</returns>
    Task<IReadOnlyList<MetricPoint>> GetMetricHistoryAsync(string runId, string key, CancellationToken cancellationToken = default);

    /// <summary>Records inputs and outputs of a run (lineage). Re-adding the same name and direction replaces the URI.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="links">The links.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    Task AddLinksAsync(string runId, IReadOnlyList<RunLink> links, CancellationToken cancellationToken = default);

    /// <summary>Appends log entries of one or more runs in one transaction.</summary>
    /// <param name="entries">The entries.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    Task AppendLogsAsync(IReadOnlyList<RunLogEntry> entries, CancellationToken cancellationToken = default);

    /// <summary>Returns the log entries of a run in the order they were written.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The entries.</returns>
    Task<IReadOnlyList<RunLogEntry>> GetLogsAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Searches runs: filter, order and page. Paging is by keyset, not by offset: the pages of one search are the
    /// runs that matched when its first page was read, each exactly once and in order, however many runs are created or
    /// deleted in between. <c>like</c> is case-sensitive and <c>ilike</c> is not (see <see cref="RunFilterOperator"/>).</summary>
    /// <param name="query">The query.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>One page of runs.</returns>
    /// <exception cref="ValidationException">The page size is out of range, the filter cannot be evaluated, or the page token
    /// is not one this store returned for the same project, filter and order.</exception>
    Task<RunPage> SearchAsync(RunQuery query, CancellationToken cancellationToken = default);

    /// <summary>Deletes a run with its metrics, logs and links (not its child runs).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when it existed.</returns>
    Task<bool> DeleteAsync(string runId, CancellationToken cancellationToken = default);
}

/// <summary>Artifact version records.</summary>
public interface IArtifactRecords
{
    /// <summary>Adds a new version of an artifact key (version = previous + 1), moves the <c>latest</c> tag to it and applies the given tags.</summary>
    /// <param name="artifact">The new version.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The stored version.</returns>
    Task<ArtifactRecord> AddVersionAsync(NewArtifact artifact, CancellationToken cancellationToken = default);

    /// <summary>Returns a version by number or tag, or <see langword="null"/>.</summary>
    /// <param name="project">The project.</param>
    /// <param name="key">The artifact key.</param>
    /// <param name="versionOrTag">A version number such as "3" or a tag such as "latest".</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The version or <see langword="null"/>.</returns>
    Task<ArtifactRecord?> GetAsync(string project, string key, string versionOrTag, CancellationToken cancellationToken = default);

    /// <summary>Lists the latest version of every key of a project, optionally of one kind, ordered by key.</summary>
    /// <param name="project">The project.</param>
    /// <param name="kind">The kind, or <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The artifacts.</returns>
    Task<IReadOnlyList<ArtifactRecord>> ListAsync(string project, ArtifactKind? kind = null, CancellationToken cancellationToken = default);

    /// <summary>Lists every version of a key, newest first.</summary>
    /// <param name="project">The project.</param>
    /// <param name="key">The artifact key.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The versions.</returns>
    Task<IReadOnlyList<ArtifactRecord>> ListVersionsAsync(string project, string key, CancellationToken cancellationToken = default);

    /// <summary>Points a tag at a version (moving it when it exists).</summary>
    /// <param name="project">The project.</param>
    /// <param name="key">The artifact key.</param>
    /// <param name="tag">The tag.</param>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    Task SetTagAsync(string project, string key, string tag, int version, CancellationToken cancellationToken = default);

    /// <summary>Returns every content hash referenced by any artifact version or model version (its file and extra files) of
    /// every project of the store, for garbage collection and checks.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The hashes.</returns>
    Task<IReadOnlySet<string>> ListContentHashesAsync(CancellationToken cancellationToken = default);
}

/// <summary>Registered model records.</summary>
public interface IModelRecords
{
    /// <summary>Adds the next version of a model (creating the model on its first version).</summary>
    /// <param name="version">The new version.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The stored version with its number.</returns>
    Task<ModelVersionRecord> AddVersionAsync(NewModelVersion version, CancellationToken cancellationToken = default);

    /// <summary>Returns a registered model or <see langword="null"/>.</summary>
    /// <param name="project">The project.</param>
    /// <param name="name">The model name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The model or <see langword="null"/>.</returns>
    Task<RegisteredModelRecord?> GetModelAsync(string project, string name, CancellationToken cancellationToken = default);

    /// <summary>Lists the registered models of a project, ordered by name.</summary>
    /// <param name="project">The project.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The models.</returns>
    Task<IReadOnlyList<RegisteredModelRecord>> ListModelsAsync(string project, CancellationToken cancellationToken = default);

    /// <summary>Returns one version or <see langword="null"/>.</summary>
    /// <param name="project">The project.</param>
    /// <param name="name">The model name.</param>
    /// <param name="version">The version number.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The version or <see langword="null"/>.</returns>
    Task<ModelVersionRecord?> GetVersionAsync(string project, string name, int version, CancellationToken cancellationToken = default);

    /// <summary>Lists the versions of a model, newest first.</summary>
    /// <param name="project">The project.</param>
    /// <param name="name">The model name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The versions.</returns>
    Task<IReadOnlyList<ModelVersionRecord>> ListVersionsAsync(string project, string name, CancellationToken cancellationToken = default);

    /// <summary>Points an alias at a version (unique per model: moving it away from its old version) and records the change in the alias history.</summary>
    /// <param name="project">The project.</param>
    /// <param name="name">The model name.</param>
    /// <param name="alias">The alias.</param>
    /// <param name="version">The version, which must exist.</param>
    /// <param name="now">The time of the change.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    Task SetAliasAsync(string project, string name, string alias, int version, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Removes an alias and records the removal in the history.</summary>
    /// <param name="project">The project.</param>
    /// <param name="name">The model name.</param>
    /// <param name="alias">The alias.</param>
    /// <param name="now">The time of the change.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when the alias existed.</returns>
    Task<bool> DeleteAliasAsync(string project, string name, string alias, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Returns the history of an alias (every set and removal), oldest first.</summary>
    /// <param name="project">The project.</param>
    /// <param name="name">The model name.</param>
    /// <param name="alias">The alias.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The history.</returns>
    Task<IReadOnlyList<AliasChange>> GetAliasHistoryAsync(string project, string name, string alias, CancellationToken cancellationToken = default);

    /// <summary>Updates a model's description and tags (a <see langword="null"/> tag value removes the tag).</summary>
    /// <param name="project">The project.</param>
    /// <param name="name">The model name.</param>
    /// <param name="description">A new description, or <see langword="null"/> to keep it.</param>
    /// <param name="tags">Tags to set or remove.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    Task UpdateModelAsync(string project, string name, string? description, IReadOnlyDictionary<string, string?>? tags, CancellationToken cancellationToken = default);

    /// <summary>Updates a version's description and tags (a <see langword="null"/> tag value removes the tag).</summary>
    /// <param name="project">The project.</param>
    /// <param name="name">The model name.</param>
    /// <param name="version">The version.</param>
    /// <param name="description">A new description, or <see langword="null"/> to keep it.</param>
    /// <param name="tags">Tags to set or remove.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    Task UpdateVersionAsync(string project, string name, int version, string? description, IReadOnlyDictionary<string, string?>? tags, CancellationToken cancellationToken = default);
}
