using System.Text.Json;
using System.Text.Json.Nodes;
using MLOps.Artifacts;
using MLOps.FeatureStore.Ingestion;

namespace MLOps.FeatureStore;

/// <summary>A stored feature set's summary.</summary>
/// <param name="Name">The name.</param>
/// <param name="Version">The version.</param>
/// <param name="Uri">Its store URI.</param>
/// <param name="Description">The description.</param>
/// <param name="Labels">The labels.</param>
/// <param name="Created">When the version was created.</param>
/// <param name="Updated">When its status last changed.</param>
/// <param name="Tags">Tags on the version.</param>
/// <param name="Status">The status: ingestions and statistics.</param>
/// <param name="Schema">The schema, once known.</param>
public sealed record FeatureSetInfo(
    string Name, int Version, string Uri, string? Description, IReadOnlyDictionary<string, string> Labels, DateTimeOffset Created, DateTimeOffset Updated,
    IReadOnlyList<string> Tags, FeatureSetStatus Status, IReadOnlyList<FeatureColumn>? Schema);

/// <summary>The status of a feature set version: what was ingested and the statistics of the last ingestion.</summary>
public sealed record FeatureSetStatus
{
    /// <summary>The number of completed ingestions.</summary>
    public int Ingestions { get; init; }

    /// <summary>Rows written by all completed ingestions.</summary>
    public long RowsIngested { get; init; }

    /// <summary>When the last ingestion completed.</summary>
    public DateTimeOffset? LastIngested { get; init; }

    /// <summary>The statistics of the last ingestion (the drift reference).</summary>
    public DatasetProfile? Statistics { get; init; }

    /// <summary>The reports of recent completed ingestions by id (the last 100), without statistics.</summary>
    public IReadOnlyDictionary<string, IngestReport> Completed { get; init; } = new Dictionary<string, IngestReport>();

    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    internal string ToJson()
    {
        var o = new JsonObject
        {
            ["ingestions"] = Ingestions,
            ["rowsIngested"] = RowsIngested,
            ["lastIngested"] = LastIngested,
            ["statistics"] = Statistics is null ? null : JsonNode.Parse(Statistics.ToJson()),
            ["completed"] = JsonSerializer.SerializeToNode(Completed.ToDictionary(kv => kv.Key, kv => kv.Value with { Statistics = null }), Json),
        };
        return o.ToJsonString();
    }

    internal static FeatureSetStatus FromJson(string? json)
    {
        if (json is null) return new FeatureSetStatus();
        var o = JsonNode.Parse(json)!.AsObject();
        return new FeatureSetStatus
        {
            Ingestions = (int?)o["ingestions"] ?? 0,
            RowsIngested = (long?)o["rowsIngested"] ?? 0,
            LastIngested = o["lastIngested"]?.GetValue<DateTimeOffset>(),
            Statistics = o["statistics"] is JsonObject s ? DatasetProfile.FromJson(s.ToJsonString()) : null,
            Completed = o["completed"]?.Deserialize<Dictionary<string, IngestReport>>(Json) ?? [],
        };
    }
}
