using Microsoft.Extensions.Logging;

namespace MLOps.FeatureStore;

/// <summary>The feature store's log messages (source-generated; category <c>MLOps.FeatureStore</c>).</summary>
internal static partial class FeatureStoreLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information,
        Message = "Ingested {Rows} rows into feature set {FeatureSet} v{Version} ({Dropped} dropped, {Read} read, {Chunks} chunks) in {DurationMs} ms, ingestion {IngestId}")]
    public static partial void Ingested(ILogger logger, long rows, string featureSet, int version, long dropped, long read, int chunks, long durationMs, string ingestId);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error,
        Message = "Ingestion {IngestId} into feature set {FeatureSet} failed after {DurationMs} ms")]
    public static partial void IngestionFailed(ILogger logger, Exception exception, string? ingestId, string featureSet, long durationMs);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information,
        Message = "Ingestion {IngestId} into feature set {FeatureSet} was cancelled after {DurationMs} ms")]
    public static partial void IngestionCancelled(ILogger logger, string? ingestId, string featureSet, long durationMs);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information,
        Message = "Ingestion {IngestId} into feature set {FeatureSet} was already completed; its report is returned")]
    public static partial void AlreadyIngested(ILogger logger, string ingestId, string featureSet);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning,
        Message = "Could not release the ingestion number {Sequence} of feature set {FeatureSet}")]
    public static partial void SequenceNotReleased(ILogger logger, Exception exception, long sequence, string featureSet);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information,
        Message = "Flushed {Rows} pushed events of feature set {FeatureSet} to the offline store (ingestion number {Sequence})")]
    public static partial void PushesFlushed(ILogger logger, int rows, string featureSet, long sequence);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Error,
        Message = "Flushing the pushed events of feature set {FeatureSet} to the offline store failed (they stay buffered; the next flush retries): {Reason}")]
    public static partial void TimerFlushFailed(ILogger logger, Exception exception, string featureSet, string reason);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Error,
        Message = "Flushing the pushed events to the offline store on dispose failed; {Rows} buffered events are not in the offline files: {Reason}")]
    public static partial void DisposeFlushFailed(ILogger logger, Exception exception, int rows, string reason);
}
