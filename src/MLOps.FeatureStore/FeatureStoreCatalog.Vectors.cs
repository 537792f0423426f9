using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Ingestion;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Offline;
using MLOps.FeatureStore.Retrieval;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Transformations;
using MLOps.FeatureStore.Vectors;

namespace MLOps.FeatureStore;

public sealed partial class FeatureStoreCatalog
{
    internal const string VectorKind = "feature-vector";

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
        await VectorPlan.ResolveAsync(this, vector, cancellationToken).ConfigureAwait(false);
        var record = await Project.Store.Specs.SaveAsync(
            new NewSpec(Project.Name, VectorKind, vector.Name, vector.ToJson(), vector.Description, new Dictionary<string, string>(), Project.TimeProvider.GetUtcNow()),
            cancellationToken).ConfigureAwait(false);
        return FeatureVector.FromJson(record.Body, record.Description, record.Version);
    }

    /// <summary>Points a tag (such as <c>production</c>) at a stored version of a feature vector, moving it when it exists.</summary>
    /// <param name="name">The vector.</param>
    /// <param name="version">The version.</param>
    /// <param name="tag">The tag (not a number).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the tag is set.</returns>
    /// <exception cref="NotFoundException">No such vector or version.</exception>
    public Task TagVectorAsync(string name, int version, string tag, CancellationToken cancellationToken = default)
        => TagAsync(VectorKind, name, version, tag, cancellationToken);

    /// <summary>Loads a stored feature vector.</summary>
    /// <param name="name">The name, or its store URI (<c>store://feature-vectors/&lt;project&gt;/&lt;name&gt;:&lt;version-or-tag&gt;</c>).</param>
    /// <param name="versionOrTag">A version or tag (default <c>latest</c>).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The vector.</returns>
    /// <exception cref="NotFoundException">No such vector.</exception>
    public async Task<FeatureVector> GetVectorAsync(string name, string versionOrTag = "latest", CancellationToken cancellationToken = default)
    {
        (name, versionOrTag) = Resolve(name, versionOrTag, Artifacts.StoreUri.FeatureVectors);
        var record = await Project.Store.Specs.GetAsync(Project.Name, VectorKind, name, versionOrTag, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            var known = await Project.Store.Specs.ListAsync(Project.Name, VectorKind, cancellationToken).ConfigureAwait(false);
            throw new NotFoundException("feature vector", $"{name}:{versionOrTag}",
                $"The feature vector '{name}' (version or tag '{versionOrTag}') does not exist in project '{Project.Name}'. Known vectors: {(known.Count == 0 ? "none" : string.Join(", ", known.Select(k => k.Name)))}.");
        }

        return FeatureVector.FromJson(record.Body, record.Description, record.Version);
    }

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
        => GetOfflineFeaturesAsync(vector, entityRows, IngestOptions.DefaultChunkSize, options, cancellationToken);

    /// <summary>The training set, the entity rows read in chunks of at most <paramref name="entityChunkRows"/> rows.</summary>
    private async Task<OfflineFeatures> GetOfflineFeaturesAsync(FeatureVector vector, DataSource? entityRows, int entityChunkRows, OfflineFeaturesOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(vector);
        options ??= new OfflineFeaturesOptions();
        if (options.Ttl is { } ttl && ttl < TimeSpan.Zero)
            throw new ValidationException($"Ttl {ttl} must not be negative.");
        var plan = await VectorPlan.ResolveAsync(this, vector, cancellationToken).ConfigureAwait(false);
        var primary = plan.Sets[0].Set;
        var tsColumn = options.TimestampColumn ?? primary.TimestampColumn;
        var tolerance = options.Ttl is { } t ? t.Ticks / 10 : (long?)null;
        var joined = new Dictionary<(SetPlan, string), IArrowArray>();

        RecordBatch left;
        if (entityRows is not null)
        {
            left = await ReadEntityRowsAsync(plan, entityRows, entityChunkRows, tsColumn, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // every primary row in the time range; its own columns are the primary set's outputs
            var columns = PrimaryColumns(plan);
            var from = options.Start is { } s ? Timestamps.FromDateTimeOffset(s) : (long?)null;
            var to = options.End is { } e ? Timestamps.FromDateTimeOffset(e) : (long?)null;
            var chunks = new List<RecordBatch>();
            await foreach (var b in OfflineStore.ReadAsync(SetRoot(primary.Name), columns, from, to, cancellationToken).ConfigureAwait(false))
                chunks.Add(b);
            left = Filter(ConcatChunks(columns, chunks), primary.TimestampColumn, from, to);
            foreach (var c in plan.Sets[0].Reads.Distinct())
                joined[(plan.Sets[0], c)] = left.Column(c);
            left = Arrays.SelectColumns(left, n => primary.Entities.Contains(n, StringComparer.Ordinal) || n == primary.TimestampColumn);
        }

        var leftTs = tsColumn is not null && left.Schema.GetFieldIndex(tsColumn) >= 0
            ? ((TimestampArray)left.Column(tsColumn)).Values.ToArray()
            : Enumerable.Repeat(long.MaxValue, left.Length).ToArray();
        foreach (var set in plan.Sets)
        {
            if (entityRows is null && set == plan.Sets[0]) continue;
            await JoinAsync(set, left, leftTs, tolerance, joined, cancellationToken).ConfigureAwait(false);
        }

        var fields = new List<Field>();
        var arrays = new List<IArrowArray>();
        for (var c = 0; c < left.ColumnCount; c++)
        {
            var f = left.Schema.GetFieldByIndex(c);
            if (f.Name == FeatureStepContext.RowNumberColumn) continue;
            fields.Add(f);
            arrays.Add(left.Column(c));
        }

        var features = new List<string>();
        string? label = null;
        foreach (var o in plan.Outputs)
        {
            var name = o.Name;
            if (fields.Any(f => f.Name == name)) name = $"{o.Set.Set.Name}.{o.Name}";
            fields.Add(Arrays.Field(name, o.Type));
            arrays.Add(joined[(o.Set, o.Column)]);
            if (o.IsLabel) label = name;
            else features.Add(name); // the column's name, prefixed when an entity-row column has the feature's name
        }

        var batch = new RecordBatch(new Schema(fields, null), arrays, left.Length);
        return new OfflineFeatures(Project, batch, plan.RequestKeys.Select(k => k.Name).ToArray(), tsColumn, features, label);
    }

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
        return GetOfflineFeaturesAsync(vector, DataSource.Batches([entityRows]), Math.Max(entityRows.Length, 1), options, cancellationToken);
    }

    private static FeatureColumn[] PrimaryColumns(VectorPlan plan)
    {
        var set = plan.Sets[0].Set;
        var names = set.Entities.Concat(set.TimestampColumn is null ? [] : [set.TimestampColumn]).Concat(plan.Sets[0].Reads).Distinct(StringComparer.Ordinal);
        return names.Select(n => set.Schema!.First(c => c.Name == n)).ToArray();
    }

    private static RecordBatch Filter(RecordBatch batch, string? tsColumn, long? from, long? to)
    {
        if (tsColumn is null || (from is null && to is null)) return batch;
        var ts = ((TimestampArray)batch.Column(tsColumn)).Values;
        var keep = new List<int>(batch.Length);
        for (var i = 0; i < ts.Length; i++)
            if ((from is null || ts[i] >= from) && (to is null || ts[i] <= to)) keep.Add(i);
        return keep.Count == batch.Length ? batch : Arrays.TakeRows(batch, keep.ToArray());
    }

    private static RecordBatch ConcatChunks(IReadOnlyList<FeatureColumn> columns, List<RecordBatch> chunks)
    {
        var total = chunks.Sum(c => c.Length);
        var indices = Enumerable.Range(0, total).ToArray();
        var arrays = columns.Select((c, i) => total == 0 ? Arrays.Nulls(c.Type, 0) : ArrowTake.Take(chunks.Select(b => b.Column(i)).ToArray(), indices)).ToArray();
        return new RecordBatch(new Schema(columns.Select(c => Arrays.Field(c.Name, c.Type)), null), arrays, total);
    }

    private static async Task<RecordBatch> ReadEntityRowsAsync(VectorPlan plan, DataSource entityRows, int chunkRows, string? tsColumn, CancellationToken cancellationToken)
    {
        var keys = plan.RequestKeys;
        var pseudo = new FeatureSet("entity-rows", keys.Select(k => k.Name).ToArray(), tsColumn, plan.Sets[0].Set.TimestampFormat, null, keys, [], [],
            PartitionGranularity.None, null, false, false, null, new Dictionary<string, string>());
        var hints = keys.ToDictionary(k => k.Name, k => k.Type, StringComparer.Ordinal);
        if (tsColumn is not null) hints[tsColumn] = FeatureType.Timestamp;
        var batches = new List<RecordBatch>();
        long rows = 0;
        await foreach (var raw in entityRows.ReadAsync(chunkRows, hints, TextColumns(pseudo), cancellationToken).ConfigureAwait(false))
        {
            // the normalized batch shares the source batch's memory, so the source is left to the garbage collector (or its owner)
            if (tsColumn is not null && raw.Schema.GetFieldIndex(tsColumn) < 0)
                throw new ValidationException($"The entity rows have no time column '{tsColumn}'. Their columns: {string.Join(", ", raw.Schema.FieldsList.Select(f => f.Name))}. Add it, or name it with OfflineFeaturesOptions.TimestampColumn.");
            batches.Add(Normalizer.Normalize(pseudo, raw, rows, "entity rows", entityRows.Zone));
            rows += raw.Length;
        }

        // The result owns its columns (disposing it disposes them), so a caller's batches, whose columns a normalized
        // batch shares where no conversion was needed, are copied; several batches are copied when put together anyway.
        if (batches.Count == 1)
            return entityRows.OwnsBatches ? batches[0] : Arrays.TakeRows(batches[0], Enumerable.Range(0, batches[0].Length).ToArray());
        var schema = batches.Count == 0 ? null : batches[0].Schema;
        if (schema is null) throw new ValidationException("The entity rows are empty: there is no batch at all.");
        var total = batches.Sum(b => b.Length);
        var all = Enumerable.Range(0, total).ToArray();
        var arrays = Enumerable.Range(0, schema.FieldsList.Count).Select(c => ArrowTake.Take(batches.Select(b => b.Column(c)).ToArray(), all)).ToArray();
        return new RecordBatch(schema, arrays, total);
    }

    private async Task JoinAsync(SetPlan plan, RecordBatch left, long[] leftTs, long? tolerance, Dictionary<(SetPlan, string), IArrowArray> joined, CancellationToken cancellationToken)
    {
        var set = plan.Set;
        var keyColumns = new IArrowArray[set.Entities.Count];
        for (var k = 0; k < keyColumns.Length; k++)
        {
            var source = plan.Keys[k];
            var array = source.Set is null ? left.Column(source.Column) : joined[(source.Set, source.Column)];
            var type = set.Schema!.First(c => c.Name == set.Entities[k]).Type;
            keyColumns[k] = Arrays.FeatureTypeOf(array.Data.DataType) == type ? array : Normalizer.ConvertColumn(set, set.Entities[k], array, type, "entity rows");
        }

        var reads = plan.Reads.Distinct(StringComparer.Ordinal).ToArray();
        var columns = set.Entities.Concat(set.TimestampColumn is null ? [] : [set.TimestampColumn]).Concat(reads).Distinct(StringComparer.Ordinal)
            .Select(n => set.Schema!.First(c => c.Name == n)).Append(new FeatureColumn(OfflineStore.OrderColumn, FeatureType.Int64)).ToArray();
        long? from = null, to = null;
        if (set.TimestampColumn is not null && leftTs.Length > 0)
        {
            to = leftTs.Max();
            if (tolerance is { } tol) from = leftTs.Min() - tol;
        }

        var chunks = new List<RecordBatch>();
        await foreach (var b in OfflineStore.ReadAsync(SetRoot(set.Name), columns, from, to == long.MaxValue ? null : to, cancellationToken).ConfigureAwait(false))
            chunks.Add(b);

        var index = new EntityKeyIndex(keyColumns.Length);
        var leftIds = index.GetIds(keyColumns);
        var total = chunks.Sum(c => c.Length);
        var rightIds = new int[total];
        var rightTs = new long[total];
        var rightOrder = new long[total];
        var offset = 0;
        foreach (var chunk in chunks)
        {
            index.GetIds(set.Entities.Select(e => chunk.Column(e)).ToArray(), rightIds.AsSpan(offset, chunk.Length));
            if (set.TimestampColumn is not null)
                ((TimestampArray)chunk.Column(set.TimestampColumn)).Values.CopyTo(rightTs.AsSpan(offset));
            else
                rightTs.AsSpan(offset, chunk.Length).Fill(long.MinValue);
            ((Int64Array)chunk.Column(OfflineStore.OrderColumn)).Values.CopyTo(rightOrder.AsSpan(offset));
            offset += chunk.Length;
        }

        var matches = AsOfJoin.Match(leftIds, leftTs, rightIds, rightTs, rightOrder, set.TimestampColumn is null ? null : tolerance);
        foreach (var column in reads)
        {
            var i = Array.FindIndex(columns, c => c.Name == column);
            joined[(plan, column)] = total == 0
                ? Arrays.Nulls(columns[i].Type, left.Length)
                : ArrowTake.Take(chunks.Select(c => c.Column(i)).ToArray(), matches);
        }

        foreach (var chunk in chunks) chunk.Dispose();
    }
}

public sealed partial class FeatureStoreCatalog
{
    /// <summary>Opens an online feature service for a vector (see <see cref="OnlineFeatureService"/>).</summary>
    /// <param name="vector">The vector.</param>
    /// <param name="options">Missing-value policies.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The service; dispose it to release its readers.</returns>
    /// <exception cref="ValidationException">An unknown feature or a set that cannot be joined.</exception>
    public async Task<OnlineFeatureService> GetOnlineServiceAsync(FeatureVector vector, OnlineServiceOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(vector);
        var plan = await VectorPlan.ResolveAsync(this, vector, cancellationToken).ConfigureAwait(false);
        var statistics = new Dictionary<string, DatasetProfile?>(StringComparer.Ordinal);
        foreach (var s in plan.Sets)
        {
            statistics[s.Set.Name] = (await GetInfoAsync(s.Set.Name, "latest", cancellationToken).ConfigureAwait(false)).Status.Statistics
                ?? (await ListVersionStatisticsAsync(s.Set.Name, cancellationToken).ConfigureAwait(false));
            await OnlineStore.PrepareAsync(OnlineTableOf(s.Set), cancellationToken).ConfigureAwait(false);
        }

        var byName = plan.Sets.ToDictionary(s => s.Set.Name, s => OnlineTableOf(s.Set), StringComparer.Ordinal);
        return new OnlineFeatureService(plan, OnlineStore, Project.TimeProvider, statistics, options ?? new OnlineServiceOptions(), t => byName[t.FeatureSet]);
    }

    /// <summary>Opens an online feature service for a stored vector given by name or store URI.</summary>
    /// <param name="vector">The vector's name or <c>store://feature-vectors/...</c> URI.</param>
    /// <param name="options">Missing-value policies.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The service.</returns>
    public async Task<OnlineFeatureService> GetOnlineServiceAsync(string vector, OnlineServiceOptions? options = null, CancellationToken cancellationToken = default)
        => await GetOnlineServiceAsync(await GetVectorAsync(vector, "latest", cancellationToken).ConfigureAwait(false), options, cancellationToken).ConfigureAwait(false);

    private async Task<DatasetProfile?> ListVersionStatisticsAsync(string name, CancellationToken cancellationToken)
    {
        var versions = await Project.Store.Specs.ListVersionsAsync(Project.Name, FeatureSetSpec.Kind, name, cancellationToken).ConfigureAwait(false);
        return versions.Select(v => FeatureSetStatus.FromJson(v.Status).Statistics).LastOrDefault(s => s is not null);
    }
}
