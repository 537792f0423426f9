namespace MLOps.Serving.Remote;

/// <summary>Which model a <see cref="RemoteModel"/> calls on the remote Open Inference Protocol server, and how large an answer it accepts.</summary>
public sealed class RemoteModelOptions
{
    /// <summary>The default of <see cref="MaxResponseBytes"/>: 64 MiB.</summary>
    public const long DefaultMaxResponseBytes = 64L * 1024 * 1024;

    /// <summary>The model's name on the remote server (<c>v2/models/{RemoteName}</c>); <see langword="null"/> (the default) for the local name.</summary>
    public string? RemoteName { get; init; }

    /// <summary>
    /// The remote version to call (<c>v2/models/{name}/versions/{RemoteVersion}</c>); <see langword="null"/> (the default)
    /// for the version the remote server chooses.
    /// </summary>
    public string? RemoteVersion { get; init; }

    /// <summary>
    /// The largest answer body read from the remote server, in bytes (<see cref="DefaultMaxResponseBytes"/> by default); a
    /// larger answer is a <see cref="ServingException"/> with status 502, read no further than the limit.
    /// </summary>
    public long MaxResponseBytes { get; init; } = DefaultMaxResponseBytes;
}
