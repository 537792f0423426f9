namespace MLOps.Runs;

/// <summary>How a run starts: its parameters, labels and parent.</summary>
public sealed record RunOptions
{
    /// <summary>Parameters logged when the run starts (stored in invariant string form). <value>Defaults to none.</value></summary>
    public IReadOnlyDictionary<string, object> Parameters { get; init; } = new Dictionary<string, object>();

    /// <summary>Labels set when the run starts (keys follow the key rules). <value>Defaults to none.</value></summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>The parent of a nested run (an existing run id). <value>Defaults to <see langword="null"/>: a top-level run.</value></summary>
    public string? ParentRunId { get; init; }

    /// <summary>The iteration number of a hyper-parameter child run (0 or more).
    /// <value>Defaults to <see langword="null"/>: not an iteration.</value></summary>
    public int? Iteration { get; init; }

    /// <summary>Lists every problem of these options that can be seen without the store (whether the parent run exists
    /// is checked when the run starts); each names the property, the value and the fix.
    /// <see cref="RunCatalog.StartAsync(string, RunOptions?, CancellationToken)"/> throws one <see cref="ValidationException"/> listing them.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Parameters is null)
            errors.Add("RunOptions.Parameters is null; use an empty dictionary (the default) for no parameters.");
        if (Labels is null)
            errors.Add("RunOptions.Labels is null; use an empty dictionary (the default) for no labels.");
        else
            foreach (var key in Labels.Keys)
                Collect(errors, "RunOptions.Labels", () => Names.Key(key, "label key"));
        if (ParentRunId is not null)
            Collect(errors, "RunOptions.ParentRunId", () => Names.RunId(ParentRunId, "parent run id"));
        if (Iteration is < 0)
            errors.Add($"RunOptions.Iteration is {Iteration}; use 0 or more, or null for a run that is not an iteration.");
        return errors;
    }

    private static void Collect(List<string> errors, string property, Action check)
    {
        try { check(); }
        catch (ValidationException e) { errors.Add($"{property}: {e.Message}"); }
    }
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
