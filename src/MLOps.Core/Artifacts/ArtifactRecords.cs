namespace MLOps.Artifacts;

/// <summary>What an artifact is; decides its URI scheme and what metadata it carries.</summary>
public enum ArtifactKind
{
    /// <summary>Any file (<c>store://artifacts/...</c>).</summary>
    File = 0,
    /// <summary>Tabular data with schema, preview and statistics (<c>store://datasets/...</c>).</summary>
    Dataset = 1,
    /// <summary>A model file outside the registry (<c>store://artifacts/...</c>).</summary>
    Model = 2,
    /// <summary>A chart: PNG, SVG or HTML (<c>store://artifacts/...</c>).</summary>
    Plot = 3,
    /// <summary>A small table such as a confusion matrix, stored as CSV (<c>store://artifacts/...</c>).</summary>
    Table = 4,
}

/// <summary>What a store needs to record a new artifact version.</summary>
public sealed record NewArtifact
{
    /// <summary>The project.</summary>
    public required string Project { get; init; }
    /// <summary>The validated key, e.g. "datasets/train" or "confusion-matrix".</summary>
    public required string Key { get; init; }
    /// <summary>The kind.</summary>
    public required ArtifactKind Kind { get; init; }
    /// <summary>The SHA-256 of the content, lower-case hex.</summary>
    public required string Hash { get; init; }
    /// <summary>The content size in bytes.</summary>
    public required long Size { get; init; }
    /// <summary>The file name to give the content when it is exported (keeps the extension).</summary>
    public required string FileName { get; init; }
    /// <summary>When it was logged (UTC).</summary>
    public required DateTimeOffset Created { get; init; }
    /// <summary>The run that produced it.</summary>
    public string? ProducerRunId { get; init; }
    /// <summary>A description.</summary>
    public string? Description { get; init; }
    /// <summary>Tags to put on this version besides <c>latest</c>.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>Kind-specific metadata as JSON (a dataset's profile, a plot's format, ...).</summary>
    public string? MetadataJson { get; init; }
}

/// <summary>A stored artifact version.</summary>
public sealed record ArtifactRecord
{
    /// <summary>The project.</summary>
    public required string Project { get; init; }
    /// <summary>The key.</summary>
    public required string Key { get; init; }
    /// <summary>The version number, 1 for the first.</summary>
    public required int Version { get; init; }
    /// <summary>The kind.</summary>
    public required ArtifactKind Kind { get; init; }
    /// <summary>The SHA-256 of the content, lower-case hex.</summary>
    public required string Hash { get; init; }
    /// <summary>The content size in bytes.</summary>
    public required long Size { get; init; }
    /// <summary>The file name of the content.</summary>
    public required string FileName { get; init; }
    /// <summary>When it was logged (UTC).</summary>
    public required DateTimeOffset Created { get; init; }
    /// <summary>The run that produced it.</summary>
    public string? ProducerRunId { get; init; }
    /// <summary>A description.</summary>
    public string? Description { get; init; }
    /// <summary>The tags that point at this version (including <c>latest</c> when it is the newest).</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>Kind-specific metadata as JSON.</summary>
    public string? MetadataJson { get; init; }

    /// <summary>The URI of this exact version, e.g. <c>store://datasets/flights/train:3</c>.</summary>
    public string Uri => new StoreUri(StoreUri.SchemeFor(Kind), Project, Key, Version.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToString();
}
