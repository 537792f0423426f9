using System.Diagnostics;
using Microsoft.Extensions.Logging;
using MLOps.Registry;

namespace MLOps.Serving.Models;

/// <summary>Opens <see cref="ModelHandle{TInput, TOutput}"/>s: a model URI served without interruption while its alias moves.</summary>
public static class ModelHandle
{
    /// <summary>Resolves a model URI (e.g. <c>store://models/flights/delay-model:production</c>), loads the version it points
    /// to and returns a handle that serves it and upgrades to another version, without failing a request, when the URI
    /// points elsewhere (on <see cref="ModelHandle{TInput, TOutput}.RefreshAsync"/> or every
    /// <see cref="ModelHandleOptions.PollInterval"/>).</summary>
    /// <typeparam name="TInput">The input row type.</typeparam>
    /// <typeparam name="TOutput">The output row type.</typeparam>
    /// <param name="project">The project holding the model.</param>
    /// <param name="uri">A model URI or name, with an alias (<c>production</c>), a version number or <c>latest</c>.</param>
    /// <param name="options">Polling; <see langword="null"/> means no polling.</param>
    /// <param name="cancellationToken">Cancels the first load.</param>
    /// <returns>The handle; dispose it to stop polling and release its predictors.</returns>
    /// <exception cref="NotFoundException">The model, version or alias does not exist.</exception>
    /// <exception cref="ValidationException">An option is invalid (<see cref="ModelHandleOptions.Validate"/>: <see cref="ModelHandleOptions.PollInterval"/>
    /// is not positive), the version is not an ML.NET model, or the row types do not fit it.</exception>
    /// <exception cref="ArtifactException">The model file is missing, corrupted or unreadable by ML.NET.</exception>
    public static async Task<ModelHandle<TInput, TOutput>> OpenAsync<TInput, TOutput>(MLOpsProject project, string uri, ModelHandleOptions? options = null, CancellationToken cancellationToken = default)
        where TInput : class
        where TOutput : class, new()
    {
        ArgumentNullException.ThrowIfNull(project);
        Throw.IfNullOrWhitespace(uri);
        ModelHandleOptions.ThrowIfInvalid(options, uri);
        var interval = options?.PollInterval;
        var version = await project.Models.ResolveAsync(uri, cancellationToken: cancellationToken).ConfigureAwait(false);
        var predictor = await ModelHandle<TInput, TOutput>.LoadPredictorAsync(project, version, cancellationToken).ConfigureAwait(false);
        return new ModelHandle<TInput, TOutput>(project, uri, predictor, interval);
    }
}

/// <summary>
/// Serves a model URI such as <c>store://models/flights/delay-model:production</c> and upgrades without interruption:
/// <see cref="RefreshAsync"/> (or polling) resolves the URI again and, when it points to another version, loads it in the
/// background and swaps atomically. Calls in flight finish on the old version, whose predictor is disposed when its last
/// call returns. A failed upgrade keeps the current version and is reported through <see cref="LastError"/> and
/// <see cref="UpgradeFailed"/>; it never fails a request. Open one with <see cref="ModelHandle.OpenAsync{TInput, TOutput}"/>.
/// </summary>
/// <typeparam name="TInput">The input row type; its fields and properties (or <c>[ColumnName]</c> attributes) name the model's input columns.</typeparam>
/// <typeparam name="TOutput">The output row type, e.g. a class with <c>PredictedLabel</c>, <c>Score</c> and <c>Probability</c>.</typeparam>
/// <remarks>Thread-safe.</remarks>
public sealed class ModelHandle<TInput, TOutput> : IAsyncDisposable
    where TInput : class
    where TOutput : class, new()
{
    private readonly MLOpsProject _project;
    private readonly ILogger _logger;
    private readonly ServingTelemetry _telemetry;
    private readonly SemaphoreSlim _refreshLock = new(1, 1);
    private readonly ITimer? _timer;
    private Slot _current;
    private Exception? _lastError;
    private int _livePredictors;
    private int _disposed;
    private string _uri;

    internal ModelHandle(MLOpsProject project, string uri, ModelPredictor<TInput, TOutput> predictor, TimeSpan? pollInterval)
    {
        _project = project;
        _uri = uri;
        _logger = project.LoggerFactory.CreateLogger("MLOps.Serving.ModelHandle");
        _telemetry = ServingTelemetry.For(project.Options.MeterFactory);
        _current = NewSlot(predictor);
        PollInterval = pollInterval;
        if (pollInterval is { } interval)
            _timer = project.TimeProvider.CreateTimer(static state => ((ModelHandle<TInput, TOutput>)state!).OnTimer(), this, interval, interval);
    }

    /// <summary>The URI (or name and reference) this handle serves; <see cref="DeployAsync"/> changes it.</summary>
    public string Uri => Volatile.Read(ref _uri);

    /// <summary>How often the URI is resolved again, or <see langword="null"/> when the handle does not poll.</summary>
    public TimeSpan? PollInterval { get; }

    /// <summary>The version new calls go to.</summary>
    public ModelVersionRecord Version => Volatile.Read(ref _current).Predictor.Version;

    /// <summary>Why the last refresh failed, or <see langword="null"/> when it succeeded (or none ran yet).</summary>
    public Exception? LastError => Volatile.Read(ref _lastError);

    /// <summary>Raised after an upgrade, once new calls go to the new version. An exception thrown by a handler is logged.</summary>
    public event EventHandler<ModelVersionChangedEventArgs>? VersionChanged;

    /// <summary>Raised when a refresh could not resolve or load the version the URI points to; the current version stays.
    /// An exception thrown by a handler is logged.</summary>
    public event EventHandler<ModelUpgradeFailedEventArgs>? UpgradeFailed;

    /// <summary>The number of predictors not yet disposed: the current one and old ones with calls in flight (for tests).</summary>
    internal int LivePredictors => Volatile.Read(ref _livePredictors);

    /// <summary>Called with the version of a predictor right after it was disposed (for tests).</summary>
    internal Action<ModelVersionRecord>? PredictorDisposed { get; set; }

    /// <summary>Predicts one row with the current version.</summary>
    /// <param name="input">The input row.</param>
    /// <returns>A new output row.</returns>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    public TOutput Predict(TInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var lease = Acquire();
        return lease.Predictor.Predict(input);
    }

    /// <summary>Predicts many rows, in order, all with the same version.</summary>
    /// <param name="inputs">The input rows.</param>
    /// <returns>One new output row per input row, in the same order.</returns>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    public IReadOnlyList<TOutput> PredictBatch(IReadOnlyList<TInput> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        using var lease = Acquire();
        return lease.Predictor.PredictBatch(inputs);
    }

    /// <summary>Resolves the URI again and, when it points to another version, loads that version and swaps to it; calls
    /// in flight finish on the old version. A failure (the alias was removed, the model file is missing, the version is not
    /// an ML.NET model ...) keeps the current version, sets <see cref="LastError"/> and raises <see cref="UpgradeFailed"/>.</summary>
    /// <param name="cancellationToken">Cancels the refresh (the current version stays).</param>
    /// <returns><see langword="true"/> when the handle swapped to another version.</returns>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled.</exception>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _refreshLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return await RefreshLockedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    /// <summary>
    /// Deploys another URI by hand — a version number (<c>store://models/flights/delay-model:4</c>), another alias, or another
    /// registered model with the same row types — without failing a request: the version is loaded in the background and
    /// swapped in atomically, calls in flight finish on the old version, and from then on the handle serves (and polls)
    /// <paramref name="uri"/>. Unlike a refresh, a failed deployment throws and changes nothing.
    /// </summary>
    /// <param name="uri">The model URI or name to serve from now on.</param>
    /// <param name="cancellationToken">Cancels the deployment (the current version stays).</param>
    /// <returns><see langword="true"/> when the handle now serves another version; <see langword="false"/> when
    /// <paramref name="uri"/> resolves to the version already served (the handle still follows <paramref name="uri"/>).</returns>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <exception cref="NotFoundException">The model, version or alias does not exist.</exception>
    /// <exception cref="ValidationException">The version is not an ML.NET model, or the row types do not fit it.</exception>
    /// <exception cref="ArtifactException">The model file is missing, corrupted or unreadable by ML.NET.</exception>
    public async Task<bool> DeployAsync(string uri, CancellationToken cancellationToken = default)
    {
        Throw.IfNullOrWhitespace(uri);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _refreshLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            var current = Volatile.Read(ref _current);
            var target = await _project.Models.ResolveAsync(uri, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (IsServed(current, target))
            {
                Volatile.Write(ref _uri, uri);
                return false;
            }
            var predictor = await LoadPredictorAsync(_project, target, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _uri, uri);
            Swap(predictor);
            return true;
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    /// <summary>Stops polling, waits for a refresh in progress and releases the current predictor once its calls in flight return.</summary>
    /// <returns>A task that completes when disposed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_timer is not null) await _timer.DisposeAsync().ConfigureAwait(false);
        await _refreshLock.WaitAsync().ConfigureAwait(false);
        try
        {
            Volatile.Read(ref _current).Release();
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"Model handle {Uri} -> v{Version.Version}";

    /// <summary>Borrows the current predictor; it is not disposed before the lease is returned.</summary>
    internal Lease Acquire()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        while (true)
        {
            var slot = Volatile.Read(ref _current);
            if (slot.TryAcquire()) return new Lease(slot);
            // The slot was retired between the read and the acquire: a newer one is current, unless the handle was disposed.
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        }
    }

    internal static async Task<ModelPredictor<TInput, TOutput>> LoadPredictorAsync(MLOpsProject project, ModelVersionRecord version, CancellationToken cancellationToken)
    {
        using var activity = ServingTelemetry.Source.HasListeners() ? ServingTelemetry.Source.StartActivity(LoadSpan) : null;
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("mlops.project", project.Name);
            activity.SetTag("mlops.model.name", version.Name);
            activity.SetTag("mlops.model.version", version.Version);
        }
        try
        {
            var loaded = await project.Models.LoadAsync(version, cancellationToken).ConfigureAwait(false);
            // Creating the prediction engines is CPU work: keep it off the caller's thread (e.g. the polling timer).
            return await Task.Run(loaded.CreatePredictor<TInput, TOutput>, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            ServingTelemetry.Fail(activity, e);
            throw;
        }
    }

    /// <summary>The span of loading a model version (the first one, and each upgrade).</summary>
    internal const string LoadSpan = "mlops.serving.model.load";

    /// <summary>The span of swapping a loaded version in.</summary>
    internal const string SwapSpan = "mlops.serving.model.swap";

    private async Task<bool> RefreshLockedAsync(CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _current);
        ModelVersionRecord? target = null;
        ModelPredictor<TInput, TOutput> predictor;
        try
        {
            target = await _project.Models.ResolveAsync(Uri, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (IsServed(current, target))
            {
                Volatile.Write(ref _lastError, null);
                return false;
            }
            predictor = await LoadPredictorAsync(_project, target, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            Volatile.Write(ref _lastError, e);
            ServingLog.UpgradeFailed(_logger, e, Uri, current.Predictor.Version.Version, target?.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "an unresolved version");
            Raise(UpgradeFailed, new ModelUpgradeFailedEventArgs(Uri, current.Predictor.Version, target, e));
            return false;
        }

        Swap(predictor);
        return true;
    }

    private static bool IsServed(Slot current, ModelVersionRecord target)
        => target.Name == current.Predictor.Version.Name && target.Version == current.Predictor.Version.Version
           && target.ContentHash == current.Predictor.Version.ContentHash;

    /// <summary>Makes a loaded predictor current; the old one is disposed once its last call returns.</summary>
    private void Swap(ModelPredictor<TInput, TOutput> predictor)
    {
        using var activity = ServingTelemetry.Source.HasListeners() ? ServingTelemetry.Source.StartActivity(SwapSpan) : null;
        var old = Interlocked.Exchange(ref _current, NewSlot(predictor));
        Volatile.Write(ref _lastError, null);
        old.Release(); // the handle's own reference
        var version = predictor.Version;
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("mlops.project", _project.Name);
            activity.SetTag("mlops.model.name", version.Name);
            activity.SetTag("mlops.model.version", version.Version);
            activity.SetTag("mlops.model.previous_version", old.Predictor.Version.Version);
            activity.SetTag("mlops.model.uri", Uri);
        }
        if (_telemetry.Swaps.Enabled)
        {
            _telemetry.Swaps.Add(1, new TagList
            {
                { "mlops.project", _project.Name },
                { "mlops.model.name", version.Name },
                { "mlops.model.version", version.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            });
        }
        ServingLog.ModelSwapped(_logger, Uri, old.Predictor.Version.Version, version.Version);
        Raise(VersionChanged, new ModelVersionChangedEventArgs(old.Predictor.Version, predictor.Version));
    }

    /// <summary>Raises an event; a throwing handler is logged, it does not undo the refresh nor stop the other handlers.</summary>
    private void Raise<TArgs>(EventHandler<TArgs>? handlers, TArgs args)
    {
        if (handlers is null) return;
        foreach (var handler in handlers.GetInvocationList().Cast<EventHandler<TArgs>>())
        {
            try
            {
                handler(this, args);
            }
            catch (Exception e)
            {
                ServingLog.HandlerFailed(_logger, e, typeof(TArgs).Name, Uri);
            }
        }
    }

    private void OnTimer()
    {
        if (Volatile.Read(ref _disposed) != 0 || !_refreshLock.Wait(0)) return; // a refresh is already running
        _ = PollAsync();
    }

    private async Task PollAsync()
    {
        try
        {
            if (Volatile.Read(ref _disposed) == 0)
                await RefreshLockedAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            ServingLog.PollFailed(_logger, e, Uri);
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    private Slot NewSlot(ModelPredictor<TInput, TOutput> predictor)
    {
        Interlocked.Increment(ref _livePredictors);
        return new Slot(this, predictor);
    }

    private void OnSlotRetired(Slot slot)
    {
        try
        {
            slot.Predictor.Dispose();
        }
        finally
        {
            Interlocked.Decrement(ref _livePredictors);
            PredictorDisposed?.Invoke(slot.Predictor.Version);
        }
    }

    /// <summary>An immutable holder of one predictor with a reference count: one for the handle while it is current, one per lease.</summary>
    internal sealed class Slot(ModelHandle<TInput, TOutput> owner, ModelPredictor<TInput, TOutput> predictor)
    {
        private int _references = 1;

        public ModelPredictor<TInput, TOutput> Predictor { get; } = predictor;

        /// <summary>Adds a reference unless the slot was already retired (its count reached zero).</summary>
        public bool TryAcquire()
        {
            var count = Volatile.Read(ref _references);
            while (count > 0)
            {
                var seen = Interlocked.CompareExchange(ref _references, count + 1, count);
                if (seen == count) return true;
                count = seen;
            }
            return false;
        }

        /// <summary>Drops a reference; the last one disposes the predictor.</summary>
        public void Release()
        {
            if (Interlocked.Decrement(ref _references) == 0) owner.OnSlotRetired(this);
        }
    }

    /// <summary>A borrowed predictor; dispose it to return it.</summary>
    internal readonly struct Lease(Slot slot) : IDisposable
    {
        public ModelPredictor<TInput, TOutput> Predictor => slot.Predictor;

        public void Dispose() => slot.Release();
    }
}
