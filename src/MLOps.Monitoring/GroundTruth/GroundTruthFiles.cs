using System.Globalization;
using System.Runtime.CompilerServices;
using Apache.Arrow;
using MLOps.Monitoring.Capture;

namespace MLOps.Monitoring.GroundTruth;

/// <summary>
/// Where ground truth lives: <c>{root}/{endpoint id}/ground-truth/{sequence}.parquet</c>, one file per log call (the time it was
/// logged is in its <c>logged_at</c> column).
/// The sequence (8 digits, one more than the highest file present) orders the logs, so that a later label of the same row wins;
/// each file is written to a temporary name and renamed once complete, under a claim file of its sequence created exclusively
/// (<c>{sequence}.claim</c>, deleted after the rename; a writer that finds the claim or the file taken tries the next sequence),
/// so a reader never sees a half-written file and two writers never overwrite each other.
/// </summary>
internal static class GroundTruthFiles
{
    public const string FolderName = "ground-truth";

    /// <summary>The column of the time a label was logged (timestamp, microseconds, UTC), added to every stored file.</summary>
    public const string LoggedAt = "logged_at";

    public static string Folder(string root, string endpointId) => Path.Combine(CaptureFiles.EndpointFolder(root, endpointId), FolderName);

    public static async Task<string> WriteAsync(string root, string endpointId, RecordBatch batch, CancellationToken cancellationToken)
    {
        var folder = Folder(root, endpointId);
        Directory.CreateDirectory(folder);
        var pending = Path.Combine(folder, $".pending-{Guid.NewGuid():N}.tmp");
        await DatasetWriter.WriteParquetFileAsync([batch], pending, cancellationToken).ConfigureAwait(false);
        try
        {
            for (int sequence = NextSequence(folder); ; sequence++)
            {
                var name = sequence.ToString("D8", CultureInfo.InvariantCulture);
                var claim = Path.Combine(folder, name + ".claim");
                try
                {
                    // CreateNew is atomic (O_EXCL): exactly one writer gets a sequence. File.Move without overwrite is not
                    // (on Unix it checks, then renames), so two writers could both "win" the same name and one file be lost.
                    using (new FileStream(claim, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                    {
                    }
                }
                catch (IOException) when (File.Exists(claim) || File.Exists(Path.Combine(folder, name + ".parquet")))
                {
                    continue; // another writer holds this sequence, or held it and has stored its file since
                }
                var path = Path.Combine(folder, name + ".parquet");
                if (File.Exists(path))
                {
                    File.Delete(claim); // stored by a writer that held the claim before us
                    continue;
                }
                File.Move(pending, path, overwrite: false);
                File.Delete(claim);
                return path;
            }
        }
        finally
        {
            if (File.Exists(pending)) File.Delete(pending);
        }
    }

    /// <summary>The stored ground truth of an endpoint, file by file in logging order.</summary>
    public static async IAsyncEnumerable<RecordBatch> ReadAsync(string root, string endpointId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var folder = Folder(root, endpointId);
        if (!Directory.Exists(folder)) yield break;
        var files = Directory.EnumerateFiles(folder, "*.parquet").Where(f => Sequence(f) >= 0).OrderBy(Path.GetFileName, StringComparer.Ordinal).ToList();
        foreach (var file in files)
            await foreach (var batch in DatasetReader.ReadParquetAsync(file, cancellationToken: cancellationToken).ConfigureAwait(false))
                yield return batch;
    }

    /// <summary>One more than the highest sequence stored or claimed (a claim left by a crashed writer only skips its number).</summary>
    private static int NextSequence(string folder)
        => Directory.EnumerateFiles(folder).Select(Sequence).Where(s => s >= 0).DefaultIfEmpty(0).Max() + 1;

    private static int Sequence(string path)
    {
        var name = Path.GetFileName(path);
        return (name.Length == 16 && name.EndsWith(".parquet", StringComparison.Ordinal) || name.Length == 14 && name.EndsWith(".claim", StringComparison.Ordinal)) && int.TryParse(name.AsSpan(0, 8), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) ? sequence : -1;
    }
}
