using MLOps.Monitoring.Endpoints;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;

namespace MLOps.Monitoring.Capture;

/// <summary>
/// Records the inference requests of an <see cref="InferenceServer"/> for its model endpoints (start one with
/// <see cref="MonitoringCatalog.StartCaptureAsync"/>). Serving hands each record to a bounded buffer without waiting
/// (a full buffer drops the record and counts it); a background writer stores the records in batches as Parquet files per
/// endpoint and hour, and the endpoints' counters in the metadata store. Writer failures are logged and counted, never thrown
/// into serving. Dispose it to stop: it unsubscribes, then writes everything still buffered.
/// </summary>
public sealed class CaptureSession : IAsyncDisposable, IInferenceObserver
{
    private readonly MonitoringCatalog _catalog;
    private readonly InferenceServer _server;
    private readonly CaptureOptions _options;
    /// <summary>The slots by (model, version): copy-on-write (a new version is added to a copy under <see cref="_slotsLock"/>),
    /// so the request thread reads it without a lock.</summary>
    private Dictionary<(string Model, string? Version), EndpointSlot> _slots;
    private readonly Lock _slotsLock = new();
    private readonly Dictionary<string, IInferenceModel> _served = new(StringComparer.Ordinal);
    private IReadOnlyList<ModelEndpoint> _endpoints;
    private readonly Channel<CaptureItem> _channel;
    private readonly CaptureTelemetry _telemetry;
    private readonly ILogger _logger;
    private readonly Random? _sampler;
    private readonly Lock _samplerLock = new();
    private readonly PendingCapture _pending;
    private IDisposable? _subscription;
    private ITimer? _timer;
    private Task _writer = Task.CompletedTask;
    private long _dropped;
    private long _written;
    private long _failedWrites;
    private long _lost;
    private int _disposed;


    internal CaptureSession(MonitoringCatalog catalog, InferenceServer server, IReadOnlyList<ModelEndpoint> endpoints, CaptureOptions options)
    {
        _catalog = catalog;
        _server = server;
        _options = options;
        _endpoints = endpoints;
        _slots = endpoints.ToDictionary(e => (e.Model, e.ModelVersion), e => new EndpointSlot(e, catalog.Project.Name));
        foreach (var model in server.Models) _served.TryAdd(model.Name, model);
        _channel = Channel.CreateBounded<CaptureItem>(new BoundedChannelOptions(options.BufferCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite returns false when full: serving never waits
            SingleReader = true,
        });
        _telemetry = CaptureTelemetry.For(catalog.Project.Options.MeterFactory);
        _logger = catalog.Project.LoggerFactory.CreateLogger("MLOps.Monitoring");
        _sampler = options.SamplingSeed is { } seed ? new Random(seed) : null;
        _pending = new PendingCapture(InputNames);
    }

    /// <summary>The endpoints of the served models as registered when the session started, followed by those registered since
    /// for versions the server started serving later (an upgraded model), in the order they were registered.</summary>
    public IReadOnlyList<ModelEndpoint> Endpoints => Volatile.Read(ref _endpoints);

    /// <summary>The records dropped because the buffer was full.</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>The records stored so far.</summary>
    public long WrittenCount => Interlocked.Read(ref _written);

    /// <summary>The writes (files or counter updates) that failed; see the log (event 3002/3003) for why.</summary>
    public long FailedWriteCount => Interlocked.Read(ref _failedWrites);

    /// <summary>The records lost because their write failed.</summary>
    public long LostCount => Interlocked.Read(ref _lost);

    /// <summary>Starts the writer and subscribes to the server.</summary>
    internal void Start(bool startWriter = true)
    {
        _subscription = _server.Subscribe(this);
        if (startWriter) StartWriter();
        CaptureLog.Started(_logger, Endpoints.Count, _catalog.Project.Name, _options.SamplingRate, _options.BufferCapacity);
    }

    /// <summary>Starts the background writer (separate from <see cref="Start"/> so tests can fill the buffer first).</summary>
    internal void StartWriter()
    {
        _writer = Task.Run(RunAsync);
        _timer = _catalog.Project.TimeProvider.CreateTimer(_ => _channel.Writer.TryWrite(default), null, _options.FlushInterval, _options.FlushInterval);
    }

    /// <inheritdoc />
    void IInferenceObserver.OnInference(InferenceRecord record)
    {
        if (Volatile.Read(ref _disposed) != 0) return;
        if (!Volatile.Read(ref _slots).TryGetValue((record.Model, record.ModelVersion), out var slot) && (slot = NewSlot(record)) is null) return;
        slot.Count(record.Started, !record.IsSuccess);
        if (!Sampled()) return;
        if (_channel.Writer.TryWrite(new CaptureItem(slot, record, null))) return;
        var dropped = Interlocked.Increment(ref _dropped);
        slot.AddDropped(1, record.Started);
        _telemetry.Dropped.Add(1, slot.Tags);
        if ((dropped & (dropped - 1)) == 0) CaptureLog.Dropped(_logger, slot.Name, dropped); // 1, 2, 4, 8, ... : no log flood
    }

    /// <summary>
    /// The slot of a version first seen after the start (an upgraded model: the record of a served model with status 200, or
    /// with the version the model serves now), added to a copy of the slot map; null for a model the server does not serve or a
    /// version it does not (a 404). Its endpoint is registered by the writer, before it writes any record of it. Runs once per
    /// new version, under a lock held only to copy the map: nothing is awaited on the request thread.
    /// </summary>
    private EndpointSlot? NewSlot(InferenceRecord record)
    {
        if (!_served.TryGetValue(record.Model, out var model) || (!record.IsSuccess && record.ModelVersion != model.Version)) return null;
        lock (_slotsLock)
        {
            var slots = _slots;
            if (slots.TryGetValue((record.Model, record.ModelVersion), out var slot)) return slot;
            slot = new EndpointSlot(record.Model, record.ModelVersion, _catalog.Project.Name);
            Volatile.Write(ref _slots, new Dictionary<(string Model, string? Version), EndpointSlot>(slots) { [(record.Model, record.ModelVersion)] = slot });
            return slot;
        }
    }

    private bool Sampled()
    {
        var rate = _options.SamplingRate;
        if (rate >= 1) return true;
        if (rate <= 0) return false;
        if (_sampler is null) return Random.Shared.NextDouble() < rate;
        lock (_samplerLock) return _sampler.NextDouble() < rate;
    }

    /// <summary>Stores everything buffered before the call, and the endpoints' counters; returns once they are stored (or failed
    /// and counted). For tests and for a caller that wants the data on disk now.</summary>
    /// <param name="cancellationToken">Cancels the wait (the flush itself still happens).</param>
    /// <returns>A task that completes when the flush is done.</returns>
    /// <exception cref="ObjectDisposedException">The session was disposed.</exception>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _channel.Writer.WriteAsync(new CaptureItem(null, null, done), cancellationToken).ConfigureAwait(false);
        await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Unsubscribes from the server, stores what is buffered, marks the endpoints stopped.</summary>
    /// <returns>A task that completes when the writer is done.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _subscription?.Dispose();
        if (_timer is not null) await _timer.DisposeAsync().ConfigureAwait(false);
        _channel.Writer.TryComplete();
        if (_writer.IsCompleted && _writer == Task.CompletedTask) StartWriterForShutdown();
        await _writer.ConfigureAwait(false);
        CaptureLog.Stopped(_logger, _catalog.Project.Name, WrittenCount, DroppedCount, FailedWriteCount);
    }

    private void StartWriterForShutdown() => _writer = Task.Run(RunAsync);

    private async Task RunAsync()
    {
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var item))
            {
                if (item.Record is { } record)
                {
                    if (!await RegisterAsync(item.Slot!).ConfigureAwait(false))
                    {
                        LoseUnregistered(item.Slot!, record);
                        continue;
                    }
                    Add(item.Slot!, record);
                    if (_pending.Count >= _options.BatchSize) await WritePendingAsync().ConfigureAwait(false);
                    continue;
                }
                await WritePendingAsync().ConfigureAwait(false); // a flush, or the timer's tick
                await StoreCountersAsync(null).ConfigureAwait(false);
                item.Flush?.TrySetResult();
            }
        }
        await WritePendingAsync().ConfigureAwait(false);
        await StoreCountersAsync(EndpointState.Stopped).ConfigureAwait(false);
    }

    /// <summary>Turns a record into columns of the pending batches as soon as it is read (so it is not kept alive until the write).</summary>
    private void Add(EndpointSlot slot, InferenceRecord record)
    {
        try
        {
            _pending.Add(slot, record);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            slot.AddDropped(1, record.Started);
            Lose(slot, 1, ex);
        }
    }

    /// <summary>Writes the pending batches: per endpoint, hour and columns, one file of rows ordered by time.</summary>
    private async Task WritePendingAsync()
    {
        if (_pending.Count == 0) return;
        foreach (var batch in _pending.Batches)
        {
            if (batch.Records == 0) continue;
            try
            {
                await CaptureFiles.WriteAsync(_catalog.CaptureRoot, batch.Slot.Endpoint.Id, batch.First, batch.Build(), CancellationToken.None).ConfigureAwait(false);
                Interlocked.Add(ref _written, batch.Records);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                foreach (var started in batch.RecordStarts()) batch.Slot.AddDropped(1, started);
                Lose(batch.Slot, batch.Records, ex);
            }
        }
        _pending.Clear();
    }

    /// <summary>Counts and logs records that could not be stored (the caller counts them in their minutes with AddDropped).</summary>
    private void Lose(EndpointSlot slot, int records, Exception ex)
    {
        Interlocked.Increment(ref _failedWrites);
        Interlocked.Add(ref _lost, records);
        var tags = slot.Tags;
        tags.Add("error.type", ex.GetType().FullName);
        _telemetry.Failed.Add(records, tags);
        CaptureLog.WriteFailed(_logger, ex, records, slot.Endpoint.Name, slot.Endpoint.Id);
    }

    /// <summary>Registers the endpoint of a pending slot (its reference linked as at the start); true when it is registered. A
    /// failure is logged and counted once, and tried again at the next flush (<see cref="StoreCountersAsync"/>).</summary>
    private async Task<bool> RegisterAsync(EndpointSlot slot)
    {
        if (slot.IsRegistered) return true;
        if (slot.RegistrationFailed) return false;
        try
        {
            _served.TryGetValue(slot.Model, out var model);
            var endpoint = await _catalog.RegisterServedAsync(slot.Model, slot.Version, model, _options, CancellationToken.None).ConfigureAwait(false);
            slot.Register(endpoint);
            Volatile.Write(ref _endpoints, [.. _endpoints, endpoint]);
            CaptureLog.Following(_logger, endpoint.Name, endpoint.Id, _catalog.Project.Name);
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            slot.RegistrationFailed = true;
            Interlocked.Increment(ref _failedWrites);
            CaptureLog.RegisterFailed(_logger, ex, slot.Name, _catalog.Project.Name);
            return false;
        }
    }

    /// <summary>Counts a record lost because its endpoint could not be registered (logged once per attempt, not per record).</summary>
    private void LoseUnregistered(EndpointSlot slot, InferenceRecord record)
    {
        slot.AddDropped(1, record.Started);
        Interlocked.Increment(ref _lost);
        var tags = slot.Tags;
        tags.Add("error.type", "endpoint-not-registered");
        _telemetry.Failed.Add(1, tags);
    }

    private IReadOnlyList<string> InputNames(EndpointSlot slot)
    {
        try
        {
            return [.. _server.GetModelMetadata(slot.Model, slot.Version).Inputs.Select(i => i.Name)];
        }
        catch (MLOpsException)
        {
            return [];
        }
    }

    /// <summary>Stores the endpoint's per-minute traffic (every request, sampled or not) for the operations analysis.</summary>
    private async Task StoreMinutesAsync(EndpointSlot slot)
    {
        var minutes = slot.PendingMinutes();
        if (minutes.Count == 0) return;
        try
        {
            await TrafficFiles.WriteAsync(_catalog.CaptureRoot, slot.Endpoint.Id, minutes, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            slot.RestoreMinutes(minutes); // kept for the next flush: nothing is lost, so not a failed write
            MLOps.Monitoring.Analysis.AnalysisLog.TrafficFailed(_logger, ex, slot.Endpoint.Name, slot.Endpoint.Id);
        }
    }

    private async Task StoreCountersAsync(EndpointState? state)
    {
        foreach (var slot in Volatile.Read(ref _slots).Values)
        {
            slot.RegistrationFailed = false; // a flush tries a failed registration again
            if (!await RegisterAsync(slot).ConfigureAwait(false)) continue; // its counters wait in the slot
            await StoreMinutesAsync(slot).ConfigureAwait(false);
            var pending = slot.Pending();
            if (pending.IsEmpty && state is null) continue;
            try
            {
                await _catalog.Records.AddTrafficAsync(slot.Endpoint.Id, pending, state ?? EndpointState.Active, CancellationToken.None).ConfigureAwait(false);
                slot.MarkStored(pending);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Interlocked.Increment(ref _failedWrites);
                CaptureLog.CountersFailed(_logger, ex, slot.Endpoint.Name, slot.Endpoint.Id);
            }
        }
    }
}

/// <summary>An item of the capture buffer: a record of an endpoint, a flush request, or (all null) the timer's tick. A struct,
/// so handing a record to the buffer allocates nothing on the request's thread.</summary>
internal readonly record struct CaptureItem(EndpointSlot? Slot, InferenceRecord? Record, TaskCompletionSource? Flush);
