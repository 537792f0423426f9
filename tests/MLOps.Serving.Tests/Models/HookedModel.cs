using MLOps.Serving.Models;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Tests.Models;

/// <summary>
/// Delegates to a model after running a hook with the 1-based call number: a flaky model (the hook throws for the first
/// calls) or a gated one (the hook waits for a signal).
/// </summary>
internal sealed class HookedModel(IInferenceModel inner, Func<int, CancellationToken, Task> beforeCall) : IInferenceModel
{
    private int _calls;

    /// <summary>A model whose first <paramref name="failures"/> calls throw (the remote answers 500), then answers as <paramref name="inner"/>.</summary>
    public static HookedModel Flaky(IInferenceModel inner, int failures)
        => new(inner, (call, _) => call <= failures ? throw new InvalidOperationException($"warming up (call {call})") : Task.CompletedTask);

    /// <summary>A model that signals <paramref name="entered"/> and holds each call until <paramref name="release"/> completes or the call is cancelled.</summary>
    public static HookedModel Gated(IInferenceModel inner, TaskCompletionSource entered, TaskCompletionSource release)
        => new(inner, async (_, cancellationToken) =>
        {
            entered.TrySetResult();
            await release.Task.WaitAsync(cancellationToken);
        });

    public int Calls => Volatile.Read(ref _calls);

    public string Name => inner.Name;

    public string? Version => inner.Version;

    public ModelMetadata Metadata => inner.Metadata;

    public bool IsReady => inner.IsReady;

    public ValueTask LoadAsync(CancellationToken cancellationToken) => inner.LoadAsync(cancellationToken);

    public async ValueTask<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        await beforeCall(Interlocked.Increment(ref _calls), cancellationToken);
        return await inner.InferAsync(request, cancellationToken);
    }
}
