using System.Globalization;
using System.Text;

namespace MLOps.Runs.Internal;

/// <summary>The iteration table of a hyper-parameter search: columns iteration, state, each searched parameter and each
/// result; rendered as text by <see cref="HyperRunResult.ToString"/> and logged as the <c>iteration_results</c> table.</summary>
internal static class HyperTable
{
    public static IReadOnlyList<string> Header(IReadOnlyList<string> parameterNames, IReadOnlyList<HyperIteration> iterations)
    {
        var (parameters, results) = Keys(parameterNames, iterations);
        var header = new List<string> { "iteration", "state" };
        var taken = new HashSet<string>(header, StringComparer.Ordinal);
        foreach (var p in parameters) header.Add(taken.Add(p) ? p : "params." + p);
        foreach (var r in results) header.Add(taken.Add(r) ? r : "results." + r);
        return header;
    }

    public static IEnumerable<IReadOnlyList<object?>> Rows(IReadOnlyList<string> parameterNames, IReadOnlyList<HyperIteration> iterations)
    {
        var (parameters, results) = Keys(parameterNames, iterations);
        foreach (var it in iterations)
        {
            var row = new List<object?> { it.Number, State(it.State) };
            foreach (var p in parameters) row.Add(it.Parameters.TryGetValue(p, out var v) ? ParameterValues.ToText(v) : null);
            foreach (var r in results) row.Add(it.Results.TryGetValue(r, out var v) ? v : null);
            yield return row;
        }
    }

    public static string Render(HyperRunResult result)
    {
        var header = Header(result.ParameterNames, result.Iterations);
        var cells = new List<string[]> { header.ToArray() };
        foreach (var row in Rows(result.ParameterNames, result.Iterations)) cells.Add(row.Select(Format).ToArray());
        var widths = Enumerable.Range(0, header.Count).Select(c => cells.Max(r => r[c].Length)).ToArray();
        var numeric = Enumerable.Range(0, header.Count)
            .Select(c => cells.Count > 1 && cells.Skip(1).All(r => r[c] == "-" || double.TryParse(r[c], NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
            .ToArray();

        var sb = new StringBuilder();
        var best = result.Best?.Number;
        sb.Append(CultureInfo.InvariantCulture, $"Hyper-parameter search '{result.Parent.Name}' ({result.Strategy.ToString().ToLowerInvariant()}, {result.Iterations.Count} iterations");
        if (result.Selector is not null) sb.Append(CultureInfo.InvariantCulture, $", selector {result.Selector}");
        sb.Append(CultureInfo.InvariantCulture, $"): {State(result.Parent.State)}");
        if (best is not null) sb.Append(CultureInfo.InvariantCulture, $", best iteration {best}");
        if (result.StopReason != HyperStopReason.AllIterations) sb.Append(CultureInfo.InvariantCulture, $", stopped by {(result.StopReason == HyperStopReason.StopCondition ? "the stop condition" : "max errors")}");
        sb.Append('\n');
        for (var r = 0; r < cells.Count; r++)
        {
            var marker = r > 0 && result.Iterations[r - 1].Number == best ? "* " : "  ";
            var line = marker + string.Join("  ", cells[r].Select((cell, c) => numeric[c] ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c])));
            sb.Append(line.TrimEnd()).Append('\n');
        }
        foreach (var it in result.Iterations.Where(i => i.Error is not null))
            sb.Append(CultureInfo.InvariantCulture, $"iteration {it.Number} {State(it.State)}: {it.Error}\n");
        return sb.ToString();
    }

    private static (IReadOnlyList<string> Parameters, IReadOnlyList<string> Results) Keys(IReadOnlyList<string> parameterNames, IReadOnlyList<HyperIteration> iterations)
        => (parameterNames, iterations.SelectMany(i => i.Results.Keys).Distinct().Order(StringComparer.Ordinal).ToList());

    private static string State(RunState state) => state.ToString().ToLowerInvariant();

    private static string Format(object? value) => value switch
    {
        null => "-",
        double d => d.ToString("G6", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "-",
    };
}
