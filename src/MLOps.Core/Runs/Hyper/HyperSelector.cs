namespace MLOps.Runs;

/// <summary>
/// How a hyper-parameter search picks its best iteration: the iteration with the largest (<c>max:auc</c>) or smallest
/// (<c>min:loss</c>) value of a key, read from the iteration's results first and then from its latest metrics.
/// </summary>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed record HyperSelector
{
    private HyperSelector(string key, bool maximize)
    {
        Key = key;
        Maximize = maximize;
    }

    /// <summary>The result or metric key, e.g. <c>auc</c>.</summary>
    public string Key { get; }

    /// <summary><see langword="true"/> when the largest value wins, <see langword="false"/> when the smallest does.</summary>
    public bool Maximize { get; }

    /// <summary>Selects the iteration with the largest value of <paramref name="key"/>.</summary>
    /// <param name="key">The result or metric key.</param>
    /// <returns>The selector.</returns>
    /// <exception cref="ValidationException">The key is invalid.</exception>
    public static HyperSelector Max(string key) => new(Names.Key(key, "selector key"), true);

    /// <summary>Selects the iteration with the smallest value of <paramref name="key"/>.</summary>
    /// <param name="key">The result or metric key.</param>
    /// <returns>The selector.</returns>
    /// <exception cref="ValidationException">The key is invalid.</exception>
    public static HyperSelector Min(string key) => new(Names.Key(key, "selector key"), false);

    /// <summary>Parses <c>max:&lt;key&gt;</c> or <c>min:&lt;key&gt;</c> (MLRun's <c>max.&lt;key&gt;</c> is accepted too).</summary>
    /// <param name="text">The selector text, e.g. <c>max:auc</c>.</param>
    /// <returns>The selector.</returns>
    /// <exception cref="ValidationException">The text is not a selector; the message names it and the expected form.</exception>
    public static HyperSelector Parse(string text)
    {
        var t = (text ?? "").Trim();
        var sep = t.IndexOfAny([':', '.']);
        var direction = sep < 0 ? "" : t[..sep].Trim().ToLowerInvariant();
        var key = sep < 0 ? "" : t[(sep + 1)..].Trim();
        if (direction is not ("max" or "min") || key.Length == 0)
            throw new ValidationException($"The selector '{text}' is invalid. Write 'max:<key>' or 'min:<key>' with a result or metric key, e.g. 'max:auc' or 'min:loss'.");
        try
        {
            return new HyperSelector(Names.Key(key, "selector key"), direction == "max");
        }
        catch (ValidationException e)
        {
            throw new ValidationException($"The selector '{text}' is invalid: {e.Message} Write 'max:<key>' or 'min:<key>', e.g. 'max:auc'.");
        }
    }

    /// <summary>The selector as text: <c>max:auc</c> or <c>min:loss</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => (Maximize ? "max:" : "min:") + Key;

    /// <summary>The value of the key for a run: its result, else its latest metric; <see langword="null"/> when it has
    /// neither or the value is NaN.</summary>
    internal double? ValueOf(RunRecord run)
    {
        if (run.Results.TryGetValue(Key, out var r)) return double.IsNaN(r) ? null : r;
        if (run.Metrics.TryGetValue(Key, out var m)) return double.IsNaN(m) ? null : m;
        return null;
    }

    internal bool IsBetter(double candidate, double best) => Maximize ? candidate > best : candidate < best;
}
