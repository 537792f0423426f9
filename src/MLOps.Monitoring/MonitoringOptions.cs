namespace MLOps.Monitoring;

/// <summary>Options of a project's monitoring (<c>project.UseMonitoring(options)</c>).</summary>
public sealed record MonitoringOptions
{
    /// <summary>The folder of captured data; <see langword="null"/> (default) for <c>{project.ArtifactRoot}/monitoring/{project}</c>.</summary>
    public string? CaptureRoot { get; init; }
}
