using System.Globalization;
using System.Text;

namespace MLOps.Runs;

/// <summary>Runs side by side: one row per parameter, result and latest metric (<c>params.trees</c>, <c>results.auc</c>,
/// <c>metrics.loss</c>), one column per run. <see cref="ToString"/> renders an aligned text table for consoles and notebooks.</summary>
public sealed class RunComparison
{
    private RunComparison(IReadOnlyList<RunRecord> runs, IReadOnlyList<string> rows, IReadOnlyDictionary<string, IReadOnlyList<string?>> values)
    {
        Runs = runs;
        Rows = rows;
        Values = values;
    }

    /// <summary>The compared runs (the columns).</summary>
    public IReadOnlyList<RunRecord> Runs { get; }

    /// <summary>The row names: <c>params.*</c>, then <c>results.*</c>, then <c>metrics.*</c>.</summary>
    public IReadOnlyList<string> Rows { get; }

    /// <summary>The cells by row name, one per run (<see langword="null"/> where a run lacks the key).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string?>> Values { get; }

    /// <summary>The cell of a row and a run.</summary>
    /// <param name="row">The row name, e.g. <c>results.auc</c>.</param>
    /// <param name="runId">The run id.</param>
    /// <returns>The value or <see langword="null"/>.</returns>
    public string? this[string row, string runId]
    {
        get
        {
            var i = Runs.ToList().FindIndex(r => r.Id == runId);
            return i < 0 || !Values.TryGetValue(row, out var cells) ? null : cells[i];
        }
    }

    internal static RunComparison Create(IReadOnlyList<RunRecord> runs)
    {
        var rows = new List<string>();
        var values = new Dictionary<string, IReadOnlyList<string?>>();
        void Add(string prefix, Func<RunRecord, IEnumerable<string>> keys, Func<RunRecord, string, string?> get)
        {
            foreach (var key in runs.SelectMany(keys).Distinct().Order(StringComparer.Ordinal))
            {
                var row = prefix + key;
                rows.Add(row);
                values[row] = runs.Select(r => get(r, key)).ToList();
            }
        }
        Add("params.", r => r.Parameters.Keys, (r, k) => r.Parameters.GetValueOrDefault(k));
        Add("results.", r => r.Results.Keys, (r, k) => r.Results.TryGetValue(k, out var v) ? v.ToString("G6", CultureInfo.InvariantCulture) : null);
        Add("metrics.", r => r.Metrics.Keys, (r, k) => r.Metrics.TryGetValue(k, out var v) ? v.ToString("G6", CultureInfo.InvariantCulture) : null);
        return new RunComparison(runs, rows, values);
    }

    /// <summary>An aligned text table: a header of run names and short ids, then one line per row.</summary>
    /// <returns>The table.</returns>
    public override string ToString()
    {
        var header = new List<string> { "" };
        header.AddRange(Runs.Select(r => $"{r.Name}{(r.Iteration is { } i ? "#" + i.ToString(CultureInfo.InvariantCulture) : "")} ({r.Id[^8..]})"));
        var table = new List<List<string>> { header };
        foreach (var row in Rows) table.Add([row, .. Values[row].Select(v => v ?? "-")]);
        var widths = Enumerable.Range(0, header.Count).Select(c => table.Max(r => r[c].Length)).ToArray();
        var sb = new StringBuilder();
        foreach (var line in table)
            sb.AppendJoin("  ", line.Select((cell, c) => cell.PadRight(widths[c]))).Append('\n');
        return sb.ToString();
    }
}
