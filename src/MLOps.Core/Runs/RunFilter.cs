using System.Globalization;
using System.Text;

namespace MLOps.Runs;

/// <summary>What a run filter or order looks at.</summary>
public enum RunFieldKind
{
    /// <summary>A built-in attribute: <c>id</c>, <c>name</c>, <c>state</c>, <c>parent_id</c>, <c>iteration</c>, <c>start_time</c>, <c>end_time</c>.</summary>
    Attribute,
    /// <summary>A label (<c>labels.&lt;key&gt;</c>).</summary>
    Label,
    /// <summary>A parameter (<c>params.&lt;key&gt;</c>); numbers compare numerically.</summary>
    Parameter,
    /// <summary>A result (<c>results.&lt;key&gt;</c>).</summary>
    Result,
    /// <summary>The latest value of a metric (<c>metrics.&lt;key&gt;</c>).</summary>
    Metric,
}

/// <summary>Comparison operators of run filters.</summary>
public enum RunFilterOperator
{
    /// <summary><c>=</c></summary>
    Equal,
    /// <summary><c>!=</c></summary>
    NotEqual,
    /// <summary><c>&lt;</c></summary>
    LessThan,
    /// <summary><c>&lt;=</c></summary>
    LessThanOrEqual,
    /// <summary><c>&gt;</c></summary>
    GreaterThan,
    /// <summary><c>&gt;=</c></summary>
    GreaterThanOrEqual,
    /// <summary><c>like</c>: a case-sensitive pattern, as in MLflow (<c>%</c> any run of characters, <c>_</c> exactly one
    /// character; every other character, including <c>*</c>, <c>?</c>, <c>[</c> and <c>\</c>, matches itself).</summary>
    Like,
    /// <summary><c>ilike</c>: like <see cref="Like"/> but case-insensitive (for every script, not only ASCII).</summary>
    ILike,
}

/// <summary>
/// A field of a run to filter or order on: <c>RunField.Metric("auc") &gt; 0.8</c>,
/// <c>RunField.Param("trees").Is(100)</c>, <c>RunField.State.Is(RunState.Completed)</c>.
/// </summary>
public sealed record RunField
{
    private static readonly HashSet<string> Attributes = ["id", "name", "state", "parent_id", "iteration", "start_time", "end_time"];

    private RunField(RunFieldKind kind, string key)
    {
        Kind = kind;
        Key = key;
    }

    /// <summary>What the field looks at.</summary>
    public RunFieldKind Kind { get; }

    /// <summary>The attribute name or the label, parameter, result or metric key.</summary>
    public string Key { get; }

    /// <summary>The latest value of a metric.</summary>
    /// <param name="key">The metric key.</param>
    /// <returns>The field.</returns>
    public static RunField Metric(string key) => new(RunFieldKind.Metric, Names.Key(key, "metric key"));

    /// <summary>A result.</summary>
    /// <param name="key">The result key.</param>
    /// <returns>The field.</returns>
    public static RunField Result(string key) => new(RunFieldKind.Result, Names.Key(key, "result key"));

    /// <summary>A parameter.</summary>
    /// <param name="key">The parameter key.</param>
    /// <returns>The field.</returns>
    public static RunField Param(string key) => new(RunFieldKind.Parameter, Names.Key(key, "parameter key"));

    /// <summary>A label.</summary>
    /// <param name="key">The label key.</param>
    /// <returns>The field.</returns>
    public static RunField Label(string key) => new(RunFieldKind.Label, Names.Key(key, "label key"));

    /// <summary>A built-in attribute: <c>id</c>, <c>name</c>, <c>state</c>, <c>parent_id</c>, <c>iteration</c>, <c>start_time</c>, <c>end_time</c>.</summary>
    /// <param name="name">The attribute.</param>
    /// <returns>The field.</returns>
    /// <exception cref="ValidationException">The attribute is unknown.</exception>
    public static RunField Attribute(string name)
    {
        var n = (name ?? "").Trim().ToLowerInvariant();
        if (n == "parent") n = "parent_id";
        if (!Attributes.Contains(n))
            throw new ValidationException($"Unknown run attribute '{name}'. Use one of: {string.Join(", ", Attributes.Order())}, or a prefixed key such as 'metrics.auc', 'params.trees', 'results.loss', 'labels.team'.");
        return new RunField(RunFieldKind.Attribute, n);
    }

    /// <summary>The run state.</summary>
    public static RunField State { get; } = new(RunFieldKind.Attribute, "state");

    /// <summary>The run name.</summary>
    public static RunField Name { get; } = new(RunFieldKind.Attribute, "name");

    /// <summary>The start time.</summary>
    public static RunField StartTime { get; } = new(RunFieldKind.Attribute, "start_time");

    /// <summary>The end time.</summary>
    public static RunField EndTime { get; } = new(RunFieldKind.Attribute, "end_time");

    /// <summary>The parent run id.</summary>
    public static RunField ParentId { get; } = new(RunFieldKind.Attribute, "parent_id");

    /// <summary>The iteration of a hyper-parameter child.</summary>
    public static RunField Iteration { get; } = new(RunFieldKind.Attribute, "iteration");

    /// <summary>Parses <c>metrics.auc</c>, <c>params.trees</c>, <c>results.loss</c>, <c>labels.team</c> or an attribute name.</summary>
    /// <param name="text">The field text.</param>
    /// <returns>The field.</returns>
    /// <exception cref="ValidationException">The text is not a field.</exception>
    public static RunField Parse(string text)
    {
        Names.Required(text, "run field", "Pass a field such as 'metrics.auc', 'params.trees', 'results.loss', 'labels.team' or 'start_time'.");
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0) return Attribute(text);
        var prefix = text[..dot].ToLowerInvariant();
        var key = text[(dot + 1)..].Trim('`', '"');
        return prefix switch
        {
            "metrics" or "metric" => Metric(key),
            "results" or "result" => Result(key),
            "params" or "param" or "parameters" => Param(key),
            "labels" or "label" or "tags" or "tag" => Label(key),
            "attributes" or "attribute" or "attr" => Attribute(key),
            _ => throw new ValidationException($"Unknown field prefix '{prefix}' in '{text}'. Use 'metrics.', 'params.', 'results.' or 'labels.' followed by a key, e.g. 'metrics.auc'."),
        };
    }

    /// <summary>The field as text, e.g. <c>metrics.auc</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => Kind switch
    {
        RunFieldKind.Metric => "metrics." + Key,
        RunFieldKind.Result => "results." + Key,
        RunFieldKind.Parameter => "params." + Key,
        RunFieldKind.Label => "labels." + Key,
        _ => Key,
    };

    /// <summary>Equal to a value.</summary>
    /// <param name="value">A number, string, <see cref="RunState"/> or <see cref="DateTimeOffset"/>.</param>
    /// <returns>The filter.</returns>
    public RunFilter Is(object value) => RunFilter.Compare(this, RunFilterOperator.Equal, value);

    /// <summary>Not equal to a value (the key must exist).</summary>
    /// <param name="value">A number, string, <see cref="RunState"/> or <see cref="DateTimeOffset"/>.</param>
    /// <returns>The filter.</returns>
    public RunFilter IsNot(object value) => RunFilter.Compare(this, RunFilterOperator.NotEqual, value);

    /// <summary>Matches a case-sensitive <c>like</c> pattern (as MLflow's <c>LIKE</c>): <c>RunField.Label("team").IsLike("fraud-%")</c>.</summary>
    /// <param name="pattern">The pattern: <c>%</c> any run of characters, <c>_</c> exactly one character, anything else itself.</param>
    /// <returns>The filter.</returns>
    public RunFilter IsLike(string pattern) => RunFilter.Compare(this, RunFilterOperator.Like, pattern);

    /// <summary>Matches a <c>like</c> pattern ignoring case (as MLflow's <c>ILIKE</c>): <c>RunField.Name.IsILike("TRAIN%")</c>.</summary>
    /// <param name="pattern">The pattern: <c>%</c> any run of characters, <c>_</c> exactly one character, anything else itself.</param>
    /// <returns>The filter.</returns>
    public RunFilter IsILike(string pattern) => RunFilter.Compare(this, RunFilterOperator.ILike, pattern);

    /// <summary>Less than.</summary>
    /// <param name="field">The field.</param>
    /// <param name="value">The value.</param>
    /// <returns>The filter.</returns>
    public static RunFilter operator <(RunField field, double value) => RunFilter.Compare(field, RunFilterOperator.LessThan, value);

    /// <summary>Greater than.</summary>
    /// <param name="field">The field.</param>
    /// <param name="value">The value.</param>
    /// <returns>The filter.</returns>
    public static RunFilter operator >(RunField field, double value) => RunFilter.Compare(field, RunFilterOperator.GreaterThan, value);

    /// <summary>Less than or equal.</summary>
    /// <param name="field">The field.</param>
    /// <param name="value">The value.</param>
    /// <returns>The filter.</returns>
    public static RunFilter operator <=(RunField field, double value) => RunFilter.Compare(field, RunFilterOperator.LessThanOrEqual, value);

    /// <summary>Greater than or equal.</summary>
    /// <param name="field">The field.</param>
    /// <param name="value">The value.</param>
    /// <returns>The filter.</returns>
    public static RunFilter operator >=(RunField field, double value) => RunFilter.Compare(field, RunFilterOperator.GreaterThanOrEqual, value);

    /// <summary>Earlier than (for <c>start_time</c> and <c>end_time</c>).</summary>
    /// <param name="field">The field.</param>
    /// <param name="value">The time.</param>
    /// <returns>The filter.</returns>
    public static RunFilter operator <(RunField field, DateTimeOffset value) => RunFilter.Compare(field, RunFilterOperator.LessThan, value);

    /// <summary>Later than (for <c>start_time</c> and <c>end_time</c>).</summary>
    /// <param name="field">The field.</param>
    /// <param name="value">The time.</param>
    /// <returns>The filter.</returns>
    public static RunFilter operator >(RunField field, DateTimeOffset value) => RunFilter.Compare(field, RunFilterOperator.GreaterThan, value);

    /// <summary>At or before (for <c>start_time</c> and <c>end_time</c>).</summary>
    /// <param name="field">The field.</param>
    /// <param name="value">The time.</param>
    /// <returns>The filter.</returns>
    public static RunFilter operator <=(RunField field, DateTimeOffset value) => RunFilter.Compare(field, RunFilterOperator.LessThanOrEqual, value);

    /// <summary>At or after (for <c>start_time</c> and <c>end_time</c>).</summary>
    /// <param name="field">The field.</param>
    /// <param name="value">The time.</param>
    /// <returns>The filter.</returns>
    public static RunFilter operator >=(RunField field, DateTimeOffset value) => RunFilter.Compare(field, RunFilterOperator.GreaterThanOrEqual, value);

    /// <summary>Ascending order on this field.</summary>
    /// <returns>The order.</returns>
    public RunOrder Ascending() => new(this, false);

    /// <summary>Descending order on this field.</summary>
    /// <returns>The order.</returns>
    public RunOrder Descending() => new(this, true);
}

/// <summary>An order of a run search. Runs without the key come last.</summary>
/// <param name="Field">The field.</param>
/// <param name="Descending">Whether the order is descending.</param>
public sealed record RunOrder(RunField Field, bool Descending = false)
{
    /// <summary>Parses <c>"metrics.auc desc"</c>, <c>"start_time"</c>, <c>"params.trees asc"</c>.</summary>
    /// <param name="text">The order text.</param>
    /// <returns>The order.</returns>
    public static RunOrder Parse(string text)
    {
        Names.Required(text, "run order", "Pass a field optionally followed by 'asc' or 'desc', e.g. 'metrics.auc desc'.");
        var parts = text.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is 0 or > 2 || (parts.Length == 2 && parts[1].ToLowerInvariant() is not ("asc" or "desc")))
            throw new ValidationException($"The order '{text}' is invalid. Write a field optionally followed by 'asc' or 'desc', e.g. 'metrics.auc desc'.");
        return new RunOrder(RunField.Parse(parts[0]), parts.Length == 2 && parts[1].Equals("desc", StringComparison.OrdinalIgnoreCase));
    }
}

/// <summary>
/// A filter over runs: comparisons combined with <c>&amp;</c> (and), <c>|</c> (or) and <c>!</c> (not).
/// Build it in code (<c>RunField.Metric("auc") &gt; 0.8 &amp; RunField.Param("trees").Is(100)</c>) or parse
/// MLflow-style text (<c>RunFilter.Parse("metrics.auc &gt; 0.8 and params.trees = 100")</c>).
/// </summary>
public abstract record RunFilter
{
    private protected RunFilter() { }

    /// <summary>A comparison of a field with a value.</summary>
    /// <param name="field">The field.</param>
    /// <param name="op">The operator.</param>
    /// <param name="value">A number, string, bool, <see cref="RunState"/> or <see cref="DateTimeOffset"/>.</param>
    /// <returns>The filter.</returns>
    public static RunFilter Compare(RunField field, RunFilterOperator op, object value)
    {
        Throw.IfNull(field);
        Throw.IfNull(value);
        object normalized = value switch
        {
            RunState s => s.ToString().ToLowerInvariant(),
            DateTimeOffset d => d,
            DateTime d => new DateTimeOffset(d.ToUniversalTime()),
            string s => s,
            bool b => b ? "true" : "false",
            IConvertible c when value is not char => Convert.ToDouble(c, CultureInfo.InvariantCulture),
            _ => throw new ValidationException($"The value '{value}' of a filter on '{field}' has an unsupported type {value.GetType().Name}. Use a number, a string, a bool, a RunState or a DateTimeOffset."),
        };
        if (op is RunFilterOperator.Like or RunFilterOperator.ILike)
        {
            var name = op == RunFilterOperator.Like ? "like" : "ilike";
            if (normalized is not string)
                throw new ValidationException($"'{name}' on '{field}' needs a string pattern, not '{value}'. Quote it, e.g. {field} {name} 'abc%'.");
            if (field.Kind is RunFieldKind.Metric or RunFieldKind.Result || (field.Kind == RunFieldKind.Attribute && field.Key is "iteration" or "start_time" or "end_time"))
                throw new ValidationException($"'{name}' compares text, but '{field}' is a {(field.Key is "start_time" or "end_time" ? "time" : "number")}. Use =, !=, <, <=, > or >= on it, or '{name}' on names, ids, states, labels and parameters.");
        }
        if (field.Kind == RunFieldKind.Attribute && field.Key == "state" && normalized is string st && op is not (RunFilterOperator.Like or RunFilterOperator.ILike)
            && !Enum.TryParse<RunState>(st, ignoreCase: true, out _))
            throw new ValidationException($"'{st}' is not a run state. Use one of: {string.Join(", ", Enum.GetNames<RunState>().Select(n => n.ToLowerInvariant()))}.");
        return new Comparison(field, op, normalized);
    }

    /// <summary>Both filters.</summary>
    /// <param name="left">The left filter.</param>
    /// <param name="right">The right filter.</param>
    /// <returns>The conjunction.</returns>
    public static RunFilter operator &(RunFilter left, RunFilter right) => new AllOf([.. Flatten<AllOf>(left), .. Flatten<AllOf>(right)]);

    /// <summary>Either filter.</summary>
    /// <param name="left">The left filter.</param>
    /// <param name="right">The right filter.</param>
    /// <returns>The disjunction.</returns>
    public static RunFilter operator |(RunFilter left, RunFilter right) => new AnyOf([.. Flatten<AnyOf>(left), .. Flatten<AnyOf>(right)]);

    /// <summary>The negation.</summary>
    /// <param name="filter">The filter.</param>
    /// <returns>The negation.</returns>
    public static RunFilter operator !(RunFilter filter) => new Not(filter);

    /// <summary>Named alternative of <c>&amp;</c>.</summary>
    /// <param name="other">The other filter.</param>
    /// <returns>The conjunction.</returns>
    public RunFilter And(RunFilter other) => this & other;

    /// <summary>Named alternative of <c>|</c>.</summary>
    /// <param name="other">The other filter.</param>
    /// <returns>The disjunction.</returns>
    public RunFilter Or(RunFilter other) => this | other;

    /// <summary>Named alternative of <c>&amp;</c>.</summary>
    /// <param name="left">The left filter.</param>
    /// <param name="right">The right filter.</param>
    /// <returns>The conjunction.</returns>
    public static RunFilter BitwiseAnd(RunFilter left, RunFilter right) => left & right;

    /// <summary>Named alternative of <c>|</c>.</summary>
    /// <param name="left">The left filter.</param>
    /// <param name="right">The right filter.</param>
    /// <returns>The disjunction.</returns>
    public static RunFilter BitwiseOr(RunFilter left, RunFilter right) => left | right;

    /// <summary>Named alternative of <c>!</c>.</summary>
    /// <param name="filter">The filter.</param>
    /// <returns>The negation.</returns>
    public static RunFilter LogicalNot(RunFilter filter) => !filter;

    private static IEnumerable<RunFilter> Flatten<T>(RunFilter f) where T : RunFilter
        => f switch
        {
            AllOf a when typeof(T) == typeof(AllOf) => a.Filters,
            AnyOf o when typeof(T) == typeof(AnyOf) => o.Filters,
            _ => [f],
        };

    /// <summary>A comparison.</summary>
    /// <param name="Field">The field.</param>
    /// <param name="Operator">The operator.</param>
    /// <param name="Value">A <see cref="double"/>, <see cref="string"/> or <see cref="DateTimeOffset"/>.</param>
    public sealed record Comparison(RunField Field, RunFilterOperator Operator, object Value) : RunFilter
    {
        /// <inheritdoc/>
        public override string ToString()
        {
            var op = Operator switch
            {
                RunFilterOperator.Equal => "=",
                RunFilterOperator.NotEqual => "!=",
                RunFilterOperator.LessThan => "<",
                RunFilterOperator.LessThanOrEqual => "<=",
                RunFilterOperator.GreaterThan => ">",
                RunFilterOperator.GreaterThanOrEqual => ">=",
                RunFilterOperator.ILike => "ilike",
                _ => "like",
            };
            var v = Value switch
            {
                string s => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'",
                double d => d.ToString("R", CultureInfo.InvariantCulture),
                DateTimeOffset d => "'" + d.ToString("O", CultureInfo.InvariantCulture) + "'",
                _ => Value.ToString(),
            };
            return $"{Field} {op} {v}";
        }
    }

    /// <summary>All of the filters.</summary>
    /// <param name="Filters">The filters.</param>
    public sealed record AllOf(IReadOnlyList<RunFilter> Filters) : RunFilter
    {
        /// <inheritdoc/>
        public override string ToString() => "(" + string.Join(" and ", Filters) + ")";
    }

    /// <summary>Any of the filters.</summary>
    /// <param name="Filters">The filters.</param>
    public sealed record AnyOf(IReadOnlyList<RunFilter> Filters) : RunFilter
    {
        /// <inheritdoc/>
        public override string ToString() => "(" + string.Join(" or ", Filters) + ")";
    }

    /// <summary>The negation of a filter.</summary>
    /// <param name="Filter">The filter.</param>
    public sealed record Not(RunFilter Filter) : RunFilter
    {
        /// <inheritdoc/>
        public override string ToString() => "not " + Filter;
    }

    /// <summary>
    /// Parses a filter such as <c>metrics.auc &gt; 0.8 and (params.trees = 100 or labels.team = 'fraud') and state = 'completed'</c>.
    /// Operators: <c>= != &lt;&gt; &lt; &lt;= &gt; &gt;= like ilike</c> (<c>like</c> is case-sensitive, <c>ilike</c> is not); combinators <c>and</c>, <c>or</c>, <c>not</c> and parentheses;
    /// strings in single or double quotes; keys with special characters in back-ticks (<c>metrics.`train/loss`</c>).
    /// </summary>
    /// <param name="text">The filter text.</param>
    /// <returns>The filter.</returns>
    /// <exception cref="ValidationException">The text is not a valid filter; the message points at the position.</exception>
    public static RunFilter Parse(string text)
        => new Parser(Names.Required(text, "run filter", "Pass a filter such as 'metrics.auc > 0.8 and params.trees = 100' (search with an empty text to get every run).")).ParseAll();

    private sealed class Parser(string text)
    {
        private int _pos;

        public RunFilter ParseAll()
        {
            var f = ParseOr();
            SkipWs();
            if (_pos < text.Length) Fail($"unexpected '{text[_pos..]}'");
            return f;
        }

        private RunFilter ParseOr()
        {
            var left = ParseAnd();
            while (TryKeyword("or")) left = left | ParseAnd();
            return left;
        }

        private RunFilter ParseAnd()
        {
            var left = ParseUnary();
            while (TryKeyword("and")) left = left & ParseUnary();
            return left;
        }

        private RunFilter ParseUnary()
        {
            SkipWs();
            if (TryKeyword("not")) return !ParseUnary();
            if (Peek('('))
            {
                _pos++;
                var inner = ParseOr();
                SkipWs();
                if (!Peek(')')) Fail("missing ')'");
                _pos++;
                return inner;
            }
            return ParseComparison();
        }

        private RunFilter ParseComparison()
        {
            SkipWs();
            var start = _pos;
            var sb = new StringBuilder();
            while (_pos < text.Length)
            {
                var c = text[_pos];
                if (c == '`')
                {
                    var end = text.IndexOf('`', _pos + 1);
                    if (end < 0) Fail("missing closing '`'");
                    sb.Append(text, _pos + 1, end - _pos - 1);
                    _pos = end + 1;
                    continue;
                }
                if (char.IsLetterOrDigit(c) || c is '_' or '.' or '-' or '/') { sb.Append(c); _pos++; continue; }
                break;
            }
            if (sb.Length == 0) Fail("expected a field such as 'metrics.auc'", start);
            RunField field;
            try { field = RunField.Parse(sb.ToString()); }
            catch (ValidationException e) { throw new ValidationException($"Invalid run filter at position {start}: {e.Message} Filter: {text}"); }
            SkipWs();
            RunFilterOperator op;
            if (Match("!=") || Match("<>")) op = RunFilterOperator.NotEqual;
            else if (Match("<=")) op = RunFilterOperator.LessThanOrEqual;
            else if (Match(">=")) op = RunFilterOperator.GreaterThanOrEqual;
            else if (Match("==") || Match("=")) op = RunFilterOperator.Equal;
            else if (Match("<")) op = RunFilterOperator.LessThan;
            else if (Match(">")) op = RunFilterOperator.GreaterThan;
            else if (TryKeyword("like")) op = RunFilterOperator.Like;
            else if (TryKeyword("ilike")) op = RunFilterOperator.ILike;
            else { Fail($"expected an operator (=, !=, <, <=, >, >=, like, ilike) after '{field}'"); return null!; }
            SkipWs();
            object value = ParseValue(field, op);
            try { return Compare(field, op, value); }
            catch (ValidationException e) { throw new ValidationException($"Invalid run filter at position {start}: {e.Message} Filter: {text}"); }
        }

        private object ParseValue(RunField field, RunFilterOperator op)
        {
            if (_pos >= text.Length) Fail($"expected a value after the operator on '{field}'");
            var q = text[_pos];
            if (q is '\'' or '"')
            {
                var sb = new StringBuilder();
                _pos++;
                while (true)
                {
                    if (_pos >= text.Length) Fail("missing closing quote");
                    if (text[_pos] == q)
                    {
                        if (_pos + 1 < text.Length && text[_pos + 1] == q) { sb.Append(q); _pos += 2; continue; }
                        _pos++;
                        break;
                    }
                    sb.Append(text[_pos++]);
                }
                var s = sb.ToString();
                if (field.Kind == RunFieldKind.Attribute && field.Key is "start_time" or "end_time" && op is not (RunFilterOperator.Like or RunFilterOperator.ILike))
                {
                    if (!DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d))
                        Fail($"'{s}' is not a date and time; write e.g. '2026-01-31T12:00:00Z'");
                    return d;
                }
                return s;
            }
            var start = _pos;
            while (_pos < text.Length && (char.IsLetterOrDigit(text[_pos]) || text[_pos] is '.' or '-' or '+' or '_')) _pos++;
            var token = text[start.._pos];
            if (double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)) return number;
            if (token.Length > 0 && field.Kind == RunFieldKind.Attribute && field.Key == "state") return token;
            if (token is "true" or "false") return token;
            Fail($"expected a number or a quoted string, found '{token}'", start);
            return null!;
        }

        private bool TryKeyword(string keyword)
        {
            SkipWs();
            if (_pos + keyword.Length <= text.Length
                && string.Compare(text, _pos, keyword, 0, keyword.Length, StringComparison.OrdinalIgnoreCase) == 0
                && (_pos + keyword.Length == text.Length || !char.IsLetterOrDigit(text[_pos + keyword.Length]))
                && (keyword != "not" || true))
            {
                _pos += keyword.Length;
                return true;
            }
            return false;
        }

        private bool Match(string s)
        {
            if (string.CompareOrdinal(text, _pos, s, 0, s.Length) == 0) { _pos += s.Length; return true; }
            return false;
        }

        private bool Peek(char c) => _pos < text.Length && text[_pos] == c;

        private void SkipWs()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;
        }

        private void Fail(string what, int? at = null)
            => throw new ValidationException($"Invalid run filter at position {at ?? _pos}: {what}. Filter: {text}. Example: metrics.auc > 0.8 and params.trees = 100");
    }
}

/// <summary>A run search: project, filter, order and paging.</summary>
public sealed record RunQuery
{
    /// <summary>The project to search.</summary>
    public required string Project { get; init; }

    /// <summary>The filter, or <see langword="null"/> for every run.</summary>
    public RunFilter? Filter { get; init; }

    /// <summary>The order; by default newest first (<c>start_time desc</c>). Ties are broken by id.</summary>
    public IReadOnlyList<RunOrder> OrderBy { get; init; } = [];

    /// <summary>Runs per page, 1 to 10,000. <value>Defaults to 100.</value></summary>
    public int PageSize { get; init; } = 100;

    /// <summary>The <see cref="RunPage.NextPageToken"/> of the previous page, or <see langword="null"/> for the first page.
    /// Tokens are opaque and bound to the project, filter and order of the search that returned them (the page size may
    /// change); the pages of one search are the runs that matched when its first page was read, each exactly once and in
    /// order, however many runs are created or deleted meanwhile.</summary>
    public string? PageToken { get; init; }
}
