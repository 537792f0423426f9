using MLOps.Artifacts;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Ingestion;
using MLOps.FeatureStore.Retrieval;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Transformations;
using MLOps.FeatureStore.Vectors;

namespace MLOps.FeatureStore;

/// <summary>
/// The feature store of a project: define feature sets, ingest batch data and real-time events into the offline
/// (Parquet) and online (SQLite by default) targets, and retrieve point-in-time correct training sets and online
/// feature vectors. Get it with <c>project.FeatureStore</c>.
/// </summary>
/// <remarks>Thread-safe. Ingestions and pushes into one feature set are serialized within a process.</remarks>
public sealed class FeatureStoreCatalog : IAsyncDisposable, IDisposable
{
    // The façade: each responsibility lives in its own internal class, sharing the store's context.
    private readonly FeatureStoreContext _store;
    private readonly CatalogRecords _records;
    private readonly PushBuffers _pushBuffers;
    private readonly RealTimePush _push;
    private readonly FeaturePreviewer _preview;
    private readonly OfflineRetrieval _offline;
    private readonly OnlineRetrieval _online;
    private int _disposed;

    internal FeatureStoreCatalog(MLOpsProject project, FeatureStoreOptions options)
    {
        var problems = options.Validate();
        if (problems.Count > 0) throw new ValidationException("The feature store options are invalid", problems);
        _store = new FeatureStoreContext(project, options);
        _records = new CatalogRecords(_store);
        _pushBuffers = new PushBuffers(_store, _records);
        _push = new RealTimePush(_store, _records, _pushBuffers);
        _preview = new FeaturePreviewer(_store, _records);
        _offline = new OfflineRetrieval(_store, _records);
        _online = new OnlineRetrieval(_store, _records);
    }

    /// <summary>The project.</summary>
    public MLOpsProject Project => _store.Project;

    /// <summary>The options.</summary>
    public FeatureStoreOptions Options => _store.Options;

    /// <summary>The online store.</summary>
    public IOnlineStore OnlineStore => _store.OnlineStore;

    /// <summary>The root folder of the offline files (one sub-folder per project and feature set).</summary>
    public string OfflineRoot => _store.OfflineRoot;

    /// <summary>Rebuilds custom steps of stored specs; register custom step kinds here.</summary>
    public FeatureStepRegistry Steps => _store.Steps;

    /// <summary>The flushes started by the push time threshold so far (for tests).</summary>
    internal Task TimerFlushes => _pushBuffers.TimerFlushes;

    internal string SetRoot(string set) => _store.SetRoot(set);

    internal OnlineTable OnlineTableOf(FeatureSet set) => _store.OnlineTableOf(set);

    // ---- feature sets ----

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
        return await _records.SaveAsync(set, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Points a tag (such as <c>production</c>) at a stored version of a feature set, moving it when it exists.</summary>
    /// <param name="name">The feature set.</param>
    /// <param name="version">The version.</param>
    /// <param name="tag">The tag (not a number; <c>latest</c> moves on every new version).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the tag is set.</returns>
    /// <exception cref="NotFoundException">No such feature set or version.</exception>
    public Task TagFeatureSetAsync(string name, int version, string tag, CancellationToken cancellationToken = default)
        => _records.TagAsync(FeatureSetSpec.Kind, name, version, tag, cancellationToken);

    /// <summary>Loads a stored feature set by version number or tag.</summary>
    /// <param name="name">The name, or its store URI (<c>store://feature-sets/&lt;project&gt;/&lt;name&gt;:&lt;version-or-tag&gt;</c>).</param>
    /// <param name="versionOrTag">A version (<c>"2"</c>) or tag (default <c>latest</c>).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The feature set.</returns>
    /// <exception cref="NotFoundException">No such feature set or version.</exception>
    /// <exception cref="InvalidStateException">It uses a custom step kind or user code that this process has not registered.</exception>
    public Task<FeatureSet> GetFeatureSetAsync(string name, string versionOrTag = "latest", CancellationToken cancellationToken = default)
        => _records.GetFeatureSetAsync(name, versionOrTag, cancellationToken);

    /// <summary>Lists the stored feature sets (latest versions) with their status.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The feature sets.</returns>
    public Task<IReadOnlyList<FeatureSetInfo>> ListFeatureSetsAsync(CancellationToken cancellationToken = default)
        => _records.ListFeatureSetsAsync(cancellationToken);

    /// <summary>Returns a stored feature set's summary and status (statistics of the last ingestion, ...).</summary>
    /// <param name="name">The name, or its store URI.</param>
    /// <param name="versionOrTag">A version or tag (default <c>latest</c>).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The info.</returns>
    /// <exception cref="NotFoundException">No such feature set or version.</exception>
    public Task<FeatureSetInfo> GetInfoAsync(string name, string versionOrTag = "latest", CancellationToken cancellationToken = default)
        => _records.GetInfoAsync(name, versionOrTag, cancellationToken);

    /// <summary>The statistics of the last ingestion of a feature set — the reference for drift monitoring.</summary>
    /// <param name="name">The feature set.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The statistics, or <see langword="null"/> before the first ingestion.</returns>
    public Task<DatasetProfile?> GetStatisticsAsync(string name, CancellationToken cancellationToken = default)
        => _records.GetStatisticsAsync(name, cancellationToken);

    /// <summary>Deletes a feature set: every version, its offline files and its online table.</summary>
    /// <param name="name">The name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when it existed.</returns>
    public async Task<bool> DeleteFeatureSetAsync(string name, CancellationToken cancellationToken = default)
    {
        Throw.IfNullOrWhitespace(name);
        // not while an ingestion or push of this process writes the set
        return await _store.UnderLockAsync(name, async () =>
        {
            // the online table may exist without a stored schema (a first ingestion that was cancelled)
            var set = await _records.FindAsync(name, "latest", cancellationToken, withSteps: false).ConfigureAwait(false);
            await OnlineStore.DropAsync(set?.Schema is not null ? _store.OnlineTableOf(set)
                : new OnlineTable(Project.Name, name, [new FeatureColumn(set?.Entities[0] ?? "key", FeatureType.String)], set?.TimestampColumn ?? FeatureStoreContext.StaticTimestampColumn, []),
                cancellationToken).ConfigureAwait(false);
            _pushBuffers.Drop(name);
            var root = _store.SetRoot(name);
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
            return await _records.DeleteFeatureSetAsync(name, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    // ---- ingestion ----

    /// <summary>
    /// Ingests a source into a feature set: reads it chunk by chunk, runs the graph (steps, then window aggregations, in
    /// event-time order whatever the source's row order: see <see cref="IngestOptions.SortMemoryBudget"/>), writes the
    /// offline Parquet files and stages the latest row per entity, then commits the offline files and, in one online
    /// write, the online rows and the window state (a failed online write undoes the offline commit), and stores
    /// statistics on the feature set. A definition that changed (or values fitted by this ingestion) is saved as a new
    /// version when the ingestion completes; a failed or cancelled ingestion saves none and changes neither store. Rows
    /// of the batch supersede events pushed earlier at the same entity and event time.
    /// </summary>
    /// <param name="set">The feature set (a definition from the builder, or one loaded from the store).</param>
    /// <param name="source">The source.</param>
    /// <param name="options">Options: ingestion id (for idempotent retries), chunk size, progress, targets.</param>
    /// <param name="cancellationToken">Cancels the ingestion; no offline file of it is left behind.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ValidationException">Bad input: a missing entity or timestamp column, an unparsable timestamp, a type
    /// change, a row that fails a validator with the fail policy. The message names the column, the row and the rule.</exception>
    public async Task<IngestReport> IngestAsync(FeatureSet set, DataSource source, IngestOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(source);
        return await FeatureIngestion.IngestAsync(_store, _records, _pushBuffers, set, source, options ?? new IngestOptions(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the graph on the first rows of a source without writing anything, with the stored fitted values when the set
    /// is stored (else fitted on the sample). Window aggregations start from the stored window state.
    /// </summary>
    /// <param name="set">The feature set.</param>
    /// <param name="source">The source.</param>
    /// <param name="rows">How many source rows to read (positive; default 100).</param>
    /// <param name="cancellationToken">Cancels the preview.</param>
    /// <returns>The preview.</returns>
    /// <exception cref="ValidationException"><paramref name="rows"/> is not positive.</exception>
    public async Task<FeaturePreview> PreviewAsync(FeatureSet set, DataSource source, int rows = 100, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(source);
        if (rows <= 0)
            throw new ValidationException($"The 'rows' argument of PreviewAsync is {rows}; pass a positive number of source rows to preview, e.g. 100.");
        return await _preview.PreviewAsync(set, source, rows, cancellationToken).ConfigureAwait(false);
    }

    // ---- real time ----

    /// <summary>
    /// The real-time path: runs the graph on a few events (with the stored fitted values and window state, so the values
    /// equal what a batch ingestion would compute) and upserts them online together with the new window state; the rows
    /// are buffered for the offline target (see <see cref="FlushPushesAsync"/>).
    /// </summary>
    /// <param name="set">The feature set; it must have been ingested (or saved with a schema) before.</param>
    /// <param name="rows">The events, as column → value maps.</param>
    /// <param name="cancellationToken">Cancels the push.</param>
    /// <returns>The computed rows.</returns>
    public Task<PushResult> PushAsync(FeatureSet set, IEnumerable<IReadOnlyDictionary<string, object?>> rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return PushAsync(set, new DictionarySource(rows, "pushed events"), cancellationToken);
    }

    /// <summary>The real-time path for typed events (see <see cref="PushAsync(FeatureSet, IEnumerable{IReadOnlyDictionary{string, object}}, CancellationToken)"/>).</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="set">The feature set.</param>
    /// <param name="events">The events.</param>
    /// <param name="cancellationToken">Cancels the push.</param>
    /// <returns>The computed rows.</returns>
    public Task<PushResult> PushAsync<T>(FeatureSet set, IEnumerable<T> events, CancellationToken cancellationToken = default)
        => PushAsync(set, DataSource.Objects(events), cancellationToken); // dictionaries (a List<Dictionary<,>> binds here) are read as maps

    private async Task<PushResult> PushAsync(FeatureSet set, DataSource source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(set);
        return await _push.PushAsync(set, source, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes the real-time events pushed so far and still buffered to the offline target now: one Parquet file per
    /// partition and flush, laid out like an ingestion's (<c>part-&lt;number&gt;-p&lt;n&gt;.parquet</c>, with
    /// <c>_ingest_order</c>), so point-in-time retrieval sees them. Pushes are otherwise flushed when a set's buffer reaches
    /// <see cref="FeatureStoreOptions.PushFlushRows"/> rows, when its oldest buffered event waited
    /// <see cref="FeatureStoreOptions.PushFlushInterval"/>, before an ingestion into the set, and when the feature store
    /// (or its project) is disposed.
    /// </summary>
    /// <param name="cancellationToken">Cancels the flush (buffered rows stay buffered).</param>
    /// <returns>A task that completes when every buffered event is in an offline file.</returns>
    /// <exception cref="FeatureStoreException">The offline files could not be written (the rows stay buffered).</exception>
    public Task FlushPushesAsync(CancellationToken cancellationToken = default) => _pushBuffers.FlushAllAsync(cancellationToken);

    // ---- vectors and retrieval ----

    /// <summary>Starts the definition of a feature vector.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The builder.</returns>
    public FeatureVectorBuilder Vector(string name) => new(this, name);

    /// <summary>Checks a vector against the stored feature sets and saves it (a new version when it changed).</summary>
    /// <param name="vector">The vector.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The stored vector with its version.</returns>
    /// <exception cref="ValidationException">An unknown feature set or feature, a duplicate output name, a set that cannot be joined.</exception>
    public async Task<FeatureVector> SaveAsync(FeatureVector vector, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(vector);
        await VectorPlan.ResolveAsync(_records, vector, cancellationToken).ConfigureAwait(false);
        return await _records.SaveVectorAsync(vector, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Points a tag (such as <c>production</c>) at a stored version of a feature vector, moving it when it exists.</summary>
    /// <param name="name">The vector.</param>
    /// <param name="version">The version.</param>
    /// <param name="tag">The tag (not a number).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the tag is set.</returns>
    /// <exception cref="NotFoundException">No such vector or version.</exception>
    public Task TagVectorAsync(string name, int version, string tag, CancellationToken cancellationToken = default)
        => _records.TagAsync(CatalogRecords.VectorKind, name, version, tag, cancellationToken);

    /// <summary>Loads a stored feature vector.</summary>
    /// <param name="name">The name, or its store URI (<c>store://feature-vectors/&lt;project&gt;/&lt;name&gt;:&lt;version-or-tag&gt;</c>).</param>
    /// <param name="versionOrTag">A version or tag (default <c>latest</c>).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The vector.</returns>
    /// <exception cref="NotFoundException">No such vector.</exception>
    public Task<FeatureVector> GetVectorAsync(string name, string versionOrTag = "latest", CancellationToken cancellationToken = default)
        => _records.GetVectorAsync(name, versionOrTag, cancellationToken);

    /// <summary>
    /// Builds a point-in-time correct training set: for each entity row (keys and time), each set's latest feature row at
    /// or before that time (optionally no older than <see cref="OfflineFeaturesOptions.Ttl"/>, both ends inclusive), ties
    /// of event time broken by ingestion order (the later ingested wins). Rows without a match get nulls.
    /// </summary>
    /// <param name="vector">The vector.</param>
    /// <param name="entityRows">The entity rows: the request keys (the primary set's entities, plus those of sets joined
    /// on other shared entities) and the time column; other columns are passed through. Null: every row of the primary
    /// set in <see cref="OfflineFeaturesOptions.Start"/>..<see cref="OfflineFeaturesOptions.End"/>.</param>
    /// <param name="options">Options.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The training set.</returns>
    /// <exception cref="ValidationException">An unknown feature, or entity rows without the key or time columns.</exception>
    public Task<OfflineFeatures> GetOfflineFeaturesAsync(FeatureVector vector, DataSource? entityRows = null, OfflineFeaturesOptions? options = null, CancellationToken cancellationToken = default)
        => _offline.GetOfflineFeaturesAsync(vector, entityRows, IngestOptions.DefaultChunkSize, options, cancellationToken);

    /// <summary>Builds a training set for a stored vector given by name or store URI (see the <see cref="FeatureVector"/> overload).</summary>
    /// <param name="vector">The vector's name or <c>store://feature-vectors/...</c> URI.</param>
    /// <param name="entityRows">The entity rows, or null for a time range over the primary set.</param>
    /// <param name="options">Options.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The training set.</returns>
    public async Task<OfflineFeatures> GetOfflineFeaturesAsync(string vector, DataSource? entityRows = null, OfflineFeaturesOptions? options = null, CancellationToken cancellationToken = default)
        => await GetOfflineFeaturesAsync(await GetVectorAsync(vector, "latest", cancellationToken).ConfigureAwait(false), entityRows, options, cancellationToken).ConfigureAwait(false);

    /// <summary>Builds a training set for entity rows given as an Arrow record batch (see the <see cref="DataSource"/> overload).</summary>
    /// <param name="vector">The vector.</param>
    /// <param name="entityRows">The entity rows.</param>
    /// <param name="options">Options.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The training set.</returns>
    public Task<OfflineFeatures> GetOfflineFeaturesAsync(FeatureVector vector, RecordBatch entityRows, OfflineFeaturesOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entityRows);

        // one chunk: the batch is normalized as a whole (its columns shared where no conversion is needed), not cut and put together again
        return _offline.GetOfflineFeaturesAsync(vector, DataSource.Batches([entityRows]), Math.Max(entityRows.Length, 1), options, cancellationToken);
    }

    /// <summary>Opens an online feature service for a vector (see <see cref="OnlineFeatureService"/>).</summary>
    /// <param name="vector">The vector.</param>
    /// <param name="options">Missing-value policies.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The service; dispose it to release its readers.</returns>
    /// <exception cref="ValidationException">An unknown feature or a set that cannot be joined.</exception>
    public async Task<OnlineFeatureService> GetOnlineServiceAsync(FeatureVector vector, OnlineServiceOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(vector);
        return await _online.GetOnlineServiceAsync(vector, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Opens an online feature service for a stored vector given by name or store URI.</summary>
    /// <param name="vector">The vector's name or <c>store://feature-vectors/...</c> URI.</param>
    /// <param name="options">Missing-value policies.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The service.</returns>
    public async Task<OnlineFeatureService> GetOnlineServiceAsync(string vector, OnlineServiceOptions? options = null, CancellationToken cancellationToken = default)
        => await GetOnlineServiceAsync(await GetVectorAsync(vector, "latest", cancellationToken).ConfigureAwait(false), options, cancellationToken).ConfigureAwait(false);

    // ---- lifetime ----

    /// <inheritdoc/>
    /// <remarks>Writes the buffered real-time pushes to the offline target first (see <see cref="FlushPushesAsync"/>).</remarks>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _pushBuffers.FlushOnDisposeAsync().ConfigureAwait(false);
        if (_store.OwnsOnline && _store.OnlineCreated)
            await _store.OnlineStore.DisposeAsync().ConfigureAwait(false);
        _store.Dispose();
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
