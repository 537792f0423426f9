using System.Collections.Concurrent;
using Microsoft.ML;

namespace MLOps.Registry;

public sealed partial class ModelRegistry
{
    private readonly ConcurrentDictionary<LoadKey, Lazy<Task<LoadedEntry>>> _loaded = new();

    /// <summary>Loads an ML.NET model version by alias (<c>production</c>), number (<c>3</c>), <c>latest</c>, or model URI
    /// (<c>store://models/flights/delay-model:production</c>). The content is checked against its SHA-256 on the first load;
    /// loaded transformers are cached per version, so loading the same version again is cheap.</summary>
    /// <param name="nameOrUri">The model name, or a model URI.</param>
    /// <param name="reference">An alias, a version number or <c>latest</c>; <see langword="null"/> means <c>latest</c> (or the URI's reference).</param>
    /// <param name="cancellationToken">Cancels the wait (a load in progress completes and stays cached).</param>
    /// <returns>The loaded model.</returns>
    /// <exception cref="NotFoundException">The model, version or alias does not exist.</exception>
    /// <exception cref="ValidationException">The version is not an ML.NET (<c>mlnet</c>) model, or the URI is not a model URI of this project.</exception>
    /// <exception cref="ArtifactException">The model file is missing, corrupted or unreadable by ML.NET.</exception>
    public async Task<LoadedModel> LoadAsync(string nameOrUri, string? reference = null, CancellationToken cancellationToken = default)
    {
        var version = await ResolveAsync(nameOrUri, reference, cancellationToken).ConfigureAwait(false);
        return await LoadAsync(version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Loads an ML.NET model version already resolved (e.g. with <see cref="ResolveAsync"/> or <see cref="GetVersionAsync"/>).</summary>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">Cancels the wait (a load in progress completes and stays cached).</param>
    /// <returns>The loaded model.</returns>
    /// <exception cref="ValidationException">The version is not an ML.NET (<c>mlnet</c>) model or belongs to another project.</exception>
    /// <exception cref="ArtifactException">The model file is missing, corrupted or unreadable by ML.NET.</exception>
    public async Task<LoadedModel> LoadAsync(ModelVersionRecord version, CancellationToken cancellationToken = default)
    {
        OfThisProject(version);
        if (version.Framework != MLNetFramework)
            throw new ValidationException($"Version {version.Version} of model '{version.Name}' is a '{version.Framework}' model; LoadAsync loads ML.NET ('{MLNetFramework}') models only. " +
                $"Read its file '{version.FileName}' with project.Models.OpenRead(version) and load it with the {version.Framework} runtime.");
        var key = new LoadKey(version.Name, version.Version, version.ContentHash);
        var lazy = _loaded.GetOrAdd(key, static (_, state) => new Lazy<Task<LoadedEntry>>(() => state.Self.LoadEntryAsync(state.Version)), (Self: this, Version: version));
        var task = lazy.Value;
        LoadedEntry entry;
        try
        {
            entry = await task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch when (task.IsFaulted || task.IsCanceled)
        {
            _loaded.TryRemove(KeyValuePair.Create(key, lazy)); // let the next call try again (e.g. once the content is restored)
            throw;
        }
        return new LoadedModel(version, entry.Transformer, entry.InputSchema, entry.Context);
    }

    /// <summary>Loads an ML.NET model version and creates a thread-safe predictor for typed single predictions, backed by a
    /// pool of prediction engines. Create it once and share it (e.g. as a singleton).</summary>
    /// <typeparam name="TInput">The input row type; its fields and properties (or <c>[ColumnName]</c> attributes) must
    /// name the input columns the model reads.</typeparam>
    /// <typeparam name="TOutput">The output row type, e.g. a class with <c>PredictedLabel</c>, <c>Score</c> and <c>Probability</c>.</typeparam>
    /// <param name="nameOrUri">The model name, or a model URI.</param>
    /// <param name="reference">An alias, a version number or <c>latest</c>; <see langword="null"/> means <c>latest</c> (or the URI's reference).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The predictor; dispose it to release its prediction engines.</returns>
    /// <exception cref="NotFoundException">The model, version or alias does not exist.</exception>
    /// <exception cref="ValidationException">The version is not an ML.NET model, <typeparamref name="TInput"/> lacks input
    /// columns the model needs, or <typeparamref name="TOutput"/> names columns the model does not produce.</exception>
    /// <exception cref="ArtifactException">The model file is missing, corrupted or unreadable by ML.NET.</exception>
    public async Task<ModelPredictor<TInput, TOutput>> CreatePredictorAsync<TInput, TOutput>(string nameOrUri, string? reference = null, CancellationToken cancellationToken = default)
        where TInput : class
        where TOutput : class, new()
    {
        var loaded = await LoadAsync(nameOrUri, reference, cancellationToken).ConfigureAwait(false);
        return loaded.CreatePredictor<TInput, TOutput>();
    }

    private async Task<LoadedEntry> LoadEntryAsync(ModelVersionRecord version)
    {
        var what = $"The model file of version {version.Version} of model '{version.Name}' ({version.ContentHash})";
        if (!_project.Content.Exists(version.ContentHash))
            throw new ArtifactException($"{what} is missing from the artifact root '{_project.ArtifactRoot}'. The file was deleted or the artifact root points to another folder (check MLOPS_HOME / UseArtifactsAt); register the model again if it is lost.");
        if (!await _project.Content.VerifyAsync(version.ContentHash, CancellationToken.None).ConfigureAwait(false))
            throw new ArtifactException($"{what} is corrupted: its content no longer matches its SHA-256. Restore the file under '{_project.ArtifactRoot}' or register the model again.");
        var context = new MLContext();
        ITransformer transformer;
        DataViewSchema? inputSchema;
        await using (var stream = _project.Content.OpenRead(version.ContentHash))
        {
            try
            {
                transformer = context.Model.Load(stream, out inputSchema);
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException or ArgumentException or NotSupportedException or IOException)
            {
                throw new ArtifactException($"{what} could not be loaded by ML.NET: {e.Message} When it names a missing component, reference the ML.NET package that trained the model (e.g. Microsoft.ML.FastTree).", e);
            }
        }
        return new LoadedEntry(context, transformer, inputSchema ?? new DataViewSchema.Builder().ToSchema());
    }

    private partial ValueTask DisposeLoadedAsync()
    {
        foreach (var key in _loaded.Keys)
        {
            if (_loaded.TryRemove(key, out var lazy) && lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
                (lazy.Value.Result.Transformer as IDisposable)?.Dispose();
        }
        return ValueTask.CompletedTask;
    }

    private readonly record struct LoadKey(string Name, int Version, string ContentHash);

    private sealed record LoadedEntry(MLContext Context, ITransformer Transformer, DataViewSchema InputSchema);
}
