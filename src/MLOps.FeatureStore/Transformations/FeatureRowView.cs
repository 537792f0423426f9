namespace MLOps.FeatureStore.Transformations;

/// <summary>
/// A read-only view of one row of a record batch, for the user code of computed columns and filters. It is reused
/// from row to row (do not keep it).
/// </summary>
public sealed class FeatureRowView
{
    private readonly RecordBatch _batch;

    internal FeatureRowView(RecordBatch batch) => _batch = batch;

    /// <summary>The row index in the current batch.</summary>
    public int Index { get; internal set; }

    private IArrowArray Column(string name)
    {
        var i = _batch.Schema.GetFieldIndex(name);
        if (i < 0)
            throw new ValidationException($"Column '{name}' does not exist. Columns here: {string.Join(", ", _batch.Schema.FieldsList.Select(f => f.Name).Where(n => n != FeatureStepContext.RowNumberColumn))}.");
        return _batch.Column(i);
    }

    /// <summary>Whether a column is null in this row.</summary>
    /// <param name="column">The column.</param>
    /// <returns>Whether it is null.</returns>
    public bool IsNull(string column) => Column(column).IsNull(Index);

    /// <summary>A number (doubles, integers, booleans as 0/1, timestamps as µs); NaN when null.</summary>
    /// <param name="column">The column.</param>
    /// <returns>The value.</returns>
    public double GetDouble(string column) => Internal.Arrays.ValueAt(Column(column), Index).AsDouble();

    /// <summary>An integer (0 when null).</summary>
    /// <param name="column">The column.</param>
    /// <returns>The value.</returns>
    public long GetInt64(string column)
    {
        var v = Internal.Arrays.ValueAt(Column(column), Index);
        return v.IsNull ? 0 : v.Type == FeatureType.Double ? (long)v.Number : v.Integer;
    }

    /// <summary>A string (null when null; other types formatted invariantly).</summary>
    /// <param name="column">The column.</param>
    /// <returns>The value.</returns>
    public string? GetString(string column)
    {
        var v = Internal.Arrays.ValueAt(Column(column), Index);
        return v.IsNull ? null : v.Type == FeatureType.String ? v.Text : Convert.ToString(v.ToObject(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A boolean (false when null).</summary>
    /// <param name="column">The column.</param>
    /// <returns>The value.</returns>
    public bool GetBoolean(string column) => Internal.Arrays.ValueAt(Column(column), Index) is { IsNull: false } v && v.AsDouble() != 0;

    /// <summary>A timestamp (null when null).</summary>
    /// <param name="column">The column.</param>
    /// <returns>The value.</returns>
    public DateTimeOffset? GetTimestamp(string column) => Internal.Arrays.ValueAt(Column(column), Index).ToObject() as DateTimeOffset?;

    /// <summary>The value boxed (double, long, bool, string, DateTimeOffset or null).</summary>
    /// <param name="column">The column.</param>
    /// <returns>The value.</returns>
    public object? this[string column] => Internal.Arrays.ValueAt(Column(column), Index).ToObject();
}
