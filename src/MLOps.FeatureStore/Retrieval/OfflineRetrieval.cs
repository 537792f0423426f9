using System.Diagnostics;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Ingestion;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Offline;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Transformations;
using MLOps.FeatureStore.Vectors;

using D = MLOps.FeatureStore.FeatureStoreDiagnostics;

namespace MLOps.FeatureStore.Retrieval;

/// <summary>
/// Offline retrieval: point-in-time correct training sets (an as-of join of entity rows against each set's offline
/// files) and time ranges of a vector's primary set (see <see cref="FeatureStoreCatalog.GetOfflineFeaturesAsync(FeatureVector, DataSource, OfflineFeaturesOptions, CancellationToken)"/>).
/// </summary>
internal sealed class OfflineRetrieval(FeatureStoreContext store, CatalogRecords records)
{
    /// <summary>The training set, the entity rows read in chunks of at most <paramref name="entityChunkRows"/> rows.</summary>
    public async Task<OfflineFeatures> GetOfflineFeaturesAsync(FeatureVector vector, DataSource? entityRows, int entityChunkRows, OfflineFeaturesOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(vector);
        using var activity = FeatureStoreTelemetry.Start(D.OfflineRetrievalActivity, store.Project.Name);
        if (activity is not null)
        {
            activity.SetTag(D.FeatureVectorTag, vector.Name);
            if (vector.Version is { } version) activity.SetTag("mlops.feature_vector.version", version);
            activity.SetTag("mlops.retrieval.mode", entityRows is null ? "time_range" : "entity_rows");
        }

        try
        {
            var result = await RetrieveAsync(vector, entityRows, entityChunkRows, options, activity, cancellationToken).ConfigureAwait(false);
            activity?.SetTag("mlops.retrieval.rows", result.RowCount);
            return result;
        }
        catch (Exception e)
        {
            FeatureStoreTelemetry.Fail(activity, e);
            throw;
        }
    }

    private async Task<OfflineFeatures> RetrieveAsync(FeatureVector vector, DataSource? entityRows, int entityChunkRows, OfflineFeaturesOptions? options, Activity? activity, CancellationToken cancellationToken)
    {
        options ??= new OfflineFeaturesOptions();
        var problems = options.Validate();
        if (problems.Count > 0) throw new ValidationException("The offline features options are invalid", problems);
        var plan = await VectorPlan.ResolveAsync(records, vector, cancellationToken).ConfigureAwait(false);
        activity?.SetTag("mlops.feature_sets", string.Join(",", plan.Sets.Select(p => p.Set.Name)));
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
            await foreach (var b in OfflineStore.ReadAsync(store.SetRoot(primary.Name), columns, from, to, cancellationToken).ConfigureAwait(false))
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
        return new OfflineFeatures(store.Project, batch, plan.RequestKeys.Select(k => k.Name).ToArray(), tsColumn, features, label);
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
        await foreach (var raw in entityRows.ReadAsync(chunkRows, hints, FeatureStoreContext.TextColumns(pseudo), cancellationToken).ConfigureAwait(false))
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
        await foreach (var b in OfflineStore.ReadAsync(store.SetRoot(set.Name), columns, from, to == long.MaxValue ? null : to, cancellationToken).ConfigureAwait(false))
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
