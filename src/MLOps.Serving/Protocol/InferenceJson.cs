namespace MLOps.Serving.Protocol;

/// <summary>
/// Reads and writes the JSON bodies of the Open Inference Protocol (KServe V2 REST): for clients, tests and notebooks
/// that hold a body as bytes. Every problem in a body throws <see cref="ServingException"/> with status 400 (or 413 for
/// a body over the size limit) and a message naming the tensor, the index or field, and the rule. The servers and
/// <see cref="Remote.RemoteModel"/> use the same readers and writers.
/// </summary>
public static class InferenceJson
{
    /// <summary>Parses an inference request: V2 tensors, or MLRun-style rows (a list of lists, or a list of objects keyed by feature name).</summary>
    /// <param name="utf8">The request body in UTF-8.</param>
    /// <returns>The request.</returns>
    /// <exception cref="ServingException">Status 400: the body is not valid JSON or breaks a rule of the protocol.</exception>
    public static InferenceRequest ParseRequest(ReadOnlySpan<byte> utf8) => RequestJson.Parse(utf8);

    /// <summary>Reads a request body from a stream (up to <paramref name="maxBytes"/>) and parses it.</summary>
    /// <param name="body">The request body.</param>
    /// <param name="maxBytes">The largest body accepted, in bytes.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The request.</returns>
    /// <exception cref="ServingException">Status 413 when the body is larger than <paramref name="maxBytes"/>; status 400 when it is invalid.</exception>
    public static ValueTask<InferenceRequest> ParseRequestAsync(Stream body, long maxBytes, CancellationToken cancellationToken = default)
        => RequestJson.ParseAsync(body, maxBytes, cancellationToken);

    /// <summary>Serializes an inference request to UTF-8 JSON; its <see cref="InferenceRequest.Rows"/> are written as rows when present.</summary>
    /// <param name="request">The request.</param>
    /// <returns>The UTF-8 JSON.</returns>
    public static byte[] SerializeRequest(InferenceRequest request) => JsonBody.Serialize(request, RequestJson.Write);

    /// <summary>Serializes an inference response to UTF-8 JSON: <c>{"model_name", "model_version", "id", "parameters", "outputs"}</c>.</summary>
    /// <param name="response">The response.</param>
    /// <returns>The UTF-8 JSON.</returns>
    /// <exception cref="ServingException">Status 500: an FP output holds NaN or an infinity, which JSON cannot carry.</exception>
    public static byte[] SerializeResponse(InferenceResponse response) => JsonBody.Serialize(response, ResponseJson.Write);

    /// <summary>Parses an inference response.</summary>
    /// <param name="utf8">The response body in UTF-8.</param>
    /// <returns>The response.</returns>
    /// <exception cref="ServingException">Status 400: the body is not valid JSON or breaks a rule of the protocol.</exception>
    public static InferenceResponse ParseResponse(ReadOnlySpan<byte> utf8) => ResponseJson.Parse(utf8);

    /// <summary>Serializes the server metadata to UTF-8 JSON: <c>{"name", "version", "extensions"}</c>.</summary>
    /// <param name="metadata">The metadata.</param>
    /// <returns>The UTF-8 JSON.</returns>
    public static byte[] SerializeServerMetadata(ServerMetadata metadata) => JsonBody.Serialize(metadata, MetadataJson.WriteServerMetadata);

    /// <summary>Parses server metadata.</summary>
    /// <param name="utf8">The body in UTF-8.</param>
    /// <returns>The metadata.</returns>
    /// <exception cref="ServingException">Status 400: the body is not valid server metadata.</exception>
    public static ServerMetadata ParseServerMetadata(ReadOnlySpan<byte> utf8) => MetadataJson.ParseServerMetadata(utf8);

    /// <summary>Serializes the model metadata to UTF-8 JSON: <c>{"name", "versions", "platform", "inputs", "outputs"}</c>.</summary>
    /// <param name="metadata">The metadata.</param>
    /// <returns>The UTF-8 JSON.</returns>
    public static byte[] SerializeModelMetadata(ModelMetadata metadata) => JsonBody.Serialize(metadata, MetadataJson.WriteModelMetadata);

    /// <summary>Parses model metadata.</summary>
    /// <param name="utf8">The body in UTF-8.</param>
    /// <returns>The metadata.</returns>
    /// <exception cref="ServingException">Status 400: the body is not valid model metadata.</exception>
    public static ModelMetadata ParseModelMetadata(ReadOnlySpan<byte> utf8) => MetadataJson.ParseModelMetadata(utf8);

    /// <summary>Serializes the error body <c>{"error": "..."}</c> to UTF-8 JSON.</summary>
    /// <param name="error">The error.</param>
    /// <returns>The UTF-8 JSON.</returns>
    public static byte[] SerializeError(ErrorResponse error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return JsonBody.Serialize(error.Error, ErrorJson.Write);
    }

    /// <summary>Parses the error body <c>{"error": "..."}</c>.</summary>
    /// <param name="utf8">The body in UTF-8.</param>
    /// <returns>The error.</returns>
    /// <exception cref="ServingException">Status 400: the body is not an error body.</exception>
    public static ErrorResponse ParseError(ReadOnlySpan<byte> utf8) => ErrorJson.Parse(utf8);
}
