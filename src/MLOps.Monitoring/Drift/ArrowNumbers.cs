using System.Buffers;
using Apache.Arrow;

namespace MLOps.Monitoring.Drift;

/// <summary>An Arrow numeric column as doubles: a double column without nulls is used in place; anything else is copied into a
/// pooled buffer (nulls become NaN, that is missing). Dispose to return the buffer.</summary>
internal readonly ref struct ArrowNumbers
{
    private readonly double[]? _rented;
    private readonly ReadOnlySpan<double> _direct;
    private readonly int _length;

    private ArrowNumbers(double[]? rented, ReadOnlySpan<double> direct, int length)
    {
        _rented = rented;
        _direct = direct;
        _length = length;
    }

    public ReadOnlySpan<double> Span => _rented is null ? _direct : _rented.AsSpan(0, _length);

    public static ArrowNumbers Read(string feature, IArrowArray array)
    {
        if (array is DoubleArray d && d.NullCount == 0)
            return new ArrowNumbers(null, d.Values, d.Length);
        int n = array.Length;
        double[] buffer = ArrayPool<double>.Shared.Rent(Math.Max(n, 1));
        switch (array)
        {
            case DoubleArray a: for (int i = 0; i < n; i++) buffer[i] = a.GetValue(i) ?? double.NaN; break;
            case FloatArray a: for (int i = 0; i < n; i++) buffer[i] = a.GetValue(i) ?? double.NaN; break;
            case Int64Array a: for (int i = 0; i < n; i++) buffer[i] = a.GetValue(i) is { } x ? x : double.NaN; break;
            case Int32Array a: for (int i = 0; i < n; i++) buffer[i] = a.GetValue(i) ?? double.NaN; break;
            case Int16Array a: for (int i = 0; i < n; i++) buffer[i] = a.GetValue(i) ?? double.NaN; break;
            case Int8Array a: for (int i = 0; i < n; i++) buffer[i] = a.GetValue(i) ?? double.NaN; break;
            default:
                ArrayPool<double>.Shared.Return(buffer);
                throw new ValidationException(
                    $"Column of feature '{feature}' is an Arrow {array.Data.DataType.Name} array: numeric drift needs double, float or integer values. Convert the column, or monitor it as a category.");
        }
        return new ArrowNumbers(buffer, default, n);
    }

    public void Dispose()
    {
        if (_rented is not null) ArrayPool<double>.Shared.Return(_rented);
    }
}
