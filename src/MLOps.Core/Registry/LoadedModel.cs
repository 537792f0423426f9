using System.Globalization;
using Microsoft.ML;

namespace MLOps.Registry;

/// <summary>An ML.NET model version loaded from the registry with <see cref="ModelRegistry.LoadAsync(string, string?, CancellationToken)"/>:
/// the version record, the transformer, the input schema it was saved with and the <see cref="MLContext"/> that loaded it.</summary>
/// <remarks>Thread-safe: <see cref="ITransformer.Transform"/> may be called from several threads. For single predictions
/// use <see cref="CreatePredictor{TInput, TOutput}"/> (a <c>PredictionEngine</c> is not thread-safe). The transformer is
/// shared by every load of the same version until the registry is disposed.</remarks>
public sealed class LoadedModel
{
    internal LoadedModel(ModelVersionRecord version, ITransformer transformer, DataViewSchema inputSchema, MLContext context)
    {
        Version = version;
        Transformer = transformer;
        InputSchema = inputSchema;
        Context = context;
    }

    /// <summary>The version that was loaded (with its aliases at the time of loading).</summary>
    public ModelVersionRecord Version { get; }

    /// <summary>The model.</summary>
    public ITransformer Transformer { get; }

    /// <summary>The input schema the model was saved with.</summary>
    public DataViewSchema InputSchema { get; }

    /// <summary>The ML.NET context that loaded the model; use it to load data and create prediction engines.</summary>
    public MLContext Context { get; }

    /// <summary>Creates a thread-safe predictor for typed single predictions (backed by a pool of prediction engines).</summary>
    /// <typeparam name="TInput">The input row type; its fields and properties (or <c>[ColumnName]</c> attributes) must
    /// name the input columns the model reads.</typeparam>
    /// <typeparam name="TOutput">The output row type, e.g. a class with <c>PredictedLabel</c>, <c>Score</c> and <c>Probability</c>.</typeparam>
    /// <returns>The predictor; dispose it to release its prediction engines.</returns>
    /// <exception cref="ValidationException"><typeparamref name="TInput"/> lacks input columns the model needs, or
    /// <typeparamref name="TOutput"/> names columns the model does not produce; every problem is listed.</exception>
    public ModelPredictor<TInput, TOutput> CreatePredictor<TInput, TOutput>()
        where TInput : class
        where TOutput : class, new()
        => new(this);

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Version.Uri} ({Version.Framework})");
}
