namespace MLOps;

/// <summary>
/// Opens a container's <see cref="MLOpsProject"/> once, asynchronously, and hands it out. Registered by
/// <c>services.AddMLOps(...)</c> (keyed by <c>AddKeyedMLOps</c>); the hosted service that <c>AddMLOps</c> registers calls
/// <see cref="GetProjectAsync"/> when the host starts. In a container without a host, await it yourself before resolving
/// the project: <c>var project = await services.GetRequiredService&lt;MLOpsProjectProvider&gt;().GetProjectAsync();</c>.
/// </summary>
/// <remarks>Thread-safe. Concurrent calls share one opening. The opening does not observe a caller's cancellation (a
/// cancelled caller stops waiting, the opening goes on for the others). When the opening fails (invalid options, an
/// unreachable store), the next call tries again. The container disposes the project.</remarks>
public sealed class MLOpsProjectProvider : IAsyncDisposable, IDisposable
{
    private readonly Func<MLOpsOptions> _options;
    private readonly object _gate = new();
    private Task<MLOpsProject>? _opening;
    private bool _disposed;

    internal MLOpsProjectProvider(string? serviceKey, Func<MLOpsOptions> options)
    {
        ServiceKey = serviceKey;
        _options = options;
    }

    /// <summary>The service key of the project, or <see langword="null"/> for the unkeyed one.</summary>
    public string? ServiceKey { get; }

    /// <summary>Whether the project is open (<see cref="Project"/> returns it without waiting).</summary>
    public bool IsOpen => _opening is { IsCompletedSuccessfully: true };

    /// <summary>The open project.</summary>
    /// <exception cref="InvalidStateException">The project is not open yet: the host has not started, or nobody awaited
    /// <see cref="GetProjectAsync"/> yet.</exception>
    public MLOpsProject Project => _opening is { IsCompletedSuccessfully: true } opening
        ? opening.Result
        : throw new InvalidStateException(
            $"The MLOps project{(ServiceKey is null ? "" : $" with service key '{ServiceKey}'")} is not open yet: AddMLOps opens it asynchronously when the host starts. " +
            "Resolve it (and the catalogs and feature store that depend on it) after the host started, or in a container without a host first await " +
            $"services.GetRequired{(ServiceKey is null ? "Service<MLOpsProjectProvider>()" : $"KeyedService<MLOpsProjectProvider>(\"{ServiceKey}\")")}.GetProjectAsync().");

    /// <summary>Opens the project on the first call and returns it; later calls return the same project.</summary>
    /// <param name="cancellationToken">Stops waiting (the opening itself goes on).</param>
    /// <returns>The open project.</returns>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid; every problem is listed.</exception>
    public Task<MLOpsProject> GetProjectAsync(CancellationToken cancellationToken = default)
    {
        Task<MLOpsProject> opening;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_opening is null || _opening.IsFaulted || _opening.IsCanceled)
                _opening = OpenAsync();
            opening = _opening;
        }
        return opening.WaitAsync(cancellationToken);
    }

    private async Task<MLOpsProject> OpenAsync()
    {
        await Task.Yield(); // the options factory and the store's first I/O run off the caller's lock and thread
        return await MLOpsProject.OpenAsync(_options(), CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Disposes the project when it was opened (after an opening in progress completes).</summary>
    /// <returns>A task that completes when the project is disposed.</returns>
    public async ValueTask DisposeAsync()
    {
        Task<MLOpsProject>? opening;
        lock (_gate)
        {
            _disposed = true;
            opening = _opening;
        }
        if (opening is null) return;
        try
        {
            await (await opening.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a failed opening has nothing to dispose; its error went to whoever awaited it
        catch (Exception) when (!opening.IsCompletedSuccessfully)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>Does what <see cref="DisposeAsync"/> does for a container disposed synchronously: disposes an open project
    /// (see <see cref="MLOpsProject.Dispose"/>); an opening still in progress is disposed when it completes.</summary>
    public void Dispose()
    {
        Task<MLOpsProject>? opening;
        lock (_gate)
        {
            _disposed = true;
            opening = _opening;
        }
        if (opening is null) return;
        if (opening.IsCompletedSuccessfully) opening.Result.Dispose();
        else _ = opening.ContinueWith(static t => t.Result.DisposeAsync().AsTask(), CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default).Unwrap();
    }
}
