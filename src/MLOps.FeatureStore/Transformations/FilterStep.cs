using System.Text.Json.Nodes;
using MLOps.FeatureStore.Internal;

namespace MLOps.FeatureStore.Transformations;

/// <summary>Keeps the rows for which user code returns true. Registered by name (see <see cref="FeatureStepRegistry"/>).</summary>
public sealed class FilterStep : BuiltInStep
{
    private readonly Func<FeatureRowView, bool> _predicate;

    /// <summary>Creates the step.</summary>
    /// <param name="name">A name for the filter (stored in the spec).</param>
    /// <param name="predicate">The predicate.</param>
    public FilterStep(string name, Func<FeatureRowView, bool> predicate)
    {
        Throw.IfNullOrWhitespace(name);
        Name = name;
        _predicate = predicate ?? throw new ArgumentNullException(nameof(predicate));
    }

    /// <summary>The filter's name.</summary>
    public string Name { get; }

    /// <inheritdoc/>
    public override string Kind => "filter";

    /// <inheritdoc/>
    public override IReadOnlyList<string> InputColumns => [];

    /// <inheritdoc/>
    public override JsonObject Options => new() { ["name"] = Name };

    /// <inheritdoc/>
    public override RecordBatch Process(RecordBatch batch, FeatureStepContext context)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var view = new FeatureRowView(batch);
        var keep = new List<int>(batch.Length);
        for (var i = 0; i < batch.Length; i++)
        {
            view.Index = i;
            if (_predicate(view)) keep.Add(i);
        }

        return keep.Count == batch.Length ? batch : Arrays.TakeRows(batch, keep.ToArray());
    }
}
