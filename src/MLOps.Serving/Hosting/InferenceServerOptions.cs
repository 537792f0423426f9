namespace MLOps.Serving.Hosting;

/// <summary>Options of a <see cref="InferenceServer"/> (and of the HTTP host that shares its code).</summary>
public sealed class InferenceServerOptions
{
    /// <summary>The server name in the server metadata (<c>GET v2</c>).</summary>
    public string Name { get; init; } = "mlops-dotnet";

    /// <summary>The server version in the server metadata.</summary>
    public string Version { get; init; } = typeof(InferenceServerOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>The protocol extensions listed in the server metadata.</summary>
    public IReadOnlyList<string> Extensions { get; init; } = [];

    /// <summary>The largest inference request body accepted, in bytes; a larger one gets 413. 32 MiB by default.</summary>
    public long MaxRequestBytes { get; init; } = 32L * 1024 * 1024;

    /// <summary>The clock of the <see cref="InferenceRecord"/>s (<see cref="InferenceRecord.Started"/> and
    /// <see cref="InferenceRecord.Latency"/>); <see cref="TimeProvider.System"/> by default.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// The most inference requests the server runs at once; <see langword="null"/> (the default) for no limit. A request
    /// beyond the limit waits in a queue of <see cref="MaxQueuedRequests"/> (oldest first), and when the queue is full it is
    /// answered at once with <see cref="ServingException"/> 503 "server is busy" (the HTTP host adds <c>Retry-After</c>).
    /// </summary>
    public int? MaxConcurrentRequests { get; init; }

    /// <summary>How many inference requests may wait for a slot when <see cref="MaxConcurrentRequests"/> are running; 0 (the default) answers 503 at once.</summary>
    public int MaxQueuedRequests { get; init; }

    /// <summary>
    /// The logger factory of the server's messages (every 5xx with its exception, failing observers); when null, the host's
    /// <see cref="Microsoft.Extensions.Logging.ILoggerFactory"/> once <c>MapServingGraph</c> maps the server, else none.
    /// </summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>The meter factory of the server's instruments (<see cref="ServingDiagnostics"/>); when null, the process-wide
    /// meter <see cref="ServingDiagnostics.MeterName"/>.</summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; init; }
}
