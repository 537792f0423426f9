using Microsoft.ML;
using MLOps.Artifacts;
using MLOps.FeatureStore.Retrieval;

namespace MLOps.FeatureStore.Vectors;

/// <summary>Options of <c>GetOfflineFeaturesAsync</c>.</summary>
public sealed record OfflineFeaturesOptions
{
    /// <summary>The column of the entity rows with the time of each row; not blank when set.
    /// <value>Defaults to the primary set's timestamp column name.</value></summary>
    public string? TimestampColumn { get; init; }

    /// <summary>The oldest a feature row may be relative to the entity row's time (both ends inclusive; not negative); older
    /// matches give nulls. <value>Defaults to <see langword="null"/>: no limit.</value></summary>
    public TimeSpan? Ttl { get; init; }

    /// <summary>Without entity rows: the first event time of the primary set to include (inclusive). <value>Defaults to <see langword="null"/>: the beginning.</value></summary>
    public DateTimeOffset? Start { get; init; }

    /// <summary>Without entity rows: the last event time of the primary set to include (inclusive; not before <see cref="Start"/>).
    /// <value>Defaults to <see langword="null"/>: the end.</value></summary>
    public DateTimeOffset? End { get; init; }

    /// <summary>Lists every problem of these options at once; each names the property, the value and the fix.
    /// <c>GetOfflineFeaturesAsync</c> throws one <see cref="ValidationException"/> listing them.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (TimestampColumn is { } column && string.IsNullOrWhiteSpace(column))
            errors.Add($"OfflineFeaturesOptions.TimestampColumn is blank ('{column}'); name the time column of the entity rows, or leave it null for the primary set's.");
        if (Ttl is { } ttl && ttl < TimeSpan.Zero)
            errors.Add($"OfflineFeaturesOptions.Ttl is {ttl}; use zero or a positive time span, or null for no limit (the default).");
        if (Start is { } start && End is { } end && end < start)
            errors.Add($"OfflineFeaturesOptions.End ({end:O}) is before Start ({start:O}); swap them, or leave one null.");
        return errors;
    }
}

/// <summary>
/// A point-in-time correct training set: the entity rows (keys and time) with the vector's features as they were at each
/// row's time, and the label. Arrow-backed; hand it to ML.NET with <see cref="ToDataView"/>, save it as Parquet, or log it
/// as a dataset artifact with statistics.
/// </summary>
public sealed class OfflineFeatures : IDisposable
{
    private readonly MLOpsProject _project;

    internal OfflineFeatures(MLOpsProject project, RecordBatch batch, IReadOnlyList<string> entityColumns, string? timestampColumn, IReadOnlyList<string> features, string? label)
    {
        _project = project;
        Batch = batch;
        EntityColumns = entityColumns;
        TimestampColumn = timestampColumn;
        FeatureNames = features;
        LabelColumn = label;
    }

    /// <summary>The rows: the entity rows' columns, then the features in vector order, then the label.</summary>
    public RecordBatch Batch { get; }

    /// <summary>The Arrow schema.</summary>
    public Schema Schema => Batch.Schema;

    /// <summary>The number of rows.</summary>
    public int RowCount => Batch.Length;

    /// <summary>The entity (key) columns.</summary>
    public IReadOnlyList<string> EntityColumns { get; }

    /// <summary>The time column, or <see langword="null"/>.</summary>
    public string? TimestampColumn { get; }

    /// <summary>The feature columns, in vector order.</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>The label column, or <see langword="null"/>.</summary>
    public string? LabelColumn { get; }

    /// <summary>
    /// The rows as an ML.NET <see cref="IDataView"/> reading the Arrow columns in place (no row-by-row copy). Numbers become
    /// <c>Single</c> by default (what ML.NET trainers take); nulls of floating columns are NaN, of integer columns 0.
    /// </summary>
    /// <param name="numbersAsSingle">Expose doubles and integers as <c>Single</c> (default) or keep their types.</param>
    /// <returns>The data view.</returns>
    public IDataView ToDataView(bool numbersAsSingle = true) => new ArrowDataView(Batch.Schema, [Batch], numbersAsSingle);

    /// <summary>Writes the rows as a Parquet file (through a temporary file renamed into place).</summary>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the file is written.</returns>
    public Task SaveAsParquetAsync(string path, CancellationToken cancellationToken = default)
    {
        Throw.IfNullOrWhitespace(path);
        return DatasetWriter.WriteParquetFileAsync([Batch], path, cancellationToken);
    }

    /// <summary>Logs the rows as a dataset artifact of the project (Parquet, with schema, preview and statistics).</summary>
    /// <param name="key">The artifact key.</param>
    /// <param name="options">Artifact options (description, tags, producing run).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The artifact version.</returns>
    public Task<ArtifactRecord> LogDatasetAsync(string key, ArtifactOptions? options = null, CancellationToken cancellationToken = default)
        => _project.Artifacts.LogDatasetAsync(key, [Batch], options, cancellationToken);

    /// <summary>Logs the rows as a dataset artifact and records it as an input of a training run (for lineage).</summary>
    /// <param name="run">The run.</param>
    /// <param name="key">The artifact key (also the input name).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The artifact version.</returns>
    public async Task<ArtifactRecord> LogAsInputAsync(RunContext run, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        var record = await LogDatasetAsync(key, null, cancellationToken).ConfigureAwait(false);
        await run.LogInputAsync(key, record.Uri, cancellationToken).ConfigureAwait(false);
        return record;
    }

    /// <inheritdoc/>
    public void Dispose() => Batch.Dispose();
}
