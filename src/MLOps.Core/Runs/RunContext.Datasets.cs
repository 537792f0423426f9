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
    public async Task<ArtifactRecord> LogDatasetAsync(string key, string path, ArtifactOptions? options = null, CancellationToken cancellationToken = default)
    {
        EnsureActive();
        var record = await _project.Artifacts.LogDatasetAsync(key, path, Produced(options), cancellationToken).ConfigureAwait(false);
        await _project.Store.Runs.AddLinksAsync(Id, [new RunLink(RunLinkDirection.Output, key, record.Uri)], cancellationToken).ConfigureAwait(false);
        return record;
    }

    /// <summary>Logs Arrow record batches produced by this run as a Parquet dataset and records it as an output.</summary>
    /// <param name="key">The artifact key.</param>
    /// <param name="batches">The batches.</param>
    /// <param name="options">Description and tags.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The dataset version.</returns>
    public async Task<ArtifactRecord> LogDatasetAsync(string key, IReadOnlyList<RecordBatch> batches, ArtifactOptions? options = null, CancellationToken cancellationToken = default)
    {
        EnsureActive();
        var record = await _project.Artifacts.LogDatasetAsync(key, batches, Produced(options), cancellationToken).ConfigureAwait(false);
        await _project.Store.Runs.AddLinksAsync(Id, [new RunLink(RunLinkDirection.Output, key, record.Uri)], cancellationToken).ConfigureAwait(false);
        return record;
    }
}
