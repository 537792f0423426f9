using MLOps.Serving.Models;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Tests.Remote;

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

/// <summary>An MLRun-style model: rows of (distance, hour), as lists or objects keyed by name, scored as <see cref="Models.DelayRiskModel.Score"/> into an FP32 "risk" per row.</summary>
internal sealed class RowsRiskModel(string name) : IInferenceModel
{
    private readonly Models.DelayRiskModel _scorer = new(name, version: null);
    private volatile bool _ready;

    public string Name => name;

    public string? Version => null;

    public ModelMetadata Metadata => _scorer.Metadata;

    public bool IsReady => _ready;

    public ValueTask LoadAsync(CancellationToken cancellationToken)
    {
        _ready = true;
        return ValueTask.CompletedTask;
    }

    public ValueTask<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        var rows = request.Rows?.Rows ?? throw new ServingException(400, $"The model '{name}' takes rows.");
        var risk = new float[rows.Count];
        for (int i = 0; i < risk.Length; i++)
            risk[i] = _scorer.Score((float)Value(rows[i], "distance", 0), (long)Value(rows[i], "hour", 1));
        return ValueTask.FromResult(InferenceResponse.For(request, name, null, [InferenceTensor.Singles("risk", risk)]));
    }

    private double Value(InferenceRow row, string feature, int position)
    {
        if (row.IsKeyed)
            return row.TryGetValue(feature, out var value) ? value.Number : throw new ServingException(400, $"The model '{name}' needs '{feature}' in every row.");
        return row[position].Number;
    }
}
