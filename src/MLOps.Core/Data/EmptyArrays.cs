using Apache.Arrow;
using Apache.Arrow.Types;

namespace MLOps.Data;

/// <summary>Zero-length arrays and record batches, to carry the schema of a dataset without rows.</summary>
internal static class EmptyArrays
{
    /// <summary>An empty batch with the schema, or null when a column type has no builder here.</summary>
    public static RecordBatch? TryCreateBatch(Schema schema)
    {
        var arrays = new List<IArrowArray>(schema.FieldsList.Count);
        foreach (var field in schema.FieldsList)
        {
            var array = TryCreate(field.DataType);
            if (array is null)
            {
                foreach (var built in arrays)
                    (built as IDisposable)?.Dispose();
                return null;
            }

            arrays.Add(array);
        }

        return new RecordBatch(schema, arrays, 0);
    }

    /// <summary>An empty array of the type, or null when the type has no builder here.</summary>
    public static IArrowArray? TryCreate(IArrowType type) => type switch
    {
        BooleanType => new BooleanArray.Builder().Build(),
        Int8Type => new Int8Array.Builder().Build(),
        Int16Type => new Int16Array.Builder().Build(),
        Int32Type => new Int32Array.Builder().Build(),
        Int64Type => new Int64Array.Builder().Build(),
        UInt8Type => new UInt8Array.Builder().Build(),
        UInt16Type => new UInt16Array.Builder().Build(),
        UInt32Type => new UInt32Array.Builder().Build(),
        UInt64Type => new UInt64Array.Builder().Build(),
        HalfFloatType => new HalfFloatArray.Builder().Build(),
        FloatType => new FloatArray.Builder().Build(),
        DoubleType => new DoubleArray.Builder().Build(),
        StringType => new StringArray.Builder().Build(),
        BinaryType => new BinaryArray.Builder().Build(),
        TimestampType t => new TimestampArray.Builder(t).Build(),
        Date32Type => new Date32Array.Builder().Build(),
        Date64Type => new Date64Array.Builder().Build(),
        Time32Type t => new Time32Array.Builder(t).Build(),
        Time64Type t => new Time64Array.Builder(t).Build(),
        Decimal128Type d => new Decimal128Array.Builder(d).Build(),
        _ => null,
    };
}
