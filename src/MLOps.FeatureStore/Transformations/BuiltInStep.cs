using System.Text.Json.Nodes;

namespace MLOps.FeatureStore.Transformations;

/// <summary>Shared plumbing of the built-in steps.</summary>
public abstract class BuiltInStep : IFeatureStep
{
    /// <inheritdoc/>
    public abstract string Kind { get; }

    /// <inheritdoc/>
    public abstract JsonObject Options { get; }

    /// <inheritdoc/>
    public abstract IReadOnlyList<string> InputColumns { get; }

    /// <inheritdoc/>
    public abstract RecordBatch Process(RecordBatch batch, FeatureStepContext context);

    /// <summary>A column of the batch, or a clear error.</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="name">The column.</param>
    /// <returns>The array.</returns>
    protected IArrowArray Column(RecordBatch batch, string name)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var i = batch.Schema.GetFieldIndex(name);
        if (i < 0)
            throw new ValidationException($"Step '{Kind}' needs column '{name}', which the data does not have at this point. Columns: {string.Join(", ", batch.Schema.FieldsList.Select(f => f.Name).Where(n => n != FeatureStepContext.RowNumberColumn))}.");
        return batch.Column(i);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Kind} {Options.ToJsonString()}";
}
