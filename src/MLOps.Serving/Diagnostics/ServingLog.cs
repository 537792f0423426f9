using Microsoft.Extensions.Logging;

namespace MLOps.Serving;

/// <summary>The log messages of the serving package (source-generated: no formatting, boxing or allocation when the level is off).</summary>
internal static partial class ServingLog
{
    /// <summary>A 5xx answer: error, or warning for a 503 (not ready, busy, circuit open), which a client retries.</summary>
    [LoggerMessage(EventId = 1, Message = "Serving graph {Graph} answered {StatusCode} for model {Model} (version {Version}): {Error}")]
    public static partial void ServerError(ILogger logger, LogLevel level, Exception exception, int statusCode, string graph, string? model, string? version, string error);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "The inference observer {Observer} of the server over {Graph} failed for the request {RequestId}")]
    public static partial void ObserverFailed(ILogger logger, Exception exception, string observer, string graph, string? requestId);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Model handle {Uri} swapped version {OldVersion} for version {NewVersion}")]
    public static partial void ModelSwapped(ILogger logger, string uri, int oldVersion, int newVersion);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Model handle {Uri} keeps version {Version}: the upgrade to {Target} failed")]
    public static partial void UpgradeFailed(ILogger logger, Exception exception, string uri, int version, string target);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "A {Event} handler of model handle {Uri} threw")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string @event, string uri);

    [LoggerMessage(EventId = 6, Level = LogLevel.Error, Message = "Polling model handle {Uri} failed")]
    public static partial void PollFailed(ILogger logger, Exception exception, string uri);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "Step {Step} failed (attempt {Attempt}); retrying in {DelayMs} ms")]
    public static partial void StepRetry(ILogger logger, Exception? exception, string step, int attempt, double delayMs);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "The circuit of step {Step} opened for {BreakMs} ms")]
    public static partial void CircuitOpened(ILogger logger, Exception? exception, string step, double breakMs);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "The circuit of step {Step} is now {State}")]
    public static partial void CircuitStateChanged(ILogger logger, string step, string state);

    [LoggerMessage(EventId = 9, Level = LogLevel.Error, Message = "The background step {Step} of the serving graph {Graph} failed")]
    public static partial void BackgroundStepFailed(ILogger logger, Exception exception, string step, string graph);

    [LoggerMessage(EventId = 10, Level = LogLevel.Error, Message = "The error handler of the serving graph {Graph} failed for the background step {Step}")]
    public static partial void ErrorHandlerFailed(ILogger logger, Exception exception, string graph, string step);
}
