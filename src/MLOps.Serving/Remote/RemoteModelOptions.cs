namespace MLOps.Serving.Remote;

/// <summary>Which model a <see cref="RemoteModel"/> calls on the remote Open Inference Protocol server, and how large an answer it accepts.</summary>
public sealed class RemoteModelOptions
{
    /// <summary>The default of <see cref="MaxResponseBytes"/>: 64 MiB.</summary>
    public const long DefaultMaxResponseBytes = 64L * 1024 * 1024;

    /// <summary>The model's name on the remote server (<c>v2/models/{RemoteName}</c>); not blank when set.
    /// <value>Defaults to <see langword="null"/>: the local name.</value></summary>
    public string? RemoteName { get; init; }

    /// <summary>
    /// The remote version to call (<c>v2/models/{name}/versions/{RemoteVersion}</c>); not blank when set.
    /// <value>Defaults to <see langword="null"/>: the version the remote server chooses.</value>
    /// </summary>
    public string? RemoteVersion { get; init; }

    /// <summary>
    /// The largest answer body read from the remote server, in bytes (1 to <see cref="Array.MaxLength"/> - 1); a larger
    /// answer is a <see cref="ServingException"/> with status 502, read no further than the limit.
    /// <value>Defaults to <see cref="DefaultMaxResponseBytes"/> (64 MiB).</value>
    /// </summary>
    public long MaxResponseBytes { get; init; } = DefaultMaxResponseBytes;

    /// <summary>Lists every problem of these options at once; each names the property, the value and the fix.
    /// <see cref="RemoteModel"/> throws one <see cref="ValidationException"/> listing them.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (RemoteName is { } remoteName && string.IsNullOrWhiteSpace(remoteName))
            errors.Add($"RemoteModelOptions.RemoteName is blank ('{remoteName}'); leave it null to call the remote model of the local name.");
        if (RemoteVersion is { } remoteVersion && string.IsNullOrWhiteSpace(remoteVersion))
            errors.Add($"RemoteModelOptions.RemoteVersion is blank ('{remoteVersion}'); leave it null for the remote server's default version.");
        if (MaxResponseBytes <= 0 || MaxResponseBytes >= Array.MaxLength)
            errors.Add($"RemoteModelOptions.MaxResponseBytes is {MaxResponseBytes}; use 1 to {Array.MaxLength - 1} bytes (default {DefaultMaxResponseBytes}).");
        return errors;
    }
}
