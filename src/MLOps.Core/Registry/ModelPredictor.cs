using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLOps.Registry.Internal;

namespace MLOps.Registry;

/// <summary>
/// Typed single and batch predictions with a registered ML.NET model, safe to call from many threads at once: each call
/// borrows a <see cref="PredictionEngine{TSrc, TDst}"/> from a pool (a prediction engine itself is not thread-safe).
/// Create one with <see cref="ModelRegistry.CreatePredictorAsync{TInput, TOutput}"/> and keep it for the lifetime of the
/// application (for example as a singleton).
/// </summary>
/// <typeparam name="TInput">The input row type; its fields and properties (or <c>[ColumnName]</c> attributes) name the model's input columns.</typeparam>
/// <typeparam name="TOutput">The output row type, e.g. a class with <c>PredictedLabel</c>, <c>Score</c> and <c>Probability</c>.</typeparam>
/// <remarks>Thread-safe. Dispose it to release the pooled prediction engines.</remarks>
public sealed class ModelPredictor<TInput, TOutput> : IDisposable
    where TInput : class
    where TOutput : class, new()
{
    private readonly ObjectPool<PredictionEngine<TInput, TOutput>> _pool;
    private int _disposed;

    internal ModelPredictor(LoadedModel model)
    {
        Model = model;
        Validate(model);
        var policy = new EnginePolicy(model);
        PredictionEngine<TInput, TOutput> first;
        try
        {
            first = policy.Create();
        }
        catch (Exception e) when (MLNetSchema.IsSchemaError(e))
        {
            throw new ValidationException($"Version {model.Version.Version} of model '{model.Version.Name}' cannot predict into {typeof(TOutput).Name}: {e.Message} " +
                $"The model's output columns are: {MLNetSchema.Describe(model.Transformer.GetOutputSchema(model.InputSchema))}. Name the fields of {typeof(TOutput).Name} after them or use [ColumnName(\"...\")].", e);
        }
        _pool = new DefaultObjectPoolProvider { MaximumRetained = Environment.ProcessorCount * 2 }.Create(policy);
        _pool.Return(first);
    }

    /// <summary>The model version this predictor uses.</summary>
    public ModelVersionRecord Version => Model.Version;

    /// <summary>The loaded model behind this predictor.</summary>
    public LoadedModel Model { get; }

    /// <summary>Predicts one row.</summary>
    /// <param name="input">The input row.</param>
    /// <returns>A new output row.</returns>
    /// <exception cref="ObjectDisposedException">The predictor was disposed.</exception>
    public TOutput Predict(TInput input)
    {
        Throw.IfNull(input);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var engine = _pool.Get();
        try
        {
            return engine.Predict(input);
        }
        finally
        {
            _pool.Return(engine);
        }
    }

    /// <summary>Predicts many rows, in order, with one pooled prediction engine.</summary>
    /// <param name="inputs">The input rows.</param>
    /// <returns>One new output row per input row, in the same order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="inputs"/> is null.</exception>
    /// <exception cref="ValidationException">A row is null.</exception>
    /// <exception cref="ObjectDisposedException">The predictor was disposed.</exception>
    public IReadOnlyList<TOutput> PredictBatch(IEnumerable<TInput> inputs)
    {
        Throw.IfNull(inputs);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var results = new List<TOutput>(inputs.TryGetNonEnumeratedCount(out var count) ? count : 0);
        var engine = _pool.Get();
        try
        {
            foreach (var input in inputs)
            {
                if (input is null)
                    throw NullRow(results.Count);
                results.Add(engine.Predict(input));
            }
        }
        finally
        {
            _pool.Return(engine);
        }
        return results;
    }

    /// <summary>
    /// Predicts an array of rows, in order, with one pooled prediction engine and no enumerator or list: the batch path of
    /// model servers (a model flavor answering a batch of rows calls this once per request).
    /// </summary>
    /// <param name="inputs">The input rows; none may be null.</param>
    /// <returns>One new output row per input row, in the same order (an empty array for no rows).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="inputs"/> is null.</exception>
    /// <exception cref="ValidationException">A row is null.</exception>
    /// <exception cref="ObjectDisposedException">The predictor was disposed.</exception>
    public TOutput[] PredictArray(TInput[] inputs)
    {
        Throw.IfNull(inputs);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var results = new TOutput[inputs.Length];
        var engine = _pool.Get();
        try
        {
            for (int i = 0; i < inputs.Length; i++)
                results[i] = engine.Predict(inputs[i] ?? throw NullRow(i));
        }
        finally
        {
            _pool.Return(engine);
        }
        return results;
    }

    private static ValidationException NullRow(int index)
        => new($"Row {index} of the batch is null. Pass only non-null input rows (filter out the missing ones first).");

    /// <summary>Releases the pooled prediction engines. The loaded model itself stays cached by the registry.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        (_pool as IDisposable)?.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"Predictor {typeof(TInput).Name} -> {typeof(TOutput).Name} of {Version.Uri}";

    private static void Validate(LoadedModel model)
    {
        var version = model.Version;
        DataViewSchema typeSchema;
        try
        {
            typeSchema = model.Context.Data.LoadFromEnumerable(Array.Empty<TInput>()).Schema;
        }
        catch (Exception e) when (MLNetSchema.IsSchemaError(e))
        {
            throw new ValidationException($"{typeof(TInput).Name} cannot be an input row of model '{version.Name}': {e.Message}", e);
        }
        if (MLNetSchema.Accepts(model.Transformer, typeSchema, out var error)) return;

        // Find the columns the model really needs (a saved input schema often holds the label and other unused columns).
        var typeName = typeof(TInput).Name;
        var present = typeSchema.Where(c => !c.IsHidden).ToDictionary(c => c.Name, c => c.Type, StringComparer.Ordinal);
        var required = model.InputSchema
            .Where(c => !c.IsHidden && !MLNetSchema.Accepts(model.Transformer, MLNetSchema.Without(model.InputSchema, c.Name), out _))
            .ToList();
        var missing = required.Where(c => !present.ContainsKey(c.Name)).ToList();
        var errors = missing
            .Select(c => $"Column '{c.Name}' ({MLNetSchema.TypeName(c.Type)}) is missing: add a field or property named '{c.Name}' to {typeName}, or mark one with [ColumnName(\"{c.Name}\")].")
            .Concat(required
                .Where(c => present.TryGetValue(c.Name, out var t) && !t.Equals(c.Type))
                .Select(c => $"Column '{c.Name}' is {MLNetSchema.TypeName(present[c.Name])} in {typeName} but {MLNetSchema.TypeName(c.Type)} in the model's input schema."))
            .ToList();
        if (errors.Count == 0)
            errors.Add($"{error} The model's input columns are: {MLNetSchema.Describe(model.InputSchema)}.");
        errors.Add($"{typeName} has the columns: {MLNetSchema.Describe(typeSchema)}. Match the names and types (float for Single, string for String, bool for Boolean, float[] with [VectorType(n)] for vectors).");
        var summary = $"{typeName} cannot be an input row of version {version.Version} of model '{version.Name}'"
            + (missing.Count > 0 ? $" (missing columns: {string.Join(", ", missing.Select(c => c.Name))})" : "");
        throw new ValidationException(summary, errors);
    }

    private sealed class EnginePolicy(LoadedModel model) : IPooledObjectPolicy<PredictionEngine<TInput, TOutput>>
    {
        public PredictionEngine<TInput, TOutput> Create()
            => model.Context.Model.CreatePredictionEngine<TInput, TOutput>(model.Transformer, ignoreMissingColumns: false);

        public bool Return(PredictionEngine<TInput, TOutput> obj) => true;
    }
}
