using System.Globalization;
using System.Runtime.InteropServices;
using Apache.Arrow.Types;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Transformations;

namespace MLOps.FeatureStore.Ingestion;

/// <summary>
/// Converts a source batch to the canonical feature-store types, checks the entity and timestamp columns, and adds the
/// row-number column. Errors name the column, the (1-based) source row and the rule.
/// </summary>
internal static class Normalizer
{
    public static RecordBatch Normalize(FeatureSet set, RecordBatch batch, long firstRow, string source, TimeZoneInfo zone)
    {
        var problems = new List<string>();
        foreach (var e in set.Entities)
            if (batch.Schema.GetFieldIndex(e) < 0)
                problems.Add($"entity column '{e}' is missing");
        if (set.TimestampColumn is { } tsColumn && batch.Schema.GetFieldIndex(tsColumn) < 0)
            problems.Add($"timestamp column '{tsColumn}' is missing");
        if (problems.Count > 0)
            throw new ValidationException(
                $"The source ({source}) does not fit feature set '{set.Name}'. Its columns are: {string.Join(", ", batch.Schema.FieldsList.Select(f => f.Name))}", problems);

        var declared = set.DeclaredFeatures.ToDictionary(d => d.Name, d => d.Type, StringComparer.Ordinal);
        var known = set.Schema?.ToDictionary(c => c.Name, c => c.Type, StringComparer.Ordinal);
        var fields = new List<Field>(batch.ColumnCount + 1);
        var arrays = new List<IArrowArray>(batch.ColumnCount + 1);
        for (var c = 0; c < batch.ColumnCount; c++)
        {
            var field = batch.Schema.GetFieldByIndex(c);
            if (field.Name == FeatureStepContext.RowNumberColumn) continue;
            // a column without any value carries no type (JSON and objects infer string): it takes the stored one
            FeatureType? target = field.Name == set.TimestampColumn ? FeatureType.Timestamp
                : declared.TryGetValue(field.Name, out var d) ? d
                : known is not null && batch.Column(c).NullCount == batch.Length && known.TryGetValue(field.Name, out var k) ? k : null;
            var array = Convert(set, field.Name, batch.Column(c), target, firstRow, source, zone);
            if (set.Entities.Contains(field.Name, StringComparer.Ordinal) || field.Name == set.TimestampColumn)
                CheckNoNulls(set, field.Name, array, firstRow);
            fields.Add(new Field(field.Name, array.Data.DataType, nullable: true));
            arrays.Add(array);
        }

        var rows = new byte[batch.Length * sizeof(long)];
        var numbers = MemoryMarshal.Cast<byte, long>(rows.AsSpan());
        for (var i = 0; i < numbers.Length; i++) numbers[i] = firstRow + i + 1;
        fields.Add(new Field(FeatureStepContext.RowNumberColumn, Int64Type.Default, nullable: false));
        arrays.Add(new Int64Array(new ArrowBuffer(rows), ArrowBuffer.Empty, batch.Length, 0, 0));
        return new RecordBatch(new Schema(fields, null), arrays, batch.Length);
    }

    private static void CheckNoNulls(FeatureSet set, string column, IArrowArray array, long firstRow)
    {
        if (array.NullCount == 0) return;
        for (var i = 0; i < array.Length; i++)
            if (array.IsNull(i))
                throw new ValidationException(
                    $"Feature set '{set.Name}': {(column == set.TimestampColumn ? "timestamp" : "entity")} column '{column}' is null in row {firstRow + i + 1}. Every row needs a value there; filter such rows out of the source first.");
    }

    /// <summary>Converts a column to a type (or to its natural canonical type), with errors naming the column and row;
    /// timestamps without a zone are UTC.</summary>
    internal static IArrowArray ConvertColumn(FeatureSet set, string column, IArrowArray array, FeatureType? target, string source)
        => Convert(set, column, array, target, 0, source, TimeZoneInfo.Utc);

    /// <summary>Converts a column; <paramref name="zone"/> is the zone of timestamps without one (text without an offset,
    /// Arrow timestamps without a time zone).</summary>
    private static IArrowArray Convert(FeatureSet set, string column, IArrowArray array, FeatureType? target, long firstRow, string source, TimeZoneInfo zone)
    {
        if (array is DictionaryArray dict) array = Decode(dict, zone);
        var natural = Natural(array, zone);
        var type = target ?? natural.Type;
        if (natural.Type == type) return natural.Array;
        if (ConvertNumbers(natural.Array, type) is { } converted) return converted;
        var n = array.Length;
        var valid = new bool[n];
        ValidationException Bad(int i, string? value) => new(
            $"Feature set '{set.Name}' ({source}): column '{column}' row {firstRow + i + 1} has the value '{value}', which cannot be read as {type}"
            + (type == FeatureType.Timestamp ? $"; expected {Timestamps.Expected(set.TimestampFormat, zone)}" + (set.TimestampFormat is null ? ", or give the format with .Timestamp(\"" + column + "\", format: \"...\")" : "") : "")
            + ".");
        switch (type)
        {
            case FeatureType.Timestamp:
            {
                var t = new long[n];
                for (var i = 0; i < n; i++)
                {
                    var v = Arrays.ValueAt(natural.Array, i);
                    if (v.IsNull) continue;
                    valid[i] = true;
                    if (v.Type == FeatureType.String)
                    {
                        if (!Timestamps.TryParse(v.Text!, set.TimestampFormat, zone, out t[i])) throw Bad(i, v.Text);
                    }
                    else if (v.Type == FeatureType.Int64) t[i] = v.Integer; // already microseconds since the epoch
                    else throw Bad(i, FeatureRule_Text(v));
                }

                return Arrays.Timestamps(t, valid);
            }

            case FeatureType.Double:
            {
                var d = new double[n];
                for (var i = 0; i < n; i++)
                {
                    var v = Arrays.ValueAt(natural.Array, i);
                    d[i] = v.IsNull ? double.NaN
                        : v.Type == FeatureType.String ? (double.TryParse(v.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : throw Bad(i, v.Text))
                        : v.AsDouble();
                }

                return Arrays.Doubles(d, n);
            }

            case FeatureType.Int64:
            {
                var l = new long[n];
                for (var i = 0; i < n; i++)
                {
                    var v = Arrays.ValueAt(natural.Array, i);
                    if (v.IsNull) continue;
                    valid[i] = true;
                    l[i] = v.Type switch
                    {
                        FeatureType.String => long.TryParse(v.Text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var x) ? x : throw Bad(i, v.Text),
                        FeatureType.Double => v.Number == Math.Floor(v.Number) ? (long)v.Number : throw Bad(i, FeatureRule_Text(v)),
                        _ => v.Integer,
                    };
                }

                return Arrays.Int64s(l, valid);
            }

            case FeatureType.Boolean:
            {
                var b = new bool[n];
                for (var i = 0; i < n; i++)
                {
                    var v = Arrays.ValueAt(natural.Array, i);
                    if (v.IsNull) continue;
                    valid[i] = true;
                    b[i] = v.Type == FeatureType.String ? (bool.TryParse(v.Text, out var x) ? x : throw Bad(i, v.Text)) : v.AsDouble() != 0;
                }

                return Arrays.Booleans(b, valid);
            }

            default:
            {
                var s = new string?[n];
                for (var i = 0; i < n; i++)
                {
                    var v = Arrays.ValueAt(natural.Array, i);
                    s[i] = v.IsNull ? null : FeatureRule_Text(v);
                }

                return Arrays.Strings(s);
            }
        }
    }

    /// <summary>
    /// The conversions between canonical numbers that cannot fail, column-wise (the general path reads value by value):
    /// int64, timestamp or bool to double (bool as 0/1, a timestamp as its microseconds), int64 to timestamp
    /// (microseconds since the epoch), bool or timestamp to int64. Null for any other.
    /// </summary>
    private static IArrowArray? ConvertNumbers(IArrowArray array, FeatureType type)
    {
        var n = array.Length;
        var hasNulls = array.NullCount > 0;
        switch (type, array)
        {
            case (FeatureType.Double, Int64Array or TimestampArray or BooleanArray):
            {
                var d = new double[n];
                if (array is BooleanArray b)
                {
                    for (var i = 0; i < n; i++) d[i] = hasNulls && b.IsNull(i) ? double.NaN : b.GetValue(i) == true ? 1 : 0;
                }
                else
                {
                    var values = array is Int64Array l ? l.Values : ((TimestampArray)array).Values;
                    for (var i = 0; i < n; i++) d[i] = hasNulls && array.IsNull(i) ? double.NaN : values[i];
                }

                return Arrays.Doubles(d, n);
            }

            case (FeatureType.Timestamp, Int64Array l):
            {
                var valid = new bool[n];
                var values = l.Values;
                var t = new long[n];
                for (var i = 0; i < n; i++)
                {
                    if (hasNulls && l.IsNull(i)) continue;
                    valid[i] = true;
                    t[i] = values[i];
                }

                return Arrays.Timestamps(t, valid);
            }

            case (FeatureType.Int64, TimestampArray or BooleanArray):
            {
                var valid = new bool[n];
                var v = new long[n];
                for (var i = 0; i < n; i++)
                {
                    if (hasNulls && array.IsNull(i)) continue;
                    valid[i] = true;
                    v[i] = array is TimestampArray t ? t.Values[i] : ((BooleanArray)array).GetValue(i) == true ? 1 : 0;
                }

                return Arrays.Int64s(v, valid);
            }

            default:
                return null;
        }
    }

    private static string FeatureRule_Text(FeatureValue v) => v.Type switch
    {
        FeatureType.String => v.Text!,
        FeatureType.Boolean => v.Integer != 0 ? "true" : "false",
        FeatureType.Double => v.Number.ToString("R", CultureInfo.InvariantCulture),
        FeatureType.Timestamp => Timestamps.ToDateTimeOffset(v.Integer).ToString("O", CultureInfo.InvariantCulture),
        _ => v.Integer.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// The canonical form of an array without a target type: integers → int64, floats/decimals → double, dates →
    /// timestamp (midnight in <paramref name="zone"/>), timestamps → microseconds UTC (an Arrow timestamp with a time zone is an instant; one
    /// without is a wall-clock time in <paramref name="zone"/>).
    /// </summary>
    private static (IArrowArray Array, FeatureType Type) Natural(IArrowArray array, TimeZoneInfo zone)
    {
        var n = array.Length;
        switch (array)
        {
            case DoubleArray: return (array, FeatureType.Double);
            case Int64Array: return (array, FeatureType.Int64);
            case BooleanArray: return (array, FeatureType.Boolean);
            case StringArray: return (array, FeatureType.String);
            case TimestampArray t when t.Data.DataType is TimestampType { Unit: TimeUnit.Microsecond, Timezone: "UTC" }: return (array, FeatureType.Timestamp);
            case TimestampArray t:
                return (Arrays.ToMicroseconds(t, zone), FeatureType.Timestamp);

            case Date32Array or Date64Array:
            {
                var values = new long[n];
                var valid = new bool[n];
                for (var i = 0; i < n; i++)
                {
                    var d = array is Date32Array d32 ? d32.GetDateTime(i) : ((Date64Array)array).GetDateTime(i);
                    if (d is null) continue;
                    valid[i] = true;
                    values[i] = Timestamps.FromDateTime(DateTime.SpecifyKind(d.Value, DateTimeKind.Unspecified), zone); // midnight in the source's zone
                }

                return (Arrays.Timestamps(values, valid), FeatureType.Timestamp);
            }

            case FloatArray or Decimal128Array or HalfFloatArray:
            {
                var d = new double[n];
                for (var i = 0; i < n; i++)
                    d[i] = array switch
                    {
                        FloatArray f => f.GetValue(i) ?? double.NaN,
                        Decimal128Array m => m.GetValue(i) is { } x ? (double)x : double.NaN,
                        _ => ((HalfFloatArray)array).GetValue(i) is { } h ? (double)h : double.NaN,
                    };
                return (Arrays.Doubles(d, n), FeatureType.Double);
            }

            case Int8Array or Int16Array or Int32Array or UInt8Array or UInt16Array or UInt32Array or UInt64Array:
            {
                var l = new long[n];
                var valid = new bool[n];
                for (var i = 0; i < n; i++)
                {
                    if (array.IsNull(i)) continue;
                    valid[i] = true;
                    l[i] = array switch
                    {
                        Int8Array a => a.Values[i],
                        Int16Array a => a.Values[i],
                        Int32Array a => a.Values[i],
                        UInt8Array a => a.Values[i],
                        UInt16Array a => a.Values[i],
                        UInt32Array a => a.Values[i],
                        _ => (long)((UInt64Array)array).Values[i],
                    };
                }

                return (Arrays.Int64s(l, valid), FeatureType.Int64);
            }

            case LargeStringArray or StringViewArray:
            {
                var s = new string?[n];
                for (var i = 0; i < n; i++)
                    s[i] = array.IsNull(i) ? null : array is LargeStringArray ls ? ls.GetString(i) : ((StringViewArray)array).GetString(i);
                return (Arrays.Strings(s), FeatureType.String);
            }

            default:
                throw new ValidationException($"A column of type {array.Data.DataType.Name} cannot be ingested. Convert it to a number, boolean, string or timestamp first.");
        }
    }

    private static IArrowArray Decode(DictionaryArray dict, TimeZoneInfo zone)
    {
        var values = Natural(dict.Dictionary, zone).Array;
        var indices = new int[dict.Length];
        for (var i = 0; i < indices.Length; i++)
            indices[i] = dict.IsNull(i) ? -1 : dict.Indices switch
            {
                Int32Array a => a.Values[i],
                Int64Array a => (int)a.Values[i],
                Int16Array a => a.Values[i],
                Int8Array a => a.Values[i],
                UInt8Array a => a.Values[i],
                UInt16Array a => a.Values[i],
                _ => (int)((UInt32Array)dict.Indices).Values[i],
            };
        return Retrieval.ArrowTake.Take(values, indices);
    }
}
