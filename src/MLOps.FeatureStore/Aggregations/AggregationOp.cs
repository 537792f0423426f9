namespace MLOps.FeatureStore.Aggregations;

/// <summary>
/// Sliding-window aggregation operations. Combine them with <c>|</c>. Each produces a feature named
/// <c>{column}_{op}_{window}</c>, with the op in lower case (for example <c>delay_avg_1h</c>).
/// </summary>
[Flags]
public enum AggregationOp
{
    /// <summary>No operation.</summary>
    None = 0,

    /// <summary>The number of non-null values in the window.</summary>
    Count = 1,

    /// <summary>The sum of the values (0 for an empty window).</summary>
    Sum = 2,

    /// <summary>The sum of the squared values (0 for an empty window).</summary>
    Sqr = 4,

    /// <summary>The smallest value (null for an empty window).</summary>
    Min = 8,

    /// <summary>The largest value (null for an empty window).</summary>
    Max = 16,

    /// <summary>The value of the earliest event in the window (null for an empty window).</summary>
    First = 32,

    /// <summary>The value of the latest event in the window (null for an empty window).</summary>
    Last = 64,

    /// <summary>The mean (null for an empty window).</summary>
    Avg = 128,

    /// <summary>The sample variance, with n - 1 in the denominator (null with fewer than two values).</summary>
    StdVar = 256,

    /// <summary>The sample standard deviation, the square root of <see cref="StdVar"/> (null with fewer than two values).</summary>
    StdDev = 512,
}
