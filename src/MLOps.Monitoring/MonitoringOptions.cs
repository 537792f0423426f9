using MLOps.Monitoring.Drift;

namespace MLOps.Monitoring;

/// <summary>Options of a project's monitoring (<c>project.UseMonitoring(options)</c>).</summary>
public sealed record MonitoringOptions
{
    /// <summary>The folder of captured data; <see langword="null"/> (default) for <c>{project.ArtifactRoot}/monitoring/{project}</c>.</summary>
    public string? CaptureRoot { get; init; }

    /// <summary>The length of an analysis window (default 10 minutes). Windows are fixed and aligned on UTC midnight: the length
    /// must be a whole number of minutes, from 1 minute to 1 day, that divides a day (5, 10, 15, 30, 60 minutes, ...).</summary>
    public TimeSpan AnalysisWindow { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long after its end a window is closed (default 15 seconds: a bit more than the capture's default
    /// <see cref="Capture.CaptureOptions.FlushInterval"/> of 10 seconds, so that the window's last records are stored before it is
    /// analysed). Raise it when capture flushes less often.</summary>
    public TimeSpan AnalysisGracePeriod { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How often the scheduled analysis looks for closed windows (default 10 minutes, on the project's
    /// <see cref="MLOpsProject.TimeProvider"/>).</summary>
    public TimeSpan AnalysisInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long one application may take on one window (default 1 minute, on the project's
    /// <see cref="MLOpsProject.TimeProvider"/>); past it the application is cancelled and abandoned, and the window gets an
    /// <see cref="Applications.ResultStatus.Error"/> result for it.</summary>
    public TimeSpan ApplicationTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Whether <c>AddMonitoring()</c> in a host also runs the scheduled analysis (<see cref="Analysis.MonitoringAnalysisService"/>);
    /// default <see langword="true"/>.</summary>
    public bool ScheduledAnalysis { get; init; } = true;

    /// <summary>Who claims windows in the metadata store before analysing them on the schedule; <see langword="null"/> (default) for
    /// the machine's name. Processes that analyse the same project need distinct owners (see docs/monitoring.md).</summary>
    public string? AnalysisOwner { get; init; }

    /// <summary>Thresholds of the built-in <c>operations</c> application; without them its results carry no status.</summary>
    public OperationsThresholds Operations { get; init; } = new();

    /// <summary>The detectors, thresholds and output references of the built-in <c>drift</c> application (default: the measured
    /// default detectors, see docs/monitoring.md "Drift status"). Replace the application by name for anything else.</summary>
    public DriftOptions Drift { get; init; } = new();

    /// <summary>Checks the options and lists every problem at once.</summary>
    /// <exception cref="ValidationException">A value is out of range.</exception>
    public void Validate()
    {
        var errors = new List<string>();
        var window = AnalysisWindow;
        if (window < TimeSpan.FromMinutes(1) || window > TimeSpan.FromDays(1) || window.Ticks % TimeSpan.TicksPerMinute != 0 || TimeSpan.TicksPerDay % window.Ticks != 0)
            errors.Add($"AnalysisWindow is {window}; it must be a whole number of minutes from 1 minute to 1 day that divides a day, e.g. 00:10:00 (default).");
        if (AnalysisGracePeriod < TimeSpan.Zero)
            errors.Add($"AnalysisGracePeriod is {AnalysisGracePeriod}; it must not be negative (default 15 seconds, more than the capture's FlushInterval).");
        if (AnalysisInterval <= TimeSpan.Zero)
            errors.Add($"AnalysisInterval is {AnalysisInterval}; it must be positive (default 10 minutes).");
        if (ApplicationTimeout <= TimeSpan.Zero)
            errors.Add($"ApplicationTimeout is {ApplicationTimeout}; it must be positive (default 1 minute).");
        if (AnalysisOwner is not null && string.IsNullOrWhiteSpace(AnalysisOwner))
            errors.Add($"AnalysisOwner is {Names.Describe(AnalysisOwner)}; pass a name unique to the process (e.g. the host name) or null for the machine name.");
        if (Operations is null)
            errors.Add("Operations is null; pass new OperationsThresholds() (no thresholds) or set MaxErrorRate / MaxLatencyP99Ms.");
        else
        {
            if (Operations.MaxErrorRate is { } rate && !(rate is >= 0 and <= 1))
                errors.Add($"Operations.MaxErrorRate is {rate}; it must be between 0 and 1 (e.g. 0.05 for 5%), or null for no threshold.");
            if (Operations.MaxLatencyP99Ms is { } p99 && !(p99 > 0 && double.IsFinite(p99)))
                errors.Add($"Operations.MaxLatencyP99Ms is {p99}; it must be a positive number of milliseconds, or null for no threshold.");
        }
        if (Drift is null)
            errors.Add("Drift is null; pass new DriftOptions() for the default detectors.");
        else
        {
            try
            {
                Drift.Validate();
            }
            catch (ValidationException e)
            {
                errors.AddRange(e.Errors.Select(error => "Drift: " + error));
            }
        }
        if (errors.Count > 0) throw new ValidationException("The monitoring options are invalid", errors);
    }
}

/// <summary>Thresholds of the built-in <c>operations</c> application: a result whose threshold is set gets status
/// <see cref="Applications.ResultStatus.Detected"/> above it and <see cref="Applications.ResultStatus.None"/> otherwise;
/// without a threshold its status is <see cref="Applications.ResultStatus.Irrelevant"/>.</summary>
public sealed record OperationsThresholds
{
    /// <summary>The highest acceptable error rate of a window (0 to 1), or <see langword="null"/> (default) for none.</summary>
    public double? MaxErrorRate { get; init; }

    /// <summary>The highest acceptable 99th percentile of latency of a window in milliseconds, or <see langword="null"/> (default) for none.</summary>
    public double? MaxLatencyP99Ms { get; init; }
}
