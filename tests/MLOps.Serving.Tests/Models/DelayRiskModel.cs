using MLOps.Serving.Models;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Tests.Models;

/// <summary>A custom model: a flight delay-risk scorer over an FP32 "distance" and an INT64 "hour", giving an FP32 "risk" per row.</summary>
internal sealed class DelayRiskModel : IInferenceModel
{
    private readonly float _peakBonus;
    private readonly TaskCompletionSource? _loadGate;
    private volatile bool _ready;
    private int _loads;
    private int _calls;

    public DelayRiskModel(string name = "delay-risk", string? version = "1", float peakBonus = 0.3f, TaskCompletionSource? loadGate = null)
    {
        Name = name;
        Version = version;
        _peakBonus = peakBonus;
        _loadGate = loadGate;
        Metadata = new ModelMetadata
        {
            Name = name,
            Versions = version is null ? [] : [version],
            Platform = "custom",
            Inputs = [new TensorMetadata("distance", TensorDataType.Fp32, -1), new TensorMetadata("hour", TensorDataType.Int64, -1)],
            Outputs = [new TensorMetadata("risk", TensorDataType.Fp32, -1)],
        };
    }

    public string Name { get; }

    public string? Version { get; }

    public ModelMetadata Metadata { get; }

    public bool IsReady => _ready;

    public int Loads => Volatile.Read(ref _loads);

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>When set, InferAsync throws it (a bug in the model).</summary>
    public Exception? Failure { get; set; }

    /// <summary>When true, the response does not carry the request's id (the server must echo it anyway).</summary>
    public bool DropsId { get; set; }

    public async ValueTask LoadAsync(CancellationToken cancellationToken)
    {
        if (_ready)
            return;
        Interlocked.Increment(ref _loads);
        if (_loadGate is not null)
            await _loadGate.Task.WaitAsync(cancellationToken);
        _ready = true;
    }

    public ValueTask<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        if (Failure is { } failure)
            throw failure;
        var (distance, hour) = Inputs(request);
        var d = distance.Data.AsSingles();
        var h = hour.Data.AsInt64();
        var risk = new float[d.Length];
        for (var i = 0; i < risk.Length; i++)
            risk[i] = Score(d[i], h[i]);
        var outputs = new[] { InferenceTensor.Singles("risk", risk) };
        var response = DropsId
            ? new InferenceResponse { ModelName = Name, ModelVersion = Version, Outputs = outputs }
            : InferenceResponse.For(request, Name, Version, outputs);
        return ValueTask.FromResult(response);
    }

    /// <summary>The FP32 'distance' and INT64 'hour' inputs of the same length, or a 400 naming what is wrong.</summary>
    public (InferenceTensor Distance, InferenceTensor Hour) Inputs(InferenceRequest request)
    {
        if (!request.TryGetInput("distance", out var distance) || distance.DataType != TensorDataType.Fp32)
            throw new ServingException(400, $"The model '{Name}' needs an FP32 input 'distance'.");
        if (!request.TryGetInput("hour", out var hour) || hour.DataType != TensorDataType.Int64)
            throw new ServingException(400, $"The model '{Name}' needs an INT64 input 'hour'.");
        if (distance.Data.Length != hour.Data.Length)
            throw new ServingException(400, $"The model '{Name}' needs as many hours ({hour.Data.Length}) as distances ({distance.Data.Length}).");
        return (distance, hour);
    }

    public float Score(float distance, long hour) => Math.Min(1f, distance / 5000f + (hour is >= 17 and <= 20 ? _peakBonus : 0f));

    public static InferenceRequest Request(string? id, float[] distances, long[] hours) => new()
    {
        Id = id,
        Inputs = [InferenceTensor.Singles("distance", distances), InferenceTensor.Int64("hour", hours)],
    };
}
