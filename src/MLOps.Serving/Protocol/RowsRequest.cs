using System.Globalization;

namespace MLOps.Serving.Protocol;

/// <summary>How the rows of an MLRun-style request were written.</summary>
public enum RowsFormat
{
    /// <summary>A list of lists: <c>{"inputs": [[1, 2.5, "SFO"], ...]}</c>; values are positional.</summary>
    Lists,

    /// <summary>A list of objects keyed by feature name: <c>{"inputs": [{"distance": 1, "origin": "SFO"}, ...]}</c>.</summary>
    Objects,
}

/// <summary>The kind of a <see cref="RowValue"/>.</summary>
public enum RowValueKind
{
    /// <summary>JSON <c>null</c>.</summary>
    Null,

    /// <summary>JSON <c>true</c> or <c>false</c>.</summary>
    Boolean,

    /// <summary>A JSON number.</summary>
    Number,

    /// <summary>A JSON string.</summary>
    String,
}

/// <summary>One scalar value of a row (a JSON null, boolean, number or string), stored without boxing.</summary>
public readonly struct RowValue : IEquatable<RowValue>
{
    private readonly double _number;
    private readonly string? _string;

    private RowValue(RowValueKind kind, double number, string? text)
    {
        Kind = kind;
        _number = number;
        _string = text;
    }

    /// <summary>The JSON null value.</summary>
    public static RowValue Null => default;

    /// <summary>The kind of value.</summary>
    public RowValueKind Kind { get; }

    /// <summary>Whether the value is JSON null.</summary>
    public bool IsNull => Kind == RowValueKind.Null;

    /// <summary>Creates a number.</summary>
    /// <param name="value">The number.</param>
    /// <returns>The value.</returns>
    public static RowValue FromNumber(double value) => new(RowValueKind.Number, value, null);

    /// <summary>Creates a boolean.</summary>
    /// <param name="value">The boolean.</param>
    /// <returns>The value.</returns>
    public static RowValue FromBoolean(bool value) => new(RowValueKind.Boolean, value ? 1 : 0, null);

    /// <summary>Creates a string.</summary>
    /// <param name="value">The string.</param>
    /// <returns>The value.</returns>
    public static RowValue FromString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(RowValueKind.String, 0, value);
    }

    /// <summary>The number (a boolean gives 0 or 1).</summary>
    /// <exception cref="InvalidStateException">The value is a string or null.</exception>
    public double Number => Kind is RowValueKind.Number or RowValueKind.Boolean
        ? _number
        : throw new InvalidStateException($"The row value is {this} ({Kind}), not a number.");

    /// <summary>The boolean.</summary>
    /// <exception cref="InvalidStateException">The value is not a boolean.</exception>
    public bool Boolean => Kind == RowValueKind.Boolean
        ? _number != 0
        : throw new InvalidStateException($"The row value is {this} ({Kind}), not a boolean.");

    /// <summary>The string.</summary>
    /// <exception cref="InvalidStateException">The value is not a string.</exception>
    public string String => Kind == RowValueKind.String
        ? _string!
        : throw new InvalidStateException($"The row value is {this} ({Kind}), not a string.");

    /// <inheritdoc/>
    public bool Equals(RowValue other) =>
        Kind == other.Kind && _number.Equals(other._number) && string.Equals(_string, other._string, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is RowValue other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Kind, _number, _string);

    /// <summary>Whether two values are equal.</summary>
    /// <param name="left">The first value.</param>
    /// <param name="right">The second value.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(RowValue left, RowValue right) => left.Equals(right);

    /// <summary>Whether two values differ.</summary>
    /// <param name="left">The first value.</param>
    /// <param name="right">The second value.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(RowValue left, RowValue right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        RowValueKind.Null => "null",
        RowValueKind.Boolean => _number != 0 ? "true" : "false",
        RowValueKind.Number => _number.ToString("R", CultureInfo.InvariantCulture),
        _ => _string!,
    };
}

/// <summary>One row of an MLRun-style request: positional values (a list) or values keyed by feature name (an object).</summary>
public sealed class InferenceRow
{
    private readonly RowValue[] _values;
    private readonly string[]? _names;

    /// <summary>Creates a row.</summary>
    /// <param name="values">The values (kept, not copied).</param>
    /// <param name="names">The feature name of each value, or null for a positional row.</param>
    public InferenceRow(RowValue[] values, string[]? names = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (names is not null && names.Length != values.Length)
            throw new ValidationException($"The row has {values.Length} values but {names.Length} names; pass one name per value, or no names for a positional row.");
        _values = values;
        _names = names;
    }

    /// <summary>The values, in the order written.</summary>
    public IReadOnlyList<RowValue> Values => _values;

    /// <summary>The feature name of each value (same order as <see cref="Values"/>), or null when the row is positional.</summary>
    public IReadOnlyList<string>? Names => _names;

    /// <summary>Whether the values are keyed by feature name.</summary>
    public bool IsKeyed => _names is not null;

    /// <summary>The number of values.</summary>
    public int Count => _values.Length;

    /// <summary>A value by position.</summary>
    /// <param name="index">The position.</param>
    public RowValue this[int index] => _values[index];

    /// <summary>Finds a value by feature name (case-sensitive); always false for a positional row.</summary>
    /// <param name="name">The feature name.</param>
    /// <param name="value">The value when found.</param>
    /// <returns>Whether the row has the feature.</returns>
    public bool TryGetValue(string name, out RowValue value)
    {
        if (_names is not null)
        {
            for (int i = 0; i < _names.Length; i++)
            {
                if (string.Equals(_names[i], name, StringComparison.Ordinal))
                {
                    value = _values[i];
                    return true;
                }
            }
        }
        value = default;
        return false;
    }

    /// <summary>The row as a map of feature name to value (keyed rows only).</summary>
    /// <returns>The map.</returns>
    /// <exception cref="InvalidStateException">The row is positional.</exception>
    public IReadOnlyDictionary<string, RowValue> ToDictionary()
    {
        if (_names is null)
            throw new InvalidStateException("The row is a list of positional values; map it onto the model's input schema by position.");
        var map = new Dictionary<string, RowValue>(_names.Length, StringComparer.Ordinal);
        for (int i = 0; i < _names.Length; i++)
            map[_names[i]] = _values[i];
        return map;
    }
}

/// <summary>The rows of an MLRun-style request (<c>{"inputs": [[...], ...]}</c> or <c>{"inputs": [{...}, ...]}</c>), for a model
/// step to map onto its input schema.</summary>
public sealed class RowsRequest
{
    /// <summary>Creates the rows.</summary>
    /// <param name="format">Lists or objects.</param>
    /// <param name="rows">The rows.</param>
    public RowsRequest(RowsFormat format, IReadOnlyList<InferenceRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        Format = format;
        Rows = rows;
    }

    /// <summary>Whether the rows were lists (positional) or objects (keyed by feature name).</summary>
    public RowsFormat Format { get; }

    /// <summary>The rows.</summary>
    public IReadOnlyList<InferenceRow> Rows { get; }

    /// <summary>The number of rows.</summary>
    public int Count => Rows.Count;
}
