using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace MLOps.Data;

/// <summary>Accumulates the statistics of one column over the batches of a dataset.</summary>
internal abstract class ColumnAccumulator
{
    protected ColumnAccumulator(string name) => Name = name;

    /// <summary>The column name.</summary>
    public string Name { get; }

    /// <summary>The number of non-null values seen.</summary>
    protected long Count { get; set; }

    /// <summary>The number of nulls seen (including NaN for numbers).</summary>
    protected long NullCount { get; set; }

    /// <summary>Creates the accumulator for a column of the given type.</summary>
    public static ColumnAccumulator Create(string name, IArrowType type) => ArrowTypes.CategoryOf(type) switch
    {
        ValueCategory.Integer or ValueCategory.Floating => new NumericAccumulator(name),
        ValueCategory.Temporal => new TemporalAccumulator(name),
        ValueCategory.String => new StringAccumulator(name),
        ValueCategory.Boolean => new BooleanAccumulator(name),
        _ => new CountingAccumulator(name),
    };

    /// <summary>Adds the values of one batch of the column.</summary>
    public void Add(IArrowArray array)
    {
        if (array is DictionaryArray dictionary)
            AddDictionary(dictionary);
        else
            AddArray(array);
    }

    /// <summary>The statistics of everything added.</summary>
    public abstract ColumnStatistics Build();

    /// <summary>Gives back pooled memory once the statistics are built (the accumulator is not used afterwards).</summary>
    public virtual void Release()
    {
    }

    /// <summary>Adds a plain (not dictionary-encoded) array.</summary>
    protected abstract void AddArray(IArrowArray array);

    /// <summary>Adds the valid value at <paramref name="index"/> of <paramref name="values"/> (the slow path, for dictionaries).</summary>
    protected abstract void AddValue(IArrowArray values, int index);

    /// <summary>Adds a dictionary-encoded array, value by value.</summary>
    protected virtual void AddDictionary(DictionaryArray array)
    {
        var dictionary = array.Dictionary;
        for (var i = 0; i < array.Length; i++)
        {
            var code = ArrowTypes.DictionaryCode(array.Indices, i);
            if (code < 0 || dictionary.IsNull(code))
                NullCount++;
            else
                AddValue(dictionary, code);
        }
    }

    /// <summary>The statistics with only the counts set.</summary>
    protected ColumnStatistics Counts() => new() { Name = Name, Count = Count, NullCount = NullCount };
}

/// <summary>Counts values and nulls of columns of types without statistics (binary, lists, structs, ...).</summary>
internal sealed class CountingAccumulator(string name) : ColumnAccumulator(name)
{
    public override ColumnStatistics Build() => Counts();

    protected override void AddArray(IArrowArray array)
    {
        NullCount += array.NullCount;
        Count += array.Length - array.NullCount;
    }

    protected override void AddValue(IArrowArray values, int index) => Count++;
}

/// <summary>
/// Statistics of integer, floating-point and decimal columns. Keeps every non-null value as a double (8 bytes a value)
/// so that quartiles are exact: fine for datasets of up to a few hundred million values per column.
/// </summary>
internal sealed class NumericAccumulator(string name) : ColumnAccumulator(name)
{
    // pooled: a column of a large sample grows to millions of values, and each doubling was a new large array
    private double[] _values = [];
    private int _length;

    public override void Release()
    {
        if (_values.Length > 0) System.Buffers.ArrayPool<double>.Shared.Return(_values);
        _values = [];
        _length = 0;
    }

    public override ColumnStatistics Build()
    {
        if (_length == 0)
            return Counts();

        var values = _values.AsSpan(0, _length);
        RadixSort.Sort(values);
        var n = values.Length;
        var mean = Sum(values, 0) / n;
        double? std = n > 1 ? Math.Sqrt(SumOfSquaredDeviations(values, mean) / (n - 1)) : null;
        return Counts() with
        {
            Mean = mean,
            Std = std,
            Min = values[0],
            Max = values[^1],
            P25 = Quantile(values, 0.25),
            P50 = Quantile(values, 0.5),
            P75 = Quantile(values, 0.75),
            Histogram = BuildHistogram(values),
        };
    }

    protected override void AddArray(IArrowArray array)
    {
        switch (array)
        {
            case Int8Array a: AddPrimitive(a); break;
            case Int16Array a: AddPrimitive(a); break;
            case Int32Array a: AddPrimitive(a); break;
            case Int64Array a: AddPrimitive(a); break;
            case UInt8Array a: AddPrimitive(a); break;
            case UInt16Array a: AddPrimitive(a); break;
            case UInt32Array a: AddPrimitive(a); break;
            case UInt64Array a: AddPrimitive(a); break;
            case HalfFloatArray a: AddPrimitive(a); break;
            case FloatArray a: AddPrimitive(a); break;
            case DoubleArray a: AddPrimitive(a); break;
            default:
                for (var i = 0; i < array.Length; i++)
                {
                    if (array.IsNull(i))
                        NullCount++;
                    else
                        AddValue(array, i);
                }

                break;
        }
    }

    protected override void AddValue(IArrowArray values, int index)
    {
        if (ArrowTypes.TryGetDouble(values, index, out var value))
            Append(value);
        else
            NullCount++;
    }

    private void AddPrimitive<T>(PrimitiveArray<T> array)
        where T : struct, INumberBase<T>
    {
        var source = array.Values;
        EnsureCapacity(source.Length);
        var target = _values;
        var length = _length;
        var nulls = 0L;
        if (array.NullCount == 0)
        {
            foreach (var item in source)
            {
                var value = double.CreateTruncating(item);
                if (double.IsFinite(value))
                    target[length++] = value;
                else
                    nulls++;
            }
        }
        else
        {
            for (var i = 0; i < source.Length; i++)
            {
                var value = array.IsValid(i) ? double.CreateTruncating(source[i]) : double.NaN;
                if (double.IsFinite(value))
                    target[length++] = value;
                else
                    nulls++;
            }
        }

        Count += length - _length;
        NullCount += nulls;
        _length = length;
    }

    private void Append(double value)
    {
        if (!double.IsFinite(value))
        {
            NullCount++;
            return;
        }

        EnsureCapacity(1);
        _values[_length++] = value;
        Count++;
    }

    private void EnsureCapacity(int more)
    {
        var needed = (long)_length + more;
        if (needed <= _values.Length)
            return;
        if (needed > System.Array.MaxLength)
            throw new ValidationException($"Column '{Name}' has more than {System.Array.MaxLength} numeric values, more than the profiler can hold in memory. Profile a sample of the dataset instead.");
        var size = (int)Math.Min(System.Array.MaxLength, Math.Max(Math.Max(needed, 1024), (long)_values.Length * 2));
        var larger = System.Buffers.ArrayPool<double>.Shared.Rent(size);
        _values.AsSpan(0, _length).CopyTo(larger);
        if (_values.Length > 0) System.Buffers.ArrayPool<double>.Shared.Return(_values);
        _values = larger;
    }

    /// <summary>Neumaier-compensated sum of <c>values[i] - shift</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Sum(ReadOnlySpan<double> values, double shift)
    {
        double sum = 0, compensation = 0;
        foreach (var item in values)
        {
            var value = item - shift;
            var t = sum + value;
            compensation += Math.Abs(sum) >= Math.Abs(value) ? (sum - t) + value : (value - t) + sum;
            sum = t;
        }

        return sum + compensation;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double SumOfSquaredDeviations(ReadOnlySpan<double> values, double mean)
    {
        double sum = 0, compensation = 0;
        foreach (var item in values)
        {
            var deviation = item - mean;
            var value = deviation * deviation;
            var t = sum + value;
            compensation += sum >= value ? (sum - t) + value : (value - t) + sum;
            sum = t;
        }

        return sum + compensation;
    }

    /// <summary>The quantile of sorted values, linearly interpolated between the closest ranks (pandas' default).</summary>
    internal static double Quantile(ReadOnlySpan<double> sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var lower = (int)Math.Floor(position);
        var upper = Math.Min(lower + 1, sorted.Length - 1);
        var fraction = position - lower;
        return fraction == 0 ? sorted[lower] : sorted[lower] + ((sorted[upper] - sorted[lower]) * fraction);
    }

    /// <summary>The equal-width histogram of sorted, finite values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Histogram BuildHistogram(ReadOnlySpan<double> sorted)
    {
        const int bins = Histogram.BinCount;
        var min = sorted[0];
        var max = sorted[^1];
        var edges = new double[bins + 1];
        var counts = new long[bins];
        if (min == max)
        {
            System.Array.Fill(edges, min);
            counts[0] = sorted.Length;
            return new Histogram(edges, counts);
        }

        // min + (max - min) * i / bins, unless max - min overflows (values near the ends of the double range):
        // then the edges are interpolated as min * (1 - t) + max * t, which cannot overflow.
        var range = max - min;
        var width = double.IsFinite(range) ? range / bins : (max / bins) - (min / bins);
        for (var i = 0; i <= bins; i++)
        {
            edges[i] = i == bins ? max
                : double.IsFinite(range) ? min + (range * i / bins)
                : (min * ((double)(bins - i) / bins)) + (max * ((double)i / bins));
        }

        foreach (var value in sorted)
        {
            var position = (value - min) / width;
            var bin = double.IsNaN(position) ? 0 : (int)Math.Clamp(position, 0, bins - 1);
            // Keep the bin consistent with the published edges despite rounding.
            while (bin > 0 && value < edges[bin])
                bin--;
            while (bin < bins - 1 && value >= edges[bin + 1])
                bin++;
            counts[bin]++;
        }

        return new Histogram(edges, counts);
    }
}

/// <summary>Minimum and maximum of timestamp and date columns, as Unix epoch milliseconds.</summary>
internal sealed class TemporalAccumulator(string name) : ColumnAccumulator(name)
{
    private double _min = double.PositiveInfinity;
    private double _max = double.NegativeInfinity;

    public override ColumnStatistics Build() => Count == 0 ? Counts() : Counts() with { Min = _min, Max = _max };

    protected override void AddArray(IArrowArray array)
    {
        switch (array)
        {
            case TimestampArray t:
                {
                    var unit = ((TimestampType)t.Data.DataType).Unit;
                    var (min, max, count) = MinMax(t, t.Values);
                    if (count > 0)
                        Observe(ArrowTypes.ToEpochMilliseconds(min, unit), ArrowTypes.ToEpochMilliseconds(max, unit), count);
                    NullCount += t.Length - count;
                    break;
                }

            case Date32Array d:
                {
                    var (min, max, count) = MinMax(d, d.Values);
                    if (count > 0)
                        Observe((double)min * 86_400_000, (double)max * 86_400_000, count);
                    NullCount += d.Length - count;
                    break;
                }

            case Date64Array d:
                {
                    var (min, max, count) = MinMax(d, d.Values);
                    if (count > 0)
                        Observe(min, max, count);
                    NullCount += d.Length - count;
                    break;
                }

            default:
                for (var i = 0; i < array.Length; i++)
                {
                    if (array.IsNull(i))
                        NullCount++;
                    else
                        AddValue(array, i);
                }

                break;
        }
    }

    protected override void AddValue(IArrowArray values, int index)
    {
        if (ArrowTypes.TryGetEpochMilliseconds(values, index, out var value))
            Observe(value, value, 1);
        else
            NullCount++;
    }

    private void Observe(double min, double max, long count)
    {
        _min = Math.Min(_min, min);
        _max = Math.Max(_max, max);
        Count += count;
    }

    private static (T Min, T Max, long Count) MinMax<T>(IArrowArray array, ReadOnlySpan<T> values)
        where T : struct, INumber<T>
    {
        var min = T.Zero;
        var max = T.Zero;
        long count = 0;
        var allValid = array.NullCount == 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (!allValid && array.IsNull(i))
                continue;
            var value = values[i];
            if (count == 0)
            {
                min = max = value;
            }
            else if (value < min)
            {
                min = value;
            }
            else if (value > max)
            {
                max = value;
            }

            count++;
        }

        return (min, max, count);
    }
}

/// <summary>Distinct count and most frequent values of string columns.</summary>
/// <remarks>Keeps one entry per distinct value; strings are decoded into a reused buffer and only allocated when new.</remarks>
internal sealed class StringAccumulator : ColumnAccumulator
{
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private char[] _buffer = new char[256];

    public StringAccumulator(string name) : base(name) => _lookup = _counts.GetAlternateLookup<ReadOnlySpan<char>>();

    public override ColumnStatistics Build() => Counts() with
    {
        Unique = _counts.Count,
        TopValues = TopValues(_counts),
    };

    /// <summary>The most frequent values, most frequent first, ties in ordinal order.</summary>
    internal static IReadOnlyList<ValueCount> TopValues(IEnumerable<KeyValuePair<string, long>> counts) => counts
        .OrderByDescending(pair => pair.Value)
        .ThenBy(pair => pair.Key, StringComparer.Ordinal)
        .Take(ColumnStatistics.TopValueCount)
        .Select(pair => new ValueCount(pair.Key, pair.Value))
        .ToList();

    protected override void AddArray(IArrowArray array)
    {
        var allValid = array.NullCount == 0;
        for (var i = 0; i < array.Length; i++)
        {
            if (!allValid && array.IsNull(i))
                NullCount++;
            else
                AddValue(array, i);
        }
    }

    protected override void AddValue(IArrowArray values, int index) => Increment(ArrowTypes.Utf8(values, index), 1);

    protected override void AddDictionary(DictionaryArray array)
    {
        // Count the codes first, then fold each distinct code into the value counts once.
        var dictionary = array.Dictionary;
        var perCode = new long[dictionary.Length];
        for (var i = 0; i < array.Length; i++)
        {
            var code = ArrowTypes.DictionaryCode(array.Indices, i);
            if (code < 0 || dictionary.IsNull(code))
                NullCount++;
            else
                perCode[code]++;
        }

        for (var code = 0; code < perCode.Length; code++)
        {
            if (perCode[code] > 0)
                Increment(ArrowTypes.Utf8(dictionary, code), perCode[code]);
        }
    }

    private void Increment(ReadOnlySpan<byte> utf8, long by)
    {
        var needed = Encoding.UTF8.GetMaxCharCount(utf8.Length);
        if (_buffer.Length < needed)
            _buffer = new char[Math.Max(needed, _buffer.Length * 2)];
        var length = Encoding.UTF8.GetChars(utf8, _buffer);
        ref var count = ref CollectionsMarshal.GetValueRefOrAddDefault(_lookup, _buffer.AsSpan(0, length), out _);
        count += by;
        Count += by;
    }
}

/// <summary>Distinct count and value counts of boolean columns.</summary>
internal sealed class BooleanAccumulator(string name) : ColumnAccumulator(name)
{
    private long _true;
    private long _false;

    public override ColumnStatistics Build()
    {
        var counts = new List<KeyValuePair<string, long>>(2);
        if (_true > 0)
            counts.Add(new("true", _true));
        if (_false > 0)
            counts.Add(new("false", _false));
        return Counts() with { Unique = counts.Count, TopValues = StringAccumulator.TopValues(counts) };
    }

    protected override void AddArray(IArrowArray array)
    {
        if (array is not BooleanArray booleans)
        {
            NullCount += array.NullCount;
            return;
        }

        for (var i = 0; i < booleans.Length; i++)
        {
            if (booleans.IsNull(i))
                NullCount++;
            else
                AddValue(booleans, i);
        }
    }

    protected override void AddValue(IArrowArray values, int index)
    {
        if (values is not BooleanArray booleans)
        {
            NullCount++;
            return;
        }

        if (booleans.GetValue(index) == true)
            _true++;
        else
            _false++;
        Count++;
    }
}
