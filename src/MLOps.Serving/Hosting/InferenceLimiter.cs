using System.Threading.RateLimiting;

namespace MLOps.Serving.Hosting;

/// <summary>
/// The concurrency limit of an <see cref="InferenceServer"/> (<see cref="InferenceServerOptions.MaxConcurrentRequests"/>):
/// at most that many inferences run at once, <see cref="InferenceServerOptions.MaxQueuedRequests"/> wait (oldest first),
/// and any more are refused with 503 "busy". Thread-safe.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The limiter holds no unmanaged resource and lives as long as the server.")]
internal sealed class InferenceLimiter(int permits, int queued)
{
    private readonly ConcurrencyLimiter _limiter = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = permits,
        QueueLimit = queued,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    /// <summary>Waits for a slot (in the queue if there is room).</summary>
    /// <returns>The lease to dispose when the inference is done.</returns>
    /// <exception cref="ServingException">Status 503: every slot is taken and the queue is full.</exception>
    public async ValueTask<RateLimitLease> EnterAsync(CancellationToken cancellationToken)
    {
        var lease = await _limiter.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        if (lease.IsAcquired)
            return lease;
        lease.Dispose();
        throw new ServingException(503, $"The server is busy: all {permits} request slots are taken and the queue of {queued} is full (InferenceServerOptions.MaxConcurrentRequests); retry later.");
    }
}
