namespace MLOps.Runs;

/// <summary>How a run starts: its parameters, labels and parent.</summary>
public sealed record RunOptions
{
    /// <summary>Parameters logged when the run starts (stored in invariant string form).</summary>
    public IReadOnlyDictionary<string, object> Parameters { get; init; } = new Dictionary<string, object>();

    /// <summary>Labels set when the run starts.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>The parent of a nested run.</summary>
    public string? ParentRunId { get; init; }

    /// <summary>The iteration number of a hyper-parameter child run.</summary>
    public int? Iteration { get; init; }
}

/// <summary>A run handler failed; the run is stored as failed and <see cref="Run"/> holds its record.</summary>
public class RunFailedException : MLOpsException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="run">The failed run.</param>
    /// <param name="innerException">What the handler threw.</param>
    public RunFailedException(RunRecord run, Exception innerException)
        : base($"Run '{run?.Name}' ({run?.Id}) failed: {innerException?.Message}", innerException) => Run = run!;

    /// <summary>Creates the exception with no message.</summary>
    public RunFailedException() => Run = null!;

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    public RunFailedException(string message) : base(message) => Run = null!;

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public RunFailedException(string message, Exception? innerException) : base(message, innerException) => Run = null!;

    /// <summary>The failed run as stored.</summary>
    public RunRecord Run { get; }
}

/// <summary>The outcome of a handler run: the stored run and what the handler returned.</summary>
/// <typeparam name="T">The handler's result type.</typeparam>
/// <param name="Run">The stored run.</param>
/// <param name="Value">What the handler returned.</param>
public sealed record RunOutcome<T>(RunRecord Run, T Value);
