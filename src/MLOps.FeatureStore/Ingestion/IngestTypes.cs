using MLOps.Artifacts;
using MLOps.FeatureStore.Transformations;

namespace MLOps.FeatureStore.Ingestion;

/// <summary>Options of one ingestion.</summary>
public sealed record IngestOptions
{
    /// <summary>The default number of rows read and transformed at a time.</summary>
    public const int DefaultChunkSize = 65_536;

    /// <summary>
    /// The ingestion id. Retrying with the same id is idempotent: an ingestion that completed is not repeated (its report
    /// is returned with <see cref="IngestReport.AlreadyIngested"/>), and one that did not complete replaces whatever its
    /// earlier attempt wrote. 1 to 200 characters when set. <value>Defaults to a new id.</value>
    /// </summary>
    public string? IngestId { get; init; }

    /// <summary>
    /// The largest number of rows read, transformed and written at a time (positive). Memory is bounded by a few
    /// chunks of source and output columns, plus the window state (the events inside the largest window, per entity) and
    /// the statistics sample (<see cref="StatisticsMaxRows"/>). <value>Defaults to <see cref="DefaultChunkSize"/> (65,536).</value>
    /// </summary>
    public int ChunkSize { get; init; } = DefaultChunkSize;

    /// <summary>The default <see cref="SortMemoryBudget"/>: 512 MiB.</summary>
    public const long DefaultSortMemoryBudget = 512L << 20;

    /// <summary>
    /// A feature set with window aggregations needs its events in time order. A source already in time order streams
    /// through; any other is sorted by (event time, source row): in memory while the sorted rows' Arrow buffers fit in
    /// this many bytes (positive), beyond it in sorted runs spilled to temporary Arrow IPC files next to the set's
    /// offline files, merged at the end and always deleted. <value>Defaults to <see cref="DefaultSortMemoryBudget"/> (512 MiB).</value>
    /// </summary>
    public long SortMemoryBudget { get; init; } = DefaultSortMemoryBudget;

    /// <summary>Statistics are computed over the first rows of the ingestion, up to this many (0 or more), with exact
    /// quartiles; every value of the sample is held in memory (8 bytes per numeric value). <value>Defaults to 1,000,000.</value></summary>
    public long StatisticsMaxRows { get; init; } = 1_000_000;

    /// <summary>Receives progress after every chunk. <value>Defaults to none.</value></summary>
    public IProgress<IngestProgress>? Progress { get; init; }

    /// <summary>Overrides the feature set's choice of writing the offline target. <value>Defaults to <see langword="null"/>: the set's choice.</value></summary>
    public bool? Offline { get; init; }

    /// <summary>Overrides the feature set's choice of writing the online target. <value>Defaults to <see langword="null"/>: the set's choice.</value></summary>
    public bool? Online { get; init; }

    /// <summary>Lists every problem of these options at once; each names the property, the value and the fix.
    /// <c>IngestAsync</c> throws one <see cref="ValidationException"/> listing them.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (SortMemoryBudget <= 0)
            errors.Add($"IngestOptions.SortMemoryBudget is {SortMemoryBudget}; use a positive number of bytes (default {DefaultSortMemoryBudget:N0}).");
        if (ChunkSize <= 0)
            errors.Add($"IngestOptions.ChunkSize is {ChunkSize}; use a positive number of rows (default {DefaultChunkSize}).");
        if (StatisticsMaxRows < 0)
            errors.Add($"IngestOptions.StatisticsMaxRows is {StatisticsMaxRows}; use 0 (no statistics) or more (default 1,000,000).");
        if (IngestId is { } id && (string.IsNullOrWhiteSpace(id) || id.Length > 200))
            errors.Add($"IngestOptions.IngestId is '{id}'; use 1 to 200 characters, or leave it null for a new id.");
        return errors;
    }
}

/// <summary>Progress of a running ingestion.</summary>
/// <param name="RowsRead">Rows read from the source so far.</param>
/// <param name="RowsWritten">Rows that passed the graph so far.</param>
/// <param name="RowsDropped">Rows dropped by validators so far.</param>
/// <param name="Chunks">Chunks processed.</param>
/// <param name="Elapsed">Time since the start.</param>
public sealed record IngestProgress(long RowsRead, long RowsWritten, long RowsDropped, int Chunks, TimeSpan Elapsed);

/// <summary>What an ingestion did.</summary>
public sealed record IngestReport
{
    /// <summary>The ingestion id.</summary>
    public required string IngestId { get; init; }

    /// <summary>The ingestion number within the feature set (orders ingestions; ties of event time go to the later one).</summary>
    public required long Sequence { get; init; }

    /// <summary>The feature set.</summary>
    public required string FeatureSet { get; init; }

    /// <summary>The version of the feature set used.</summary>
    public required int Version { get; init; }

    /// <summary>The source description.</summary>
    public required string Source { get; init; }

    /// <summary>Rows read from the source.</summary>
    public required long RowsRead { get; init; }

    /// <summary>Rows written (that passed the graph).</summary>
    public required long RowsWritten { get; init; }

    /// <summary>Rows dropped by validators (see <see cref="DropReasons"/>) or filters.</summary>
    public required long RowsDropped { get; init; }

    /// <summary>Why rows were dropped by validators: rule, column, count and the first row.</summary>
    public required IReadOnlyList<DroppedRows> DropReasons { get; init; }

    /// <summary>Rows that failed a validator with the warn policy.</summary>
    public required IReadOnlyList<DroppedRows> Warnings { get; init; }

    /// <summary>Entities whose online row was upserted.</summary>
    public required long OnlineEntities { get; init; }

    /// <summary>The Parquet files written.</summary>
    public required IReadOnlyList<string> OfflineFiles { get; init; }

    /// <summary>When it started.</summary>
    public required DateTimeOffset Started { get; init; }

    /// <summary>How long it took.</summary>
    public required TimeSpan Duration { get; init; }

    /// <summary>Statistics of the written rows (see <see cref="IngestOptions.StatisticsMaxRows"/>).</summary>
    public DatasetProfile? Statistics { get; init; }

    /// <summary>Whether this ingestion id had already completed, so nothing was done and this is the earlier report.</summary>
    public bool AlreadyIngested { get; init; }

    /// <summary>Rows per second, end to end.</summary>
    public double RowsPerSecond => Duration.TotalSeconds > 0 ? RowsRead / Duration.TotalSeconds : 0;
}

/// <summary>The result of running the graph on a sample without writing.</summary>
/// <param name="Rows">The transformed rows.</param>
/// <param name="RowsRead">Rows read from the source.</param>
/// <param name="DropReasons">Rows dropped by validators.</param>
/// <param name="Warnings">Rows that failed a validator with the warn policy.</param>
/// <param name="Statistics">Statistics of the transformed rows.</param>
public sealed record FeaturePreview(RecordBatch Rows, long RowsRead, IReadOnlyList<DroppedRows> DropReasons, IReadOnlyList<DroppedRows> Warnings, DatasetProfile Statistics);

/// <summary>The result of a real-time push.</summary>
/// <param name="Rows">The computed feature rows (the same values the online store now holds for them).</param>
/// <param name="DropReasons">Rows dropped by validators.</param>
public sealed record PushResult(RecordBatch Rows, IReadOnlyList<DroppedRows> DropReasons);
