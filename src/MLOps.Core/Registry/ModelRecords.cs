namespace MLOps.Registry;

/// <summary>A column of a model's input or output schema.</summary>
/// <param name="Name">The column name.</param>
/// <param name="Type">The type, e.g. <c>Single</c>, <c>String</c>, <c>Boolean</c>, <c>Vector&lt;Single, 4&gt;</c>.</param>
public sealed record ModelColumn(string Name, string Type);

/// <summary>What a store needs to add a model version.</summary>
public sealed record NewModelVersion
{
    /// <summary>The project.</summary>
    public required string Project { get; init; }
    /// <summary>The model name.</summary>
    public required string Name { get; init; }
    /// <summary>The framework, e.g. "mlnet", "onnx", "lightgbm".</summary>
    public required string Framework { get; init; }
    /// <summary>The SHA-256 of the model file.</summary>
    public required string ContentHash { get; init; }
    /// <summary>The model file size in bytes.</summary>
    public required long Size { get; init; }
    /// <summary>The model file name (keeps the extension).</summary>
    public required string FileName { get; init; }
    /// <summary>When it was registered (UTC).</summary>
    public required DateTimeOffset Created { get; init; }
    /// <summary>The run that produced it.</summary>
    public string? RunId { get; init; }
    /// <summary>A description.</summary>
    public string? Description { get; init; }
    /// <summary>Tags.</summary>
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();
    /// <summary>Metrics measured on the model (auc, accuracy, ...).</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
    /// <summary>Training parameters.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
    /// <summary>The input schema.</summary>
    public IReadOnlyList<ModelColumn> InputSchema { get; init; } = [];
    /// <summary>The output schema.</summary>
    public IReadOnlyList<ModelColumn> OutputSchema { get; init; } = [];
    /// <summary>The URI of the training dataset.</summary>
    public string? TrainingData { get; init; }
    /// <summary>The URI of the feature vector it was trained on.</summary>
    public string? FeatureVector { get; init; }
    /// <summary>Extra files by name, each the SHA-256 of its content.</summary>
    public IReadOnlyDictionary<string, string> Files { get; init; } = new Dictionary<string, string>();
}

/// <summary>A stored model version.</summary>
public sealed record ModelVersionRecord
{
    /// <summary>The project.</summary>
    public required string Project { get; init; }
    /// <summary>The model name.</summary>
    public required string Name { get; init; }
    /// <summary>The version number (1, 2, 3 ... per name).</summary>
    public required int Version { get; init; }
    /// <summary>The framework.</summary>
    public required string Framework { get; init; }
    /// <summary>The SHA-256 of the model file.</summary>
    public required string ContentHash { get; init; }
    /// <summary>The model file size in bytes.</summary>
    public required long Size { get; init; }
    /// <summary>The model file name.</summary>
    public required string FileName { get; init; }
    /// <summary>When it was registered (UTC).</summary>
    public required DateTimeOffset Created { get; init; }
    /// <summary>The run that produced it.</summary>
    public string? RunId { get; init; }
    /// <summary>A description.</summary>
    public string? Description { get; init; }
    /// <summary>Tags.</summary>
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();
    /// <summary>Metrics measured on the model.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
    /// <summary>Training parameters.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
    /// <summary>The input schema.</summary>
    public IReadOnlyList<ModelColumn> InputSchema { get; init; } = [];
    /// <summary>The output schema.</summary>
    public IReadOnlyList<ModelColumn> OutputSchema { get; init; } = [];
    /// <summary>The URI of the training dataset.</summary>
    public string? TrainingData { get; init; }
    /// <summary>The URI of the feature vector.</summary>
    public string? FeatureVector { get; init; }
    /// <summary>Extra files by name, each the SHA-256 of its content.</summary>
    public IReadOnlyDictionary<string, string> Files { get; init; } = new Dictionary<string, string>();
    /// <summary>The aliases that point at this version now.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>The URI of this version, e.g. <c>store://models/flights/delay-model:3</c>.</summary>
    public string Uri => new StoreUri(StoreUri.Models, Project, Name, Version.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToString();
}

/// <summary>A registered model: its name, description, tags, latest version and aliases.</summary>
public sealed record RegisteredModelRecord
{
    /// <summary>The project.</summary>
    public required string Project { get; init; }
    /// <summary>The model name.</summary>
    public required string Name { get; init; }
    /// <summary>When its first version was registered.</summary>
    public required DateTimeOffset Created { get; init; }
    /// <summary>The newest version number.</summary>
    public required int LatestVersion { get; init; }
    /// <summary>A description.</summary>
    public string? Description { get; init; }
    /// <summary>Tags.</summary>
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();
    /// <summary>Aliases and the versions they point at.</summary>
    public IReadOnlyDictionary<string, int> Aliases { get; init; } = new Dictionary<string, int>();
}

/// <summary>One change of a model alias.</summary>
/// <param name="Alias">The alias.</param>
/// <param name="Version">The version it now points at, or <see langword="null"/> when removed.</param>
/// <param name="PreviousVersion">The version it pointed at before, or <see langword="null"/>.</param>
/// <param name="Time">When it changed (UTC).</param>
public sealed record AliasChange(string Alias, int? Version, int? PreviousVersion, DateTimeOffset Time);
