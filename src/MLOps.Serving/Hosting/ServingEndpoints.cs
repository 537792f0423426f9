using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MLOps.Serving.Graphs;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Hosting;

/// <summary>
/// Hosts a <see cref="InferenceServer"/> in ASP.NET Core: <c>app.MapServingGraph(server)</c> answers the Open Inference
/// Protocol (KServe V2 REST) under <c>/v2</c> with the same code as <see cref="InferenceServer.SendAsync"/>.
/// </summary>
/// <remarks>
/// <para>
/// Every <c>GET</c> and <c>POST</c> under <c>/v2</c> goes to <see cref="InferenceServer.SendAsync"/>; the answer is sent with
/// its status code and <c>Content-Type: application/json</c>, and a 503 (not ready) carries <c>Retry-After: 1</c>. The
/// request body is read from the request pipe up to <see cref="InferenceServerOptions.MaxRequestBytes"/>: a larger body (by
/// its <c>Content-Length</c>, or once the bytes received pass the limit) is answered 413 without being read further.
/// </para>
/// <para>
/// Graceful shutdown: when <see cref="IHostApplicationLifetime.ApplicationStopping"/> fires, <see cref="ServingHostState.IsStopping"/>
/// turns true and the readiness endpoints (<c>/v2/health/ready</c>, <c>/v2/models/{name}/ready</c>) answer 503
/// <c>{"ready": false}</c>, so a load balancer stops sending traffic, while requests in flight (counted by
/// <see cref="ServingHostState.InFlight"/>) run to completion: the host waits for them up to
/// <see cref="HostOptions.ShutdownTimeout"/> before it stops Kestrel. Liveness stays 200.
/// </para>
/// </remarks>
public static class ServingEndpoints
{

    /// <summary>
    /// Maps <c>GET</c> and <c>POST</c> <c>/v2/{**path}</c> (which includes <c>/v2</c>) to the server. The server must be loaded
    /// (<see cref="InferenceServer.LoadAsync"/>, or <see cref="ServingServiceCollectionExtensions.AddServing(IServiceCollection, ServingGraph, IInferenceModel[])"/>
    /// which loads it at startup) before it answers ready.
    /// </summary>
    /// <param name="endpoints">The application's endpoint route builder (a <c>WebApplication</c>).</param>
    /// <param name="server">The server that answers the requests.</param>
    /// <returns>The endpoints' convention builder (to add authorization, rate limiting, ...).</returns>
    public static IEndpointConventionBuilder MapServingGraph(this IEndpointRouteBuilder endpoints, InferenceServer server)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(server);
        var state = endpoints.ServiceProvider.GetService<ServingHostState>() ?? new ServingHostState();
        if (endpoints.ServiceProvider.GetService<IHostApplicationLifetime>() is { } lifetime)
            state.Watch(lifetime);
        RequestDelegate handler = context => HandleAsync(context, server, state);
        string[] methods = [HttpMethods.Get, HttpMethods.Post];
        var group = endpoints.MapGroup("/v2");
        group.MapMethods("/{**path}", methods, handler);
        return group;
    }

    /// <summary>Maps the Open Inference Protocol to the <see cref="InferenceServer"/> registered by <see cref="ServingServiceCollectionExtensions.AddServing(IServiceCollection, ServingGraph, IInferenceModel[])"/>.</summary>
    /// <param name="endpoints">The application's endpoint route builder (a <c>WebApplication</c>).</param>
    /// <returns>The endpoints' convention builder.</returns>
    /// <exception cref="InvalidOperationException">No <see cref="InferenceServer"/> is registered.</exception>
    public static IEndpointConventionBuilder MapServingGraph(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var server = endpoints.ServiceProvider.GetService<InferenceServer>()
            ?? throw new InvalidOperationException("No InferenceServer is registered; call services.AddServing(graph, models) or pass the server to MapServingGraph.");
        return endpoints.MapServingGraph(server);
    }

    private static async Task HandleAsync(HttpContext context, InferenceServer server, ServingHostState state)
    {
        state.Enter();
        try
        {
            var request = context.Request;
            var aborted = context.RequestAborted;
            InferenceHttpResponse response;
            if (HttpMethods.IsGet(request.Method) && state.IsStopping && OpenInferenceRoute.TryParse(request.Path.ToUriComponent(), out var route)
                && route.Endpoint is OpenInferenceEndpoint.ServerReady or OpenInferenceEndpoint.ModelReady)
            {
                // Stopping: not ready, but an unknown model is still a 404.
                response = await server.SendAsync(request.Method, request.Path.ToUriComponent(), default, aborted).ConfigureAwait(false);
                if (response.StatusCode == 200)
                {
                    response = InferenceServer.NotReady(route.Endpoint == OpenInferenceEndpoint.ModelReady ? route.Model : null);
                }
            }
            else if (HttpMethods.IsPost(request.Method))
            {
                response = await PostAsync(context, server, aborted).ConfigureAwait(false);
            }
            else
            {
                response = await server.SendAsync(request.Method, request.Path.ToUriComponent(), default, aborted).ConfigureAwait(false);
            }
            Write(context, response);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nothing to answer.
        }
        finally
        {
            state.Exit();
        }
    }

    /// <summary>Copies the answer into the response pipe with its length: Kestrel sends the headers and the body together
    /// when the request ends (one write to the socket, no flush of our own).</summary>
    private static void Write(HttpContext context, InferenceHttpResponse response)
    {
        var http = context.Response;
        http.StatusCode = response.StatusCode;
        http.ContentType = InferenceHttpResponse.ContentType;
        http.ContentLength = response.Body.Length;
        if (response.StatusCode == 503)
            http.Headers.RetryAfter = "1";
        http.BodyWriter.Write(response.Body.Span);
    }

    private static InferenceHttpResponse TooLarge(long limit) =>
        InferenceServer.Error(413, $"The request body is over the limit of {limit} bytes (InferenceServerOptions.MaxRequestBytes).");

    /// <summary>
    /// Reads the request body from the request pipe up to the limit (a larger one is answered 413 as soon as it is seen)
    /// and answers it. A small body (up to <see cref="InPlaceBytes"/>) is left in the pipe until it is complete and then
    /// parsed where it lies, without a copy when it arrived in one buffer (most do); a larger one is copied out as it
    /// arrives, so that the pipe never holds more than Kestrel's request buffer. The pipe is advanced past the body once
    /// the answer is made.
    /// </summary>
    private static async Task<InferenceHttpResponse> PostAsync(HttpContext context, InferenceServer server, CancellationToken cancellationToken)
    {
        long limit = server.MaxRequestBytes;
        var request = context.Request;
        if (request.ContentLength > limit)
            return TooLarge(limit);
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
            sizeFeature.MaxRequestBodySize = limit + 1; // our limit answers 413 first; the server's is only a backstop
        var reader = request.BodyReader;
        byte[]? copy = null;
        int copied = 0;
        try
        {
            while (true)
            {
                ReadResult read;
                try
                {
                    read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
                {
                    return TooLarge(limit);
                }
                var buffer = read.Buffer;
                if (copied + buffer.Length > limit)
                {
                    reader.AdvanceTo(buffer.End);
                    return TooLarge(limit);
                }
                if (copy is null && read.IsCompleted)
                {
                    try
                    {
                        return buffer.IsSingleSegment
                            ? await server.SendAsync(request.Method, request.Path.ToUriComponent(), buffer.First, cancellationToken).ConfigureAwait(false)
                            : await SendCopyAsync(server, request, buffer, cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        reader.AdvanceTo(buffer.End);
                    }
                }
                if (copy is null && buffer.Length < InPlaceBytes)
                {
                    reader.AdvanceTo(buffer.Start, buffer.End); // nothing consumed yet: wait for the rest
                    continue;
                }
                int needed = copied + (int)buffer.Length;
                if (copy is null || copy.Length < needed)
                {
                    long expected = request.ContentLength ?? 0;
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Min(limit, Array.MaxLength), Math.Max(Math.Max(needed, expected), 2L * (copy?.Length ?? 0))));
                    copy?.AsSpan(0, copied).CopyTo(larger);
                    if (copy is not null)
                        ArrayPool<byte>.Shared.Return(copy);
                    copy = larger;
                }
                buffer.CopyTo(copy.AsSpan(copied));
                copied = needed;
                reader.AdvanceTo(buffer.End);
                if (read.IsCompleted)
                    return await server.SendAsync(request.Method, request.Path.ToUriComponent(), copy.AsMemory(0, copied), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (copy is not null)
                ArrayPool<byte>.Shared.Return(copy);
        }
    }

    /// <summary>The largest body parsed in place in the request pipe (Kestrel buffers up to 1 MiB per request by default).</summary>
    private const int InPlaceBytes = 64 * 1024;

    private static async Task<InferenceHttpResponse> SendCopyAsync(InferenceServer server, HttpRequest request, ReadOnlySequence<byte> body, CancellationToken cancellationToken)
    {
        int length = (int)body.Length;
        byte[] copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            body.CopyTo(copy);
            return await server.SendAsync(request.Method, request.Path.ToUriComponent(), copy.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }
}

/// <summary>
/// The state of the hosted serving endpoints during shutdown: whether the application is stopping (readiness then answers
/// 503) and how many requests are in flight. Registered by <c>services.AddServing(...)</c> (or register it yourself with
/// <c>services.AddSingleton&lt;ServingHostState&gt;()</c>) to observe it. Thread-safe.
/// </summary>
public sealed class ServingHostState
{
    private int _inFlight;
    private int _stopping;
    private int _watching;

    /// <summary>Whether <see cref="IHostApplicationLifetime.ApplicationStopping"/> has fired: readiness answers 503 from then on.</summary>
    public bool IsStopping => Volatile.Read(ref _stopping) != 0;

    /// <summary>The number of requests to the serving endpoints being answered now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Marks the application as stopping (as <see cref="IHostApplicationLifetime.ApplicationStopping"/> does).</summary>
    public void MarkStopping() => Volatile.Write(ref _stopping, 1);

    internal void Watch(IHostApplicationLifetime lifetime)
    {
        if (Interlocked.Exchange(ref _watching, 1) == 0)
            lifetime.ApplicationStopping.Register(static s => ((ServingHostState)s!).MarkStopping(), this);
    }

    internal void Enter() => Interlocked.Increment(ref _inFlight);

    internal void Exit() => Interlocked.Decrement(ref _inFlight);

    /// <inheritdoc />
    public override string ToString() => $"{(IsStopping ? "stopping" : "serving")}, {InFlight} in flight";
}
