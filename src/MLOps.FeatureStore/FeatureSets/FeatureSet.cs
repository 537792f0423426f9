using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.Transformations;

namespace MLOps.FeatureStore.FeatureSets;

/// <summary>How the offline (Parquet) target partitions a feature set's files by event time (UTC).</summary>
public enum PartitionGranularity
{
    /// <summary>One folder per day: <c>year=2024/month=01/day=31</c> (the default).</summary>
    Day,

    /// <summary>One folder per hour: <c>year=2024/month=01/day=31/hour=13</c>.</summary>
    Hour,

    /// <summary>One folder per month: <c>year=2024/month=01</c>.</summary>
    Month,

    /// <summary>No partition folders.</summary>
    None,
}

/// <summary>
/// A feature set: the definition of a group of features about one or more entities (keys), computed by a graph of
/// transformation steps and sliding-window aggregations, stored offline (Parquet) and online (key-value). Define one
/// with <c>project.FeatureStore.FeatureSet("name")</c>; it is immutable.
/// </summary>
public sealed class FeatureSet
{
    internal FeatureSet(
        string name,
        IReadOnlyList<string> entities,
        string? timestampColumn,
        string? timestampFormat,
        string? labelColumn,
        IReadOnlyList<FeatureColumn> declared,
        IReadOnlyList<IFeatureStep> steps,
        IReadOnlyList<AggregationSpec> aggregations,
        PartitionGranularity partitioning,
        TimeSpan? onlineTtl,
        bool offline,
        bool online,
        string? description,
        IReadOnlyDictionary<string, string> labels)
    {
        Name = name;
        Entities = entities;
        TimestampColumn = timestampColumn;
        TimestampFormat = timestampFormat;
        LabelColumn = labelColumn;
        DeclaredFeatures = declared;
        Steps = steps;
        Aggregations = aggregations;
        Partitioning = partitioning;
        OnlineTtl = onlineTtl;
        Offline = offline;
        Online = online;
        Description = description;
        Labels = labels;
    }

    /// <summary>The name.</summary>
    public string Name { get; }

    /// <summary>The entity (key) columns.</summary>
    public IReadOnlyList<string> Entities { get; }

    /// <summary>The event-time column, or <see langword="null"/> for a static set (such as airports), whose latest
    /// ingested row applies at any time.</summary>
    public string? TimestampColumn { get; }

    /// <summary>The .NET format of text timestamps (<see cref="DateTime.ParseExact(string, string, IFormatProvider)"/>), or
    /// <see langword="null"/> to accept ISO 8601 and <c>yyyy/MM/dd HH:mm[:ss]</c>.</summary>
    public string? TimestampFormat { get; }

    /// <summary>The label column (stored offline for training, not served online), or <see langword="null"/>.</summary>
    public string? LabelColumn { get; }

    /// <summary>Features declared up front with their types (the rest are inferred from the first ingestion).</summary>
    public IReadOnlyList<FeatureColumn> DeclaredFeatures { get; }

    /// <summary>The transformation steps, in order.</summary>
    public IReadOnlyList<IFeatureStep> Steps { get; }

    /// <summary>The sliding-window aggregations, computed after the steps.</summary>
    public IReadOnlyList<AggregationSpec> Aggregations { get; }

    /// <summary>How offline files are partitioned.</summary>
    public PartitionGranularity Partitioning { get; }

    /// <summary>How long an online value stays valid after its event time (<see langword="null"/>: forever).</summary>
    public TimeSpan? OnlineTtl { get; }

    /// <summary>Whether ingestion writes the offline (Parquet) target.</summary>
    public bool Offline { get; }

    /// <summary>Whether ingestion writes the online target.</summary>
    public bool Online { get; }

    /// <summary>The description.</summary>
    public string? Description { get; }

    /// <summary>The labels.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; }

    /// <summary>
    /// The output schema (entities, timestamp, features, label) once known: from a stored version, or after the first
    /// ingestion or preview. <see langword="null"/> for a definition never ingested.
    /// </summary>
    public IReadOnlyList<FeatureColumn>? Schema { get; internal set; }

    /// <summary>Values fitted from data and frozen with the set (imputer means, ...), by name.</summary>
    public IReadOnlyDictionary<string, string> Fitted { get; internal set; } = new Dictionary<string, string>();

    /// <summary>The stored version this object was loaded from or saved as, or <see langword="null"/>.</summary>
    public int? Version { get; internal set; }

    /// <summary>The feature columns (every output column except entities, timestamp and label), once the schema is known.</summary>
    public IReadOnlyList<FeatureColumn> Features => Schema?.Where(c => !IsKeyOrTime(c.Name) && c.Name != LabelColumn).ToArray() ?? DeclaredFeatures;

    internal bool IsKeyOrTime(string column) => Entities.Contains(column, StringComparer.Ordinal) || column == TimestampColumn;

    /// <summary>The store URI of the stored version (<c>store://feature-sets/&lt;project&gt;/&lt;name&gt;:&lt;version&gt;</c>), once saved.</summary>
    /// <param name="project">The project.</param>
    /// <returns>The URI.</returns>
    public string Uri(string project) => $"store://feature-sets/{project}/{Name}:{(Version is { } v ? v.ToString(System.Globalization.CultureInfo.InvariantCulture) : "latest")}";

    internal FeatureSet WithSchema(IReadOnlyList<FeatureColumn> schema, IReadOnlyDictionary<string, string> fitted, int? version)
    {
        var copy = (FeatureSet)MemberwiseClone();
        copy.Schema = schema;
        copy.Fitted = fitted;
        copy.Version = version;
        return copy;
    }

    /// <inheritdoc/>
    public override string ToString() => $"feature set {Name} (entities: {string.Join(", ", Entities)}{(Version is { } v ? $", v{v}" : "")})";
}
