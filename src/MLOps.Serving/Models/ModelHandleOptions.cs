namespace MLOps.Serving.Models;

/// <summary>Options of a <see cref="ModelHandle{TInput, TOutput}"/> (and of <see cref="MLNetModel{TInput, TOutput}"/>, which
/// opens one when it loads). Init-only, like every options type passed in code: they cannot change under the model.</summary>
public sealed class ModelHandleOptions
{
    /// <summary>How often the handle resolves its URI again and upgrades to the version it points to, on the project's
    /// <see cref="MLOpsProject.TimeProvider"/> (positive when set). <value>Defaults to <see langword="null"/>: no polling,
    /// call <see cref="ModelHandle{TInput, TOutput}.RefreshAsync"/> yourself.</value></summary>
    public TimeSpan? PollInterval { get; init; }

    /// <summary>Lists every problem of these options at once; each names the property, the value and the fix.
    /// <see cref="ModelHandle.OpenAsync"/> and <see cref="MLNetModel.Create"/> throw one <see cref="ValidationException"/> listing them.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
        => PollInterval is { } interval && interval <= TimeSpan.Zero
            ? [$"ModelHandleOptions.PollInterval is {interval}; use a positive interval, such as 00:00:30, or null for no polling (the default)."]
            : [];

    /// <summary>Throws one <see cref="ValidationException"/> listing every problem of <paramref name="options"/>, if any.</summary>
    internal static void ThrowIfInvalid(ModelHandleOptions? options, string uri)
    {
        var errors = options?.Validate() ?? [];
        if (errors.Count > 0)
            throw new ValidationException($"The ModelHandleOptions of the model '{uri}' are invalid", errors);
    }
}
