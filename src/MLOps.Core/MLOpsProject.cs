using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MLOps.Artifacts.Internal;
using MLOps.Storage.Sqlite;

namespace MLOps;

/// <summary>
/// The one entry object of MLOps for .NET: a project with catalogs for runs, artifacts and models (and, with their
/// packages, the feature store, serving and monitoring). Open it with zero set-up:
/// <code>await using var project = await MLOpsProject.OpenAsync("flights");</code>
/// </summary>
/// <remarks>Thread-safe. Dispose it to flush and release the metadata store: <c>await using</c> (preferred), or a plain
/// <c>using</c> / <see cref="Dispose"/> (for example by a dependency-injection container disposed synchronously), which does
/// the same work and blocks until it is done. Disposing twice, or both ways, is safe.</remarks>
public sealed class MLOpsProject : IAsyncDisposable, IDisposable
{
    private readonly bool _ownsStore;
    private readonly ConcurrentDictionary<Type, Lazy<object>> _extensions = new();
    private readonly List<object> _extensionsInCreationOrder = [];
    private int _disposed;

    private MLOpsProject(MLOpsOptions options, IMetadataStore store, bool ownsStore, ContentStore content)
    {
        Options = options;
        Name = options.ProjectName;
        Store = store;
        _ownsStore = ownsStore;
        Content = content;
        TimeProvider = options.TimeProvider;
        LoggerFactory = options.LoggerFactory;
        Logger = LoggerFactory.CreateLogger("MLOps.Core");
        Telemetry = Telemetry.For(options.MeterFactory);
        Runs = new RunCatalog(this);
        Artifacts = new ArtifactCatalog(this);
        Models = new ModelRegistry(this);
    }

    /// <summary>The project name.</summary>
    public string Name { get; }

    /// <summary>The options it was opened with: a frozen copy (<see cref="MLOpsOptions.IsFrozen"/>) taken when it was
    /// opened. Setting any of its properties throws <see cref="InvalidStateException"/>; changing the object the project
    /// was opened from does not change the open project.</summary>
    public MLOpsOptions Options { get; }

    /// <summary>The metadata store (for extension packages; applications use the catalogs).</summary>
    public IMetadataStore Store { get; }

    /// <summary>The clock.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>The logger factory.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>Tracked runs: start, search, compare, hyper-parameter searches.</summary>
    public RunCatalog Runs { get; }

    /// <summary>Versioned, content-addressed artifacts: files, datasets, plots, tables.</summary>
    public ArtifactCatalog Artifacts { get; }

    /// <summary>The model registry: versions, aliases, loading and lineage.</summary>
    public ModelRegistry Models { get; }

    /// <summary>The artifact root folder.</summary>
    public string ArtifactRoot => Content.Root;

    internal ContentStore Content { get; }

    internal ILogger Logger { get; }

    internal Telemetry Telemetry { get; }

    /// <summary>Opens (creating when new) a project on the embedded default: SQLite and local files under
    /// <c>./.mlops</c>, or under the folder named by the <c>MLOPS_HOME</c> environment variable.</summary>
    /// <param name="name">The project name (lower-case letters, digits, '-' and '_').</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The open project.</returns>
    /// <exception cref="ValidationException">The name is invalid.</exception>
    public static Task<MLOpsProject> OpenAsync(string name, CancellationToken cancellationToken = default)
        => Configure(name).OpenAsync(cancellationToken);

    /// <summary>Starts configuring a project: <c>MLOpsProject.Configure("flights").UseSqlite("mlops.db").OpenAsync()</c>.</summary>
    /// <param name="name">The project name.</param>
    /// <returns>A builder.</returns>
    public static MLOpsProjectBuilder Configure(string name) => new(name);

    /// <summary>Opens a project from options.</summary>
    /// <param name="options">The options.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The open project.</returns>
    /// <exception cref="ValidationException">The options are invalid; every problem is listed.</exception>
    public static async Task<MLOpsProject> OpenAsync(MLOpsOptions options, CancellationToken cancellationToken = default)
    {
        Throw.IfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0) throw new ValidationException($"The MLOps options of project '{options.ProjectName}' are invalid", errors);
        options = options.Freeze();
        var home = options.ResolveHome();
        var ownsStore = options.MetadataStore is null;
        var store = options.MetadataStore ?? new SqliteMetadataStore(options.SqlitePath ?? Path.Combine(home, "mlops.db"), options.Sqlite, options.LoggerFactory);
        try
        {
            await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
            var content = new ContentStore(options.ArtifactRoot ?? Path.Combine(home, "artifacts"));
            var now = options.TimeProvider.GetUtcNow();
            await store.Projects.GetOrCreateAsync(options.ProjectName, options.Description, now, cancellationToken).ConfigureAwait(false);
            if (options.Parameters.Count > 0 || options.Labels.Count > 0)
            {
                await store.Projects.UpdateAsync(options.ProjectName,
                    options.Parameters.ToDictionary(kv => Names.Key(kv.Key, "project parameter key"), kv => (string?)kv.Value),
                    options.Labels.ToDictionary(kv => Names.Key(kv.Key, "project label key"), kv => (string?)kv.Value),
                    now, cancellationToken).ConfigureAwait(false);
            }
            var project = new MLOpsProject(options, store, ownsStore, content);
            CoreLog.ProjectOpened(project.Logger, project.Name, project.ArtifactRoot);
            return project;
        }
        catch
        {
            if (ownsStore) await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Reads the project record: description, parameters and labels.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The project record.</returns>
    public async Task<ProjectRecord> GetInfoAsync(CancellationToken cancellationToken = default)
        => await Store.Projects.GetAsync(Name, cancellationToken).ConfigureAwait(false)
           ?? throw new NotFoundException("project", Name, $"Project '{Name}' was deleted. Open it again with MLOpsProject.OpenAsync(\"{Name}\") to recreate it.");

    /// <summary>Sets a project parameter (a default that runs and pipelines can read).</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value, or <see langword="null"/> to remove it.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The updated project record.</returns>
    public Task<ProjectRecord> SetParameterAsync(string key, string? value, CancellationToken cancellationToken = default)
        => Store.Projects.UpdateAsync(Name, new Dictionary<string, string?> { [Names.Key(key, "project parameter key")] = value }, null, TimeProvider.GetUtcNow(), cancellationToken);

    /// <summary>Sets a project label.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value, or <see langword="null"/> to remove it.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The updated project record.</returns>
    public Task<ProjectRecord> SetLabelAsync(string key, string? value, CancellationToken cancellationToken = default)
        => Store.Projects.UpdateAsync(Name, null, new Dictionary<string, string?> { [Names.Key(key, "project label key")] = value }, TimeProvider.GetUtcNow(), cancellationToken);

    /// <summary>Lists every project in this project's metadata store.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The projects, ordered by name.</returns>
    public Task<IReadOnlyList<ProjectRecord>> ListProjectsAsync(CancellationToken cancellationToken = default)
        => Store.Projects.ListAsync(cancellationToken);

    /// <summary>Deletes a project of this metadata store with all its runs, artifact records and models. Content files
    /// shared with other projects are kept.</summary>
    /// <param name="name">The project to delete.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when it existed.</returns>
    public Task<bool> DeleteProjectAsync(string name, CancellationToken cancellationToken = default)
        => Store.Projects.DeleteAsync(Names.Project(name), cancellationToken);

    /// <summary>
    /// Returns this project's one instance of an extension of type <typeparamref name="T"/>, creating it with
    /// <paramref name="factory"/> on the first call. Extension packages (feature store, serving, monitoring) hang their
    /// per-project object here: <c>project.GetOrAddExtension(p =&gt; new FeatureStore(p))</c>.
    /// </summary>
    /// <remarks>
    /// Thread-safe: concurrent first calls create one instance and call the factory once; the others wait for it. A
    /// factory may ask for other extensions (of other types). When the factory throws, nothing is stored and the next call
    /// tries again. When the project is disposed, every extension that implements <see cref="IAsyncDisposable"/> (else
    /// <see cref="IDisposable"/>) is disposed, newest first and before the metadata store is released; their errors are
    /// logged, not thrown.
    /// </remarks>
    /// <typeparam name="T">The extension type; the key of the instance.</typeparam>
    /// <param name="factory">Creates the extension for this project; called at most once per type while it succeeds.</param>
    /// <returns>The extension.</returns>
    /// <exception cref="ObjectDisposedException">The project is disposed.</exception>
    /// <exception cref="InvalidOperationException">The factory returned <see langword="null"/> or asked for its own type.</exception>
    public T GetOrAddExtension<T>(Func<MLOpsProject, T> factory) where T : class
    {
        Throw.IfNull(factory);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var lazy = _extensions.GetOrAdd(typeof(T), static (_, state) => new Lazy<object>(() =>
        {
            var (project, create) = state;
            var created = create(project)
                ?? throw new InvalidOperationException($"The factory of the project extension '{typeof(T).FullName}' returned null. Return an instance.");
            lock (project._extensionsInCreationOrder) project._extensionsInCreationOrder.Add(created);
            return created;
        }, LazyThreadSafetyMode.ExecutionAndPublication), (this, factory));
        object value;
        try
        {
            value = lazy.Value;
        }
        catch
        {
            _extensions.TryRemove(KeyValuePair.Create(typeof(T), lazy)); // let a later call try again
            throw;
        }
        if (Volatile.Read(ref _disposed) != 0)
        {
            // Created while the project was being disposed: the extension may have missed the disposal sweep.
            DisposeExtensionsAsync().AsTask().GetAwaiter().GetResult();
            ObjectDisposedException.ThrowIf(true, this);
        }
        return (T)value;
    }

    private async ValueTask DisposeExtensionsAsync()
    {
        List<object> extensions;
        lock (_extensionsInCreationOrder)
        {
            extensions = [.. _extensionsInCreationOrder];
            _extensionsInCreationOrder.Clear();
        }
        for (var i = extensions.Count - 1; i >= 0; i--)
        {
            try
            {
                switch (extensions[i])
                {
                    case IAsyncDisposable asyncDisposable:
                        await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                        break;
                    case IDisposable disposable:
                        disposable.Dispose();
                        break;
                }
            }
#pragma warning disable CA1031 // an extension that fails to dispose must not stop the others nor the store from closing
            catch (Exception e)
#pragma warning restore CA1031
            {
                CoreLog.ExtensionDisposeFailed(Logger, e, extensions[i].GetType().FullName, Name, e.Message);
            }
        }
    }

    /// <summary>Disposes the project's extensions (see <see cref="GetOrAddExtension{T}"/>), completes the open runs'
    /// buffered writes and releases the metadata store (when the project owns it).</summary>
    /// <returns>A task that completes when everything is flushed and released.</returns>
    public ValueTask DisposeAsync()
        => Interlocked.Exchange(ref _disposed, 1) != 0 ? ValueTask.CompletedTask : DisposeCoreAsync();

    /// <summary>Does what <see cref="DisposeAsync"/> does and blocks until it is done, for callers that cannot await
    /// (a plain <c>using</c>, a dependency-injection container disposed with <c>Dispose()</c>). Extensions that are only
    /// <see cref="IAsyncDisposable"/> are disposed too. Idempotent, and safe after <see cref="DisposeAsync"/>.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        // Under a synchronization context (or a custom scheduler) an extension's continuation could be posted to the
        // thread this call blocks: then run the whole disposal on the thread pool so it cannot deadlock.
        if (SynchronizationContext.Current is null && TaskScheduler.Current == TaskScheduler.Default)
            DisposeCoreAsync().AsTask().GetAwaiter().GetResult();
        else
            Task.Run(() => DisposeCoreAsync().AsTask()).GetAwaiter().GetResult();
    }

    private async ValueTask DisposeCoreAsync()
    {
        await DisposeExtensionsAsync().ConfigureAwait(false);
        await Runs.DisposeActiveRunsAsync().ConfigureAwait(false);
        await Models.DisposeAsync().ConfigureAwait(false);
        if (_ownsStore) await Store.DisposeAsync().ConfigureAwait(false);
    }
}
