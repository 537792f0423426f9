using System.Globalization;
using System.Text;

namespace MLOps.Artifacts;

/// <summary>What <see cref="ArtifactCatalog.CollectGarbageAsync"/> deleted.</summary>
/// <param name="FilesDeleted">Content files deleted.</param>
/// <param name="BytesFreed">Their total size in bytes.</param>
public sealed record GarbageCollectionResult(int FilesDeleted, long BytesFreed);

/// <summary>Options of a logged artifact.</summary>
public sealed class ArtifactOptions
{
    /// <summary>A description. <value>Defaults to none.</value></summary>
    public string? Description { get; set; }

    /// <summary>Tags to put on the new version (besides <c>latest</c>, which always moves to it). <value>Defaults to none.</value></summary>
    public IList<string> Tags { get; } = new List<string>();

    /// <summary>The run that produced it (set for you by <c>RunContext.Log*Async</c>). <value>Defaults to none.</value></summary>
    public string? ProducerRunId { get; set; }
}

/// <summary>
/// Versioned, content-addressed, immutable artifacts: files, datasets (with schema, preview and statistics), plots,
/// tables and model files. Every version is addressed by a URI such as <c>store://datasets/flights/train:latest</c>.
/// </summary>
/// <remarks>Thread-safe.</remarks>
public sealed partial class ArtifactCatalog
{
    private readonly MLOpsProject _project;

    internal ArtifactCatalog(MLOpsProject project) => _project = project;

    /// <summary>Logs a file as a new version of <paramref name="key"/>.</summary>
    /// <param name="key">A relative key such as <c>reports/summary</c> (no <c>..</c>, no absolute paths).</param>
    /// <param name="path">The file.</param>
    /// <param name="kind">The kind; <see cref="ArtifactKind.Plot"/> is inferred for .png, .svg and .html files.</param>
    /// <param name="options">Description, tags and producer.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new version.</returns>
    public async Task<ArtifactRecord> LogFileAsync(string key, string path, ArtifactKind? kind = null, ArtifactOptions? options = null, CancellationToken cancellationToken = default)
    {
        Names.ArtifactKey(key);
        RequirePath(path);
        var effective = kind ?? InferKind(path);
        if (effective == ArtifactKind.Dataset)
            return await LogDatasetAsync(key, path, options, cancellationToken).ConfigureAwait(false);
        var (hash, size) = await _project.Content.PutFileAsync(path, cancellationToken).ConfigureAwait(false);
        return await AddAsync(key, effective, hash, size, Path.GetFileName(path), options, PlotMetadata(effective, path), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Logs the content of a stream as a new version of <paramref name="key"/>.</summary>
    /// <param name="key">A relative key.</param>
    /// <param name="content">The content (read to the end, not disposed).</param>
    /// <param name="fileName">The file name to give it (keeps the extension), e.g. <c>model.onnx</c>.</param>
    /// <param name="kind">The kind.</param>
    /// <param name="options">Description, tags and producer.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new version.</returns>
    public async Task<ArtifactRecord> LogStreamAsync(string key, Stream content, string fileName, ArtifactKind kind = ArtifactKind.File, ArtifactOptions? options = null, CancellationToken cancellationToken = default)
    {
        Names.ArtifactKey(key);
        Throw.IfNull(content);
        ValidateFileName(fileName);
        if (kind == ArtifactKind.Dataset)
            throw new ValidationException($"Log datasets with LogDatasetAsync so their schema and statistics are recorded (key '{key}').");
        var (hash, size) = await _project.Content.PutAsync(content, cancellationToken).ConfigureAwait(false);
        return await AddAsync(key, kind, hash, size, fileName, options, PlotMetadata(kind, fileName), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Logs bytes as a new version of <paramref name="key"/>.</summary>
    /// <param name="key">A relative key.</param>
    /// <param name="content">The bytes.</param>
    /// <param name="fileName">The file name to give it.</param>
    /// <param name="kind">The kind.</param>
    /// <param name="options">Description, tags and producer.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new version.</returns>
    public async Task<ArtifactRecord> LogBytesAsync(string key, ReadOnlyMemory<byte> content, string fileName, ArtifactKind kind = ArtifactKind.File, ArtifactOptions? options = null, CancellationToken cancellationToken = default)
    {
        await using var stream = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(content, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(content.ToArray(), writable: false);
        return await LogStreamAsync(key, stream, fileName, kind, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Logs a plot (PNG, SVG or HTML content).</summary>
    /// <param name="key">A relative key.</param>
    /// <param name="content">The image or page.</param>
    /// <param name="format"><c>png</c>, <c>svg</c> or <c>html</c>.</param>
    /// <param name="options">Description, tags and producer.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new version.</returns>
    public Task<ArtifactRecord> LogPlotAsync(string key, ReadOnlyMemory<byte> content, string format, ArtifactOptions? options = null, CancellationToken cancellationToken = default)
    {
        Names.ArtifactKey(key);
        var f = (format ?? "").Trim().TrimStart('.').ToLowerInvariant();
        if (f is not ("png" or "svg" or "html"))
            throw new ValidationException($"The plot format '{format}' is not supported. Use 'png', 'svg' or 'html'.");
        var leaf = key.Split('/')[^1];
        return LogBytesAsync(key, content, leaf + "." + f, ArtifactKind.Plot, options, cancellationToken);
    }

    /// <summary>Logs a small table (for example a confusion matrix) as CSV.</summary>
    /// <param name="key">A relative key.</param>
    /// <param name="header">The column names.</param>
    /// <param name="rows">The rows; values are written in invariant culture.</param>
    /// <param name="options">Description, tags and producer.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new version.</returns>
    public Task<ArtifactRecord> LogTableAsync(string key, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<object?>> rows, ArtifactOptions? options = null, CancellationToken cancellationToken = default)
    {
        Names.ArtifactKey(key);
        Throw.IfNull(header);
        Throw.IfNull(rows);
        if (header.Count == 0) throw new ValidationException($"The table '{key}' has no columns. Pass at least one column name.");
        var sb = new StringBuilder();
        sb.AppendJoin(',', header.Select(Csv)).Append('\n');
        var n = 0;
        foreach (var row in rows)
        {
            n++;
            if (row.Count != header.Count)
                throw new ValidationException($"Row {n} of table '{key}' has {row.Count} values but the header has {header.Count} columns ({string.Join(", ", header)}).");
            sb.AppendJoin(',', row.Select(v => Csv(Convert.ToString(v, CultureInfo.InvariantCulture) ?? ""))).Append('\n');
        }
        var leaf = key.Split('/')[^1];
        return LogBytesAsync(key, Encoding.UTF8.GetBytes(sb.ToString()), leaf + ".csv", ArtifactKind.Table, options, cancellationToken);

        static string Csv(string s) => s.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
    }

    /// <summary>Resolves a URI (<c>store://datasets/flights/train:3</c>) or a key with an optional version or tag
    /// (<c>train</c>, <c>train:3</c>, <c>train:prod</c>) to an artifact version.</summary>
    /// <param name="uriOrKey">The URI or key.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The version.</returns>
    /// <exception cref="NotFoundException">The key, version or tag does not exist.</exception>
    public async Task<ArtifactRecord> GetAsync(string uriOrKey, CancellationToken cancellationToken = default)
    {
        var (project, key, reference) = Parse(uriOrKey);
        var record = await _project.Store.Artifacts.GetAsync(project, key, reference, cancellationToken).ConfigureAwait(false);
        if (record is not null) return record;
        var versions = await _project.Store.Artifacts.ListVersionsAsync(project, key, cancellationToken).ConfigureAwait(false);
        if (versions.Count > 0)
            throw new NotFoundException("artifact", uriOrKey, $"Artifact '{key}' has no version or tag '{reference}'. It has versions 1 to {versions[0].Version} and tags: {Names.ListSome(versions.SelectMany(v => v.Tags).Distinct().Order(StringComparer.Ordinal))}.");
        throw await KeyNotFoundAsync(project, key, uriOrKey, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The error for a key without versions, listing (up to 20 of) the project's keys.</summary>
    private async Task<NotFoundException> KeyNotFoundAsync(string project, string key, string given, CancellationToken cancellationToken)
    {
        var existing = await _project.Store.Artifacts.ListAsync(project, null, cancellationToken).ConfigureAwait(false);
        return new NotFoundException("artifact", given, $"Artifact '{key}' does not exist in project '{project}'. " + (existing.Count == 0
            ? "The project has no artifacts yet: log one first, e.g. with project.Artifacts.LogFileAsync(key, path)."
            : $"Its artifacts are: {Names.ListSome(existing.Select(a => a.Key))}."));
    }

    /// <summary>Opens an artifact's content for reading.</summary>
    /// <param name="uriOrKey">The URI or key.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A read-only stream; dispose it.</returns>
    public async Task<Stream> OpenReadAsync(string uriOrKey, CancellationToken cancellationToken = default)
    {
        var record = await GetAsync(uriOrKey, cancellationToken).ConfigureAwait(false);
        return _project.Content.OpenRead(record.Hash);
    }

    /// <summary>The local path of an artifact's content (read-only: never modify it).</summary>
    /// <param name="record">The artifact version.</param>
    /// <returns>The path.</returns>
    /// <exception cref="ValidationException">The record belongs to another project.</exception>
    public string GetLocalPath(ArtifactRecord record)
    {
        Throw.IfNull(record);
        if (record.Project != _project.Name)
            throw new ValidationException($"Artifact '{record.Uri}' belongs to project '{record.Project}', not '{_project.Name}'. Read it through that project.");
        var path = _project.Content.PathOf(record.Hash);
        if (!File.Exists(path))
            throw new ArtifactException($"The content of artifact '{record.Uri}' ({record.Hash}) is missing from '{_project.ArtifactRoot}'. Check the artifact root (MLOPS_HOME / UseArtifactsAt).");
        return path;
    }

    /// <summary>Copies an artifact's content to a file.</summary>
    /// <param name="uriOrKey">The URI or key.</param>
    /// <param name="destination">The destination file (overwritten atomically).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when copied.</returns>
    public async Task DownloadAsync(string uriOrKey, string destination, CancellationToken cancellationToken = default)
    {
        Names.Required(destination, "destination path", "Pass the path of the file to write, e.g. 'downloads/summary.md'.");
        var full = Path.GetFullPath(destination);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            await using (var source = await OpenReadAsync(uriOrKey, cancellationToken).ConfigureAwait(false))
            await using (var target = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
            {
                await source.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Checks that an artifact's content is present and matches its SHA-256.</summary>
    /// <param name="uriOrKey">The URI or key.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>Whether the content is intact.</returns>
    public async Task<bool> VerifyAsync(string uriOrKey, CancellationToken cancellationToken = default)
    {
        var record = await GetAsync(uriOrKey, cancellationToken).ConfigureAwait(false);
        return await _project.Content.VerifyAsync(record.Hash, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lists the latest version of every artifact of the project.</summary>
    /// <param name="kind">Only this kind, or <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The artifacts, ordered by key.</returns>
    public Task<IReadOnlyList<ArtifactRecord>> ListAsync(ArtifactKind? kind = null, CancellationToken cancellationToken = default)
        => _project.Store.Artifacts.ListAsync(_project.Name, kind, cancellationToken);

    /// <summary>Lists every version of a key, newest first.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The versions.</returns>
    /// <exception cref="NotFoundException">The project has no artifact with that key; the message lists the keys it has.</exception>
    public async Task<IReadOnlyList<ArtifactRecord>> ListVersionsAsync(string key, CancellationToken cancellationToken = default)
    {
        var versions = await _project.Store.Artifacts.ListVersionsAsync(_project.Name, Names.ArtifactKey(key), cancellationToken).ConfigureAwait(false);
        return versions.Count > 0 ? versions : throw await KeyNotFoundAsync(_project.Name, key, key, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Points a tag (such as <c>prod</c>) at a version. <c>latest</c> is managed for you.</summary>
    /// <param name="key">The key.</param>
    /// <param name="version">The version.</param>
    /// <param name="tag">The tag.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when stored.</returns>
    public Task TagAsync(string key, int version, string tag, CancellationToken cancellationToken = default)
    {
        Names.ArtifactKey(key);
        Names.Name(tag, "artifact tag");
        if (tag == "latest") throw new ValidationException("The tag 'latest' always points at the newest version and cannot be moved. Use another tag, e.g. 'prod'.");
        return _project.Store.Artifacts.SetTagAsync(_project.Name, key, tag, version, cancellationToken);
    }

    /// <summary>Deletes content files under the artifact root that no artifact or model version of any project of the
    /// metadata store references any more (after <c>DeleteProjectAsync</c>, for example). Files written or reused within
    /// <paramref name="minAge"/> are kept, so a writer in another process that has stored content but not yet recorded it
    /// is never robbed.</summary>
    /// <param name="minAge">How old an unreferenced file must be to go. <value>Defaults to 1 hour.</value></param>
    /// <param name="cancellationToken">Cancels the sweep (what was deleted stays deleted).</param>
    /// <returns>How many files and bytes were deleted.</returns>
    /// <remarks>Use one artifact root per metadata store: content referenced only by another store's records would be deleted.</remarks>
    public async Task<GarbageCollectionResult> CollectGarbageAsync(TimeSpan? minAge = null, CancellationToken cancellationToken = default)
    {
        var age = minAge ?? TimeSpan.FromHours(1);
        if (age < TimeSpan.Zero) throw new ValidationException($"minAge is {age}; use zero or a positive age (default 1 hour).");
        var referenced = await _project.Store.Artifacts.ListContentHashesAsync(cancellationToken).ConfigureAwait(false);
        // File times are wall-clock times, so the grace period uses the wall clock, not the project's TimeProvider.
        var (files, bytes) = _project.Content.DeleteUnreferenced(referenced, age, DateTime.UtcNow, cancellationToken);
        return new GarbageCollectionResult(files, bytes);
    }

    internal async Task<ArtifactRecord> AddAsync(string key, ArtifactKind kind, string hash, long size, string fileName, ArtifactOptions? options, string? metadataJson, CancellationToken cancellationToken)
    {
        var tags = options?.Tags.ToList() ?? [];
        foreach (var t in tags) Names.Name(t, "artifact tag");
        if (options?.ProducerRunId is { } producer)
            await _project.Runs.GetAsync(Names.RunId(producer, "producer run id (ArtifactOptions.ProducerRunId)"), cancellationToken).ConfigureAwait(false);
        return await _project.Store.Artifacts.AddVersionAsync(new NewArtifact
        {
            Project = _project.Name,
            Key = key,
            Kind = kind,
            Hash = hash,
            Size = size,
            FileName = fileName,
            Created = _project.TimeProvider.GetUtcNow(),
            ProducerRunId = options?.ProducerRunId,
            Description = options?.Description,
            Tags = tags,
            MetadataJson = metadataJson,
        }, cancellationToken).ConfigureAwait(false);
    }

    private (string Project, string Key, string Reference) Parse(string uriOrKey)
    {
        Names.Required(uriOrKey, "artifact key or URI", "Pass a key such as 'flights', 'flights:3' or 'flights:prod', or a URI such as 'store://datasets/<project>/flights:latest'.");
        if (uriOrKey.StartsWith("store://", StringComparison.Ordinal))
        {
            var uri = StoreUri.Parse(uriOrKey);
            if (uri.Scheme == StoreUri.Models)
                throw new ValidationException($"'{uriOrKey}' is a registered model; load it with project.Models.GetVersionAsync or LoadAsync.");
            if (uri.Scheme is StoreUri.FeatureSets or StoreUri.FeatureVectors)
                throw new ValidationException($"'{uriOrKey}' is a feature store object; open it with project.FeatureStore.{(uri.Scheme == StoreUri.FeatureSets ? "GetFeatureSetAsync" : "GetVectorAsync")}.");
            return (uri.Project, Names.ArtifactKey(uri.Key), uri.Reference ?? "latest");
        }
        var colon = uriOrKey.LastIndexOf(':');
        if (colon == uriOrKey.Length - 1)
            throw new ValidationException($"The artifact reference '{uriOrKey}' ends with ':' but names no version or tag. Write '{uriOrKey}latest', '{uriOrKey}3' or '{uriOrKey}prod', or drop the ':' for the latest version.");
        return colon < 0
            ? (_project.Name, Names.ArtifactKey(uriOrKey), "latest")
            : (_project.Name, Names.ArtifactKey(uriOrKey[..colon]), uriOrKey[(colon + 1)..]);
    }

    private static ArtifactKind InferKind(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".png" or ".svg" or ".html" or ".htm" => ArtifactKind.Plot,
        ".parquet" or ".arrow" or ".feather" => ArtifactKind.Dataset,
        _ => ArtifactKind.File,
    };

    private static string? PlotMetadata(ArtifactKind kind, string fileName)
        => kind == ArtifactKind.Plot ? "{\"format\":\"" + Path.GetExtension(fileName).TrimStart('.').ToLowerInvariant() + "\"}" : null;

    private static void RequirePath(string path)
        => Names.Required(path, "file path", "Pass the path of an existing file, e.g. 'reports/summary.md'.");

    private static void ValidateFileName(string fileName)
    {
        Names.Required(fileName, "file name", "Pass a plain file name with an extension, e.g. 'model.zip'.");
        if (fileName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || fileName.Contains('/', StringComparison.Ordinal) || fileName.Contains('\\', StringComparison.Ordinal) || fileName is "." or "..")
            throw new ValidationException($"The file name '{fileName}' is invalid. Pass a plain file name with an extension, e.g. 'model.zip'.");
    }
}
