using Microsoft.Extensions.Logging;
using MLOps.Storage.Sqlite;

namespace MLOps;

/// <summary>
/// Configures and opens an <see cref="MLOpsProject"/>:
/// <c>MLOpsProject.Configure("flights").UseSqlite("mlops.db").UseArtifactsAt("artifacts").OpenAsync()</c>.
/// </summary>
/// <remarks>Not thread-safe. A builder opens one project; using it after <see cref="OpenAsync"/> throws <see cref="InvalidOperationException"/>.</remarks>
public sealed class MLOpsProjectBuilder
{
    private readonly MLOpsOptions _options;
    private bool _built;

    internal MLOpsProjectBuilder(string projectName) => _options = new MLOpsOptions { ProjectName = projectName };

    /// <summary>A builder over options filled by configuration and the container (<c>AddMLOps</c>).</summary>
    internal MLOpsProjectBuilder(MLOpsOptions options) => _options = options;

    /// <summary>The options being built (for extension packages).</summary>
    public MLOpsOptions Options => Check();

    /// <summary>Names the project (lower-case letters, digits, '-' and '_'); replaces the name given to <c>Configure</c>.</summary>
    /// <param name="name">The project name.</param>
    /// <returns>This builder.</returns>
    public MLOpsProjectBuilder Project(string name)
    {
        Check().ProjectName = name;
        return this;
    }

    /// <summary>Uses a home folder for the default SQLite file (<c>mlops.db</c>) and artifact root (<c>artifacts/</c>).</summary>
    /// <param name="home">The folder.</param>
    /// <returns>This builder.</returns>
    public MLOpsProjectBuilder UseHome(string home)
    {
        Check().Home = Names.Required(home, "home folder", "Pass a folder path such as '/data/mlops' or './.mlops'.");
        return this;
    }

    /// <summary>Uses a SQLite file as the metadata store (the default is <c>&lt;home&gt;/mlops.db</c>).</summary>
    /// <param name="path">The database file.</param>
    /// <param name="configure">Optional SQLite options.</param>
    /// <returns>This builder.</returns>
    public MLOpsProjectBuilder UseSqlite(string path, Action<SqliteStoreOptions>? configure = null)
    {
        Check().SqlitePath = Names.Required(path, "SQLite file path", "Pass a file path such as '/data/mlops.db'.");
        configure?.Invoke(_options.Sqlite);
        return this;
    }

    /// <summary>Uses a metadata store instance (e.g. a shared server client). The project does not dispose it.</summary>
    /// <param name="store">The store.</param>
    /// <returns>This builder.</returns>
    public MLOpsProjectBuilder UseMetadataStore(IMetadataStore store)
    {
        Check().MetadataStore = Throw.IfNull(store);
        return this;
    }

    /// <summary>Stores artifacts under a folder (the default is <c>&lt;home&gt;/artifacts</c>).</summary>
    /// <param name="root">The folder.</param>
    /// <returns>This builder.</returns>
    public MLOpsProjectBuilder UseArtifactsAt(string root)
    {
        Check().ArtifactRoot = Names.Required(root, "artifact root folder", "Pass a folder path such as '/data/artifacts'.");
        return this;
    }

    /// <summary>Uses a clock (tests pass a <c>FakeTimeProvider</c>).</summary>
    /// <param name="timeProvider">The clock.</param>
    /// <returns>This builder.</returns>
    public MLOpsProjectBuilder UseTimeProvider(TimeProvider timeProvider)
    {
        Check().TimeProvider = Throw.IfNull(timeProvider);
        return this;
    }

    /// <summary>Sends the SDK's and the runs' logs to a logger factory.</summary>
    /// <param name="loggerFactory">The logger factory.</param>
    /// <returns>This builder.</returns>
    public MLOpsProjectBuilder UseLoggerFactory(ILoggerFactory loggerFactory)
    {
        Check().LoggerFactory = Throw.IfNull(loggerFactory);
        return this;
    }

    /// <summary>Creates the SDK's meters with a host's meter factory (see <see cref="MLOpsOptions.MeterFactory"/>).</summary>
    /// <param name="meterFactory">The meter factory.</param>
    /// <returns>This builder.</returns>
    public MLOpsProjectBuilder UseMeterFactory(System.Diagnostics.Metrics.IMeterFactory meterFactory)
    {
        Check().MeterFactory = Throw.IfNull(meterFactory);
        return this;
    }

    /// <summary>Sets the description of a new project.</summary>
    /// <param name="description">The description.</param>
    /// <returns>This builder.</returns>
    public MLOpsProjectBuilder WithDescription(string description)
    {
        Check().Description = description;
        return this;
    }

    /// <summary>Sets a project parameter when opening.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <returns>This builder.</returns>
    public MLOpsProjectBuilder WithParameter(string key, string value)
    {
        Check().Parameters[key] = value;
        return this;
    }

    /// <summary>Sets a project label when opening.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <returns>This builder.</returns>
    public MLOpsProjectBuilder WithLabel(string key, string value)
    {
        Check().Labels[key] = value;
        return this;
    }

    /// <summary>Turns the capture of the git commit off (or on), optionally from another folder than the current directory.</summary>
    /// <param name="enabled">Whether runs record the git commit and dirty flag.</param>
    /// <param name="directory">The work tree to read; <see langword="null"/> for the current directory.</param>
    /// <returns>This builder.</returns>
    public MLOpsProjectBuilder CaptureGit(bool enabled, string? directory = null)
    {
        Check().CaptureGit = enabled;
        _options.GitDirectory = directory is null ? null : Path.GetFullPath(directory);
        return this;
    }

    /// <summary>Configures how runs buffer metrics.</summary>
    /// <param name="configure">Changes the options.</param>
    /// <returns>This builder.</returns>
    public MLOpsProjectBuilder ConfigureMetrics(Action<MetricBufferOptions> configure)
    {
        Throw.IfNull(configure)(Check().Metrics);
        return this;
    }

    /// <summary>Validates the options (listing every problem at once) and opens the project, creating it when new.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The open project; dispose it when done.</returns>
    /// <exception cref="ValidationException">The options are invalid.</exception>
    public Task<MLOpsProject> OpenAsync(CancellationToken cancellationToken = default)
    {
        var options = Check();
        _built = true;
        return MLOpsProject.OpenAsync(options, cancellationToken);
    }

    private MLOpsOptions Check()
    {
        if (_built) throw new InvalidOperationException("This builder has already opened a project. Create a new one with MLOpsProject.Configure(name).");
        return _options;
    }
}
