namespace MLOps;

/// <summary>A stored project: name, description, parameters and labels.</summary>
public sealed record ProjectRecord
{
    /// <summary>The project name.</summary>
    public required string Name { get; init; }
    /// <summary>A description.</summary>
    public string? Description { get; init; }
    /// <summary>When it was created (UTC).</summary>
    public required DateTimeOffset Created { get; init; }
    /// <summary>When it was last changed (UTC).</summary>
    public required DateTimeOffset Updated { get; init; }
    /// <summary>Project-level parameters (defaults that runs can read).</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
    /// <summary>Labels.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
}
