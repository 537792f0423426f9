using System.Threading.Channels;

namespace MLOps.FeatureStore.Ingestion;

/// <summary>
/// Keeps a source chunk alive while computed batches that share its memory are still queued or being consumed by an
/// <see cref="OutputStage"/>: disposed when the last holder releases it.
/// </summary>
internal sealed class ChunkLease
{
    private readonly IDisposable _chunk;
    private int _holders = 1;

    /// <param name="chunk">The chunk; the creator holds the first reference.</param>
    public ChunkLease(IDisposable chunk) => _chunk = chunk;

    public void Acquire() => Interlocked.Increment(ref _holders);

    public void Release()
    {
        if (Interlocked.Decrement(ref _holders) == 0) _chunk.Dispose();
    }
}

/// <summary>
/// One consumer of an ingestion's computed batches (the offline writer, the statistics profiler) running on its own task,
/// so that it overlaps reading and computing the next chunks. Batches are consumed one at a time in the order they were
/// added (the output is the same as consuming them inline); at most <c>capacity</c> wait. A failure of the consumer
/// surfaces, as the same exception, from the next <see cref="AddAsync"/> or from <see cref="CompleteAsync"/>.
/// </summary>
internal sealed class OutputStage : IAsyncDisposable
{
    private readonly Channel<(RecordBatch Batch, int Rows, ChunkLease? Lease)> _channel;
    private readonly CancellationTokenSource _stop;
    private readonly Task _task;

    /// <param name="consume">Consumes a batch; the second argument is how many of its leading rows to consume.</param>
    /// <param name="capacity">How many batches may wait.</param>
    /// <param name="cancellationToken">Cancels the consumer.</param>
    public OutputStage(Func<RecordBatch, int, CancellationToken, Task> consume, int capacity, CancellationToken cancellationToken)
    {
        _channel = Channel.CreateBounded<(RecordBatch, int, ChunkLease?)>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true });
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = _stop.Token;
        _task = Task.Run(() => RunAsync(consume, token), CancellationToken.None);
    }

    private async Task RunAsync(Func<RecordBatch, int, CancellationToken, Task> consume, CancellationToken cancellationToken)
    {
        try
        {
            while (await _channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (_channel.Reader.TryRead(out var item))
                {
                    try
                    {
                        await consume(item.Batch, item.Rows, cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        item.Lease?.Release();
                    }
                }
            }
        }
        catch (Exception e)
        {
            // the producer's next write fails (and awaits this task for the exception); what is queued is let go
            _channel.Writer.TryComplete(e);
            while (_channel.Reader.TryRead(out var item)) item.Lease?.Release();
            throw;
        }
    }

    /// <summary>Queues a batch (waits while the queue is full); <paramref name="lease"/> is held until it is consumed.</summary>
    public async Task AddAsync(RecordBatch batch, int rows, ChunkLease? lease, CancellationToken cancellationToken)
    {
        lease?.Acquire();
        try
        {
            await _channel.Writer.WriteAsync((batch, rows, lease), cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            lease?.Release();
            await _task.ConfigureAwait(false); // the consumer's exception
            throw;
        }
        catch
        {
            lease?.Release();
            throw;
        }
    }

    /// <summary>Waits until every queued batch is consumed; throws the consumer's exception if it failed.</summary>
    public async Task CompleteAsync()
    {
        _channel.Writer.TryComplete();
        await _task.ConfigureAwait(false);
    }

    /// <summary>Stops the consumer (what is still queued is not consumed) and waits for it; its failure is not thrown.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_task.IsCompleted)
        {
            _channel.Writer.TryComplete();
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        try
        {
            await _task.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // stopped on the way out of a failed or cancelled ingestion, which throws its own exception
        }

        while (_channel.Reader.TryRead(out var item)) item.Lease?.Release();
        _stop.Dispose();
    }
}
