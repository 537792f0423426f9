namespace MLOps.Serving.Models;

/// <summary>Options of a <see cref="ModelHandle{TInput, TOutput}"/>.</summary>
public sealed class ModelHandleOptions
{
    /// <summary>How often the handle resolves its URI again and upgrades to the version it points to, on the project's
    /// <see cref="MLOpsProject.TimeProvider"/>; <see langword="null"/> (the default) means no polling: call
    /// <see cref="ModelHandle{TInput, TOutput}.RefreshAsync"/> yourself.</summary>
    public TimeSpan? PollInterval { get; set; }
}
