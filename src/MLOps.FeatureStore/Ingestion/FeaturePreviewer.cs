using MLOps.Artifacts;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Transformations;

namespace MLOps.FeatureStore.Ingestion;

/// <summary>Runs a set's graph on the first rows of a source without writing anything (see <see cref="FeatureStoreCatalog.PreviewAsync"/>).</summary>
internal sealed class FeaturePreviewer(FeatureStoreContext store, CatalogRecords records)
{
    public async Task<FeaturePreview> PreviewAsync(FeatureSet set, DataSource source, int rows, CancellationToken cancellationToken)
    {
        var stored = await records.FindAsync(set.Name, "latest", cancellationToken, withSteps: false).ConfigureAwait(false);
        var fitted = new Dictionary<string, string>(stored?.Fitted ?? set.Fitted, StringComparer.Ordinal);
        var context = store.StepContext(set.Name, isRealTime: false, fitted, canFit: true);
        var table = store.StateTable(set, stored?.Schema);
        var computer = new FeatureComputer(set, context, stored is not null && set.Aggregations.Count > 0 ? store.OnlineStore : null, table, 0);
        await foreach (var raw in source.ReadAsync(rows, FeatureStoreContext.TypeHints(set), FeatureStoreContext.TextColumns(set), cancellationToken).ConfigureAwait(false))
        {
            // the preview's rows share the source batch's memory, so the batch is left to the garbage collector
            var sample = raw.Length > rows ? raw.Slice(0, rows) : raw;
            var output = await computer.ComputeAsync(sample, 0, source.Description, source.Zone, cancellationToken).ConfigureAwait(false);
            output = Arrays.SelectColumns(output, n => n != FeatureStepContext.RowNumberColumn);
            return new FeaturePreview(output, sample.Length, context.Dropped.ToArray(), context.Warnings.ToArray(), DatasetProfiler.Profile([output], "preview"));
        }

        throw new ValidationException($"The source ({source.Description}) has no batch to preview.");
    }
}
