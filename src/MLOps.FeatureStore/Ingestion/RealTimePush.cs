using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Offline;
using MLOps.FeatureStore.Retrieval;
using MLOps.FeatureStore.Sources;

namespace MLOps.FeatureStore.Ingestion;

/// <summary>
/// The real-time path: runs a stored set's graph on a few events (with the stored fitted values and window state) and
/// upserts the rows online together with the new window state in one write, then hands the rows to the offline
/// <see cref="PushBuffers"/> (see <see cref="FeatureStoreCatalog.PushAsync{T}"/>).
/// </summary>
internal sealed class RealTimePush(FeatureStoreContext store, CatalogRecords records, PushBuffers buffers)
{
    public Task<PushResult> PushAsync(FeatureSet set, DataSource source, CancellationToken cancellationToken)
        => store.UnderLockAsync(set.Name, () => PushLockedAsync(set, source, cancellationToken), cancellationToken);

    private async Task<PushResult> PushLockedAsync(FeatureSet set, DataSource source, CancellationToken cancellationToken)
    {
        var stored = await records.FindAsync(set.Name, "latest", cancellationToken).ConfigureAwait(false);
        if (stored?.Schema is null)
            throw new InvalidStateException($"Feature set '{set.Name}' has no stored schema yet. Ingest a batch first (IngestAsync), then push real-time events.");
        var context = store.StepContext(set.Name, isRealTime: true, new Dictionary<string, string>(stored.Fitted, StringComparer.Ordinal), canFit: false);
        var table = store.OnlineTableOf(stored);
        var computer = new FeatureComputer(stored, context, stored.Aggregations.Count > 0 ? store.OnlineStore : null, table, 0);
        var outputs = new List<RecordBatch>();
        var staging = new OnlineStaging(FeatureStoreContext.OnlineColumns(table));
        long first = 0;
        await foreach (var raw in source.ReadAsync(IngestOptions.DefaultChunkSize, FeatureStoreContext.TypeHints(stored), FeatureStoreContext.TextColumns(stored), cancellationToken).ConfigureAwait(false))
        {
            // the result rows share the pushed batch's memory, so it is left to the garbage collector
            var output = await computer.ComputeAsync(raw, first, "push", source.Zone, cancellationToken).ConfigureAwait(false);
            first += raw.Length;
            FeatureSetSpec.Merge(set.Name, stored.Schema, FeatureStoreContext.OutputColumns(output));
            outputs.Add(OfflineStore.Conform(output, stored.Schema));
            store.StageOnline(stored, computer, staging, output);
        }

        // the rows and the window state in one transaction, then the rows into the offline buffer
        await store.OnlineStore.WriteAsync(table, staging.ToBatch(), computer.WindowState(), cancellationToken).ConfigureAwait(false);
        var rows = outputs.Count == 1 ? outputs[0] : Concat(stored.Schema, outputs);
        await buffers.AddAsync(stored, rows, cancellationToken).ConfigureAwait(false);
        return new PushResult(rows, context.Dropped.ToArray());
    }

    private static RecordBatch Concat(IReadOnlyList<FeatureColumn> schema, List<RecordBatch> batches)
    {
        var total = batches.Sum(b => b.Length);
        var indices = Enumerable.Range(0, total).ToArray();
        var arrays = schema.Select((c, i) => ArrowTake.Take(batches.Select(b => b.Column(i)).ToArray(), indices)).ToArray();
        return new RecordBatch(new Schema(schema.Select(c => Arrays.Field(c.Name, c.Type)), null), arrays, total);
    }
}
