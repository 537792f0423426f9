using System.Globalization;

namespace MLOps.FeatureStore.Aggregations;

/// <summary>
/// A sliding-window length written <c>&lt;n&gt;&lt;unit&gt;</c> with unit <c>s</c>, <c>m</c>, <c>h</c> or <c>d</c>
/// (<c>30s</c>, <c>10m</c>, <c>1h</c>, <c>1d</c>). Times are measured in UTC from the Unix epoch.
/// </summary>
public readonly record struct FeatureWindow
{
    private FeatureWindow(long amount, char unit)
    {
        Amount = amount;
        Unit = unit;
    }

    /// <summary>The number of units.</summary>
    public long Amount { get; }

    /// <summary>The unit: <c>s</c>, <c>m</c>, <c>h</c> or <c>d</c>.</summary>
    public char Unit { get; }

    /// <summary>The length.</summary>
    public TimeSpan Length => Unit switch
    {
        's' => TimeSpan.FromSeconds(Amount),
        'm' => TimeSpan.FromMinutes(Amount),
        'h' => TimeSpan.FromHours(Amount),
        _ => TimeSpan.FromDays(Amount),
    };

    /// <summary>The length in microseconds.</summary>
    public long Microseconds => Length.Ticks / 10;

    /// <summary>Parses <c>&lt;n&gt;&lt;s|m|h|d&gt;</c>.</summary>
    /// <param name="text">The window, for example <c>1h</c>.</param>
    /// <returns>The window.</returns>
    /// <exception cref="ValidationException">The text is not a positive whole number followed by s, m, h or d.</exception>
    public static FeatureWindow Parse(string text)
    {
        if (TryParse(text, out var window)) return window;
        throw new ValidationException(
            $"Invalid window '{text}'.",
            [$"window '{text}' is not <n><s|m|h|d>: write a positive whole number followed by s, m, h or d, for example 30s, 10m, 1h or 1d."]);
    }

    /// <summary>Tries to parse <c>&lt;n&gt;&lt;s|m|h|d&gt;</c>.</summary>
    /// <param name="text">The text.</param>
    /// <param name="window">The window when parsed.</param>
    /// <returns>Whether it parsed.</returns>
    public static bool TryParse(string? text, out FeatureWindow window)
    {
        window = default;
        if (string.IsNullOrEmpty(text) || text.Length < 2) return false;
        var unit = text[^1];
        if (unit is not ('s' or 'm' or 'h' or 'd')) return false;
        var digits = text.AsSpan(0, text.Length - 1);
        foreach (var c in digits)
            if (c is < '0' or > '9') return false;
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var amount) || amount <= 0 || amount > 100_000) return false;
        window = new FeatureWindow(amount, unit);
        return true;
    }

    /// <summary>The window as written, for example <c>1h</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Amount}{Unit}");
}
