using System.Collections.Concurrent;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Offline;
using D = MLOps.FeatureStore.FeatureStoreDiagnostics;

namespace MLOps.FeatureStore.Ingestion;

/// <summary>
/// The offline side of real-time pushes: the pushed rows buffered per feature set, and their flushes into partitioned
/// Parquet files (one new ingestion number per flush) at the row threshold, on the time threshold, before an ingestion,
/// on demand and on dispose.
/// </summary>
internal sealed class PushBuffers(FeatureStoreContext context, CatalogRecords records)
{
    private readonly ConcurrentDictionary<string, PushBuffer> _buffers = new(StringComparer.Ordinal);
    private readonly Lock _timerLock = new();
    private Task _timerFlushes = Task.CompletedTask;
    private volatile bool _disposing;

    /// <summary>The flushes started by the time threshold so far (completes when the last one has; for tests).</summary>
    public Task TimerFlushes
    {
        get
        {
            lock (_timerLock) return _timerFlushes;
        }
    }

    /// <summary>Flushes every set's buffer, each under its set's lock.</summary>
    public async Task FlushAllAsync(CancellationToken cancellationToken)
    {
        foreach (var name in _buffers.Keys.ToArray())
            await FlushOfAsync(name, cancellationToken).ConfigureAwait(false);
    }

    private async Task FlushOfAsync(string set, CancellationToken cancellationToken)
    {
        var gate = context.LockOf(set);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FlushLockedAsync(set, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Adds pushed rows (conformed to the stored schema) to the set's offline buffer; flushes it at the row threshold. Under the set's lock.</summary>
    public async Task AddAsync(FeatureSet stored, RecordBatch rows, CancellationToken cancellationToken)
    {
        if (!stored.Offline || rows.Length == 0) return;
        var buffer = _buffers.GetOrAdd(stored.Name, _ => new PushBuffer());
        if (buffer.Rows > 0 && !buffer.Set!.Schema!.SequenceEqual(stored.Schema!))
            await FlushLockedAsync(stored.Name, cancellationToken).ConfigureAwait(false); // one schema per flush
        buffer.Set = stored;
        buffer.Batches.Add(rows);
        buffer.Rows += rows.Length;
        if (buffer.Rows >= context.Options.PushFlushRows)
            await FlushLockedAsync(stored.Name, cancellationToken).ConfigureAwait(false);
        else
            buffer.Timer ??= context.Time.CreateTimer(OnTimer, stored.Name, context.Options.PushFlushInterval, Timeout.InfiniteTimeSpan);
    }

    private void OnTimer(object? state)
    {
        if (_disposing) return;
        var set = (string)state!;
        lock (_timerLock) _timerFlushes = FlushOnTimerAsync(_timerFlushes, set);
    }

    private async Task FlushOnTimerAsync(Task previous, string set)
    {
        await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // its failure was logged or seen by whoever awaited it
        try
        {
            await FlushOfAsync(set, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MLOpsException or IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            FeatureStoreLog.TimerFlushFailed(context.Logger, e, set, e.Message);
        }
    }

    /// <summary>Writes a set's buffered pushed rows as one flush (a new ingestion number). Under the set's lock.</summary>
    public async Task FlushLockedAsync(string name, CancellationToken cancellationToken)
    {
        if (!_buffers.TryGetValue(name, out var buffer) || buffer.Rows == 0) return;
        using var activity = FeatureStoreTelemetry.Start(D.PushFlushActivity, context.Project.Name);
        activity?.SetTag(D.FeatureSetTag, name);
        activity?.SetTag("mlops.push.rows", buffer.Rows);
        var telemetry = context.Telemetry;
        try
        {
            var (rows, sequence) = await FlushAsync(name, buffer, cancellationToken).ConfigureAwait(false);
            activity?.SetTag("mlops.ingestion.sequence", sequence);
            if (telemetry.PushFlushes.Enabled)
                telemetry.PushFlushes.Add(1, new(D.ProjectTag, context.Project.Name), new(D.FeatureSetTag, name));
            if (telemetry.PushFlushedRows.Enabled)
                telemetry.PushFlushedRows.Add(rows, new(D.ProjectTag, context.Project.Name), new(D.FeatureSetTag, name));
        }
        catch (Exception e)
        {
            FeatureStoreTelemetry.Fail(activity, e);
            if (telemetry.PushFlushes.Enabled)
                telemetry.PushFlushes.Add(1, new(D.ProjectTag, context.Project.Name), new(D.FeatureSetTag, name), new(D.ErrorTypeTag, FeatureStoreTelemetry.ErrorType(e)));
            throw;
        }
    }

    private async Task<(int Rows, long Sequence)> FlushAsync(string name, PushBuffer buffer, CancellationToken cancellationToken)
    {
        var set = buffer.Set!;
        var token = $"push-{Ids.New(context.Time)}";
        var sequence = await records.ClaimSequenceAsync(name, token, context.Time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        FeatureColumn[] columns = [.. set.Schema!, new FeatureColumn(OfflineStore.OrderColumn, FeatureType.Int64)];
        var committing = false;
        try
        {
            await using var session = new OfflineWriteSession(context.SetRoot(name), set.Partitioning, set.TimestampColumn, sequence, OfflineWriteSession.PushFileTag);
            long row = 0;
            foreach (var batch in buffer.Batches)
            {
                var order = new long[batch.Length];
                var valid = new bool[batch.Length];
                for (var i = 0; i < order.Length; i++) order[i] = (sequence << 32) | ++row;
                Array.Fill(valid, true);
                var withOrder = Arrays.WithColumn(batch, OfflineStore.OrderColumn, Arrays.Int64s(order, valid));
                await session.WriteAsync(OfflineStore.Conform(withOrder, columns), cancellationToken).ConfigureAwait(false);
            }

            committing = true;
            await session.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!committing)
        {
            // nothing was committed under the number: give it back, like a failed ingestion (the rows stay buffered)
            try
            {
                await records.ReleaseSequenceAsync(name, token).ConfigureAwait(false);
            }
            catch (MLOpsException e)
            {
                FeatureStoreLog.SequenceNotReleased(context.Logger, e, sequence, name);
            }
            throw;
        }

        var flushed = buffer.Rows;
        FeatureStoreLog.PushesFlushed(context.Logger, flushed, name, sequence);
        buffer.Clear();
        return (flushed, sequence);
    }

    /// <summary>Forgets a set's buffered pushes (the set is being deleted).</summary>
    public void Drop(string set)
    {
        if (_buffers.TryRemove(set, out var buffer)) buffer.Clear();
    }

    /// <summary>Flushes the buffered pushes on dispose; failures are logged (the online store has the events).</summary>
    public async Task FlushOnDisposeAsync()
    {
        _disposing = true;
        try
        {
            await FlushAllAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MLOpsException or IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            FeatureStoreLog.DisposeFlushFailed(context.Logger, e, _buffers.Values.Sum(b => b.Rows), e.Message);
        }

        await TimerFlushes.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var buffer in _buffers.Values) buffer.Clear();
    }

    /// <summary>The pushed rows of one feature set waiting for their offline flush.</summary>
    private sealed class PushBuffer
    {
        public FeatureSet? Set { get; set; }

        public List<RecordBatch> Batches { get; } = [];

        public int Rows { get; set; }

        public ITimer? Timer { get; set; }

        public void Clear()
        {
            Timer?.Dispose();
            Timer = null;
            Batches.Clear();
            Rows = 0;
        }
    }
}
