using MLOps.Registry;

namespace MLOps.Serving.Models;

/// <summary>Raised by <see cref="ModelHandle{TInput, TOutput}.VersionChanged"/> once new requests go to another version.</summary>
public sealed class ModelVersionChangedEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    /// <param name="previous">The version served before.</param>
    /// <param name="current">The version served now.</param>
    public ModelVersionChangedEventArgs(ModelVersionRecord previous, ModelVersionRecord current)
    {
        Previous = previous ?? throw new ArgumentNullException(nameof(previous));
        Current = current ?? throw new ArgumentNullException(nameof(current));
    }

    /// <summary>The version served before (calls in flight finish on it).</summary>
    public ModelVersionRecord Previous { get; }

    /// <summary>The version served now.</summary>
    public ModelVersionRecord Current { get; }
}

/// <summary>Raised by <see cref="ModelHandle{TInput, TOutput}.UpgradeFailed"/> when a refresh could not resolve or load
/// the version its URI points to; the handle keeps serving its current version.</summary>
public sealed class ModelUpgradeFailedEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    /// <param name="uri">The URI of the handle.</param>
    /// <param name="current">The version still served.</param>
    /// <param name="target">The version the URI points to, or <see langword="null"/> when it could not be resolved.</param>
    /// <param name="error">Why the upgrade failed.</param>
    public ModelUpgradeFailedEventArgs(string uri, ModelVersionRecord current, ModelVersionRecord? target, Exception error)
    {
        Uri = uri ?? throw new ArgumentNullException(nameof(uri));
        Current = current ?? throw new ArgumentNullException(nameof(current));
        Target = target;
        Error = error ?? throw new ArgumentNullException(nameof(error));
    }

    /// <summary>The URI of the handle.</summary>
    public string Uri { get; }

    /// <summary>The version still served.</summary>
    public ModelVersionRecord Current { get; }

    /// <summary>The version the URI points to, or <see langword="null"/> when it could not be resolved.</summary>
    public ModelVersionRecord? Target { get; }

    /// <summary>Why the upgrade failed.</summary>
    public Exception Error { get; }
}
