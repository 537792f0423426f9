using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Remote;

/// <summary>
/// A model served by another Open Inference Protocol (KServe V2 REST) server — another MLOps <c>InferenceServer</c>,
/// KServe, Triton, MLServer — called over HTTP: <see cref="LoadAsync"/> reads the remote model's metadata and readiness,
/// <see cref="InferAsync"/> posts the request to <c>v2/models/{name}[/versions/{version}]/infer</c>. Put it in a graph with
/// <c>new ModelStep(remote)</c>, and wrap that step with <c>WithResilience</c> to retry the remote's failures.
/// </summary>
/// <remarks>
/// <para>
/// The <see cref="HttpClient"/> is injected (from <c>IHttpClientFactory</c>, or one long-lived client) and not disposed by
/// the model; its <see cref="HttpClient.BaseAddress"/> is the remote server's root (a path such as an ingress prefix is
/// kept), read once by the constructor. Authentication and other headers belong to the client (its handlers or
/// <see cref="HttpClient.DefaultRequestHeaders"/>); <see cref="HttpClient.Timeout"/> bounds each call.
/// </para>
/// <para>
/// Errors are <see cref="ServingException"/>s whose message starts with <c>remote model '&lt;name&gt;' at &lt;url&gt;</c>
/// and carries the remote's <c>{"error"}</c> message (its first line, never a stack trace). A remote 400, 413, 422 or other
/// client error keeps its status (the request is wrong: retrying cannot help); a remote 503, 408 or 429 is a 503 with the
/// remote's <c>Retry-After</c> in the message; a remote 401, 403, 404, 405 or 407 (this gateway is misconfigured, not the
/// caller's request), any other 5xx, and a body that is not V2 JSON are a 502; a remote that cannot be reached (connection
/// refused or reset, DNS) is a 503 and one that does not answer within <see cref="HttpClient.Timeout"/> a 504. So a
/// <c>ResilientStep</c> retries the remote's outages and never the caller's bad requests. The cancellation of the request
/// is thrown as an <see cref="OperationCanceledException"/>.
/// </para>
/// <para>
/// Thread-safe; a request costs one serialized body (sent as is) and one pooled buffer for the answer. A
/// <see cref="LoadAsync"/> racing another may read the metadata twice; both results are equal.
/// </para>
/// </remarks>
public sealed class RemoteModel : IInferenceModel
{
    private const int MaxRemoteMessageChars = 500;

    private readonly HttpClient _client;
    private readonly long _maxResponseBytes;
    private readonly Uri _readyUri;
    private readonly Uri _inferUri;
    private readonly ModelMetadata _unloadedMetadata;
    private Loaded? _loaded;

    /// <summary>Creates a model that forwards to a model of a remote Open Inference Protocol server; nothing is called until <see cref="LoadAsync"/>.</summary>
    /// <param name="name">The local name (<c>v2/models/{name}</c> of the local server, the route name in a router graph).</param>
    /// <param name="httpClient">The client; its <see cref="HttpClient.BaseAddress"/> must be the remote server's root, such as <c>http://scoring:8080/</c>.</param>
    /// <param name="options">The remote name and version and the answer size limit; <see langword="null"/> calls the remote model named <paramref name="name"/>.</param>
    /// <exception cref="ValidationException">The client has no usable <see cref="HttpClient.BaseAddress"/>, or an option is invalid
    /// (<see cref="RemoteModelOptions.Validate"/>); the message names the value and the fix.</exception>
    public RemoteModel(string name, HttpClient httpClient, RemoteModelOptions? options = null)
    {
        Throw.IfNullOrWhitespace(name);
        ArgumentNullException.ThrowIfNull(httpClient);
        options ??= new RemoteModelOptions();
        var errors = options.Validate();
        if (errors.Count > 0)
            throw new ValidationException($"The RemoteModelOptions of the remote model '{name}' are invalid", errors);
        Name = name;
        RemoteName = options.RemoteName ?? name;
        RemoteVersion = options.RemoteVersion;
        _client = httpClient;
        _maxResponseBytes = options.MaxResponseBytes;
        string root = ServerRoot(name, httpClient);
        string model = $"{root}/v2/models/{Uri.EscapeDataString(RemoteName)}"
                       + (RemoteVersion is null ? "" : $"/versions/{Uri.EscapeDataString(RemoteVersion)}");
        ModelUri = new Uri(model);
        _readyUri = new Uri(model + "/ready");
        _inferUri = new Uri(model + "/infer");
        _unloadedMetadata = new ModelMetadata { Name = name, Platform = "", Versions = RemoteVersion is null ? [] : [RemoteVersion] };
    }

    /// <summary>The local name.</summary>
    public string Name { get; }

    /// <summary>The model's name on the remote server.</summary>
    public string RemoteName { get; }

    /// <summary>The remote version called, or <see langword="null"/> for the remote server's default.</summary>
    public string? RemoteVersion { get; }

    /// <summary>The remote model's metadata URL, <c>{BaseAddress}/v2/models/{RemoteName}[/versions/{RemoteVersion}]</c>; <c>/ready</c> and <c>/infer</c> follow it.</summary>
    public Uri ModelUri { get; }

    /// <summary>
    /// <see cref="RemoteVersion"/> when set; otherwise, once loaded, the remote model's version when its metadata lists
    /// exactly one, else <see langword="null"/>.
    /// </summary>
    public string? Version => Volatile.Read(ref _loaded)?.Version ?? RemoteVersion;

    /// <summary>Once loaded, the remote model's metadata (inputs, outputs, platform, versions) under the local <see cref="Name"/>; before, the name alone.</summary>
    public ModelMetadata Metadata => Volatile.Read(ref _loaded)?.Metadata ?? _unloadedMetadata;

    /// <summary>Whether <see cref="LoadAsync"/> succeeded: the remote model answered its metadata and was ready then.</summary>
    public bool IsReady => Volatile.Read(ref _loaded) is not null;

    /// <summary>
    /// Reads the remote model's metadata (<c>GET</c> <see cref="ModelUri"/>) and readiness (<c>GET .../ready</c>); does
    /// nothing once loaded.
    /// </summary>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>A task that completes when the model is ready.</returns>
    /// <exception cref="ServingException">Status 503: the remote server cannot be reached, does not serve the model (the message carries its answer), answers something other than V2 metadata, or the model is not ready.</exception>
    public async ValueTask LoadAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _loaded) is not null)
            return;
        ModelMetadata remote;
        using (var answer = await SendForLoadAsync(HttpMethod.Get, ModelUri, cancellationToken).ConfigureAwait(false))
        {
            if (!answer.IsSuccess)
                throw new ServingException(503, $"{Failed(ModelUri, answer)}; check that the remote server serves it (RemoteModelOptions.RemoteName, RemoteVersion).");
            try
            {
                remote = InferenceJson.ParseModelMetadata(answer.Body);
            }
            catch (ServingException e)
            {
                throw new ServingException(503, $"{Describe(ModelUri)} answered {answer.StatusCode} with a body that is not V2 model metadata: {e.Message}", e);
            }
        }
        using (var ready = await SendForLoadAsync(HttpMethod.Get, _readyUri, cancellationToken).ConfigureAwait(false))
        {
            if (!ready.IsSuccess)
                throw new ServingException(503, $"{Failed(_readyUri, ready)}; the remote model is not ready, load it again later.");
        }
        var metadata = new ModelMetadata
        {
            Name = Name,
            Platform = remote.Platform,
            Versions = remote.Versions,
            Inputs = remote.Inputs,
            Outputs = remote.Outputs,
        };
        string? version = RemoteVersion ?? (remote.Versions.Count == 1 ? remote.Versions[0] : null);
        Volatile.Write(ref _loaded, new Loaded(metadata, version));
    }

    /// <summary>Posts the request (tensors or rows, as sent) to the remote model's <c>/infer</c> and answers its response under the local <see cref="Name"/>. Thread-safe.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels the request (the HTTP call is aborted).</param>
    /// <returns>The remote response: its outputs, id, parameters and <c>model_version</c> (or <see cref="Version"/> when it has none), with <see cref="InferenceResponse.ModelName"/> the local name.</returns>
    /// <exception cref="ServingException">503 before <see cref="LoadAsync"/>; otherwise the status mapped from the remote's answer (see the remarks of <see cref="RemoteModel"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var loaded = Volatile.Read(ref _loaded)
                     ?? throw new ServingException(503, $"The remote model '{Name}' is not loaded; call LoadAsync first (ServingGraph.InitializeAsync or InferenceServer.LoadAsync do).");
        using var answer = await SendAsync(HttpMethod.Post, _inferUri, InferenceJson.SerializeRequest(request), cancellationToken).ConfigureAwait(false);
        if (!answer.IsSuccess)
            throw new ServingException(StatusFor(answer.StatusCode), Failed(_inferUri, answer));
        InferenceResponse response;
        try
        {
            response = InferenceJson.ParseResponse(answer.Body);
        }
        catch (ServingException e)
        {
            throw new ServingException(502, $"{Describe(_inferUri)} answered {answer.StatusCode} with a body that is not a V2 inference response: {e.Message}", e);
        }
        return new InferenceResponse
        {
            ModelName = Name,
            ModelVersion = response.ModelVersion ?? loaded.Version,
            Id = response.Id,
            Parameters = response.Parameters,
            Outputs = response.Outputs,
        };
    }

    /// <inheritdoc />
    public override string ToString() => $"remote model '{Name}' at {ModelUri.AbsoluteUri} ({(IsReady ? "ready" : "not loaded")})";

    /// <summary>The local status of a remote error status: see the remarks of <see cref="RemoteModel"/>.</summary>
    private static int StatusFor(int remote) => remote switch
    {
        503 or 408 or 429 => 503,
        401 or 403 or 404 or 405 or 407 => 502,
        >= 400 and < 500 => remote,
        _ => 502,
    };

    private static string ServerRoot(string name, HttpClient httpClient)
    {
        var baseAddress = httpClient.BaseAddress;
        if (baseAddress is null)
            throw new ValidationException($"The HttpClient of the remote model '{name}' has no BaseAddress; set it to the remote V2 server's root, such as new HttpClient {{ BaseAddress = new Uri(\"http://scoring:8080/\") }} or services.AddHttpClient(\"scoring\", c => c.BaseAddress = ...).");
        if (baseAddress.Scheme != Uri.UriSchemeHttp && baseAddress.Scheme != Uri.UriSchemeHttps)
            throw new ValidationException($"The HttpClient.BaseAddress of the remote model '{name}' is '{baseAddress.GetLeftPart(UriPartial.Authority)}'; use an http:// or https:// address of the remote V2 server.");
        if (baseAddress.UserInfo.Length > 0)
            throw new ValidationException($"The HttpClient.BaseAddress of the remote model '{name}' carries credentials (user:password@), which would show in error messages; remove them and authenticate with HttpClient.DefaultRequestHeaders.Authorization or a handler.");
        if (baseAddress.Query.Length > 0 || baseAddress.Fragment.Length > 0)
            throw new ValidationException($"The HttpClient.BaseAddress of the remote model '{name}' is '{baseAddress.GetLeftPart(UriPartial.Path)}' with a query or fragment; use the server's root alone, such as http://scoring:8080/.");
        return baseAddress.GetLeftPart(UriPartial.Path).TrimEnd('/');
    }

    private string Describe(Uri uri) => $"remote model '{Name}' at {uri.AbsoluteUri}";

    /// <summary>"remote model 'x' at URL answered 503 (Retry-After: 1 s): message".</summary>
    private string Failed(Uri uri, in Answer answer)
    {
        string retry = answer.RetryAfter switch
        {
            { Delta: { } delta } => $" (Retry-After: {delta.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s)",
            { Date: { } date } => $" (Retry-After: {date.ToString("r", CultureInfo.InvariantCulture)})",
            _ => "",
        };
        return $"{Describe(uri)} answered {answer.StatusCode}{retry}: {RemoteMessage(answer.Body)}";
    }

    /// <summary>The remote's <c>{"error"}</c> message or, for another body, its text: the first line only (no stack trace), at most 500 characters.</summary>
    private static string RemoteMessage(ReadOnlySpan<byte> body)
    {
        string text;
        try
        {
            text = InferenceJson.ParseError(body).Error;
        }
        catch (ServingException)
        {
            text = Encoding.UTF8.GetString(body[..Math.Min(body.Length, MaxRemoteMessageChars * 4)]);
        }
        int end = text.AsSpan().IndexOfAny('\r', '\n');
        var line = (end >= 0 ? text.AsSpan(0, end) : text.AsSpan()).Trim();
        if (line.IsEmpty)
            return "(no message)";
        return line.Length <= MaxRemoteMessageChars ? line.ToString() : string.Concat(line[..MaxRemoteMessageChars], "…");
    }

    /// <summary>A call of <see cref="LoadAsync"/>: any transport failure (unreachable, timed out) is a 503.</summary>
    private async ValueTask<Answer> SendForLoadAsync(HttpMethod method, Uri uri, CancellationToken cancellationToken)
    {
        try
        {
            return await SendAsync(method, uri, null, cancellationToken).ConfigureAwait(false);
        }
        catch (ServingException e) when (e.StatusCode != 503)
        {
            throw new ServingException(503, e.Message, e);
        }
    }

    /// <summary>Sends a request and reads the answer's body, whatever its status, into a pooled buffer.</summary>
    /// <exception cref="ServingException">503 when the remote cannot be reached, 504 when <see cref="HttpClient.Timeout"/> passed, 502 for a body over the limit.</exception>
    private async ValueTask<Answer> SendAsync(HttpMethod method, Uri uri, byte[]? json, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(method, uri);
        if (json is not null)
        {
            message.Content = new ByteArrayContent(json);
            message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        try
        {
            using var response = await _client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            var body = await ReadBodyAsync(uri, response, cancellationToken).ConfigureAwait(false);
            return new Answer((int)response.StatusCode, response.Headers.RetryAfter, body);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is HttpRequestException or IOException)
        {
            throw new OperationCanceledException($"The call to {Describe(uri)} was cancelled.", e, cancellationToken);
        }
        catch (OperationCanceledException e)
        {
            throw new ServingException(504, $"{Describe(uri)} did not answer within HttpClient.Timeout ({_client.Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s).", e);
        }
        catch (HttpRequestException e)
        {
            throw new ServingException(503, $"{Describe(uri)} could not be reached: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new ServingException(503, $"{Describe(uri)} broke the connection while answering: {e.Message}", e);
        }
    }

    private async ValueTask<PooledBody> ReadBodyAsync(Uri uri, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await PooledBody.ReadAsync(stream, _maxResponseBytes, response.Content.Headers.ContentLength, cancellationToken).ConfigureAwait(false)
                   ?? throw TooLarge(uri, response);
        }
    }

    private ServingException TooLarge(Uri uri, HttpResponseMessage response)
        => new(502, $"{Describe(uri)} answered {(int)response.StatusCode} with a body over {_maxResponseBytes} bytes (RemoteModelOptions.MaxResponseBytes).");

    /// <summary>The state of a loaded model, published at once.</summary>
    private sealed record Loaded(ModelMetadata Metadata, string? Version);

    /// <summary>A remote answer: its status, <c>Retry-After</c> and body in a pooled buffer, returned on dispose.</summary>
    private readonly struct Answer(int statusCode, RetryConditionHeaderValue? retryAfter, PooledBody body) : IDisposable
    {
        public int StatusCode { get; } = statusCode;

        public bool IsSuccess => StatusCode is >= 200 and < 300;

        public RetryConditionHeaderValue? RetryAfter { get; } = retryAfter;

        public ReadOnlySpan<byte> Body => body.Span;

        public void Dispose() => body.Dispose();
    }
}
