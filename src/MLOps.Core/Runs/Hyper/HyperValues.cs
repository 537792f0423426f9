namespace MLOps.Runs;

/// <summary>
/// The values to try per parameter in a <see cref="HyperRunBuilder.Grid"/> (every combination) or a
/// <see cref="HyperRunBuilder.List"/> (lists zipped by position) search:
/// <c>h =&gt; h.Add("trees", 20, 100).Add("leaves", 16, 64)</c>.
/// </summary>
/// <remarks>Not thread-safe; filled inside the configuration callback. Problems (empty lists, duplicate names, null
/// values) are reported all at once when the search runs.</remarks>
public sealed class HyperValues
{
    private readonly List<(string? Name, IReadOnlyList<object?>? Values)> _entries = [];

    internal HyperValues() { }

    internal IReadOnlyList<(string? Name, IReadOnlyList<object?>? Values)> Entries => _entries;

    /// <summary>Adds a parameter and the values to try, in order.</summary>
    /// <param name="name">The parameter key, e.g. <c>trees</c>.</param>
    /// <param name="values">The values (numbers, strings, bools, enums, ...), stored on each child run in invariant form.</param>
    /// <returns>This object.</returns>
    public HyperValues Add(string name, params object[] values)
    {
        _entries.Add((name, values));
        return this;
    }

    /// <summary>Adds a parameter and the values to try from a collection: <c>h.Add("trees", new[] { 20, 50, 100 })</c>.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="name">The parameter key.</param>
    /// <param name="values">The values.</param>
    /// <returns>This object.</returns>
    public HyperValues Add<T>(string name, IReadOnlyCollection<T> values)
    {
        _entries.Add((name, values?.Select(v => (object?)v).ToList()));
        return this;
    }
}

/// <summary>
/// How each parameter of a <see cref="HyperRunBuilder.Random"/> search is sampled:
/// <c>h =&gt; h.Add("trees", 10, 200).Add("lr", 0.01, 0.3).Add("booster", "gbtree", "dart")</c>.
/// </summary>
/// <remarks>Not thread-safe; filled inside the configuration callback. Problems (inverted ranges, empty choices,
/// duplicate names) are reported all at once when the search runs.</remarks>
public sealed class HyperDistributions
{
    private readonly List<HyperDistribution> _entries = [];

    internal HyperDistributions() { }

    internal IReadOnlyList<HyperDistribution> Entries => _entries;

    /// <summary>Adds an integer parameter drawn uniformly from <paramref name="min"/> to <paramref name="max"/>, both inclusive.</summary>
    /// <param name="name">The parameter key.</param>
    /// <param name="min">The smallest value.</param>
    /// <param name="max">The largest value.</param>
    /// <returns>This object.</returns>
    public HyperDistributions Add(string name, int min, int max)
    {
        _entries.Add(new HyperDistribution.IntegerRange(name, min, max));
        return this;
    }

    /// <summary>Adds a real parameter drawn uniformly from <paramref name="min"/> (inclusive) to <paramref name="max"/> (exclusive).</summary>
    /// <param name="name">The parameter key.</param>
    /// <param name="min">The lower bound.</param>
    /// <param name="max">The upper bound.</param>
    /// <returns>This object.</returns>
    public HyperDistributions Add(string name, double min, double max)
    {
        _entries.Add(new HyperDistribution.Uniform(name, min, max, Log: false));
        return this;
    }

    /// <summary>Adds a positive real parameter whose logarithm is drawn uniformly, for scales such as learning rates
    /// (<c>AddLogUniform("lr", 1e-4, 1e-1)</c> draws each decade equally often).</summary>
    /// <param name="name">The parameter key.</param>
    /// <param name="min">The lower bound (greater than 0).</param>
    /// <param name="max">The upper bound.</param>
    /// <returns>This object.</returns>
    public HyperDistributions AddLogUniform(string name, double min, double max)
    {
        _entries.Add(new HyperDistribution.Uniform(name, min, max, Log: true));
        return this;
    }

    /// <summary>Adds a parameter drawn from text choices with equal probability.</summary>
    /// <param name="name">The parameter key.</param>
    /// <param name="choices">The choices, e.g. <c>"gbtree", "dart"</c>.</param>
    /// <returns>This object.</returns>
    public HyperDistributions Add(string name, params string[] choices)
    {
        _entries.Add(new HyperDistribution.Choice(name, choices));
        return this;
    }

    /// <summary>Adds a parameter drawn from choices of any type with equal probability: <c>AddChoice("depth", 3, 5, 8)</c>.</summary>
    /// <param name="name">The parameter key.</param>
    /// <param name="choices">The choices.</param>
    /// <returns>This object.</returns>
    public HyperDistributions AddChoice(string name, params object[] choices)
    {
        _entries.Add(new HyperDistribution.Choice(name, choices));
        return this;
    }
}

/// <summary>One sampled parameter of a random search.</summary>
internal abstract record HyperDistribution(string? Name)
{
    public abstract object Sample(System.Random random);

    public abstract void Validate(string name, List<string> errors);

    public sealed record IntegerRange(string? Name, int Min, int Max) : HyperDistribution(Name)
    {
        public override object Sample(System.Random random) => (int)random.NextInt64(Min, (long)Max + 1);

        public override void Validate(string name, List<string> errors)
        {
            if (Min > Max) errors.Add($"Parameter '{name}' has the integer range {Min} to {Max}; the minimum must not exceed the maximum, e.g. Add(\"{name}\", {Max}, {Min}).");
        }
    }

    public sealed record Uniform(string? Name, double Min, double Max, bool Log) : HyperDistribution(Name)
    {
        public override object Sample(System.Random random)
        {
            if (!Log) return Min + (random.NextDouble() * (Max - Min));
            var (lo, hi) = (Math.Log(Min), Math.Log(Max));
            return Math.Clamp(Math.Exp(lo + (random.NextDouble() * (hi - lo))), Min, Max);
        }

        public override void Validate(string name, List<string> errors)
        {
            var what = Log ? "log-uniform range" : "range";
            if (!double.IsFinite(Min) || !double.IsFinite(Max))
                errors.Add($"Parameter '{name}' has the {what} {Min} to {Max}; both bounds must be finite numbers.");
            else if (Min > Max)
                errors.Add($"Parameter '{name}' has the {what} {Min} to {Max}; the minimum must not exceed the maximum.");
            else if (Log && Min <= 0)
                errors.Add($"Parameter '{name}' has the log-uniform range {Min} to {Max}; both bounds must be greater than 0 (e.g. 1e-4 to 1e-1), or use Add(name, min, max) for a uniform range.");
        }
    }

    public sealed record Choice(string? Name, IReadOnlyList<object?>? Choices) : HyperDistribution(Name)
    {
        public override object Sample(System.Random random) => Choices![random.Next(Choices.Count)]!;

        public override void Validate(string name, List<string> errors)
        {
            if (Choices is null || Choices.Count == 0)
                errors.Add($"Parameter '{name}' has no choices. Pass at least one, e.g. Add(\"{name}\", \"a\", \"b\").");
            else if (Choices.Any(c => c is null))
                errors.Add($"Parameter '{name}' has a null choice. Remove it, or use a text such as \"none\".");
        }
    }
}
