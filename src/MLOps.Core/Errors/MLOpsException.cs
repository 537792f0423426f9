namespace MLOps;

/// <summary>
/// The root of every exception that MLOps for .NET throws on purpose. Catch this type to handle any
/// expected failure of the SDK; the message always names the offending value and how to fix it.
/// </summary>
public class MLOpsException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What went wrong, the offending value and the fix.</param>
    public MLOpsException(string message) : base(message) { }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">What went wrong, the offending value and the fix.</param>
    /// <param name="innerException">The underlying cause.</param>
    public MLOpsException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates an exception with no message (prefer the other constructors).</summary>
    public MLOpsException() { }
}

/// <summary>The metadata store failed (I/O, corruption, a lock that could not be taken in time).</summary>
public class MetadataStoreException : MLOpsException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public MetadataStoreException(string message, Exception? innerException = null) : base(message, innerException) { }

    /// <summary>Creates the exception with no message.</summary>
    public MetadataStoreException() { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    public MetadataStoreException(string message) : base(message) { }
}

/// <summary>Something that was asked for by name, id, version, tag or alias does not exist.</summary>
public class NotFoundException : MLOpsException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="entity">The kind of thing that was looked up (run, artifact, model, alias, project).</param>
    /// <param name="key">The name, id or URI that was looked up.</param>
    /// <param name="message">A message that names the value and the fix.</param>
    public NotFoundException(string entity, string key, string message) : base(message)
    {
        Entity = entity;
        Key = key;
    }

    /// <summary>Creates the exception with no message.</summary>
    public NotFoundException() { Entity = ""; Key = ""; }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    public NotFoundException(string message) : base(message) { Entity = ""; Key = ""; }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public NotFoundException(string message, Exception? innerException) : base(message, innerException) { Entity = ""; Key = ""; }

    /// <summary>The kind of thing that was looked up (run, artifact, model, alias, project).</summary>
    public string Entity { get; }

    /// <summary>The name, id or URI that was looked up.</summary>
    public string Key { get; }
}

/// <summary>An argument, a name, a builder or a piece of input data is invalid. <see cref="Errors"/> lists every problem found.</summary>
public class ValidationException : MLOpsException
{
    /// <summary>Creates the exception for one problem.</summary>
    /// <param name="message">The problem: the field, the value and the fix.</param>
    public ValidationException(string message) : base(message) => Errors = [message];

    /// <summary>Creates the exception for several problems found at once.</summary>
    /// <param name="summary">A one-line summary, such as "The hyper-parameter search 'train' is invalid".</param>
    /// <param name="errors">Every problem found.</param>
    public ValidationException(string summary, IReadOnlyList<string> errors)
        : base(errors.Count == 0 ? summary : summary + ":" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => " - " + e)))
        => Errors = errors;

    /// <summary>Creates the exception with no message.</summary>
    public ValidationException() => Errors = [];

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public ValidationException(string message, Exception? innerException) : base(message, innerException) => Errors = [message];

    /// <summary>Every problem found, one message each.</summary>
    public IReadOnlyList<string> Errors { get; }
}

/// <summary>A parameter of a run was logged again with a different value (parameters are immutable).</summary>
public class ParameterConflictException : ValidationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="key">The parameter.</param>
    /// <param name="existingValue">The value already logged.</param>
    /// <param name="newValue">The value that was refused.</param>
    public ParameterConflictException(string runId, string key, string existingValue, string newValue)
        : base($"Parameter '{key}' of run '{runId}' is already '{existingValue}' and cannot be changed to '{newValue}': parameters are immutable. Log the new value under another key, or start a new run.")
    {
        RunId = runId;
        Key = key;
        ExistingValue = existingValue;
        NewValue = newValue;
    }

    /// <summary>Creates the exception with no message.</summary>
    public ParameterConflictException() { RunId = Key = ExistingValue = NewValue = ""; }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    public ParameterConflictException(string message) : base(message) { RunId = Key = ExistingValue = NewValue = ""; }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public ParameterConflictException(string message, Exception? innerException) : base(message, innerException) { RunId = Key = ExistingValue = NewValue = ""; }

    /// <summary>The run.</summary>
    public string RunId { get; }

    /// <summary>The parameter.</summary>
    public string Key { get; }

    /// <summary>The value already logged.</summary>
    public string ExistingValue { get; }

    /// <summary>The value that was refused.</summary>
    public string NewValue { get; }
}

/// <summary>An operation is not allowed in the current state (for example logging to a completed run).</summary>
public class InvalidStateException : MLOpsException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong and the fix.</param>
    public InvalidStateException(string message) : base(message) { }

    /// <summary>Creates the exception with no message.</summary>
    public InvalidStateException() { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public InvalidStateException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>An artifact could not be written, read or verified (missing content, hash mismatch, unreadable dataset).</summary>
public class ArtifactException : MLOpsException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong and the fix.</param>
    public ArtifactException(string message) : base(message) { }

    /// <summary>Creates the exception with no message.</summary>
    public ArtifactException() { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying cause.</param>
    public ArtifactException(string message, Exception? innerException) : base(message, innerException) { }
}
