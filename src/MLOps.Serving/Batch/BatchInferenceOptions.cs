using MLOps.Artifacts;
using MLOps.Registry;

namespace MLOps.Serving.Batch;

/// <summary>Options of <see cref="BatchInference.RunAsync"/>. Init-only, like every options type passed in code.</summary>
public sealed class BatchInferenceOptions
{
    /// <summary>The name of the tracked run; not blank. <value>Defaults to <c>batch-inference</c>.</value></summary>
    public string RunName { get; init; } = "batch-inference";

    /// <summary>The artifact key of the predictions dataset the run writes; not blank. <value>Defaults to <c>predictions</c>.</value></summary>
    public string OutputKey { get; init; } = "predictions";

    /// <summary>The largest number of rows read, scored and held in memory at a time (one row group of the predictions
    /// per input batch; positive). Arrow files keep their own batches.
    /// <value>Defaults to <see cref="DatasetReader.DefaultBatchSize"/>.</value></summary>
    public int BatchSize { get; init; } = DatasetReader.DefaultBatchSize;

    /// <summary>The input columns copied to the predictions, in this order, before the model's output columns; an empty
    /// list keeps none. <value>Defaults to <see langword="null"/>: every input column.</value></summary>
    public IReadOnlyList<string>? KeepColumns { get; init; }

    /// <summary>Lists every problem of these options at once; each names the property, the value and the fix.
    /// <see cref="BatchInference.RunAsync"/> throws one <see cref="ValidationException"/> listing them (a kept column the
    /// dataset lacks is found when the dataset is read).</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(RunName))
            errors.Add($"BatchInferenceOptions.RunName is '{RunName}'; use a non-empty run name (default 'batch-inference').");
        if (string.IsNullOrWhiteSpace(OutputKey))
            errors.Add($"BatchInferenceOptions.OutputKey is '{OutputKey}'; use a non-empty artifact key (default 'predictions').");
        if (BatchSize <= 0)
            errors.Add($"BatchInferenceOptions.BatchSize is {BatchSize}; use a positive number of rows (default {DatasetReader.DefaultBatchSize}).");
        if (KeepColumns is { } keep)
            for (int i = 0; i < keep.Count; i++)
                if (string.IsNullOrWhiteSpace(keep[i]))
                    errors.Add($"BatchInferenceOptions.KeepColumns[{i}] is '{keep[i]}'; name an input column, or remove the entry.");
        return errors;
    }
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
