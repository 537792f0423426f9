using System.Runtime.CompilerServices;
using Apache.Arrow;

namespace MLOps.Artifacts;

public sealed partial class ArtifactCatalog
{
    /// <summary>Logs a CSV, Parquet or Arrow IPC file as a dataset: the file is stored as is, and its schema, row count,
    /// a 20-row preview and per-column statistics (with 20-bin histograms) are recorded.</summary>
    /// <param name="key">A relative key, e.g. <c>flights</c>.</param>
    /// <param name="path">The file (.csv, .parquet, .arrow/.feather/.ipc).</param>
    /// <param name="options">Description, tags and producer.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new version; its <see cref="ArtifactRecord.MetadataJson"/> holds the profile (see <see cref="GetDatasetProfileAsync"/>).</returns>
    public async Task<ArtifactRecord> LogDatasetAsync(string key, string path, ArtifactOptions? options = null, CancellationToken cancellationToken = default)
    {
        Names.ArtifactKey(key);
        RequirePath(path);
        if (!File.Exists(path))
            throw new ArtifactException($"The dataset file '{path}' does not exist. Pass the path of a CSV, Parquet or Arrow file.");
        var format = DatasetReader.DetectFormat(path);
        var profile = await DatasetProfiler.ProfileFileAsync(path, format, cancellationToken).ConfigureAwait(false);
        var (hash, size) = await _project.Content.PutFileAsync(path, cancellationToken).ConfigureAwait(false);
        return await AddAsync(key, ArtifactKind.Dataset, hash, size, Path.GetFileName(path), options, profile.ToJson(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Logs Arrow record batches as a dataset stored in Parquet, with schema, preview and statistics.</summary>
    /// <param name="key">A relative key.</param>
    /// <param name="batches">The batches (one schema).</param>
    /// <param name="options">Description, tags and producer.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new version.</returns>
    public async Task<ArtifactRecord> LogDatasetAsync(string key, IReadOnlyList<RecordBatch> batches, ArtifactOptions? options = null, CancellationToken cancellationToken = default)
    {
        Names.ArtifactKey(key);
        Throw.IfNull(batches);
        if (batches.Count == 0) throw new ValidationException($"The dataset '{key}' has no record batches. Pass at least one batch (it may have zero rows).");
        var profile = DatasetProfiler.Profile(batches, "parquet");
        var temp = Path.Combine(_project.ArtifactRoot, "tmp", Guid.NewGuid().ToString("N") + ".parquet");
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
                await DatasetWriter.WriteParquetAsync(batches, file, cancellationToken).ConfigureAwait(false);
            var (hash, size) = await _project.Content.PutFileAsync(temp, cancellationToken).ConfigureAwait(false);
            return await AddAsync(key, ArtifactKind.Dataset, hash, size, key.Split('/')[^1] + ".parquet", options, profile.ToJson(), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Logs one Arrow record batch as a dataset stored in Parquet.</summary>
    /// <param name="key">A relative key.</param>
    /// <param name="batch">The batch.</param>
    /// <param name="options">Description, tags and producer.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new version.</returns>
    public Task<ArtifactRecord> LogDatasetAsync(string key, RecordBatch batch, ArtifactOptions? options = null, CancellationToken cancellationToken = default)
        => LogDatasetAsync(key, [Throw.IfNull(batch)], options, cancellationToken);

    /// <summary>Reads the profile (schema, row count, preview, statistics) of a dataset version.</summary>
    /// <param name="uriOrKey">The URI or key.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The profile.</returns>
    public async Task<DatasetProfile> GetDatasetProfileAsync(string uriOrKey, CancellationToken cancellationToken = default)
    {
        var record = await GetAsync(uriOrKey, cancellationToken).ConfigureAwait(false);
        if (record.Kind != ArtifactKind.Dataset || record.MetadataJson is null)
            throw new ValidationException($"'{record.Uri}' is a {record.Kind.ToString().ToLowerInvariant()}, not a dataset. Log it with LogDatasetAsync to record a profile.");
        return DatasetProfile.FromJson(record.MetadataJson);
    }

    /// <summary>Reads a dataset version as Arrow record batches (bounded memory: one batch at a time).</summary>
    /// <param name="uriOrKey">The URI or key.</param>
    /// <param name="batchSize">Rows per batch.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The batches.</returns>
    public async IAsyncEnumerable<RecordBatch> ReadDatasetAsync(string uriOrKey, int batchSize = 65536, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var record = await GetAsync(uriOrKey, cancellationToken).ConfigureAwait(false);
        if (record.Kind != ArtifactKind.Dataset)
            throw new ValidationException($"'{record.Uri}' is a {record.Kind.ToString().ToLowerInvariant()}, not a dataset.");
        var path = GetLocalPath(record);
        var format = DatasetReader.DetectFormat(record.FileName);
        await foreach (var batch in DatasetReader.ReadAsync(path, format, batchSize, cancellationToken).ConfigureAwait(false))
            yield return batch;
    }
}
