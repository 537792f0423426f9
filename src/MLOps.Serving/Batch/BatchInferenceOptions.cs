using MLOps.Artifacts;
using MLOps.Registry;

namespace MLOps.Serving.Batch;

/// <summary>Options of <see cref="BatchInference.RunAsync"/>.</summary>
public sealed class BatchInferenceOptions
{
    /// <summary>The name of the tracked run; <c>batch-inference</c> by default.</summary>
    public string RunName { get; set; } = "batch-inference";

    /// <summary>The artifact key of the predictions dataset the run writes; <c>predictions</c> by default.</summary>
    public string OutputKey { get; set; } = "predictions";

    /// <summary>The largest number of rows read, scored and held in memory at a time (one row group of the predictions
    /// per input batch); <see cref="DatasetReader.DefaultBatchSize"/> by default. Arrow files keep their own batches.</summary>
    public int BatchSize { get; set; } = DatasetReader.DefaultBatchSize;

    /// <summary>The input columns copied to the predictions, in this order, before the model's output columns;
    /// <see langword="null"/> (the default) keeps every input column, an empty list none.</summary>
    public IReadOnlyList<string>? KeepColumns { get; set; }
}

/// <summary>The outcome of a batch inference run.</summary>
/// <param name="RunId">The id of the completed run.</param>
/// <param name="Rows">The number of rows scored.</param>
/// <param name="Output">The predictions dataset artifact the run wrote.</param>
/// <param name="ModelVersion">The model version that scored the rows.</param>
/// <param name="Duration">The time spent reading, scoring and writing.</param>
public sealed record BatchInferenceResult(string RunId, long Rows, ArtifactRecord Output, ModelVersionRecord ModelVersion, TimeSpan Duration)
{
    /// <summary>The URI of the predictions dataset version (<c>store://datasets/...</c>).</summary>
    public string OutputUri => Output.Uri;
}
