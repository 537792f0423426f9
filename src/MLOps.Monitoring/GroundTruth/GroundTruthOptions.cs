namespace MLOps.Monitoring.GroundTruth;

/// <summary>What <see cref="MonitoringCatalog.LogGroundTruthAsync(string, Apache.Arrow.RecordBatch, GroundTruthOptions?, CancellationToken)"/>
/// does with labels whose request id (and row) matches no captured row of the endpoint.</summary>
public enum UnmatchedGroundTruth
{
    /// <summary>Reject the whole call with an <see cref="UnmatchedGroundTruthException"/> naming the ids; nothing is stored (default).</summary>
    Reject,

    /// <summary>Store every label and report the unmatched ones (<see cref="GroundTruthLogResult.Unmatched"/>, warning event 3301):
    /// for requests still in the capture buffer, or captured later; they are joined whenever their request's window is analysed.</summary>
    Store,
}

/// <summary>Options of <see cref="MonitoringCatalog.LogGroundTruthAsync(string, Apache.Arrow.RecordBatch, GroundTruthOptions?, CancellationToken)"/>.</summary>
public sealed record GroundTruthOptions
{
    /// <summary>What to do with labels that match no captured row (default <see cref="UnmatchedGroundTruth.Reject"/>).</summary>
    public UnmatchedGroundTruth Unmatched { get; init; } = UnmatchedGroundTruth.Reject;

    /// <summary>The earliest capture time searched for the labelled requests (<see langword="null"/>, default: all the endpoint's
    /// captured data). Set it to bound the search when labels arrive for recent requests only; a label of a request captured
    /// before it counts as unmatched.</summary>
    public DateTimeOffset? CapturedFrom { get; init; }

    /// <summary>Checks the options.</summary>
    /// <exception cref="ValidationException"><see cref="Unmatched"/> is not a defined value.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(Unmatched))
            throw new ValidationException($"GroundTruthOptions.Unmatched is {(int)Unmatched}, not a defined value; use UnmatchedGroundTruth.Reject or UnmatchedGroundTruth.Store.");
    }
}

/// <summary>A labelled row: a request id and the row's index within the request (0 for a request of one row).</summary>
/// <param name="RequestId">The request id (<see cref="Capture.CaptureColumns.RequestId"/>).</param>
/// <param name="Row">The row's index within the request (<see cref="Capture.CaptureColumns.Row"/>).</param>
public readonly record struct GroundTruthKey(string RequestId, int Row)
{
    /// <inheritdoc />
    public override string ToString() => Row == 0 ? RequestId : $"{RequestId}#{Row}";
}

/// <summary>What a ground-truth log stored.</summary>
/// <param name="EndpointId">The endpoint's id.</param>
/// <param name="Rows">The number of labelled rows stored (0 when nothing was stored).</param>
/// <param name="Matched">The rows whose request id and row match a captured row.</param>
/// <param name="Unmatched">The rows that match no captured row (stored only with <see cref="UnmatchedGroundTruth.Store"/>).</param>
/// <param name="Path">The Parquet file written.</param>
public sealed record GroundTruthLogResult(string EndpointId, int Rows, int Matched, IReadOnlyList<GroundTruthKey> Unmatched, string Path);

/// <summary>Ground truth was logged for request ids (or rows) that the endpoint never captured, and
/// <see cref="GroundTruthOptions.Unmatched"/> is <see cref="UnmatchedGroundTruth.Reject"/>: nothing was stored.</summary>
public class UnmatchedGroundTruthException : ValidationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="endpointId">The endpoint's id.</param>
    /// <param name="unmatched">Every unmatched key.</param>
    /// <param name="message">The message.</param>
    public UnmatchedGroundTruthException(string endpointId, IReadOnlyList<GroundTruthKey> unmatched, string message) : base(message)
    {
        EndpointId = endpointId;
        Unmatched = unmatched;
    }

    /// <summary>Creates the exception.</summary>
    public UnmatchedGroundTruthException() => (EndpointId, Unmatched) = ("", []);

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public UnmatchedGroundTruthException(string message) : base(message) => (EndpointId, Unmatched) = ("", []);

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public UnmatchedGroundTruthException(string message, Exception? innerException) : base(message, innerException) => (EndpointId, Unmatched) = ("", []);

    /// <summary>The endpoint's id.</summary>
    public string EndpointId { get; }

    /// <summary>Every label key that matches no captured row.</summary>
    public IReadOnlyList<GroundTruthKey> Unmatched { get; }
}
