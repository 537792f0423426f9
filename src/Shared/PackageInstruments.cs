using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace MLOps.Internal;

/// <summary>
/// A package's instruments (<typeparamref name="T"/>): one set per <see cref="IMeterFactory"/> (a host's, through
/// <see cref="MLOpsOptions.MeterFactory"/>), created on the factory's meter of the package's name, and one process-wide set
/// on a meter of that name when no factory is given. Every package resolves its instruments through this, so each meter
/// and instrument is created once, with the package's version. Linked into each package (see docs/architecture.md).
/// </summary>
/// <typeparam name="T">The package's instruments class.</typeparam>
internal static class PackageInstruments<T> where T : class
{
    private static readonly ConditionalWeakTable<IMeterFactory, T> ByFactory = new();
    private static readonly Lock SharedLock = new();
    private static T? s_shared;

    /// <summary>The version the package's meters (and activity sources) carry.</summary>
    public static string? Version { get; } = typeof(T).Assembly.GetName().Version?.ToString(3);

    /// <summary>The instruments of <paramref name="factory"/>'s meter, or the process-wide ones when it is null.</summary>
    /// <param name="factory">The host's meter factory, or null.</param>
    /// <param name="meterName">The package's meter name (its <c>*Diagnostics.MeterName</c>).</param>
    /// <param name="create">Creates the instruments on a meter (called once per factory, and once for the process).</param>
    public static T For(IMeterFactory? factory, string meterName, Func<Meter, T> create)
    {
        if (factory is not null)
            return ByFactory.GetValue(factory, f => create(f.Create(new MeterOptions(meterName) { Version = Version })));
        if (Volatile.Read(ref s_shared) is { } shared) return shared;
        lock (SharedLock)
            return s_shared ??= create(new Meter(meterName, Version));
    }
}
