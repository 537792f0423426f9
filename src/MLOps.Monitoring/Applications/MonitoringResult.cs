namespace MLOps.Monitoring.Applications;

/// <summary>What a <see cref="MonitoringResult"/> measures (MLRun's result kinds).</summary>
public enum ResultKind
{
    /// <summary>Drift of the inputs (features) against the reference.</summary>
    DataDrift,

    /// <summary>Drift of the outputs (predictions) or of the relation between inputs and outputs.</summary>
    ConceptDrift,

    /// <summary>Model quality against ground truth (accuracy, AUC, MAE, ...).</summary>
    ModelPerformance,

    /// <summary>Operational measures (requests, errors, latency).</summary>
    SystemPerformance,

    /// <summary>An anomaly found by a custom application.</summary>
    Anomaly,

    /// <summary>Anything else.</summary>
    Custom,
}

/// <summary>The status of a <see cref="MonitoringResult"/>, ordered by severity from <see cref="None"/> to <see cref="Detected"/>.</summary>
public enum ResultStatus
{
    /// <summary>The result carries no status (a measure only).</summary>
    Irrelevant = -3,

    /// <summary>The application failed on this window (it threw or timed out); <see cref="MonitoringResult.Message"/> says why.</summary>
    Error = -2,

    /// <summary>Too few rows to decide (below the configured minimum count); never a guess.</summary>
    InsufficientData = -1,

    /// <summary>Nothing detected.</summary>
    None = 0,

    /// <summary>Possibly detected (a warning level).</summary>
    Possible = 1,

    /// <summary>Detected.</summary>
    Detected = 2,
}

/// <summary>A named result of a monitoring application for one window (for example the drift of one feature).</summary>
/// <param name="Name">The result's name, unique within the application's output (lower case, for example <c>delay</c> or <c>drift_status</c>).</param>
/// <param name="Value">The value (for example the statistic that decided the status); NaN when there is none.</param>
/// <param name="Kind">What it measures.</param>
/// <param name="Status">The status.</param>
public sealed record MonitoringResult(string Name, double Value, ResultKind Kind, ResultStatus Status)
{
    /// <summary>A human-readable explanation (the detector and threshold, or the error), or <see langword="null"/>.</summary>
    public string? Message { get; init; }

    /// <summary>Further numbers behind the result (for example every drift metric of the feature), by name.</summary>
    public IReadOnlyDictionary<string, double> Statistics { get; init; } = EmptyStatistics;

    private static readonly IReadOnlyDictionary<string, double> EmptyStatistics = new Dictionary<string, double>();
}

/// <summary>What a monitoring application returns for one window: named results and named metrics.</summary>
public sealed record ApplicationOutput
{
    /// <summary>The results (each with a status).</summary>
    public IReadOnlyList<MonitoringResult> Results { get; init; } = [];

    /// <summary>Plain metrics (no status), by name.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
}
