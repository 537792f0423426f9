using Microsoft.Extensions.Logging;

namespace MLOps.FeatureStore.Transformations;

/// <summary>What a transformation step can see and report while it runs.</summary>
public sealed class FeatureStepContext
{
    /// <summary>The hidden column with the 1-based number of each row in its source, kept through the graph for error messages.</summary>
    public const string RowNumberColumn = "__row";

    private readonly Dictionary<(string Rule, string Column), DroppedRows> _dropped = [];
    private readonly Dictionary<(string Rule, string Column), DroppedRows> _warnings = [];

    internal FeatureStepContext(string featureSet, bool isRealTime, TimeProvider timeProvider, ILogger logger, IDictionary<string, string> fitted, bool canFit)
    {
        FeatureSet = featureSet;
        IsRealTime = isRealTime;
        TimeProvider = timeProvider;
        Logger = logger;
        Fitted = fitted;
        CanFit = canFit;
    }

    /// <summary>The feature set being computed.</summary>
    public string FeatureSet { get; }

    /// <summary>Whether this is a real-time push (<see langword="false"/> for batch ingestion and previews).</summary>
    public bool IsRealTime { get; }

    /// <summary>The project clock.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>The ingestion logger.</summary>
    public ILogger Logger { get; }

    /// <summary>
    /// Values fitted from data and frozen with the feature set (for example the mean an imputer uses), by name. A step
    /// fits a value on the first batch of the first ingestion (<see cref="CanFit"/>) and reuses it afterwards, so batch and
    /// real time agree.
    /// </summary>
    public IDictionary<string, string> Fitted { get; }

    /// <summary>Whether missing fitted values may be fitted now (false for real-time pushes and previews of a stored set).</summary>
    public bool CanFit { get; }

    /// <summary>Rows dropped by validation, by rule and column.</summary>
    public IReadOnlyCollection<DroppedRows> Dropped => _dropped.Values;

    /// <summary>Rows that failed a validator with the warn policy, by rule and column.</summary>
    public IReadOnlyCollection<DroppedRows> Warnings => _warnings.Values;

    /// <summary>Counts rows dropped by a rule.</summary>
    /// <param name="rule">The rule, such as <c>range [0, 2000]</c>.</param>
    /// <param name="column">The column.</param>
    /// <param name="rowNumber">The source row number of one of them (the first is kept as an example).</param>
    /// <param name="value">That row's value as text.</param>
    /// <param name="count">How many rows.</param>
    public void ReportDropped(string rule, string column, long rowNumber, string? value, long count = 1) => Report(_dropped, rule, column, rowNumber, value, count);

    /// <summary>Counts rows that failed a rule with the warn policy (kept).</summary>
    /// <param name="rule">The rule.</param>
    /// <param name="column">The column.</param>
    /// <param name="rowNumber">The source row number of one of them.</param>
    /// <param name="value">That row's value as text.</param>
    /// <param name="count">How many rows.</param>
    public void ReportWarning(string rule, string column, long rowNumber, string? value, long count = 1) => Report(_warnings, rule, column, rowNumber, value, count);

    private static void Report(Dictionary<(string, string), DroppedRows> into, string rule, string column, long rowNumber, string? value, long count)
    {
        into[(rule, column)] = into.TryGetValue((rule, column), out var existing)
            ? existing with { Count = existing.Count + count }
            : new DroppedRows(rule, column, count, rowNumber, value);
    }

    /// <summary>The source row number of a row of a batch (its index + 1 when the batch has no row-number column).</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="index">The row index in the batch.</param>
    /// <returns>The 1-based source row number.</returns>
    public static long RowNumber(RecordBatch batch, int index)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return batch.Schema.GetFieldIndex(RowNumberColumn) is >= 0 and var c && batch.Column(c) is Int64Array rows ? rows.Values[index] : index + 1;
    }
}

/// <summary>Rows that failed a validation rule.</summary>
/// <param name="Rule">The rule, such as <c>not null</c> or <c>range [0, 2000]</c>.</param>
/// <param name="Column">The column.</param>
/// <param name="Count">How many rows.</param>
/// <param name="FirstRow">The source row number (1-based) of the first one.</param>
/// <param name="FirstValue">Its value as text (null for a null).</param>
public sealed record DroppedRows(string Rule, string Column, long Count, long FirstRow, string? FirstValue);
