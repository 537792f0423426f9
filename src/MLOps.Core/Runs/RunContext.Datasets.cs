using Apache.Arrow;

namespace MLOps.Runs;

public sealed partial class RunContext
{
    /// <summary>Logs a dataset file (CSV, Parquet, Arrow) produced by this run, with its profile, and records it as an output.</summary>
    /// <param name="key">The artifact key.</param>
    /// <param name="path">The file.</param>
    /// <param name="options">Description and tags.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The dataset version.</returns>
    public Task<ArtifactRecord> LogDatasetAsync(string key, string path, ArtifactOptions? options = null, CancellationToken cancellationToken = default)
        => LogOutputAsync(key, produced => _project.Artifacts.LogDatasetAsync(key, path, produced, cancellationToken), options, cancellationToken);

    /// <summary>Logs Arrow record batches produced by this run as a Parquet dataset and records it as an output.</summary>
    /// <param name="key">The artifact key.</param>
    /// <param name="batches">The batches.</param>
    /// <param name="options">Description and tags.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The dataset version.</returns>
    public Task<ArtifactRecord> LogDatasetAsync(string key, IReadOnlyList<RecordBatch> batches, ArtifactOptions? options = null, CancellationToken cancellationToken = default)
        => LogOutputAsync(key, produced => _project.Artifacts.LogDatasetAsync(key, batches, produced, cancellationToken), options, cancellationToken);
}
