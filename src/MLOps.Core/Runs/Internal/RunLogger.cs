using Microsoft.Extensions.Logging;

namespace MLOps.Runs.Internal;

/// <summary>The <see cref="ILogger"/> of a run: every line is buffered into the run's log (flushed with its metrics)
/// and forwarded to the project's logger factory.</summary>
internal sealed class RunLogger(RunContext run, ILogger forward, string category) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => forward.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (logLevel == LogLevel.None) return;
        var message = formatter(state, exception);
        if (exception is not null) message = message + Environment.NewLine + exception;
        run.BufferLog(logLevel.ToString(), category, message);
        if (forward.IsEnabled(logLevel)) forward.Log(logLevel, eventId, state, exception, formatter);
    }
}
