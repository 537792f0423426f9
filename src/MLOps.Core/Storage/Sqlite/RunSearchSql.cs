using System.Globalization;
using System.Text;
using MLOps.Runs.Internal;

namespace MLOps.Storage.Sqlite;

/// <summary>Translates a <see cref="RunFilter"/> and orders into parameterised SQLite SQL over the runs tables.</summary>
internal sealed class RunSearchSql
{
    private readonly List<(string, object?)> _parameters = [];
    private readonly StringBuilder _joins = new();

    public RunSearchSql(string project) => Add(project, "$project");

    public IReadOnlyList<(string, object?)> Parameters => _parameters;

    public string Joins => _joins.ToString();

    public void Add(object? value, out string name)
    {
        name = "$p" + _parameters.Count.ToString(CultureInfo.InvariantCulture);
        _parameters.Add((name, value));
    }

    private void Add(object? value, string name) => _parameters.Add((name, value));

    private string P(object? value)
    {
        Add(value, out var name);
        return name;
    }

    public string Filter(RunFilter filter) => filter switch
    {
        RunFilter.AllOf a => "(" + string.Join(" AND ", a.Filters.Select(Filter)) + ")",
        RunFilter.AnyOf o => "(" + string.Join(" OR ", o.Filters.Select(Filter)) + ")",
        RunFilter.Not n => "(NOT " + Filter(n.Filter) + ")",
        RunFilter.Comparison c => Comparison(c),
        _ => throw new ValidationException($"Unsupported run filter {filter}."),
    };

    private static string Op(RunFilterOperator op) => op switch
    {
        RunFilterOperator.Equal => "=",
        RunFilterOperator.NotEqual => "<>",
        RunFilterOperator.LessThan => "<",
        RunFilterOperator.LessThanOrEqual => "<=",
        RunFilterOperator.GreaterThan => ">",
        RunFilterOperator.GreaterThanOrEqual => ">=",
        _ => "GLOB",
    };

    private static bool IsPattern(RunFilterOperator op) => op is RunFilterOperator.Like or RunFilterOperator.ILike;

    /// <summary>A comparison of a text column: <c>like</c> becomes a case-sensitive <c>GLOB</c> (SQLite's <c>LIKE</c> ignores
    /// ASCII case), <c>ilike</c> a <c>GLOB</c> of both sides folded by <see cref="LikePattern.Fold"/>.</summary>
    private string TextCondition(string column, RunFilter.Comparison c, string op) => c.Operator switch
    {
        RunFilterOperator.Like => $"{column} GLOB {P(LikePattern.ToGlob(Text(c)))}",
        RunFilterOperator.ILike => $"{LikePattern.LowerFunction}({column}) GLOB {P(LikePattern.ToGlob(LikePattern.Fold(Text(c))!))}",
        _ => $"{column} {op} {P(Text(c))}",
    };

    private string Comparison(RunFilter.Comparison c)
    {
        var op = Op(c.Operator);
        var f = c.Field;
        switch (f.Kind)
        {
            // "r.id IN (SELECT run_id ...)" rather than a correlated EXISTS: SQLite can then drive the search from the
            // (key, value) index of the condition instead of testing every run of the project.
            case RunFieldKind.Metric:
                return $"r.id IN (SELECT run_id FROM latest_metrics WHERE key = {P(f.Key)} AND value {op} {P(Number(c))})";
            case RunFieldKind.Result:
                return $"r.id IN (SELECT run_id FROM run_results WHERE key = {P(f.Key)} AND value {op} {P(Number(c))})";
            case RunFieldKind.Label:
                return $"r.id IN (SELECT run_id FROM run_labels WHERE key = {P(f.Key)} AND {TextCondition("value", c, op)})";
            case RunFieldKind.Parameter:
                return c.Value is double d && !IsPattern(c.Operator)
                    ? $"r.id IN (SELECT run_id FROM run_params WHERE key = {P(f.Key)} AND num {op} {P(d)})"
                    : $"r.id IN (SELECT run_id FROM run_params WHERE key = {P(f.Key)} AND {TextCondition("value", c, op)})";
            default:
                return Attribute(c, op);
        }
    }

    private string Attribute(RunFilter.Comparison c, string op)
    {
        switch (c.Field.Key)
        {
            case "state":
                if (IsPattern(c.Operator))
                {
                    var ignoreCase = c.Operator == RunFilterOperator.ILike;
                    var states = Enum.GetValues<RunState>().Where(s => LikePattern.IsMatch(s.ToString().ToLowerInvariant(), (string)c.Value, ignoreCase)).Select(s => ((int)s).ToString(CultureInfo.InvariantCulture));
                    return $"r.state IN ({string.Join(",", states.DefaultIfEmpty("-1"))})";
                }
                var state = c.Value is string name ? Enum.Parse<RunState>(name, ignoreCase: true) : (RunState)Convert.ToInt32(c.Value, CultureInfo.InvariantCulture);
                return $"r.state {op} {P((int)state)}";
            case "start_time":
            case "end_time":
                var t = c.Value switch
                {
                    DateTimeOffset d => d.UtcTicks,
                    string s when DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d) => d.UtcTicks,
                    _ => throw new ValidationException($"The filter on '{c.Field}' needs a date and time, not '{c.Value}'. Use a DateTimeOffset or text such as '2026-01-31T12:00:00Z'."),
                };
                return $"r.{c.Field.Key} {op} {P(t)}";
            case "iteration":
                return $"r.iteration {op} {P(Number(c))}";
            default:
                return TextCondition("r." + c.Field.Key, c, op);
        }
    }

    private static double Number(RunFilter.Comparison c) => c.Value switch
    {
        double d => d,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => throw new ValidationException($"The filter on '{c.Field}' compares numbers; '{c.Value}' is not a number."),
    };

    private static string Text(RunFilter.Comparison c) => c.Value switch
    {
        string s => s,
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        DateTimeOffset d => d.ToString("O", CultureInfo.InvariantCulture),
        _ => c.Value.ToString() ?? "",
    };

    /// <summary>The sort keys of the orders, most significant first, ending with the run id (the tie-break): each is an SQL
    /// expression and a direction, compared with SQLite's rules (NULL below every value). Runs lacking a key come last in
    /// either direction through a leading <c>IS NULL</c> key; a parameter sorts numerically, then as text.</summary>
    public IReadOnlyList<SortKey> Order(IReadOnlyList<RunOrder> orders)
    {
        var keys = new List<SortKey>();
        var n = 0;
        foreach (var o in orders)
        {
            string expr;
            switch (o.Field.Kind)
            {
                case RunFieldKind.Metric:
                    expr = Join("latest_metrics", "value", o.Field.Key, n++);
                    break;
                case RunFieldKind.Result:
                    expr = Join("run_results", "value", o.Field.Key, n++);
                    break;
                case RunFieldKind.Label:
                    expr = Join("run_labels", "value", o.Field.Key, n++);
                    break;
                case RunFieldKind.Parameter:
                    var alias = Join("run_params", "run_id", o.Field.Key, n++)[..^".run_id".Length];
                    keys.Add(new SortKey($"{alias}.run_id IS NULL", false));
                    keys.Add(new SortKey($"{alias}.num", o.Descending));
                    expr = $"{alias}.value";
                    break;
                default:
                    expr = "r." + o.Field.Key;
                    break;
            }
            keys.Add(new SortKey($"{expr} IS NULL", false));
            keys.Add(new SortKey(expr, o.Descending));
        }
        if (orders.Count == 0) keys.Add(new SortKey("r.start_time", true));
        keys.Add(new SortKey("r.id", orders.Count == 0));
        return keys;
    }

    private static readonly HashSet<string> NotNullColumns = ["r.id", "r.name", "r.state", "r.start_time"];

    /// <summary>The ORDER BY clause of sort keys.</summary>
    public static string OrderBy(IReadOnlyList<SortKey> keys) => string.Join(", ", keys.Select(k => k.Expression + (k.Descending ? " DESC" : " ASC")));

    /// <summary>
    /// The keyset (seek) condition "sorts after the row whose keys are <paramref name="cursor"/>": for the keys k1..kn,
    /// <c>k1 after c1 OR (k1 = c1 AND k2 after c2) OR ...</c>, with SQLite's NULL ordering (NULL is the smallest value, so
    /// nothing sorts after a NULL in descending order). The last key is the run id, so the cursor row itself is excluded.
    /// </summary>
    public string After(IReadOnlyList<SortKey> keys, IReadOnlyList<object?> cursor)
    {
        // Keys that are never NULL, all in one direction (the default newest-first order, or ascending built-in attributes):
        // a row value comparison says the same, and SQLite seeks it in an index such as (project, start_time, id).
        if (keys.All(k => k.Descending == keys[0].Descending && (NotNullColumns.Contains(k.Expression) || k.Expression.EndsWith(" IS NULL", StringComparison.Ordinal)))
            && cursor.All(v => v is not null))
        {
            var columns = string.Join(", ", keys.Select(k => "(" + k.Expression + ")"));
            var values = string.Join(", ", cursor.Select(P));
            return $"({columns}) {(keys[0].Descending ? "<" : ">")} ({values})";
        }
        var alternatives = new List<string>();
        var equalSoFar = new List<string>();
        for (var i = 0; i < keys.Count; i++)
        {
            var (expression, desc) = keys[i];
            var e = "(" + expression + ")"; // 'a IS NULL > x' would parse as 'a IS (NULL > x)'
            var x = cursor[i];
            string? after;
            string equal;
            if (x is null)
            {
                after = desc ? null : $"{e} IS NOT NULL";
                equal = $"{e} IS NULL";
            }
            else
            {
                var p = P(x);
                after = desc ? $"({e} < {p} OR {e} IS NULL)" : $"{e} > {p}";
                equal = $"{e} = {p}";
            }
            if (after is not null) alternatives.Add("(" + string.Join(" AND ", equalSoFar.Append(after)) + ")");
            equalSoFar.Add(equal);
        }
        return alternatives.Count == 0 ? "0" : string.Join(" OR ", alternatives);
    }

    private string Join(string table, string column, string key, int n)
    {
        var alias = "o" + n.ToString(CultureInfo.InvariantCulture);
        _joins.Append(CultureInfo.InvariantCulture, $" LEFT JOIN {table} {alias} ON {alias}.run_id = r.id AND {alias}.key = {P(key)}");
        return $"{alias}.{column}";
    }
}

/// <summary>One sort key of a run search: an SQL expression and its direction.</summary>
internal readonly record struct SortKey(string Expression, bool Descending);
