using MLOps.Serving.Models;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Tests.Remote;

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
