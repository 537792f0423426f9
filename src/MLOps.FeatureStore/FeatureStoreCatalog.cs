using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using MLOps.Artifacts;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Ingestion;
using MLOps.FeatureStore.Offline;
using MLOps.FeatureStore.Online;
using MLOps.FeatureStore.Transformations;

namespace MLOps.FeatureStore;

/// <summary>Options of a project's feature store.</summary>
public sealed record FeatureStoreOptions
{
    /// <summary>
    /// The online store. Default: a <see cref="SqliteOnlineStore"/> in <c>&lt;home&gt;/online.db</c>, owned (and disposed)
    /// by the feature store. A store given here is not disposed by the feature store.
    /// </summary>
    public IOnlineStore? OnlineStore { get; init; }

    /// <summary>The root folder of the offline Parquet files. Default: <c>&lt;artifact root&gt;/feature-sets</c>.</summary>
    public string? OfflineRoot { get; init; }

    /// <summary>
    /// Real-time pushes are buffered for the offline target and written when a set's buffer holds this many rows
    /// (default 10,000; see <see cref="FeatureStoreCatalog.FlushPushesAsync"/>).
    /// </summary>
    public int PushFlushRows { get; init; } = 10_000;

    /// <summary>
    /// ... or when the oldest buffered push of a set has waited this long (default one minute; measured with the
    /// project's <see cref="TimeProvider"/>).
    /// </summary>
    public TimeSpan PushFlushInterval { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>Adds <c>project.FeatureStore</c> to <see cref="MLOpsProject"/>.</summary>
public static class FeatureStoreProjectExtensions
{
    extension(MLOpsProject project)
    {
        /// <summary>The project's feature store (created with default options on first use).</summary>
        public FeatureStoreCatalog FeatureStore => project.GetOrAddExtension(p => new FeatureStoreCatalog(p, new FeatureStoreOptions()));

        /// <summary>Creates the project's feature store with options; call it before the first use of <c>project.FeatureStore</c>.</summary>
        /// <param name="options">The options.</param>
        /// <returns>The feature store.</returns>
        /// <exception cref="InvalidStateException">The feature store was already created with other options.</exception>
        public FeatureStoreCatalog UseFeatureStore(FeatureStoreOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            var catalog = project.GetOrAddExtension(p => new FeatureStoreCatalog(p, options));
            if (!ReferenceEquals(catalog.Options, options) && catalog.Options != options)
                throw new InvalidStateException("The project's feature store was already created with other options. Call UseFeatureStore(options) before the first use of project.FeatureStore.");
            return catalog;
        }
    }
}

/// <summary>
/// The feature store of a project: define feature sets, ingest batch data and real-time events into the offline
/// (Parquet) and online (SQLite by default) targets, and retrieve point-in-time correct training sets and online
/// feature vectors. Get it with <c>project.FeatureStore</c>.
/// </summary>
/// <remarks>Thread-safe. Ingestions and pushes into one feature set are serialized within a process.</remarks>
public sealed partial class FeatureStoreCatalog : IAsyncDisposable, IDisposable
{
    private readonly Lazy<IOnlineStore> _online;
    private readonly bool _ownsOnline;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _setLocks = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private int _disposed;

    internal FeatureStoreCatalog(MLOpsProject project, FeatureStoreOptions options)
    {
        var problems = new List<string>();
        if (options.PushFlushRows <= 0) problems.Add($"PushFlushRows {options.PushFlushRows} must be positive (default 10,000).");
        if (options.PushFlushInterval <= TimeSpan.Zero) problems.Add($"PushFlushInterval {options.PushFlushInterval} must be positive (default 00:01:00).");
        if (problems.Count > 0) throw new ValidationException("The feature store options are invalid", problems);
        Project = project;
        Options = options;
        _ownsOnline = options.OnlineStore is null;
        _online = new Lazy<IOnlineStore>(() => options.OnlineStore ?? new SqliteOnlineStore(Path.Combine(project.Options.ResolveHome(), "online.db")));
        OfflineRoot = options.OfflineRoot ?? Path.Combine(project.ArtifactRoot, "feature-sets");
        _logger = project.LoggerFactory.CreateLogger("MLOps.FeatureStore");
    }

    /// <summary>The project.</summary>
    public MLOpsProject Project { get; }

    /// <summary>The options.</summary>
    public FeatureStoreOptions Options { get; }

    /// <summary>The online store.</summary>
    public IOnlineStore OnlineStore => _online.Value;

    /// <summary>The root folder of the offline files (one sub-folder per project and feature set).</summary>
    public string OfflineRoot { get; }

    /// <summary>Rebuilds custom steps of stored specs; register custom step kinds here.</summary>
    public FeatureStepRegistry Steps { get; } = new();

    internal string SetRoot(string set) => Path.Combine(OfflineRoot, Project.Name, set);

    internal SemaphoreSlim LockOf(string set) => _setLocks.GetOrAdd(set, _ => new SemaphoreSlim(1, 1));

    /// <summary>Starts the definition of a feature set.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The builder.</returns>
    public FeatureSetBuilder FeatureSet(string name) => new(this, name);

    /// <summary>
    /// Saves a feature set: a new version when its definition changed, else the stored version. Declared features must
    /// keep the types of the stored schema; new columns are allowed.
    /// </summary>
    /// <param name="set">The feature set.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The stored feature set, with its version and schema.</returns>
    /// <exception cref="ValidationException">A declared feature changes the type of a stored column.</exception>
    public async Task<FeatureSet> SaveAsync(FeatureSet set, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(set);
        var stored = await FindAsync(set.Name, "latest", cancellationToken, withSteps: false).ConfigureAwait(false);
        if (stored is not null) FeatureSetSpec.CheckKeys(stored, set);
        var schema = set.Schema ?? stored?.Schema;
        if (stored?.Schema is { } storedSchema)
            schema = FeatureSetSpec.Merge(set.Name, storedSchema, set.Schema ?? set.DeclaredFeatures).Schema;
        var fitted = set.Fitted.Count > 0 ? set.Fitted : stored?.Fitted ?? new Dictionary<string, string>();
        return await StoreAsync(set.WithSchema(schema!, fitted, null), cancellationToken).ConfigureAwait(false);
    }

    private async Task<FeatureSet> StoreAsync(FeatureSet set, CancellationToken cancellationToken)
    {
        var record = await Project.Store.Specs.SaveAsync(
            new NewSpec(Project.Name, FeatureSetSpec.Kind, set.Name, FeatureSetSpec.ToJson(set), set.Description, set.Labels, Project.TimeProvider.GetUtcNow()),
            cancellationToken).ConfigureAwait(false);
        var copy = set.WithSchema(set.Schema!, set.Fitted, record.Version);
        return copy;
    }

    /// <summary>Loads a stored version; <paramref name="withSteps"/> false skips rebuilding its steps (see <see cref="FeatureSetSpec.FromJson"/>).</summary>
    internal async Task<FeatureSet?> FindAsync(string name, string versionOrTag, CancellationToken cancellationToken, bool withSteps = true)
    {
        var record = await Project.Store.Specs.GetAsync(Project.Name, FeatureSetSpec.Kind, name, versionOrTag, cancellationToken).ConfigureAwait(false);
        return record is null ? null : FeatureSetSpec.FromJson(record.Body, withSteps ? Steps : null, record.Description, record.Labels, record.Version);
    }

    /// <summary>
    /// Splits a name or store URI (<c>store://feature-sets/&lt;project&gt;/&lt;name&gt;:&lt;version-or-tag&gt;</c>) into the
    /// name and the version or tag (the URI's reference wins over <paramref name="versionOrTag"/>).
    /// </summary>
    internal (string Name, string VersionOrTag) Resolve(string nameOrUri, string versionOrTag, string scheme)
        => StoreUri.ResolveName(nameOrUri, versionOrTag, scheme, Project.Name);

    /// <summary>Points a tag (such as <c>production</c>) at a stored version of a feature set, moving it when it exists.</summary>
    /// <param name="name">The feature set.</param>
    /// <param name="version">The version.</param>
    /// <param name="tag">The tag (not a number; <c>latest</c> moves on every new version).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the tag is set.</returns>
    /// <exception cref="NotFoundException">No such feature set or version.</exception>
    public Task TagFeatureSetAsync(string name, int version, string tag, CancellationToken cancellationToken = default)
        => TagAsync(FeatureSetSpec.Kind, name, version, tag, cancellationToken);

    internal async Task TagAsync(string kind, string name, int version, string tag, CancellationToken cancellationToken)
    {
        Throw.IfNullOrWhitespace(name);
        Names.SpecTag(tag);
        await Project.Store.Specs.SetTagAsync(Project.Name, kind, name, tag, version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Loads a stored feature set by version number or tag.</summary>
    /// <param name="name">The name, or its store URI (<c>store://feature-sets/&lt;project&gt;/&lt;name&gt;:&lt;version-or-tag&gt;</c>).</param>
    /// <param name="versionOrTag">A version (<c>"2"</c>) or tag (default <c>latest</c>).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The feature set.</returns>
    /// <exception cref="NotFoundException">No such feature set or version.</exception>
    /// <exception cref="InvalidStateException">It uses a custom step kind or user code that this process has not registered.</exception>
    public async Task<FeatureSet> GetFeatureSetAsync(string name, string versionOrTag = "latest", CancellationToken cancellationToken = default)
    {
        (name, versionOrTag) = Resolve(name, versionOrTag, StoreUri.FeatureSets);
        return await FindAsync(name, versionOrTag, cancellationToken).ConfigureAwait(false) ?? throw await NotFoundAsync(name, versionOrTag, cancellationToken).ConfigureAwait(false);
    }

    private async Task<NotFoundException> NotFoundAsync(string name, string versionOrTag, CancellationToken cancellationToken)
    {
        var known = await Project.Store.Specs.ListAsync(Project.Name, FeatureSetSpec.Kind, cancellationToken).ConfigureAwait(false);
        return new NotFoundException("feature set", $"{name}:{versionOrTag}",
            $"The feature set '{name}' (version or tag '{versionOrTag}') does not exist in project '{Project.Name}'. Known feature sets: {(known.Count == 0 ? "none" : string.Join(", ", known.Select(k => k.Name)))}.");
    }

    /// <summary>Lists the stored feature sets (latest versions) with their status.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The feature sets.</returns>
    public async Task<IReadOnlyList<FeatureSetInfo>> ListFeatureSetsAsync(CancellationToken cancellationToken = default)
    {
        var records = await Project.Store.Specs.ListAsync(Project.Name, FeatureSetSpec.Kind, cancellationToken).ConfigureAwait(false);
        return records.Select(ToInfo).ToArray();
    }

    /// <summary>Returns a stored feature set's summary and status (statistics of the last ingestion, ...).</summary>
    /// <param name="name">The name, or its store URI.</param>
    /// <param name="versionOrTag">A version or tag (default <c>latest</c>).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The info.</returns>
    /// <exception cref="NotFoundException">No such feature set or version.</exception>
    public async Task<FeatureSetInfo> GetInfoAsync(string name, string versionOrTag = "latest", CancellationToken cancellationToken = default)
    {
        (name, versionOrTag) = Resolve(name, versionOrTag, StoreUri.FeatureSets);
        var record = await Project.Store.Specs.GetAsync(Project.Name, FeatureSetSpec.Kind, name, versionOrTag, cancellationToken).ConfigureAwait(false)
            ?? throw await NotFoundAsync(name, versionOrTag, cancellationToken).ConfigureAwait(false);
        return ToInfo(record);
    }

    /// <summary>The statistics of the last ingestion of a feature set — the reference for drift monitoring.</summary>
    /// <param name="name">The feature set.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The statistics, or <see langword="null"/> before the first ingestion.</returns>
    public async Task<DatasetProfile?> GetStatisticsAsync(string name, CancellationToken cancellationToken = default)
        => (await GetInfoAsync(name, "latest", cancellationToken).ConfigureAwait(false)).Status.Statistics
            ?? await ListVersionStatisticsAsync(name, cancellationToken).ConfigureAwait(false); // a new version not ingested yet

    private FeatureSetInfo ToInfo(SpecRecord r) => new(
        r.Name, r.Version, $"store://feature-sets/{r.Project}/{r.Name}:{r.Version}", r.Description, r.Labels, r.Created, r.Updated, r.Tags,
        FeatureSetStatus.FromJson(r.Status), ReadSchema(r.Body));

    private static FeatureColumn[]? ReadSchema(string body)
        => JsonNode.Parse(body)?["schema"] is JsonArray a ? a.Select(n => new FeatureColumn((string)n!["name"]!, Enum.Parse<FeatureType>((string)n["type"]!))).ToArray() : null;

    /// <summary>Deletes a feature set: every version, its offline files and its online table.</summary>
    /// <param name="name">The name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when it existed.</returns>
    public async Task<bool> DeleteFeatureSetAsync(string name, CancellationToken cancellationToken = default)
    {
        Throw.IfNullOrWhitespace(name);
        var gate = LockOf(name); // not while an ingestion or push of this process writes the set
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // the online table may exist without a stored schema (a first ingestion that was cancelled)
            var set = await FindAsync(name, "latest", cancellationToken, withSteps: false).ConfigureAwait(false);
            await OnlineStore.DropAsync(set?.Schema is not null ? OnlineTableOf(set)
                : new OnlineTable(Project.Name, name, [new FeatureColumn(set?.Entities[0] ?? "key", FeatureType.String)], set?.TimestampColumn ?? StaticTimestampColumn, []),
                cancellationToken).ConfigureAwait(false);
            DropPushBuffer(name);
            var root = SetRoot(name);
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
            return await Project.Store.Specs.DeleteAsync(Project.Name, FeatureSetSpec.Kind, name, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    internal OnlineTable OnlineTableOf(FeatureSet set)
    {
        var schema = set.Schema ?? throw new InvalidStateException($"Feature set '{set.Name}' has no schema yet; ingest data first.");
        var byName = schema.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var entities = set.Entities.Select(e => byName.TryGetValue(e, out var c) ? c : new FeatureColumn(e, FeatureType.String)).ToArray();
        var features = schema.Where(c => !set.IsKeyOrTime(c.Name) && c.Name != set.LabelColumn).ToArray();
        return new OnlineTable(Project.Name, set.Name, entities, set.TimestampColumn ?? StaticTimestampColumn, features);
    }

    /// <summary>The online timestamp column of a set without event time (ingestion time).</summary>
    internal const string StaticTimestampColumn = "_ingested_at";

    /// <inheritdoc/>
    /// <remarks>Writes the buffered real-time pushes to the offline target first (see <see cref="FlushPushesAsync"/>).</remarks>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await FlushPushesOnDisposeAsync().ConfigureAwait(false);
        if (_ownsOnline && _online.IsValueCreated)
            await _online.Value.DisposeAsync().ConfigureAwait(false);
        foreach (var l in _setLocks.Values) l.Dispose();
    }

    /// <summary>Does what <see cref="DisposeAsync"/> does (flushing the buffered pushes first) and blocks until it is done,
    /// for callers that cannot await: a plain <c>using</c>, or a dependency-injection container disposed with
    /// <c>Dispose()</c>. Idempotent, and safe after <see cref="DisposeAsync"/>.</summary>
    public void Dispose()
    {
        if (Volatile.Read(ref _disposed) == 1) return;
        // under a synchronization context, a continuation could be posted to the blocked thread: run on the pool instead
        if (SynchronizationContext.Current is null && TaskScheduler.Current == TaskScheduler.Default)
            DisposeAsync().AsTask().GetAwaiter().GetResult();
        else
            Task.Run(() => DisposeAsync().AsTask()).GetAwaiter().GetResult();
    }
}

/// <summary>A stored feature set's summary.</summary>
/// <param name="Name">The name.</param>
/// <param name="Version">The version.</param>
/// <param name="Uri">Its store URI.</param>
/// <param name="Description">The description.</param>
/// <param name="Labels">The labels.</param>
/// <param name="Created">When the version was created.</param>
/// <param name="Updated">When its status last changed.</param>
/// <param name="Tags">Tags on the version.</param>
/// <param name="Status">The status: ingestions and statistics.</param>
/// <param name="Schema">The schema, once known.</param>
public sealed record FeatureSetInfo(
    string Name, int Version, string Uri, string? Description, IReadOnlyDictionary<string, string> Labels, DateTimeOffset Created, DateTimeOffset Updated,
    IReadOnlyList<string> Tags, FeatureSetStatus Status, IReadOnlyList<FeatureColumn>? Schema);

/// <summary>The status of a feature set version: what was ingested and the statistics of the last ingestion.</summary>
public sealed record FeatureSetStatus
{
    /// <summary>The number of completed ingestions.</summary>
    public int Ingestions { get; init; }

    /// <summary>Rows written by all completed ingestions.</summary>
    public long RowsIngested { get; init; }

    /// <summary>When the last ingestion completed.</summary>
    public DateTimeOffset? LastIngested { get; init; }

    /// <summary>The statistics of the last ingestion (the drift reference).</summary>
    public DatasetProfile? Statistics { get; init; }

    /// <summary>The reports of recent completed ingestions by id (the last 100), without statistics.</summary>
    public IReadOnlyDictionary<string, IngestReport> Completed { get; init; } = new Dictionary<string, IngestReport>();

    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    internal string ToJson()
    {
        var o = new JsonObject
        {
            ["ingestions"] = Ingestions,
            ["rowsIngested"] = RowsIngested,
            ["lastIngested"] = LastIngested,
            ["statistics"] = Statistics is null ? null : JsonNode.Parse(Statistics.ToJson()),
            ["completed"] = JsonSerializer.SerializeToNode(Completed.ToDictionary(kv => kv.Key, kv => kv.Value with { Statistics = null }), Json),
        };
        return o.ToJsonString();
    }

    internal static FeatureSetStatus FromJson(string? json)
    {
        if (json is null) return new FeatureSetStatus();
        var o = JsonNode.Parse(json)!.AsObject();
        return new FeatureSetStatus
        {
            Ingestions = (int?)o["ingestions"] ?? 0,
            RowsIngested = (long?)o["rowsIngested"] ?? 0,
            LastIngested = o["lastIngested"]?.GetValue<DateTimeOffset>(),
            Statistics = o["statistics"] is JsonObject s ? DatasetProfile.FromJson(s.ToJsonString()) : null,
            Completed = o["completed"]?.Deserialize<Dictionary<string, IngestReport>>(Json) ?? [],
        };
    }
}
