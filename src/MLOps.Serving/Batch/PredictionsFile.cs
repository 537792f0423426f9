using Apache.Arrow;
using MLOps.Artifacts;

namespace MLOps.Serving.Batch;

/// <summary>
/// The predictions of a batch inference run, streamed to a Parquet file in the artifact root's <c>tmp</c> folder one row
/// group per scored batch, so that only the batch being written is in memory.
/// </summary>
/// <remarks>
/// The file is written as <c>tmp/{id}.part</c> (if a killed process leaves it, the content store's sweep of stale
/// temporary files removes it once it is an hour old) and, once its footer is written, renamed to
/// <c>tmp/{id}/{name}.parquet</c>, <c>{name}</c> being the key's last segment: only a complete file is logged, under the
/// file name the dataset artifact records. <see cref="DisposeAsync"/> deletes both, whether the run succeeded, failed or
/// was cancelled.
/// </remarks>
internal sealed class PredictionsFile : IAsyncDisposable
{
    private readonly string _partial;
    private readonly string _folder;
    private readonly string _path;
    private FileStream? _stream;
    private ParquetBatchWriter? _writer;

    /// <summary>Names the file of a predictions dataset; nothing is created before the first batch.</summary>
    /// <param name="artifactRoot">The project's artifact root (<see cref="MLOpsProject.ArtifactRoot"/>).</param>
    /// <param name="key">The artifact key of the predictions: the file is named after its last segment.</param>
    public PredictionsFile(string artifactRoot, string key)
    {
        var temp = Path.Combine(artifactRoot, "tmp");
        var id = Guid.NewGuid().ToString("N");
        _partial = Path.Combine(temp, id + ".part");
        _folder = Path.Combine(temp, id);
        _path = Path.Combine(_folder, key.Split('/')[^1] + ".parquet");
    }

    /// <summary>Whether a batch was written, so that the file has a schema.</summary>
    public bool HasSchema => _writer is not null;

    /// <summary>Appends a batch as one row group; the first batch starts the file and gives it its schema.</summary>
    /// <param name="batch">The batch; it is not disposed.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the row group is written.</returns>
    public async Task WriteAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        if (_writer is null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_partial)!);
            _stream = new FileStream(_partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            _writer = await ParquetBatchWriter.CreateAsync(batch.Schema, _stream, cancellationToken).ConfigureAwait(false);
        }

        await _writer.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the footer, closes the file and renames it to its final name.</summary>
    /// <param name="cancellationToken">Cancels the flush.</param>
    /// <returns>The path of the complete Parquet file, to log.</returns>
    public async Task<string> CompleteAsync(CancellationToken cancellationToken)
    {
        if (_writer is null || _stream is null)
            throw new InvalidOperationException("No batch was written to the predictions file.");
        await _writer.DisposeAsync().ConfigureAwait(false);
        _writer = null;
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
        _stream = null;
        Directory.CreateDirectory(_folder);
        File.Move(_partial, _path);
        return _path;
    }

    /// <summary>Closes the file if it is still open and deletes it (partial or complete).</summary>
    /// <returns>A task that completes when the files are gone (or could not be deleted).</returns>
    public async ValueTask DisposeAsync()
    {
        // An unfinished file is dropped without its footer: it is deleted right after.
        _writer = null;
        if (_stream is not null)
        {
            try
            {
                await _stream.DisposeAsync().ConfigureAwait(false);
            }
            catch (IOException)
            {
                // flushing the last buffered bytes failed (e.g. a full disk): the file is deleted anyway
            }

            _stream = null;
        }

        TryDelete(() => File.Delete(_partial));
        TryDelete(() =>
        {
            if (Directory.Exists(_folder))
                Directory.Delete(_folder, recursive: true);
        });
    }

    private static void TryDelete(Action delete)
    {
        try
        {
            delete();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // best effort, as for the content store's own temporary files: a leftover '.part' is swept later
        }
    }
}
