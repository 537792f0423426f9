using System.Text;

namespace MLOps.Serving.Hosting;

/// <summary>The answer of <see cref="InferenceServer.SendAsync"/>: an HTTP status code and a JSON body, as the HTTP host sends them.</summary>
public sealed class InferenceHttpResponse
{
    /// <summary>Creates the response.</summary>
    /// <param name="statusCode">The HTTP status code.</param>
    /// <param name="body">The UTF-8 JSON body.</param>
    public InferenceHttpResponse(int statusCode, ReadOnlyMemory<byte> body)
    {
        StatusCode = statusCode;
        Body = body;
    }

    /// <summary>The HTTP status code (200, 400, 404, 405, 413, 500 or 503).</summary>
    public int StatusCode { get; }

    /// <summary>The UTF-8 JSON body; errors are <c>{"error": "..."}</c>.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The content type of <see cref="Body"/>: <c>application/json</c>.</summary>
    public const string ContentType = "application/json";

    /// <summary>The body as a string.</summary>
    public string Text => Encoding.UTF8.GetString(Body.Span);

    /// <inheritdoc />
    public override string ToString() => $"{StatusCode} {Text}";
}
