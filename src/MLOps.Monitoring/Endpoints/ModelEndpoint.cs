namespace MLOps.Monitoring.Endpoints;

/// <summary>The state of a <see cref="ModelEndpoint"/>.</summary>
public enum EndpointState
{
    /// <summary>Registered; no capture session is attached to it in this process.</summary>
    Registered,

    /// <summary>A capture session records its traffic.</summary>
    Active,

    /// <summary>Its last capture session was stopped (disposed).</summary>
    Stopped,
}

/// <summary>
/// The reference a model endpoint's live traffic is compared with: the statistics of the data the model version was trained on
/// (the dataset profile linked to the version in the registry) or statistics given by hand.
/// </summary>
/// <param name="Source">Where the reference comes from: a dataset URI (<c>store://datasets/...</c>), a feature vector URI, or
/// <see langword="null"/> for statistics given by hand.</param>
/// <param name="Profile">The statistics (histograms, counts, top values per column), or <see langword="null"/> when the source has
/// none (a feature vector, or a dataset without a profile).</param>
public sealed record EndpointReference(string? Source, DatasetProfile? Profile)
{
    /// <summary>A reference given by hand from a profile (for example <see cref="DatasetProfiler"/> over a data set).</summary>
    /// <param name="profile">The statistics.</param>
    /// <returns>The reference.</returns>
    public static EndpointReference FromProfile(DatasetProfile profile) => new(null, Throw.IfNull(profile));
}

/// <summary>
/// A served model version watched by monitoring: registered automatically when a capture session starts on a server that serves
/// it (<see cref="MonitoringCatalog.StartCaptureAsync"/>) or by hand (<see cref="MonitoringCatalog.RegisterEndpointAsync"/>), stored
/// in the project's metadata store. Its counters cover every request the capture sessions saw, sampled or not.
/// </summary>
public sealed record ModelEndpoint
{
    /// <summary>The endpoint's id (time-ordered, unique across projects).</summary>
    public required string Id { get; init; }

    /// <summary>The project.</summary>
    public required string Project { get; init; }

    /// <summary>The served model's name (the <c>{name}</c> of <c>v2/models/{name}</c>).</summary>
    public required string Model { get; init; }

    /// <summary>The served model's version, or <see langword="null"/> for an unversioned model.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>The endpoint's name: <c>{model}</c> or <c>{model}:{version}</c>.</summary>
    public string Name => ModelVersion is null ? Model : $"{Model}:{ModelVersion}";

    /// <summary>The reference statistics, or <see langword="null"/> when none is known yet.</summary>
    public EndpointReference? Reference { get; init; }

    /// <summary>When the endpoint was registered.</summary>
    public required DateTimeOffset Created { get; init; }

    /// <summary>The state.</summary>
    public EndpointState State { get; init; }

    /// <summary>The start of the first request seen, or <see langword="null"/> before any.</summary>
    public DateTimeOffset? FirstRequest { get; init; }

    /// <summary>The start of the last request seen, or <see langword="null"/> before any.</summary>
    public DateTimeOffset? LastRequest { get; init; }

    /// <summary>The number of requests seen (successes and errors).</summary>
    public long RequestCount { get; init; }

    /// <summary>The number of requests that failed (status other than 200).</summary>
    public long ErrorCount { get; init; }

    /// <summary>The number of captured requests dropped because the capture buffer was full, or lost when a write failed.</summary>
    public long DroppedCount { get; init; }

    /// <summary>The drift status of the latest analysed window (<see cref="LatestDriftWindow"/>): the result named
    /// <c>drift_status</c> of kind data or concept drift when an application produced one (the most severe when several did), else
    /// the most severe status of the window's data and concept drift results; <see langword="null"/> while no analysed window had
    /// a drift result.</summary>
    public MLOps.Monitoring.Applications.ResultStatus? LatestDrift { get; init; }

    /// <summary>The start of the window <see cref="LatestDrift"/> belongs to, or <see langword="null"/>.</summary>
    public DateTimeOffset? LatestDriftWindow { get; init; }

    /// <summary>The end of the last window analysed by the schedule (the watermark: windows before it are not analysed again by
    /// the schedule), or <see langword="null"/> before the first.</summary>
    public DateTimeOffset? AnalyzedUntil { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"model endpoint '{Name}' ({Id}, {State.ToString().ToLowerInvariant()}, {RequestCount} requests, {ErrorCount} errors)";
}
