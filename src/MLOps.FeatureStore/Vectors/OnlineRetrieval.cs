using MLOps.FeatureStore.FeatureSets;

namespace MLOps.FeatureStore.Vectors;

/// <summary>Online retrieval: opens <see cref="OnlineFeatureService"/>s for vectors (see <see cref="FeatureStoreCatalog.GetOnlineServiceAsync(FeatureVector, OnlineServiceOptions, CancellationToken)"/>).</summary>
internal sealed class OnlineRetrieval(FeatureStoreContext store, CatalogRecords records)
{
    public async Task<OnlineFeatureService> GetOnlineServiceAsync(FeatureVector vector, OnlineServiceOptions? options, CancellationToken cancellationToken)
    {
        var problems = options?.Validate() ?? [];
        if (problems.Count > 0) throw new ValidationException("The online service options are invalid", problems);
        var plan = await VectorPlan.ResolveAsync(records, vector, cancellationToken).ConfigureAwait(false);
        var statistics = new Dictionary<string, DatasetProfile?>(StringComparer.Ordinal);
        foreach (var s in plan.Sets)
        {
            statistics[s.Set.Name] = await records.GetStatisticsAsync(s.Set.Name, cancellationToken).ConfigureAwait(false);
            await store.OnlineStore.PrepareAsync(store.OnlineTableOf(s.Set), cancellationToken).ConfigureAwait(false);
        }

        var byName = plan.Sets.ToDictionary(s => s.Set.Name, s => store.OnlineTableOf(s.Set), StringComparer.Ordinal);
        return new OnlineFeatureService(plan, store.OnlineStore, store.Time, statistics, options ?? new OnlineServiceOptions(), t => byName[t.FeatureSet],
            store.Telemetry, store.Project.Name, vector.Name);
    }
}
