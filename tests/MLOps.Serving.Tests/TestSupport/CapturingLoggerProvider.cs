using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace MLOps.Serving.Tests.TestSupport;

/// <summary>A logger provider that keeps every entry (category, level, event id, message, exception), for tests of log signals.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ILoggerFactory
{
    public sealed record Entry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

    public ConcurrentQueue<Entry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => owner.Entries.Enqueue(new Entry(category, logLevel, eventId, formatter(state, exception), exception));
    }
}

/// <summary>Collects the measurements of the serving meter whose tags carry a value (such as a test's own graph name), so
/// parallel tests do not see each other's.</summary>
public sealed class ServingMeasurements : IDisposable
{
    private readonly System.Diagnostics.Metrics.MeterListener _listener = new();

    public sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags);

    public ConcurrentQueue<Measurement> All { get; } = new();

    public ServingMeasurements(string tagValue)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ServingDiagnostics.MeterName)
                listener.EnableMeasurementEvents(instrument);
        };
        void Record(System.Diagnostics.Metrics.Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var copy = new Dictionary<string, object?>();
            foreach (var tag in tags)
                copy[tag.Key] = tag.Value;
            if (copy.ContainsValue(tagValue))
                All.Enqueue(new Measurement(instrument.Name, value, copy));
        }
        _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        _listener.Start();
    }

    public IReadOnlyList<Measurement> Of(string instrument) => [.. All.Where(m => m.Instrument == instrument)];

    public void Dispose() => _listener.Dispose();
}
