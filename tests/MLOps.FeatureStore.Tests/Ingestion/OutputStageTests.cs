using MLOps.FeatureStore.Ingestion;
using MLOps.FeatureStore.Tests.TestSupport;

namespace MLOps.FeatureStore.Tests.Ingestion;

/// <summary>The consumer task of an ingestion's computed batches (offline writer, statistics).</summary>
[Parallelizable(ParallelScope.All)]
public sealed class OutputStageTests
{
    private sealed class Chunk : IDisposable
    {
        public int Disposed;

        public void Dispose() => Interlocked.Increment(ref Disposed);
    }

    private static RecordBatch Batch(int rows) => FlightData.ToBatch(FlightData.All.Take(rows).ToArray());

    [Test]
    public async Task CompleteAsync_ManyBatches_ConsumesEveryBatchInOrderThenDisposesItsChunk()
    {
        var consumed = new List<int>();
        var chunks = Enumerable.Range(0, 50).Select(_ => new Chunk()).ToArray();
        await using var stage = new OutputStage((b, rows, _) =>
        {
            consumed.Add(rows);
            return Task.CompletedTask;
        }, 2, CancellationToken.None);
        var batch = Batch(3);
        for (var i = 0; i < chunks.Length; i++)
        {
            var lease = new ChunkLease(chunks[i]);
            await stage.AddAsync(batch, i, lease, CancellationToken.None);
            lease.Release();
        }

        await stage.CompleteAsync();

        Assert.That(consumed, Is.EqualTo(Enumerable.Range(0, chunks.Length)));
        Assert.That(chunks.Select(c => c.Disposed), Is.All.EqualTo(1), "each chunk disposed once");
    }

    [Test]
    public async Task AddAsync_ConsumerFails_ThrowsTheConsumersExceptionAndDisposesEveryChunk()
    {
        var chunks = Enumerable.Range(0, 20).Select(_ => new Chunk()).ToArray();
        await using var stage = new OutputStage((_, rows, _) => rows == 3 ? throw new FeatureStoreException("disk full (simulated)") : Task.CompletedTask, 2, CancellationToken.None);
        var batch = Batch(3);
        FeatureStoreException? thrown = null;
        for (var i = 0; i < chunks.Length && thrown is null; i++)
        {
            var lease = new ChunkLease(chunks[i]);
            try
            {
                await stage.AddAsync(batch, i, lease, CancellationToken.None);
            }
            catch (FeatureStoreException e)
            {
                thrown = e;
            }
            finally
            {
                lease.Release();
            }
        }

        // the failure comes from a later AddAsync (or, at the latest, from CompleteAsync), never a hang
        thrown ??= Assert.ThrowsAsync<FeatureStoreException>(() => stage.CompleteAsync());
        Assert.That(thrown!.Message, Does.Contain("disk full"));
        await stage.DisposeAsync();
        Assert.That(chunks.Where(c => c.Disposed != 0).Select(c => c.Disposed), Is.All.EqualTo(1), "no chunk disposed twice");
        Assert.That(chunks.TakeWhile(c => c.Disposed != 0).Count(), Is.EqualTo(chunks.Count(c => c.Disposed != 0)), "every chunk handed over is disposed");
    }

    [Test]
    public async Task DisposeAsync_ConsumerBlocked_CancelsItAndDisposesTheQueuedChunks()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stage = new OutputStage(async (_, _, ct) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
        }, 2, CancellationToken.None);
        var chunks = Enumerable.Range(0, 3).Select(_ => new Chunk()).ToArray();
        var batch = Batch(3);
        foreach (var chunk in chunks)
        {
            var lease = new ChunkLease(chunk);
            await stage.AddAsync(batch, 1, lease, CancellationToken.None);
            lease.Release();
            await started.Task;
        }

        await stage.DisposeAsync();

        Assert.That(chunks.Select(c => c.Disposed), Is.All.EqualTo(1));
    }
}
