using System.Reflection;
using System.Runtime.CompilerServices;

namespace MLOps.FeatureStore.Sources;

/// <summary>Reads objects through their public properties into record batches.</summary>
internal sealed class ObjectSource<T>(IEnumerable<T> items, TimeZoneInfo zone) : DataSource
{
    public override string Description => $"objects of {typeof(T).Name}";

    internal override TimeZoneInfo Zone => zone;

    public override async IAsyncEnumerable<RecordBatch> ReadAsync(int chunkRows, IReadOnlyDictionary<string, FeatureType> typeHints, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        var properties = typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.GetIndexParameters().Length == 0).ToArray();
        if (properties.Length == 0)
            throw new ValidationException($"The type {typeof(T).Name} has no public readable properties to ingest. Use a class or record with properties such as Origin and Delay.");
        var hints = new Dictionary<string, FeatureType>(typeHints, StringComparer.Ordinal);
        foreach (var p in properties)
            if (!hints.ContainsKey(p.Name) && TypeOf(p.PropertyType) is { } t) hints[p.Name] = t;
        var builder = new RowBatchBuilder(hints, zone);
        long row = 0;
        foreach (var item in items)
        {
            cancellationToken.ThrowIfCancellationRequested();
            row++;
            builder.BeginRow();
            foreach (var p in properties)
                builder.Set(p.Name, Value(p.GetValue(item)));
            if (builder.Count >= chunkRows)
                yield return builder.Build(Description, row - builder.Count);
        }

        if (builder.Count > 0 || row == 0)
            yield return builder.Build(Description, row - builder.Count);
        await Task.CompletedTask.ConfigureAwait(false);
    }

    private static object? Value(object? v) => v switch
    {
        null => null,
        int or long or short or byte or sbyte or uint or ushort => Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture),
        double or float or decimal or ulong => Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture),
        DateOnly d => d.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified), // midnight in the source's zone
        Enum e => e.ToString(),
        _ => v,
    };

    private static FeatureType? TypeOf(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal)) return FeatureType.Double;
        if (type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte)) return FeatureType.Int64;
        if (type == typeof(bool)) return FeatureType.Boolean;
        if (type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(DateOnly)) return FeatureType.Timestamp;
        if (type == typeof(string) || type.IsEnum) return FeatureType.String;
        return null;
    }
}
