namespace MLOps.FeatureStore;

/// <summary>The value types a feature-set column can have. Every source column is converted to one of them on ingest.</summary>
public enum FeatureType
{
    /// <summary>A 64-bit floating-point number (Arrow <c>double</c>).</summary>
    Double,

    /// <summary>A 64-bit integer (Arrow <c>int64</c>).</summary>
    Int64,

    /// <summary>A boolean (Arrow <c>bool</c>).</summary>
    Boolean,

    /// <summary>A UTF-8 string (Arrow <c>string</c>).</summary>
    String,

    /// <summary>A UTC instant with microsecond precision (Arrow <c>timestamp[us, UTC]</c>).</summary>
    Timestamp,
}

/// <summary>A named, typed column of a feature set.</summary>
/// <param name="Name">The column name.</param>
/// <param name="Type">Its type.</param>
public sealed record FeatureColumn(string Name, FeatureType Type);
