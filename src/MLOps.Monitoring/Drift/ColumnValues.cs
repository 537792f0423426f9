using Apache.Arrow;
using Apache.Arrow.Types;

namespace MLOps.Monitoring.Drift;

/// <summary>Reads a named column across record batches as numbers or categories (the kinds drift knows).</summary>
internal static class ColumnValues
{
    /// <summary>The kind of an Arrow type: numbers (double, float, 8 to 64-bit integers) are numeric, strings and booleans
    /// categorical; anything else (timestamps, lists, ...) null.</summary>
    public static FeatureKind? KindOf(IArrowType type) => type.TypeId switch
    {
        ArrowTypeId.Double or ArrowTypeId.Float or ArrowTypeId.Int64 or ArrowTypeId.Int32 or ArrowTypeId.Int16 or ArrowTypeId.Int8 => FeatureKind.Numeric,
        ArrowTypeId.String or ArrowTypeId.Boolean => FeatureKind.Categorical,
        _ => null,
    };

    /// <summary>The arrays of a column in the batches that have it, in order.</summary>
    public static List<IArrowArray> Arrays(IEnumerable<RecordBatch> batches, string column)
    {
        var arrays = new List<IArrowArray>();
        foreach (var batch in batches)
        {
            int index = batch.Schema.GetFieldIndex(column);
            if (index >= 0) arrays.Add(batch.Column(index));
        }
        return arrays;
    }

    public static double[] Numbers(string feature, IReadOnlyList<IArrowArray> arrays)
    {
        var values = new double[arrays.Sum(a => a.Length)];
        int at = 0;
        foreach (var array in arrays)
        {
            using var column = ArrowNumbers.Read(feature, array);
            column.Span.CopyTo(values.AsSpan(at));
            at += array.Length;
        }
        return values;
    }

    public static string?[] Categories(string feature, IReadOnlyList<IArrowArray> arrays)
    {
        var values = new string?[arrays.Sum(a => a.Length)];
        int at = 0;
        foreach (var array in arrays)
        {
            switch (array)
            {
                case StringArray s:
                    for (int i = 0; i < s.Length; i++) values[at + i] = s.GetString(i);
                    break;
                case BooleanArray b:
                    for (int i = 0; i < b.Length; i++) values[at + i] = b.GetValue(i) is { } v ? (v ? "true" : "false") : null;
                    break;
                default:
                    throw new ValidationException(
                        $"Column of categorical feature '{feature}' is an Arrow {array.Data.DataType.Name} array: its reference holds categories, so the window needs strings or booleans. Send the feature with the type it was trained with.");
            }
            at += array.Length;
        }
        return values;
    }
}
