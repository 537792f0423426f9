using Apache.Arrow.Types;
using MLOps.FeatureStore.Online;

namespace MLOps.FeatureStore.Tests.Online;

/// <summary>Builds small Arrow record batches and online table definitions for the online store tests.</summary>
internal static class OnlineBatches
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static readonly FeatureColumn[] AllTypes =
    [
        new("delay", FeatureType.Double),
        new("count", FeatureType.Int64),
        new("late", FeatureType.Boolean),
        new("destination", FeatureType.String),
        new("last_seen", FeatureType.Timestamp),
    ];

    public static OnlineTable Table(string featureSet = "flights", params FeatureColumn[] features)
        => new("proj", featureSet, [new FeatureColumn("origin", FeatureType.String)], "ts", features.Length == 0 ? AllTypes : features);

    public static long Micros(DateTimeOffset t) => (t - DateTimeOffset.UnixEpoch).Ticks / 10;

    public static RecordBatch Batch(params (string Name, IArrowArray Array)[] columns)
    {
        var schema = new Schema.Builder();
        foreach (var (name, array) in columns) schema.Field(f => f.Name(name).DataType(array.Data.DataType).Nullable(true));
        return new RecordBatch(schema.Build(), columns.Select(c => c.Array), columns.Length == 0 ? 0 : columns[0].Array.Length);
    }

    public static StringArray Strings(params string?[] values)
    {
        var b = new StringArray.Builder();
        foreach (var v in values)
        {
            if (v is null) b.AppendNull();
            else b.Append(v);
        }
        return b.Build();
    }

    public static DoubleArray Doubles(params double?[] values)
    {
        var b = new DoubleArray.Builder();
        foreach (var v in values)
        {
            if (v is null) b.AppendNull();
            else b.Append(v.Value);
        }
        return b.Build();
    }

    public static Int64Array Longs(params long?[] values)
    {
        var b = new Int64Array.Builder();
        foreach (var v in values)
        {
            if (v is null) b.AppendNull();
            else b.Append(v.Value);
        }
        return b.Build();
    }

    public static Int32Array Ints(params int?[] values)
    {
        var b = new Int32Array.Builder();
        foreach (var v in values)
        {
            if (v is null) b.AppendNull();
            else b.Append(v.Value);
        }
        return b.Build();
    }

    public static BooleanArray Bools(params bool?[] values)
    {
        var b = new BooleanArray.Builder();
        foreach (var v in values)
        {
            if (v is null) b.AppendNull();
            else b.Append(v.Value);
        }
        return b.Build();
    }

    public static TimestampArray Times(params DateTimeOffset?[] values) => Times(TimeUnit.Microsecond, values);

    public static TimestampArray Times(TimeUnit unit, params DateTimeOffset?[] values)
    {
        var b = new TimestampArray.Builder(unit, "UTC");
        foreach (var v in values)
        {
            if (v is null) b.AppendNull();
            else b.Append(v.Value);
        }
        return b.Build();
    }

    /// <summary>One row per origin of the <see cref="AllTypes"/> table, all with the same values.</summary>
    public static RecordBatch Rows(DateTimeOffset time, double delay, params string[] origins)
        => Batch(
            ("origin", Strings(origins)),
            ("ts", Times(origins.Select(_ => (DateTimeOffset?)time).ToArray())),
            ("delay", Doubles(origins.Select(_ => (double?)delay).ToArray())));

    public static readonly IReadOnlyDictionary<string, byte[]> NoState = new Dictionary<string, byte[]>();
}
