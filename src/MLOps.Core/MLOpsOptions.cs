using System.Collections.ObjectModel;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MLOps;

/// <summary>Everything an <see cref="MLOpsProject"/> is opened with. Usually filled by <see cref="MLOpsProjectBuilder"/>,
/// or bound from configuration by <c>services.AddMLOps(configuration.GetSection("MLOps"))</c> (the configuration keys are
/// the property names: <c>ProjectName</c>, <c>Home</c>, <c>Sqlite:BusyTimeout</c>, <c>Metrics:FlushSize</c>, ...).</summary>
/// <remarks>
/// <para>Options types of MLOps for .NET share one style: a sealed class of settable properties (so configuration binding
/// and <c>Configure</c> callbacks can fill them), each default written in its documentation, and a <c>Validate()</c> that
/// lists every problem at once, naming the configuration key, the value and the fix.</para>
/// <para>Frozen once open: <see cref="MLOpsProject.OpenAsync(MLOpsOptions, CancellationToken)"/> opens the project with a
/// frozen copy of these options (<see cref="MLOpsProject.Options"/>). Setting a property of that copy, or of its
/// <see cref="Sqlite"/> or <see cref="Metrics"/>, throws <see cref="InvalidStateException"/>, and its <see cref="Parameters"/>
/// and <see cref="Labels"/> are read-only. Changing the options object the project was opened from does not change the
/// open project.</para>
/// </remarks>
public sealed class MLOpsOptions
{
    /// <summary>The environment variable that moves the default home folder (<c>./.mlops</c>).</summary>
    public const string HomeVariable = "MLOPS_HOME";

    private string _projectName = "";
    private string? _description;
    private string? _home;
    private string? _sqlitePath;
    private Storage.Sqlite.SqliteStoreOptions _sqlite = new();
    private IMetadataStore? _metadataStore;
    private string? _artifactRoot;
    private TimeProvider _timeProvider = TimeProvider.System;
    private ILoggerFactory _loggerFactory = NullLoggerFactory.Instance;
    private System.Diagnostics.Metrics.IMeterFactory? _meterFactory;
    private bool _captureGit = true;
    private string? _gitDirectory;
    private MetricBufferOptions _metrics = new();
    private IDictionary<string, string> _parameters = new Dictionary<string, string>();
    private IDictionary<string, string> _labels = new Dictionary<string, string>();
    private string? _frozenFor;

    /// <summary>The project name (lower-case letters, digits, '-' and '_'). <value>Required; no default.</value></summary>
    public string ProjectName { get => _projectName; set => _projectName = Settable(value); }

    /// <summary>A description stored when the project is created. <value>Defaults to none.</value></summary>
    public string? Description { get => _description; set => _description = Settable(value); }

    /// <summary>The home folder holding the default SQLite file and artifact root.
    /// <value>Defaults to the <c>MLOPS_HOME</c> environment variable, else <c>./.mlops</c>.</value></summary>
    public string? Home { get => _home; set => _home = Settable(value); }

    /// <summary>The SQLite metadata file. <value>Defaults to <c>&lt;home&gt;/mlops.db</c>.</value></summary>
    public string? SqlitePath { get => _sqlitePath; set => _sqlitePath = Settable(value); }

    /// <summary>Options of the SQLite store. <value>Defaults to <see cref="Storage.Sqlite.SqliteStoreOptions"/>'s defaults.</value></summary>
    public Storage.Sqlite.SqliteStoreOptions Sqlite { get => _sqlite; set => _sqlite = Settable(Throw.IfNull(value)); }

    /// <summary>A metadata store to use instead of SQLite. The project does not dispose a store given here.
    /// <value>Defaults to none (SQLite).</value></summary>
    public IMetadataStore? MetadataStore { get => _metadataStore; set => _metadataStore = Settable(value); }

    /// <summary>The artifact root folder. <value>Defaults to <c>&lt;home&gt;/artifacts</c>.</value></summary>
    public string? ArtifactRoot { get => _artifactRoot; set => _artifactRoot = Settable(value); }

    /// <summary>The clock. <value>Defaults to <see cref="TimeProvider.System"/>.</value></summary>
    public TimeProvider TimeProvider { get => _timeProvider; set => _timeProvider = Settable(Throw.IfNull(value)); }

    /// <summary>Where the SDK and the runs' loggers write. <value>Defaults to no logging.</value></summary>
    public ILoggerFactory LoggerFactory { get => _loggerFactory; set => _loggerFactory = Settable(Throw.IfNull(value)); }

    /// <summary>Creates the SDK's <see cref="System.Diagnostics.Metrics.Meter"/>s (one per package, named like
    /// <c>MLOps.Core</c>), so a host's metrics pipeline owns them. <value>Defaults to null: each package uses its own
    /// process-wide meter of the same name. <c>AddMLOps</c> sets the container's <c>IMeterFactory</c>.</value></summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get => _meterFactory; set => _meterFactory = Settable(value); }

    /// <summary>Whether runs record the git commit (read from the <c>.git</c> files, no process) and the dirty flag (one
    /// <c>git status</c> call, cached for 5 seconds per work tree and commit; null without git) of the current directory.
    /// <value>Defaults to true.</value></summary>
    public bool CaptureGit { get => _captureGit; set => _captureGit = Settable(value); }

    /// <summary>The folder whose git commit and dirty flag runs record. <value>Defaults to the current directory at the time a run starts.</value></summary>
    public string? GitDirectory { get => _gitDirectory; set => _gitDirectory = Settable(value); }

    /// <summary>How runs buffer metrics and logs. <value>Defaults to <see cref="MetricBufferOptions"/>'s defaults.</value></summary>
    public MetricBufferOptions Metrics { get => _metrics; set => _metrics = Settable(Throw.IfNull(value)); }

    /// <summary>Project parameters to set when opening (configuration: <c>Parameters:&lt;key&gt;</c>). <value>Defaults to none.</value></summary>
    public IDictionary<string, string> Parameters => _parameters;

    /// <summary>Project labels to set when opening (configuration: <c>Labels:&lt;key&gt;</c>). <value>Defaults to none.</value></summary>
    public IDictionary<string, string> Labels => _labels;

    /// <summary>Whether these are the frozen options of an open project (<see cref="MLOpsProject.Options"/>), which cannot change.</summary>
    public bool IsFrozen => _frozenFor is not null;

    /// <summary>The effective home folder.</summary>
    /// <returns>The full path.</returns>
    public string ResolveHome()
    {
        var home = Home;
        if (string.IsNullOrWhiteSpace(home)) home = Environment.GetEnvironmentVariable(HomeVariable);
        if (string.IsNullOrWhiteSpace(home)) home = ".mlops";
        return Path.GetFullPath(home);
    }

    /// <summary>Lists every problem of these options at once; each names its configuration key (<c>ProjectName</c>,
    /// <c>Metrics:FlushSize</c>, ...), the value and the fix.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        try { Names.Project(ProjectName); }
        catch (ValidationException e) { errors.Add($"ProjectName: {e.Message}"); }
        errors.AddRange(Metrics.Validate().Select(e => "Metrics:" + e));
        errors.AddRange(Sqlite.Validate().Select(e => "Sqlite:" + e));
        return errors;
    }

    /// <summary>A frozen deep copy for the project being opened (the caller's object stays mutable and unlinked).</summary>
    internal MLOpsOptions Freeze()
    {
        var copy = (MLOpsOptions)MemberwiseClone();
        copy._sqlite = Sqlite.Freeze(ProjectName);
        copy._metrics = Metrics.Freeze(ProjectName);
        copy._parameters = new ReadOnlyDictionary<string, string>(new Dictionary<string, string>(Parameters, StringComparer.Ordinal));
        copy._labels = new ReadOnlyDictionary<string, string>(new Dictionary<string, string>(Labels, StringComparer.Ordinal));
        copy._frozenFor = ProjectName;
        return copy;
    }

    private T Settable<T>(T value, [CallerMemberName] string property = "")
        => FrozenOptions.Checked(_frozenFor, nameof(MLOpsOptions), property, value);
}

/// <summary>How runs buffer metric points and log lines before writing them in one transaction (configuration section
/// <c>Metrics</c>). Frozen like <see cref="MLOpsOptions"/> once the project is open.</summary>
public sealed class MetricBufferOptions
{
    private int _flushSize = 1000;
    private TimeSpan _flushInterval = TimeSpan.FromSeconds(1);
    private int _maxBuffered = 100_000;
    private string? _frozenFor;

    /// <summary>A run writes its buffer once this many points are waiting. <value>Defaults to 1000.</value></summary>
    public int FlushSize { get => _flushSize; set => _flushSize = Settable(value); }

    /// <summary>A run writes its buffer at least this often. <value>Defaults to 1 second.</value></summary>
    public TimeSpan FlushInterval { get => _flushInterval; set => _flushInterval = Settable(value); }

    /// <summary>When this many points wait (the store is slower than the logging), <c>LogMetric</c> writes synchronously
    /// instead of buffering more. <value>Defaults to 100,000.</value></summary>
    public int MaxBuffered { get => _maxBuffered; set => _maxBuffered = Settable(value); }

    /// <summary>Lists every problem at once, each naming its key (relative to this section), the value and the fix.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (FlushSize < 1) errors.Add($"FlushSize is {FlushSize}; use 1 or more (default 1000).");
        if (FlushInterval <= TimeSpan.Zero) errors.Add($"FlushInterval is {FlushInterval}; use a positive interval (default 00:00:01).");
        if (MaxBuffered < FlushSize) errors.Add($"MaxBuffered ({MaxBuffered}) is below FlushSize ({FlushSize}); raise it (default 100000).");
        return errors;
    }

    internal MetricBufferOptions Freeze(string project)
    {
        var copy = (MetricBufferOptions)MemberwiseClone();
        copy._frozenFor = project;
        return copy;
    }

    private T Settable<T>(T value, [CallerMemberName] string property = "")
        => FrozenOptions.Checked(_frozenFor, nameof(MetricBufferOptions), property, value);
}

/// <summary>The one message of a change to the frozen options of an open project.</summary>
internal static class FrozenOptions
{
    public static T Checked<T>(string? project, string type, string property, T value)
        => project is null ? value : throw new InvalidStateException($"{type}.{property} cannot be changed: project '{project}' is open and its options are frozen. " +
                "Set options before the project is opened (on the builder, in AddMLOps or in configuration) and open the project again to use other values.");
}
