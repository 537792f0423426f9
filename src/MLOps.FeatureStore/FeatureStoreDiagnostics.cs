namespace MLOps.FeatureStore;

/// <summary>
/// The names under which the feature store reports spans and metrics, for OpenTelemetry or any
/// <see cref="System.Diagnostics.ActivityListener"/> / <see cref="System.Diagnostics.Metrics.MeterListener"/>:
/// <c>AddSource(FeatureStoreDiagnostics.ActivitySourceName)</c> and <c>AddMeter(FeatureStoreDiagnostics.MeterName)</c>
/// (or <c>"MLOps.*"</c> for every package). See docs/feature-store.md, "Observability".
/// </summary>
public static class FeatureStoreDiagnostics
{
    /// <summary>The name of the feature store's <see cref="System.Diagnostics.ActivitySource"/>.</summary>
    public const string ActivitySourceName = "MLOps.FeatureStore";

    /// <summary>The name of the feature store's <see cref="System.Diagnostics.Metrics.Meter"/>.</summary>
    public const string MeterName = "MLOps.FeatureStore";

    /// <summary>Span of one batch ingestion (<see cref="FeatureStoreCatalog.IngestAsync"/>).</summary>
    public const string IngestActivity = "FeatureStore.Ingest";

    /// <summary>Span of one flush of buffered real-time pushes to the offline store.</summary>
    public const string PushFlushActivity = "FeatureStore.FlushPushes";

    /// <summary>Span of one offline retrieval (a training set or the historical features of a time range).</summary>
    public const string OfflineRetrievalActivity = "FeatureStore.GetOfflineFeatures";

    /// <summary>Span of one online lookup call: one entity (<c>GetAsync</c>) or a batch (<c>GetManyAsync</c>), never one per entity of a batch.</summary>
    public const string OnlineLookupActivity = "FeatureStore.OnlineLookup";

    /// <summary>Counter of rows written by completed ingestions (unit <c>{row}</c>; its rate is the ingestion throughput in rows/s).</summary>
    public const string IngestedRows = "mlops.feature_store.ingestion.rows";

    /// <summary>Histogram of ingestion durations in seconds, completed and failed (<c>error.type</c> set on failures).</summary>
    public const string IngestionDuration = "mlops.feature_store.ingestion.duration";

    /// <summary>Histogram of online lookup call durations in seconds (one value per <c>GetAsync</c> or <c>GetManyAsync</c> call).</summary>
    public const string OnlineLookupDuration = "mlops.feature_store.online.lookup.duration";

    /// <summary>Counter of entities looked up online (unit <c>{entity}</c>).</summary>
    public const string OnlineLookupEntities = "mlops.feature_store.online.lookup.entities";

    /// <summary>Counter of flushes of buffered pushes to the offline store (unit <c>{flush}</c>; <c>error.type</c> set on failures).</summary>
    public const string PushFlushes = "mlops.feature_store.push.flushes";

    /// <summary>Counter of pushed rows written to the offline store by flushes (unit <c>{row}</c>).</summary>
    public const string PushFlushedRows = "mlops.feature_store.push.flushed_rows";

    /// <summary>Tag: the project.</summary>
    public const string ProjectTag = "mlops.project";

    /// <summary>Tag: the feature set.</summary>
    public const string FeatureSetTag = "mlops.feature_set";

    /// <summary>Tag: the feature set's version.</summary>
    public const string FeatureSetVersionTag = "mlops.feature_set.version";

    /// <summary>Tag: the feature vector.</summary>
    public const string FeatureVectorTag = "mlops.feature_vector";

    /// <summary>Tag: the exception type of a failure.</summary>
    public const string ErrorTypeTag = "error.type";
}
