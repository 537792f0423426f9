using MLOps.Monitoring.Applications;

namespace MLOps.Monitoring.Analysis;

/// <summary>What <see cref="MonitoringCatalog.AnalyzeAsync"/> analyses.</summary>
public sealed record AnalysisRequest
{
    /// <summary>The endpoint's id, or <see langword="null"/> (default) for every endpoint of the project.</summary>
    public string? EndpointId { get; init; }

    /// <summary>The start of the time range (rounded down to a window start), or <see langword="null"/>. When both
    /// <see cref="From"/> and <see cref="To"/> are null, the closed windows not analysed yet (after each endpoint's
    /// <see cref="Endpoints.ModelEndpoint.AnalyzedUntil"/>) are analysed and the watermark moves.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>The end of the time range (rounded up to a window end; windows that are not closed yet are left out), or
    /// <see langword="null"/> for the last closed window.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>The names of the applications to run, or <see langword="null"/> (default) for every application of each endpoint.
    /// With a subset, the watermark does not move.</summary>
    public IReadOnlyCollection<string>? Applications { get; init; }
}

/// <summary>What every stored record of a monitoring application has: the endpoint, application, window, name and value.</summary>
public abstract record MonitoringRecord
{
    /// <summary>The endpoint's id.</summary>
    public required string EndpointId { get; init; }

    /// <summary>The application's name.</summary>
    public required string Application { get; init; }

    /// <summary>The first time of the window.</summary>
    public required DateTimeOffset WindowStart { get; init; }

    /// <summary>The first time after the window.</summary>
    public required DateTimeOffset WindowEnd { get; init; }

    /// <summary>The result's or metric's name.</summary>
    public required string Name { get; init; }

    /// <summary>The value (NaN when there is none).</summary>
    public required double Value { get; init; }

    /// <summary>When the window was analysed.</summary>
    public required DateTimeOffset AnalyzedAt { get; init; }
}

/// <summary>A stored result of a monitoring application for one window of one endpoint.</summary>
public sealed record MonitoringResultRecord : MonitoringRecord
{
    /// <summary>What it measures.</summary>
    public required ResultKind Kind { get; init; }

    /// <summary>The status.</summary>
    public required ResultStatus Status { get; init; }

    /// <summary>The explanation, or <see langword="null"/>.</summary>
    public string? Message { get; init; }

    /// <summary>The numbers behind the result, by name.</summary>
    public IReadOnlyDictionary<string, double> Statistics { get; init; } = new Dictionary<string, double>();
}

/// <summary>A stored metric of a monitoring application for one window of one endpoint.</summary>
public sealed record MonitoringMetricRecord : MonitoringRecord;

/// <summary>The analysis of one window of one endpoint: what every application returned, as stored.</summary>
public sealed record WindowAnalysis
{
    /// <summary>The endpoint's id.</summary>
    public required string EndpointId { get; init; }

    /// <summary>The first time of the window.</summary>
    public required DateTimeOffset Start { get; init; }

    /// <summary>The first time after the window.</summary>
    public required DateTimeOffset End { get; init; }

    /// <summary>The number of captured rows of the window.</summary>
    public required long RowCount { get; init; }

    /// <summary>The results of every application (an application that failed has one result with <see cref="ResultStatus.Error"/>).</summary>
    public required IReadOnlyList<MonitoringResultRecord> Results { get; init; }

    /// <summary>The metrics of every application.</summary>
    public required IReadOnlyList<MonitoringMetricRecord> Metrics { get; init; }
}
