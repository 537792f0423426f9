using System.Text.Json.Nodes;

namespace MLOps.FeatureStore.Transformations;

/// <summary>
/// One step of a feature set's transformation graph. The same step runs for batch ingestion (large record batches) and
/// for real-time pushes (small ones), so a feature is computed the same way in training and serving.
/// </summary>
/// <remarks>
/// <para>A step receives a record batch whose columns have the canonical feature-store types (<c>double</c>,
/// <c>int64</c>, <c>bool</c>, <c>string</c>, <c>timestamp[us, UTC]</c>) and returns a batch, possibly with columns
/// added, replaced or removed and rows removed. It must keep the columns it does not own, including the row-number
/// column <see cref="FeatureStepContext.RowNumberColumn"/>, so errors can name the source row.</para>
/// <para>Custom steps are registered by <see cref="Kind"/> with <c>FeatureStoreCatalog.Steps</c> so that a stored
/// feature-set spec can be rebuilt from its JSON <see cref="Options"/>.</para>
/// </remarks>
public interface IFeatureStep
{
    /// <summary>The registered kind, such as <c>impute</c> or <c>my-company.geo-hash</c>.</summary>
    string Kind { get; }

    /// <summary>The step's configuration as JSON, stored in the feature-set spec and passed back to the factory.</summary>
    JsonObject Options { get; }

    /// <summary>The columns the step reads (checked against the input when the graph is built); may be empty.</summary>
    IReadOnlyList<string> InputColumns { get; }

    /// <summary>Transforms one batch.</summary>
    /// <param name="batch">The input.</param>
    /// <param name="context">The ingestion context: validation counters, fitted values, clock.</param>
    /// <returns>The output.</returns>
    RecordBatch Process(RecordBatch batch, FeatureStepContext context);
}
