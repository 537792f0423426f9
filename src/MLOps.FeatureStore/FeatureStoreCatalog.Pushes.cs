using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Offline;

namespace MLOps.FeatureStore;

public sealed partial class FeatureStoreCatalog
{
    private readonly ConcurrentDictionary<string, PushBuffer> _pushBuffers = new(StringComparer.Ordinal);
    private readonly Lock _timerLock = new();
    private Task _timerFlushes = Task.CompletedTask;
    private volatile bool _disposing;

    /// <summary>The flushes started by the time threshold so far (completes when the last one has; for tests).</summary>
    internal Task TimerFlushes
    {
        get
        {
            lock (_timerLock) return _timerFlushes;
        }
    }

    /// <summary>
    /// Writes the real-time events pushed so far and still buffered to the offline target now: one Parquet file per
    /// partition and flush, laid out like an ingestion's (<c>part-&lt;number&gt;-p&lt;n&gt;.parquet</c>, with
    /// <c>_ingest_order</c>), so point-in-time retrieval sees them. Pushes are otherwise flushed when a set's buffer reaches
    /// <see cref="FeatureStoreOptions.PushFlushRows"/> rows, when its oldest buffered event waited
    /// <see cref="FeatureStoreOptions.PushFlushInterval"/>, before an ingestion into the set, and when the feature store
    /// (or its project) is disposed.
    /// </summary>
    /// <param name="cancellationToken">Cancels the flush (buffered rows stay buffered).</param>
    /// <returns>A task that completes when every buffered event is in an offline file.</returns>
    /// <exception cref="FeatureStoreException">The offline files could not be written (the rows stay buffered).</exception>
    public async Task FlushPushesAsync(CancellationToken cancellationToken = default)
    {
        foreach (var name in _pushBuffers.Keys.ToArray())
            await FlushPushesOfAsync(name, cancellationToken).ConfigureAwait(false);
    }

    private async Task FlushPushesOfAsync(string set, CancellationToken cancellationToken)
    {
        var gate = LockOf(set);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FlushPushesLockedAsync(set, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Adds pushed rows (conformed to the stored schema) to the set's offline buffer; flushes it at the row threshold. Under the set's lock.</summary>
    private async Task BufferPushedAsync(FeatureSet stored, RecordBatch rows, CancellationToken cancellationToken)
    {
        if (!stored.Offline || rows.Length == 0) return;
        var buffer = _pushBuffers.GetOrAdd(stored.Name, _ => new PushBuffer());
        if (buffer.Rows > 0 && !buffer.Set!.Schema!.SequenceEqual(stored.Schema!))
            await FlushPushesLockedAsync(stored.Name, cancellationToken).ConfigureAwait(false); // one schema per flush
        buffer.Set = stored;
        buffer.Batches.Add(rows);
        buffer.Rows += rows.Length;
        if (buffer.Rows >= Options.PushFlushRows)
            await FlushPushesLockedAsync(stored.Name, cancellationToken).ConfigureAwait(false);
        else
            buffer.Timer ??= Project.TimeProvider.CreateTimer(OnPushTimer, stored.Name, Options.PushFlushInterval, Timeout.InfiniteTimeSpan);
    }

    private void OnPushTimer(object? state)
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
            await FlushPushesOfAsync(set, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MLOpsException or IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            _logger.LogError(e, "Flushing the pushed events of feature set {Set} to the offline store failed (they stay buffered; the next flush retries): {Message}", set, e.Message);
        }
    }

    /// <summary>Writes a set's buffered pushed rows as one flush (a new ingestion number). Under the set's lock.</summary>
    private async Task FlushPushesLockedAsync(string name, CancellationToken cancellationToken)
    {
        if (!_pushBuffers.TryGetValue(name, out var buffer) || buffer.Rows == 0) return;
        var set = buffer.Set!;
        var scope = $"feature-set/{name}";
        var token = $"push-{Ids.New(Project.TimeProvider)}";
        var sequence = await Project.Store.Specs.ClaimSequenceAsync(Project.Name, scope, token, Project.TimeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        FeatureColumn[] columns = [.. set.Schema!, new FeatureColumn(OfflineStore.OrderColumn, FeatureType.Int64)];
        var committing = false;
        try
        {
            await using var session = new OfflineWriteSession(SetRoot(name), set.Partitioning, set.TimestampColumn, sequence, OfflineWriteSession.PushFileTag);
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
                await Project.Store.Specs.ReleaseSequenceAsync(Project.Name, scope, token, CancellationToken.None).ConfigureAwait(false);
            }
            catch (MLOpsException e)
            {
                _logger.LogWarning(e, "Could not release the ingestion number {Sequence} of feature set {Set}", sequence, name);
            }
            throw;
        }

        _logger.LogInformation("Flushed {Rows} pushed events of feature set {Set} to the offline store (ingestion number {Sequence})", buffer.Rows, name, sequence);
        buffer.Clear();
    }

    /// <summary>Forgets a set's buffered pushes (the set is being deleted).</summary>
    private void DropPushBuffer(string set)
    {
        if (_pushBuffers.TryRemove(set, out var buffer)) buffer.Clear();
    }

    /// <summary>Flushes the buffered pushes on dispose; failures are logged (the online store has the events).</summary>
    private async Task FlushPushesOnDisposeAsync()
    {
        _disposing = true;
        try
        {
            await FlushPushesAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MLOpsException or IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            _logger.LogError(e, "Flushing the pushed events to the offline store on dispose failed; {Rows} buffered events are not in the offline files: {Message}", _pushBuffers.Values.Sum(b => b.Rows), e.Message);
        }

        await TimerFlushes.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var buffer in _pushBuffers.Values) buffer.Clear();
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
