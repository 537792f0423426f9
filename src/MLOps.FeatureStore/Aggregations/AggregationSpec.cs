namespace MLOps.FeatureStore.Aggregations;

/// <summary>One column's sliding-window aggregations: every operation in <paramref name="Ops"/> over every window.</summary>
/// <param name="Column">The numeric source column.</param>
/// <param name="Ops">The operations.</param>
/// <param name="Windows">The windows, written <c>&lt;n&gt;&lt;s|m|h|d&gt;</c> (see <see cref="FeatureWindow"/>).</param>
public sealed record AggregationSpec(string Column, AggregationOp Ops, IReadOnlyList<FeatureWindow> Windows)
{
    /// <summary>The operations in a fixed order, with their lower-case names.</summary>
    public static IReadOnlyList<(AggregationOp Op, string Name)> AllOps { get; } =
    [
        (AggregationOp.Count, "count"), (AggregationOp.Sum, "sum"), (AggregationOp.Sqr, "sqr"), (AggregationOp.Min, "min"),
        (AggregationOp.Max, "max"), (AggregationOp.First, "first"), (AggregationOp.Last, "last"), (AggregationOp.Avg, "avg"),
        (AggregationOp.StdVar, "stdvar"), (AggregationOp.StdDev, "stddev"),
    ];

    /// <summary>The output features, window by window and op by op: <c>{column}_{op}_{window}</c>.</summary>
    public IEnumerable<(string Name, AggregationOp Op, FeatureWindow Window)> Outputs()
    {
        foreach (var w in Windows)
            foreach (var (op, name) in AllOps)
                if ((Ops & op) != 0) yield return ($"{Column}_{name}_{w}", op, w);
    }
}
