using Microsoft.ML;

namespace MLOps.Runs;

public sealed partial class RunContext
{
    /// <summary>Logs an ML.NET model produced by this run as the next version of a registered model (1, 2, 3 ... per name),
    /// like MLflow's <c>log_model</c>. The model is saved with <c>MLContext.Model.Save</c> together with its input schema;
    /// the version records the run, the input and output schemas, metrics, parameters, lineage and extra files.
    /// The run gets an output <c>models/&lt;name&gt;</c> pointing at the version's URI and, when
    /// <see cref="ModelLogOptions.TrainingData"/> is given, an input <c>training-data</c>.</summary>
    /// <param name="name">The model name, e.g. <c>delay-model</c>.</param>
    /// <param name="model">The trained model.</param>
    /// <param name="inputSchema">The schema of the data the model was trained on (e.g. <c>trainData.Schema</c>).</param>
    /// <param name="options">Description, tags, metrics, parameters, training data, extra files and aliases. Metrics default
    /// to this run's latest metric values and results, parameters to this run's parameters.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new version, e.g. <c>store://models/flights/delay-model:3</c>.</returns>
    /// <exception cref="InvalidStateException">The run has ended.</exception>
    /// <exception cref="ValidationException">The name, an alias, a URI, a metadata key or an extra file is invalid, or the
    /// model does not accept the input schema; every problem is listed.</exception>
    public async Task<ModelVersionRecord> LogModelAsync(string name, ITransformer model, DataViewSchema inputSchema, ModelLogOptions? options = null, CancellationToken cancellationToken = default)
    {
        Throw.IfNull(model);
        Throw.IfNull(inputSchema);
        EnsureActive();
        await FlushAsync(cancellationToken).ConfigureAwait(false); // so the run's latest metrics are stored and become the defaults
        return await _project.Models.RegisterMLNetAsync(name, model, inputSchema, options ?? new ModelLogOptions(), Id, cancellationToken).ConfigureAwait(false);
    }
}
