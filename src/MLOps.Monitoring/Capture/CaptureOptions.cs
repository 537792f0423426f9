using MLOps.Monitoring.Endpoints;
namespace MLOps.Monitoring.Capture;

/// <summary>Options of a capture session (<see cref="MonitoringCatalog.StartCaptureAsync"/>).</summary>
public sealed record CaptureOptions
{
    /// <summary>How many requests the buffer between serving and the writer holds (default 10,000). When it is full, a request's
    /// record is dropped and counted (<see cref="CaptureSession.DroppedCount"/>): serving never waits for the writer.</summary>
    public int BufferCapacity { get; init; } = 10_000;

    /// <summary>The share of requests whose inputs and outputs are stored, from 0 to 1 (default 1: all). The endpoint counters
    /// count every request whatever the rate.</summary>
    public double SamplingRate { get; init; } = 1.0;

    /// <summary>The seed of the sampling, for a reproducible choice of requests; <see langword="null"/> (default) for a shared random source.</summary>
    public int? SamplingSeed { get; init; }

    /// <summary>How many requests the writer gathers (already in columns) before it writes them (default 10,000: one file per
    /// endpoint and hour costs a few milliseconds whatever its size, so larger files make capture cheaper under load); it also
    /// writes what it has on every <see cref="FlushInterval"/>, on <see cref="CaptureSession.FlushAsync"/> and when the session
    /// is disposed.</summary>
    public int BatchSize { get; init; } = 10_000;

    /// <summary>How often the writer stores what it has gathered and the endpoints' counters (default 10 seconds, measured with
    /// the project's <see cref="MLOpsProject.TimeProvider"/>).</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>References given by hand, by served model name; they win over the statistics linked to the model version in the registry.</summary>
    public IReadOnlyDictionary<string, EndpointReference> References { get; init; } = new Dictionary<string, EndpointReference>();

    /// <summary>Checks the options.</summary>
    /// <exception cref="ValidationException">A value is out of range.</exception>
    internal void Validate()
    {
        if (BufferCapacity < 1)
            throw new ValidationException($"CaptureOptions.BufferCapacity is {BufferCapacity}; it must be at least 1 (default 10,000).");
        if (!(SamplingRate is >= 0 and <= 1))
            throw new ValidationException($"CaptureOptions.SamplingRate is {SamplingRate}; it must be between 0 and 1 (1 stores every request).");
        if (BatchSize < 1)
            throw new ValidationException($"CaptureOptions.BatchSize is {BatchSize}; it must be at least 1 (default 10,000).");
        if (FlushInterval <= TimeSpan.Zero)
            throw new ValidationException($"CaptureOptions.FlushInterval is {FlushInterval}; it must be positive (default 10 seconds).");
        ArgumentNullException.ThrowIfNull(References);
    }
}
