using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MLOps;

/// <summary>Everything an <see cref="MLOpsProject"/> is opened with. Usually filled by <see cref="MLOpsProjectBuilder"/>.</summary>
public sealed class MLOpsOptions
{
    /// <summary>The environment variable that moves the default home folder (<c>./.mlops</c>).</summary>
    public const string HomeVariable = "MLOPS_HOME";

    /// <summary>The project name (lower-case letters, digits, '-' and '_').</summary>
    public string ProjectName { get; set; } = "";

    /// <summary>A description stored when the project is created.</summary>
    public string? Description { get; set; }

    /// <summary>The home folder holding the default SQLite file and artifact root.
    /// <value>Defaults to the <c>MLOPS_HOME</c> environment variable, else <c>./.mlops</c>.</value></summary>
    public string? Home { get; set; }

    /// <summary>The SQLite metadata file. <value>Defaults to <c>&lt;home&gt;/mlops.db</c>.</value></summary>
    public string? SqlitePath { get; set; }

    /// <summary>Options of the SQLite store.</summary>
    public Storage.Sqlite.SqliteStoreOptions Sqlite { get; set; } = new();

    /// <summary>A metadata store to use instead of SQLite. The project does not dispose a store given here.</summary>
    public IMetadataStore? MetadataStore { get; set; }

    /// <summary>The artifact root folder. <value>Defaults to <c>&lt;home&gt;/artifacts</c>.</value></summary>
    public string? ArtifactRoot { get; set; }

    /// <summary>The clock. <value>Defaults to <see cref="TimeProvider.System"/>.</value></summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the SDK and the runs' loggers write. <value>Defaults to no logging.</value></summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>Creates the SDK's <see cref="System.Diagnostics.Metrics.Meter"/>s (one per package, named like
    /// <c>MLOps.Core</c>), so a host's metrics pipeline owns them. <value>Defaults to null: each package uses its own
    /// process-wide meter of the same name. <c>AddMLOps</c> sets the container's <c>IMeterFactory</c>.</value></summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; set; }

    /// <summary>Whether runs record the git commit and dirty flag of the current directory. <value>Defaults to true.</value></summary>
    public bool CaptureGit { get; set; } = true;

    /// <summary>The folder whose git commit and dirty flag runs record. <value>Defaults to the current directory at the time a run starts.</value></summary>
    public string? GitDirectory { get; set; }

    /// <summary>How runs buffer metrics and logs.</summary>
    public MetricBufferOptions Metrics { get; set; } = new();

    /// <summary>Project parameters to set when opening.</summary>
    public IDictionary<string, string> Parameters { get; } = new Dictionary<string, string>();

    /// <summary>Project labels to set when opening.</summary>
    public IDictionary<string, string> Labels { get; } = new Dictionary<string, string>();

    /// <summary>The effective home folder.</summary>
    /// <returns>The full path.</returns>
    public string ResolveHome()
    {
        var home = Home;
        if (string.IsNullOrWhiteSpace(home)) home = Environment.GetEnvironmentVariable(HomeVariable);
        if (string.IsNullOrWhiteSpace(home)) home = ".mlops";
        return Path.GetFullPath(home);
    }

    /// <summary>Lists every problem of these options at once.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        try { Names.Project(ProjectName); }
        catch (ValidationException e) { errors.Add(e.Message); }
        if (Metrics.FlushSize < 1) errors.Add($"Metrics.FlushSize is {Metrics.FlushSize}; use 1 or more (default 1000).");
        if (Metrics.FlushInterval <= TimeSpan.Zero) errors.Add($"Metrics.FlushInterval is {Metrics.FlushInterval}; use a positive interval (default 1 second).");
        if (Metrics.MaxBuffered < Metrics.FlushSize) errors.Add($"Metrics.MaxBuffered ({Metrics.MaxBuffered}) is below Metrics.FlushSize ({Metrics.FlushSize}); raise it.");
        if (Sqlite.BusyTimeout <= TimeSpan.Zero) errors.Add($"Sqlite.BusyTimeout is {Sqlite.BusyTimeout}; use a positive timeout (default 30 seconds).");
        if (Sqlite.Synchronous is not ("NORMAL" or "FULL" or "EXTRA" or "OFF"))
            errors.Add($"Sqlite.Synchronous is '{Sqlite.Synchronous}'; use NORMAL, FULL, EXTRA or OFF.");
        return errors;
    }
}

/// <summary>How runs buffer metric points and log lines before writing them in one transaction.</summary>
public sealed class MetricBufferOptions
{
    /// <summary>A run writes its buffer once this many points are waiting. <value>Defaults to 1000.</value></summary>
    public int FlushSize { get; set; } = 1000;

    /// <summary>A run writes its buffer at least this often. <value>Defaults to 1 second.</value></summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>When this many points wait (the store is slower than the logging), <c>LogMetric</c> writes synchronously
    /// instead of buffering more. <value>Defaults to 100,000.</value></summary>
    public int MaxBuffered { get; set; } = 100_000;
}
