using System.Text.Json.Nodes;
using MLOps.FeatureStore.Internal;

namespace MLOps.FeatureStore.Transformations;

/// <summary>Removes columns.</summary>
public sealed class DropColumnsStep : BuiltInStep
{
    /// <summary>Creates the step.</summary>
    /// <param name="columns">The columns to remove.</param>
    public DropColumnsStep(IReadOnlyList<string> columns)
    {
        if (columns is null || columns.Count == 0) throw new ValidationException("Drop: give at least one column.");
        Columns = columns.ToArray();
    }

    /// <summary>The columns.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <inheritdoc/>
    public override string Kind => "drop";

    /// <inheritdoc/>
    public override IReadOnlyList<string> InputColumns => Columns;

    /// <inheritdoc/>
    public override JsonObject Options => new() { ["columns"] = new JsonArray(Columns.Select(c => (JsonNode?)c).ToArray()) };

    internal static DropColumnsStep FromOptions(JsonObject o) => new(((JsonArray)o["columns"]!).Select(n => (string)n!).ToArray());

    /// <inheritdoc/>
    public override RecordBatch Process(RecordBatch batch, FeatureStepContext context)
    {
        foreach (var c in Columns) Column(batch, c);
        var drop = Columns.ToHashSet(StringComparer.Ordinal);
        return Arrays.SelectColumns(batch, n => !drop.Contains(n));
    }
}
