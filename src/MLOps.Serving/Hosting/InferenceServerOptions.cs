namespace MLOps.Serving.Hosting;

/// <summary>Options of a <see cref="InferenceServer"/> (and of the HTTP host that shares its code).</summary>
public sealed class InferenceServerOptions
{
    /// <summary>The server name in the server metadata (<c>GET v2</c>); not blank. <value>Defaults to <c>mlops-dotnet</c>.</value></summary>
    public string Name { get; init; } = "mlops-dotnet";

    /// <summary>The server version in the server metadata; not blank. <value>Defaults to the version of the MLOps.Serving assembly (such as <c>0.1.0</c>).</value></summary>
    public string Version { get; init; } = typeof(InferenceServerOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>The protocol extensions listed in the server metadata (no blank or null entry). <value>Defaults to none.</value></summary>
    public IReadOnlyList<string> Extensions { get; init; } = [];

    /// <summary>The largest inference request body accepted, in bytes (positive); a larger one gets 413. <value>Defaults to 32 MiB.</value></summary>
    public long MaxRequestBytes { get; init; } = 32L * 1024 * 1024;

    /// <summary>The clock of the <see cref="InferenceRecord"/>s (<see cref="InferenceRecord.Started"/> and
    /// <see cref="InferenceRecord.Latency"/>). <value>Defaults to <see cref="TimeProvider.System"/>.</value></summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// The most inference requests the server runs at once (positive). A request beyond the limit waits in a queue of
    /// <see cref="MaxQueuedRequests"/> (oldest first), and when the queue is full it is answered at once with
    /// <see cref="ServingException"/> 503 "server is busy" (the HTTP host adds <c>Retry-After</c>).
    /// <value>Defaults to <see langword="null"/>: no limit.</value>
    /// </summary>
    public int? MaxConcurrentRequests { get; init; }

    /// <summary>How many inference requests may wait for a slot when <see cref="MaxConcurrentRequests"/> are running (0 or
    /// more; 0 answers 503 at once). <value>Defaults to 0.</value></summary>
    public int MaxQueuedRequests { get; init; }

    /// <summary>
    /// The logger factory of the server's messages (every 5xx with its exception, failing observers); when null, the host's
    /// <see cref="Microsoft.Extensions.Logging.ILoggerFactory"/> once <c>MapServingGraph</c> maps the server, else none.
    /// <value>Defaults to <see langword="null"/>.</value>
    /// </summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>The meter factory of the server's instruments (<see cref="ServingDiagnostics"/>); when null, the process-wide
    /// meter <see cref="ServingDiagnostics.MeterName"/>. <value>Defaults to <see langword="null"/>.</value></summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; init; }

    /// <summary>Lists every problem of these options at once; each names the property, the value and the fix.
    /// <c>InferenceServer.Create</c> throws one
    /// <see cref="ValidationException"/> listing them.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Name))
            errors.Add($"InferenceServerOptions.Name is '{Name}'; use a non-empty server name (default 'mlops-dotnet').");
        if (string.IsNullOrWhiteSpace(Version))
            errors.Add($"InferenceServerOptions.Version is '{Version}'; use a non-empty version, such as '1.0.0', or leave it unset for the assembly version.");
        if (Extensions is null)
            errors.Add("InferenceServerOptions.Extensions is null; use an empty list (the default) for no extensions.");
        else
            for (int i = 0; i < Extensions.Count; i++)
                if (string.IsNullOrWhiteSpace(Extensions[i]))
                    errors.Add($"InferenceServerOptions.Extensions[{i}] is '{Extensions[i]}'; remove it or name the extension.");
        if (MaxRequestBytes <= 0)
            errors.Add($"InferenceServerOptions.MaxRequestBytes is {MaxRequestBytes}; use a positive number of bytes (default {32L * 1024 * 1024}, 32 MiB).");
        if (MaxConcurrentRequests is <= 0)
            errors.Add($"InferenceServerOptions.MaxConcurrentRequests is {MaxConcurrentRequests}; use a positive limit, or null for none (the default).");
        if (MaxQueuedRequests < 0)
            errors.Add($"InferenceServerOptions.MaxQueuedRequests is {MaxQueuedRequests}; use 0 (the default) or more.");
        if (TimeProvider is null)
            errors.Add("InferenceServerOptions.TimeProvider is null; leave it unset for TimeProvider.System.");
        return errors;
    }
}
