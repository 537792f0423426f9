namespace MLOps.Serving;

/// <summary>
/// A serving request or graph failed. <see cref="StatusCode"/> is the HTTP status the Open Inference Protocol answers
/// with: 400 bad input, 404 unknown model or version, 413 body too large, 503 not ready or overloaded, 500 model error.
/// </summary>
public class ServingException : MLOpsException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="statusCode">The HTTP status code (400, 404, 413, 503 or 500).</param>
    /// <param name="message">What went wrong and the fix; it is sent to the client, so it never holds a stack trace.</param>
    public ServingException(int statusCode, string message) : base(message) => StatusCode = statusCode;

    /// <summary>Creates the exception with a cause.</summary>
    /// <param name="statusCode">The HTTP status code.</param>
    /// <param name="message">What went wrong and the fix.</param>
    /// <param name="innerException">The cause (kept for logs, never sent to the client).</param>
    public ServingException(int statusCode, string message, Exception innerException) : base(message, innerException) => StatusCode = statusCode;

    /// <summary>Creates a 500 exception with a message.</summary>
    /// <param name="message">The message.</param>
    public ServingException(string message) : this(500, message) { }

    /// <summary>Creates a 500 exception with no message.</summary>
    public ServingException() : this(500, "The serving request failed.") { }

    /// <summary>The HTTP status code of the Open Inference Protocol answer.</summary>
    public int StatusCode { get; }
}
