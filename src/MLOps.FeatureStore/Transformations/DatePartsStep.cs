using System.Text.Json.Nodes;
using MLOps.FeatureStore.Internal;

namespace MLOps.FeatureStore.Transformations;

/// <summary>Parts of a timestamp that <see cref="DatePartsStep"/> extracts (UTC).</summary>
[Flags]
public enum DateParts
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary><c>{column}_year</c>.</summary>
    Year = 1,

    /// <summary><c>{column}_month</c> (1-12).</summary>
    Month = 2,

    /// <summary><c>{column}_day</c> (1-31).</summary>
    Day = 4,

    /// <summary><c>{column}_hour</c> (0-23).</summary>
    Hour = 8,

    /// <summary><c>{column}_minute</c> (0-59).</summary>
    Minute = 16,

    /// <summary><c>{column}_day_of_week</c>, Monday = 0 ... Sunday = 6 (as pandas).</summary>
    DayOfWeek = 32,

    /// <summary><c>{column}_day_of_year</c> (1-366).</summary>
    DayOfYear = 64,

    /// <summary><c>{column}_is_weekend</c> (boolean).</summary>
    IsWeekend = 128,
}

/// <summary>Adds date-part columns (<c>int64</c>, UTC) from a timestamp column: <c>{column}_hour</c>, <c>{column}_day_of_week</c>, ...</summary>
public sealed class DatePartsStep : BuiltInStep
{
    private static readonly (DateParts Part, string Name)[] Names =
    [
        (DateParts.Year, "year"), (DateParts.Month, "month"), (DateParts.Day, "day"), (DateParts.Hour, "hour"), (DateParts.Minute, "minute"),
        (DateParts.DayOfWeek, "day_of_week"), (DateParts.DayOfYear, "day_of_year"), (DateParts.IsWeekend, "is_weekend"),
    ];

    /// <summary>Creates the step.</summary>
    /// <param name="column">The timestamp column.</param>
    /// <param name="parts">The parts.</param>
    public DatePartsStep(string column, DateParts parts)
    {
        Throw.IfNullOrWhitespace(column);
        if (parts == DateParts.None) throw new ValidationException($"DateParts '{column}': choose at least one part, e.g. DateParts.Hour | DateParts.DayOfWeek.");
        SourceColumn = column;
        Parts = parts;
    }

    /// <summary>The timestamp column.</summary>
    public string SourceColumn { get; }

    /// <summary>The parts.</summary>
    public DateParts Parts { get; }

    /// <inheritdoc/>
    public override string Kind => "date-parts";

    /// <inheritdoc/>
    public override IReadOnlyList<string> InputColumns => [SourceColumn];

    /// <inheritdoc/>
    public override JsonObject Options => new() { ["column"] = SourceColumn, ["parts"] = Parts.ToString() };

    internal static DatePartsStep FromOptions(JsonObject o) => new((string)o["column"]!, Enum.Parse<DateParts>((string)o["parts"]!));

    /// <inheritdoc/>
    public override RecordBatch Process(RecordBatch batch, FeatureStepContext context)
    {
        if (Column(batch, SourceColumn) is not TimestampArray ts)
            throw new ValidationException($"DateParts '{SourceColumn}': the column is not a timestamp.");
        var n = ts.Length;
        var valid = new bool[n];
        var dates = new DateTime[n];
        for (var i = 0; i < n; i++)
        {
            valid[i] = !ts.IsNull(i);
            if (valid[i]) dates[i] = DateTime.UnixEpoch.AddTicks(ts.Values[i] * 10);
        }

        var result = batch;
        foreach (var (part, name) in Names)
        {
            if ((Parts & part) == 0) continue;
            var column = $"{SourceColumn}_{name}";
            if (part == DateParts.IsWeekend)
            {
                var weekend = dates.Select(d => d.DayOfWeek is System.DayOfWeek.Saturday or System.DayOfWeek.Sunday).ToArray();
                result = Arrays.WithColumn(result, column, Arrays.Booleans(weekend, valid));
                continue;
            }

            var values = new long[n];
            for (var i = 0; i < n; i++)
            {
                var d = dates[i];
                values[i] = part switch
                {
                    DateParts.Year => d.Year,
                    DateParts.Month => d.Month,
                    DateParts.Day => d.Day,
                    DateParts.Hour => d.Hour,
                    DateParts.Minute => d.Minute,
                    DateParts.DayOfWeek => ((int)d.DayOfWeek + 6) % 7,
                    _ => d.DayOfYear,
                };
            }

            result = Arrays.WithColumn(result, column, Arrays.Int64s(values, valid));
        }

        return result;
    }
}
