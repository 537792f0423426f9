using System.Security.Cryptography;

namespace MLOps.Artifacts.Internal;

/// <summary>
/// Immutable, content-addressed files under the artifact root: <c>objects/ab/abcdef…</c> named by their SHA-256.
/// Every write goes to <c>tmp/</c> first, is flushed to disk and then renamed into place, so a killed process never
/// leaves a partial object; identical content is stored once.
/// </summary>
internal sealed class ContentStore
{
    private readonly string _objects;
    private readonly string _temp;

    public ContentStore(string root)
    {
        Root = Path.GetFullPath(root);
        _objects = Path.Combine(Root, "objects");
        _temp = Path.Combine(Root, "tmp");
        Directory.CreateDirectory(_objects);
        Directory.CreateDirectory(_temp);
        CleanStaleTemporaryFiles();
    }

    public string Root { get; }

    public string PathOf(string hash) => Path.Combine(_objects, hash[..2], hash);

    public bool Exists(string hash) => File.Exists(PathOf(hash));

    public async Task<(string Hash, long Size)> PutAsync(Stream source, CancellationToken cancellationToken)
    {
        var temp = Path.Combine(_temp, Guid.NewGuid().ToString("N") + ".part");
        string hash;
        long size = 0;
        try
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
            {
                var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(81920);
                try
                {
                    int read;
                    while ((read = await source.ReadAsync(buffer.AsMemory(0, buffer.Length), cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        sha.AppendData(buffer, 0, read);
                        await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        size += read;
                    }
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                }
                output.Flush(flushToDisk: true);
            }
            hash = Convert.ToHexStringLower(sha.GetHashAndReset());
            var target = PathOf(hash);
            if (File.Exists(target))
            {
                File.Delete(temp);
                Touch(target); // about to be referenced again: keep garbage collection's grace period away from it
            }
            else
            {
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                try
                {
                    File.Move(temp, target, overwrite: false);
                }
                catch (IOException) when (File.Exists(target))
                {
                    File.Delete(temp); // another writer stored the same content first
                }
            }
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        return (hash, size);
    }

    public async Task<(string Hash, long Size)> PutFileAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
            throw new ArtifactException($"The file '{path}' does not exist. Pass the path of an existing file (relative paths are resolved from '{Environment.CurrentDirectory}').");
        await using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return await PutAsync(input, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the objects no longer referenced and not written or reused within <paramref name="minAge"/>.</summary>
    public (int Files, long Bytes) DeleteUnreferenced(IReadOnlySet<string> referenced, TimeSpan minAge, DateTime nowUtc, CancellationToken cancellationToken)
    {
        var files = 0;
        long bytes = 0;
        foreach (var path in Directory.EnumerateFiles(_objects, "*", SearchOption.AllDirectories))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var info = new FileInfo(path);
            if (referenced.Contains(info.Name) || nowUtc - info.LastWriteTimeUtc < minAge) continue;
            var length = info.Length;
            TryDelete(path);
            if (!File.Exists(path))
            {
                files++;
                bytes += length;
            }
        }
        return (files, bytes);
    }

    private static void Touch(string path)
    {
        try { File.SetLastWriteTimeUtc(path, DateTime.UtcNow); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    public Stream OpenRead(string hash)
    {
        var path = PathOf(hash);
        if (!File.Exists(path))
            throw new ArtifactException($"The content {hash} is missing from the artifact root '{Root}'. The file was deleted or the artifact root points to another folder (check MLOPS_HOME / UseArtifactsAt).");
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
    }

    public async Task<bool> VerifyAsync(string hash, CancellationToken cancellationToken)
    {
        var path = PathOf(hash);
        if (!File.Exists(path)) return false;
        await using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(input, cancellationToken).ConfigureAwait(false));
        return actual == hash;
    }

    private void CleanStaleTemporaryFiles()
    {
        try
        {
            foreach (var f in Directory.EnumerateFiles(_temp, "*.part"))
                if (File.GetLastWriteTimeUtc(f) < DateTime.UtcNow.AddHours(-1)) TryDelete(f);
        }
        catch (IOException)
        {
            // best effort: stale temp files are harmless
        }
        catch (UnauthorizedAccessException)
        {
            // best effort
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
