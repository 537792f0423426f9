using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.Transformations;

namespace MLOps.FeatureStore.FeatureSets;

/// <summary>Turns feature sets into their stored JSON spec and back.</summary>
internal static class FeatureSetSpec
{
    public const string Kind = "feature-set";

    public static string ToJson(FeatureSet set)
    {
        var o = new JsonObject
        {
            ["name"] = set.Name,
            ["entities"] = Strings(set.Entities),
            ["timestamp"] = set.TimestampColumn,
            ["timestampFormat"] = set.TimestampFormat,
            ["label"] = set.LabelColumn,
            ["declared"] = Columns(set.DeclaredFeatures),
            ["steps"] = new JsonArray(set.Steps.Select(s => (JsonNode?)new JsonObject { ["kind"] = s.Kind, ["options"] = s.Options }).ToArray()),
            ["aggregations"] = new JsonArray(set.Aggregations.Select(a => (JsonNode?)new JsonObject
            {
                ["column"] = a.Column,
                ["ops"] = a.Ops.ToString(),
                ["windows"] = Strings(a.Windows.Select(w => w.ToString()).ToArray()),
            }).ToArray()),
            ["partitioning"] = set.Partitioning.ToString(),
            ["onlineTtlSeconds"] = set.OnlineTtl?.TotalSeconds,
            ["offline"] = set.Offline,
            ["online"] = set.Online,
            ["schema"] = set.Schema is null ? null : Columns(set.Schema),
            ["fitted"] = new JsonObject(set.Fitted.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }

    /// <summary>
    /// Reads a stored spec. Without a registry the steps are not rebuilt (the set has none): enough for what needs only
    /// the keys and the schema (saving, ingesting a new definition, vectors), without the user code of another process.
    /// </summary>
    public static FeatureSet FromJson(string json, FeatureStepRegistry? registry, string? description, IReadOnlyDictionary<string, string> labels, int version)
    {
        var o = JsonNode.Parse(json)!.AsObject();
        var steps = registry is null ? []
            : ((JsonArray)o["steps"]!).Select(n => registry.Create((string)o["name"]!, (string)n!["kind"]!, n["options"]!.DeepClone().AsObject())).ToArray();
        var aggregations = ((JsonArray)o["aggregations"]!).Select(n => new AggregationSpec(
            (string)n!["column"]!, Enum.Parse<AggregationOp>((string)n["ops"]!),
            ((JsonArray)n["windows"]!).Select(w => FeatureWindow.Parse((string)w!)).ToArray())).ToArray();
        var set = new FeatureSet(
            (string)o["name"]!,
            ((JsonArray)o["entities"]!).Select(n => (string)n!).ToArray(),
            (string?)o["timestamp"],
            (string?)o["timestampFormat"],
            (string?)o["label"],
            ReadColumns((JsonArray)o["declared"]!),
            steps,
            aggregations,
            Enum.Parse<PartitionGranularity>((string)o["partitioning"]!),
            (double?)o["onlineTtlSeconds"] is { } ttl ? TimeSpan.FromSeconds(ttl) : null,
            (bool)o["offline"]!,
            (bool)o["online"]!,
            description,
            labels);
        var fitted = ((JsonObject?)o["fitted"] ?? []).ToDictionary(kv => kv.Key, kv => (string)kv.Value!, StringComparer.Ordinal);
        set.Schema = o["schema"] is JsonArray schema ? ReadColumns(schema) : null;
        set.Fitted = fitted;
        set.Version = version;
        return set;
    }

    private static JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode?)v).ToArray());

    private static JsonArray Columns(IEnumerable<FeatureColumn> columns)
        => new(columns.Select(c => (JsonNode?)new JsonObject { ["name"] = c.Name, ["type"] = c.Type.ToString() }).ToArray());

    private static FeatureColumn[] ReadColumns(JsonArray a)
        => a.Select(n => new FeatureColumn((string)n!["name"]!, Enum.Parse<FeatureType>((string)n["type"]!))).ToArray();

    /// <summary>
    /// Checks that a new definition keeps what the stored data is keyed by: the entity columns and the timestamp column.
    /// </summary>
    public static void CheckKeys(FeatureSet stored, FeatureSet definition)
    {
        var problems = new List<string>();
        if (!stored.Entities.SequenceEqual(definition.Entities, StringComparer.Ordinal))
            problems.Add($"entities [{string.Join(", ", definition.Entities)}] differ from the stored [{string.Join(", ", stored.Entities)}]");
        if (stored.TimestampColumn != definition.TimestampColumn)
            problems.Add($"timestamp column '{definition.TimestampColumn ?? "(none)"}' differs from the stored '{stored.TimestampColumn ?? "(none)"}'");
        if (problems.Count > 0)
            throw new ValidationException(
                $"Feature set '{definition.Name}' is stored (v{stored.Version}) with other keys; its offline and online data are keyed by them. Delete it first (DeleteFeatureSetAsync) or use a new name",
                problems);
    }

    /// <summary>
    /// Merges a new output schema into the stored one: same columns with the same types pass, new columns are added,
    /// a changed type is an error naming the column. Returns the merged schema and whether it changed.
    /// </summary>
    public static (IReadOnlyList<FeatureColumn> Schema, bool Changed) Merge(string set, IReadOnlyList<FeatureColumn>? stored, IReadOnlyList<FeatureColumn> incoming)
    {
        if (stored is null) return (incoming, true);
        var byName = stored.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var problems = new List<string>();
        var merged = new List<FeatureColumn>(stored);
        foreach (var c in incoming)
        {
            if (!byName.TryGetValue(c.Name, out var old))
                merged.Add(c);
            else if (old.Type != c.Type)
                problems.Add($"column '{c.Name}' changes type from {old.Type} to {c.Type}; convert it back to {old.Type} in the source (or with a step), or define a new feature set.");
        }

        if (problems.Count > 0)
            throw new ValidationException($"The data does not match the stored schema of feature set '{set}'", problems);
        return (merged, merged.Count != stored.Count);
    }

    public static string FormatVersion(int version) => version.ToString(CultureInfo.InvariantCulture);
}
