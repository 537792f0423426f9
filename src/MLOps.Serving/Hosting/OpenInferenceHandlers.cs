using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Hosting;

/// <summary>
/// The request delegates of the routes <c>MapServingGraph</c> maps for one <see cref="InferenceServer"/>. ASP.NET Core has
/// matched the route, so a handler reads the model and version from the route values (no second parse of the path) and
/// asks the server's <see cref="InferenceDispatcher"/>; the answer is written straight into the response pipe with its
/// <c>Content-Length</c> (Kestrel sends headers and body in one write when the request ends). No closure, string or
/// buffer is made per request beyond what the inference itself needs.
/// </summary>
internal sealed class OpenInferenceHandlers(InferenceServer server, ServingHostState state)
{
    /// <summary>The largest body parsed in place in the request pipe (Kestrel buffers up to 1 MiB per request by default).</summary>
    private const int InPlaceBytes = 64 * 1024;

    /// <summary>Answers a GET route of the protocol. While the application stops, readiness answers 503 (an unknown model
    /// is still a 404).</summary>
    public Task GetAsync(HttpContext context, OpenInferenceEndpoint endpoint)
    {
        state.Enter();
        try
        {
            var values = context.Request.RouteValues;
            string? model = Segment(values, "name"), version = Segment(values, "version");
            var answer = server.Dispatcher.Get(endpoint, model, version);
            if (answer.StatusCode == 200 && state.IsStopping && endpoint is OpenInferenceEndpoint.ServerReady or OpenInferenceEndpoint.ModelReady)
                answer = InferenceAnswer.Ready(model, false);
            Write(context.Response, answer);
            return Task.CompletedTask;
        }
        finally
        {
            state.Exit();
        }
    }

    /// <summary>Answers <c>POST .../infer</c> or <c>.../explain</c>.</summary>
    public Task PostAsync(HttpContext context, bool explain)
    {
        var values = context.Request.RouteValues;
        return AnswerAsync(context, new Target(explain, Segment(values, "name")!, Segment(values, "version"), null));
    }

    /// <summary>Answers any other GET or POST under <c>/v2</c> as <see cref="InferenceServer.SendAsync"/> does (404 for an
    /// unknown path, 405 for a route of the protocol with the other method).</summary>
    public Task FallbackAsync(HttpContext context)
        => AnswerAsync(context, new Target(false, null, null, context.Request.Path.ToUriComponent()));

    private async Task AnswerAsync(HttpContext context, Target target)
    {
        state.Enter();
        try
        {
            var answer = target.Path is not null && HttpMethods.IsGet(context.Request.Method)
                ? await server.AnswerAsync(context.Request.Method, target.Path, default, context.RequestAborted).ConfigureAwait(false)
                : await ReadAndAnswerAsync(context, target, context.RequestAborted).ConfigureAwait(false);
            Write(context.Response, answer);
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

    /// <summary>The route of a POST: the operation, the model and version, or the path of the fallback route.</summary>
    private readonly record struct Target(bool Explain, string? Model, string? Version, string? Path);

    private ValueTask<InferenceAnswer> Dispatch(HttpContext context, Target target, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
        => target.Path is null
            ? server.Dispatcher.PostAsync(target.Explain, target.Model!, target.Version, body, cancellationToken)
            : server.AnswerAsync(context.Request.Method, target.Path, body, cancellationToken);

    /// <summary>
    /// Reads the request body from the request pipe up to the limit (a larger one is answered 413 as soon as it is seen)
    /// and answers it. A small body (up to <see cref="InPlaceBytes"/>) is left in the pipe until it is complete and then
    /// parsed where it lies, without a copy when it arrived in one buffer (most do); a larger one is copied out as it
    /// arrives, so that the pipe never holds more than Kestrel's request buffer. The pipe is advanced past the body once
    /// the answer is made.
    /// </summary>
    private async ValueTask<InferenceAnswer> ReadAndAnswerAsync(HttpContext context, Target target, CancellationToken cancellationToken)
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
                            ? await Dispatch(context, target, buffer.First, cancellationToken).ConfigureAwait(false)
                            : await DispatchCopyAsync(context, target, buffer, cancellationToken).ConfigureAwait(false);
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
                    return await Dispatch(context, target, copy.AsMemory(0, copied), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (copy is not null)
                ArrayPool<byte>.Shared.Return(copy);
        }
    }

    private async ValueTask<InferenceAnswer> DispatchCopyAsync(HttpContext context, Target target, ReadOnlySequence<byte> body, CancellationToken cancellationToken)
    {
        int length = (int)body.Length;
        byte[] copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            body.CopyTo(copy);
            return await Dispatch(context, target, copy.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    private static InferenceAnswer TooLarge(long limit) =>
        InferenceAnswer.Error(413, $"The request body is over the limit of {limit} bytes (InferenceServerOptions.MaxRequestBytes).");

    /// <summary>A route value (the model name or version), URL-decoded like the rest of the path (Kestrel leaves <c>%2F</c> encoded).</summary>
    private static string? Segment(RouteValueDictionary values, string key)
        => values.TryGetValue(key, out var value) && value is string text
            ? text.Contains('%', StringComparison.Ordinal) ? Uri.UnescapeDataString(text) : text
            : null;

    /// <summary>Writes the answer's JSON into the response pipe with its length; a 503 carries <c>Retry-After: 1</c>.</summary>
    private void Write(HttpResponse response, InferenceAnswer answer)
        => server.Dispatcher.Render(answer, response, static (body, s) =>
        {
            var http = s.Target;
            http.StatusCode = s.StatusCode;
            http.ContentType = InferenceHttpResponse.ContentType;
            if (s.StatusCode == 503)
                http.Headers.RetryAfter = "1";
            http.ContentLength = body.Length;
            http.BodyWriter.Write(body);
            return 0;
        });
}
