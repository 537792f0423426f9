using MLOps.Serving.Models;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Tests.Models;

/// <summary>The delay-risk scorer, explained: per row, how much of the risk comes from the distance and from the peak hour.</summary>
internal sealed class ExplainableRiskModel(DelayRiskModel scorer) : IExplainableModel
{
    public int Explanations;

    public string Name => scorer.Name;

    public string? Version => scorer.Version;

    public ModelMetadata Metadata => scorer.Metadata;

    public bool IsReady => scorer.IsReady;

    public ValueTask LoadAsync(CancellationToken cancellationToken) => scorer.LoadAsync(cancellationToken);

    public ValueTask<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken) => scorer.InferAsync(request, cancellationToken);

    public ValueTask<InferenceResponse> ExplainAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Explanations);
        var (distance, hour) = scorer.Inputs(request);
        var d = distance.Data.AsSingles();
        var h = hour.Data.AsInt64();
        var attributions = new float[d.Length * 2];
        for (int i = 0; i < d.Length; i++)
        {
            attributions[2 * i] = scorer.Score(d[i], 0) - scorer.Score(0, 0);
            attributions[2 * i + 1] = scorer.Score(d[i], h[i]) - scorer.Score(d[i], 0);
        }
        return ValueTask.FromResult(InferenceResponse.For(request, Name, Version, [InferenceTensor.Singles("attribution", attributions, d.Length, 2)]));
    }
}
