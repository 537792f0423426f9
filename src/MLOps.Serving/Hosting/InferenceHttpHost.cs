using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MLOps.Serving.Hosting;

/// <summary>
/// An <see cref="InferenceServer"/> served over HTTP by its own minimal Kestrel application, without writing an ASP.NET
/// Core app: for console hosts, notebooks and tests. Start one with <c>await server.StartHttpAsync("http://127.0.0.1:0")</c>
/// (<see cref="InferenceHttpHostExtensions.StartHttpAsync(InferenceServer, string, CancellationToken)"/>), call it at
/// <see cref="BaseAddress"/>, and dispose it to stop.
/// </summary>
/// <remarks>
/// <para>
/// The application answers exactly what <c>app.MapServingGraph(server)</c> answers (<see cref="ServingEndpoints"/>), and
/// nothing else. It reads no configuration (no <c>appsettings.json</c>, no <c>ASPNETCORE_URLS</c>) and logs nothing.
/// </para>
/// <para>
/// Stopping (<see cref="StopAsync"/> or <see cref="DisposeAsync"/>) is graceful: readiness turns to 503 at once
/// (<see cref="ServingHostState.IsStopping"/>), Kestrel stops accepting connections, and the requests in flight run to
/// completion, up to <see cref="InferenceHttpHostOptions.ShutdownTimeout"/>. The host owns neither the server, nor its
/// graph, nor its models: dispose the graph (and the models) after the host.
/// </para>
/// </remarks>
public sealed class InferenceHttpHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _stopLock = new();
    private Task? _stop;
    private int _disposed;

    private InferenceHttpHost(WebApplication app, InferenceServer server, ServingHostState state, IReadOnlyList<Uri> addresses)
    {
        _app = app;
        Server = server;
        State = state;
        Addresses = addresses;
        BaseAddress = ForClients(addresses[0]);
    }

    /// <summary>The server answering the requests.</summary>
    public InferenceServer Server { get; }

    /// <summary>
    /// An address a client on this machine can call, with the real port when the URL asked for port 0 (such as
    /// <c>http://127.0.0.1:41873/</c>); a wildcard host becomes the loopback address (<c>0.0.0.0</c> becomes <c>127.0.0.1</c>;
    /// <c>[::]</c>, <c>*</c> and <c>+</c> become <c>[::1]</c>). Use it as <see cref="HttpClient.BaseAddress"/> (or call <see cref="CreateClient"/>).
    /// </summary>
    public Uri BaseAddress { get; }

    /// <summary>Every address Kestrel listens on, as it reports them (with the real ports).</summary>
    public IReadOnlyList<Uri> Addresses { get; }

    /// <summary>Whether the host is stopping and how many requests are in flight.</summary>
    public ServingHostState State { get; }

    /// <summary>Creates an <see cref="HttpClient"/> whose <see cref="HttpClient.BaseAddress"/> is <see cref="BaseAddress"/>;
    /// the caller disposes it.</summary>
    /// <returns>A new client: <c>await client.GetAsync("/v2/health/ready")</c>.</returns>
    /// <exception cref="ObjectDisposedException">The host was disposed.</exception>
    public HttpClient CreateClient()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return new HttpClient { BaseAddress = BaseAddress };
    }

    /// <summary>
    /// Stops the host gracefully: readiness answers 503 from now on, no new connection is accepted, and the requests in
    /// flight finish (up to <see cref="InferenceHttpHostOptions.ShutdownTimeout"/>). Idempotent: later calls wait for the
    /// first stop.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait for the requests in flight (of the first call; later calls only stop waiting).</param>
    /// <returns>A task that completes when the host has stopped.</returns>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        Task stop;
        lock (_stopLock)
        {
            if (_stop is null)
            {
                State.MarkStopping();   // readiness answers 503 from now on, before Kestrel stops accepting
                _stop = _app.StopAsync(cancellationToken);
            }
            stop = _stop;
        }
        return stop.IsCompleted ? stop : stop.WaitAsync(cancellationToken);
    }

    /// <summary>Stops the host gracefully (see <see cref="StopAsync"/>) and releases it. Idempotent.</summary>
    /// <returns>A task that completes when the host is stopped and released.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        try
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"HTTP host of the {Server} at {BaseAddress} ({State})";

    /// <summary>Loads the server, then starts Kestrel on the URLs; see <see cref="InferenceHttpHostExtensions"/>.</summary>
    internal static Task<InferenceHttpHost> StartAsync(InferenceServer server, InferenceHttpHostOptions options, string paramName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(options, paramName);
        var errors = new List<string>();
        var urls = ParseUrls(options.Urls, errors);
        if (options.ShutdownTimeout < TimeSpan.Zero)
            errors.Add(ShutdownTimeoutProblem(options.ShutdownTimeout));
        if (errors.Count > 0)
            throw new ValidationException($"The InferenceHttpHostOptions of the {server} are invalid", errors);
        return StartCoreAsync(server, options, urls, cancellationToken);
    }

    private static async Task<InferenceHttpHost> StartCoreAsync(InferenceServer server, InferenceHttpHostOptions options, string[] urls, CancellationToken cancellationToken)
    {
        await server.LoadAsync(cancellationToken).ConfigureAwait(false);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = typeof(InferenceHttpHost).Assembly.GetName().Name });
        builder.WebHost.UseKestrelCore().UseUrls(urls);
        builder.Services.AddRoutingCore();
        var state = new ServingHostState();
        builder.Services.AddSingleton(state);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);
        var app = builder.Build();
        try
        {
            app.MapServingGraph(server);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var bound = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses
                .Select(a => new Uri(a, UriKind.Absolute)).ToList();
            if (bound.Count == 0)
                throw new InvalidOperationException($"Kestrel started on '{options.Urls}' but reports no address.");
            return new InferenceHttpHost(app, server, state, bound);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal static string ShutdownTimeoutProblem(TimeSpan timeout)
        => $"InferenceHttpHostOptions.ShutdownTimeout is {timeout}; use zero or more (default 30 s).";

    /// <summary>Checks <c>;</c>-separated URLs before Kestrel sees them, so that a mistake names the URL and the fix;
    /// adds every problem to <paramref name="errors"/>.</summary>
    internal static string[] ParseUrls(string? urls, List<string> errors)
    {
        const string Fix = "Use an absolute http URL with a host and a port, such as http://127.0.0.1:8080 (port 0 picks a free port), or several separated by ';'.";
        if (string.IsNullOrWhiteSpace(urls))
        {
            errors.Add($"InferenceHttpHostOptions.Urls is '{urls}': no URL to listen on. {Fix}");
            return [];
        }
        var parsed = new List<string>();
        int before = errors.Count;
        foreach (var part in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string? problem = Check(part);
            if (problem is not null)
                errors.Add($"InferenceHttpHostOptions.Urls: the URL '{part}' {problem}. {Fix}");
            else
                parsed.Add(part);
        }
        if (parsed.Count == 0 && errors.Count == before)
            errors.Add($"InferenceHttpHostOptions.Urls is '{urls}': no URL to listen on. {Fix}");
        return [.. parsed];
    }

    private static string? Check(string url)
    {
        // Kestrel's wildcard hosts are not valid URI hosts: check the rest of the URL with a stand-in.
        var candidate = url.Replace("://*", "://wildcard", StringComparison.Ordinal).Replace("://+", "://wildcard", StringComparison.Ordinal);
        if (!Uri.TryCreate(candidate, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host) || !candidate.Contains("://", StringComparison.Ordinal))
            return "is not an absolute URL";
        if (uri.Scheme == Uri.UriSchemeHttps)
            return "is https, which this host does not configure (no certificate); serve http behind a TLS proxy, or host MapServingGraph in your own WebApplication";
        if (uri.Scheme != Uri.UriSchemeHttp)
            return $"has the scheme '{uri.Scheme}'; Kestrel listens on http";
        if (uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
            return "has a path, query, fragment or user; the endpoints are always under /v2 of the host";
        if (uri.Port == 0 && uri.IsLoopback && uri.HostNameType == UriHostNameType.Dns)
            return "asks for a free port on 'localhost', which Kestrel cannot pick for both IPv4 and IPv6; use 127.0.0.1 (or [::1]) with port 0";
        return null;
    }

    /// <summary>Replaces a wildcard host by the loopback address, which a client can call.</summary>
    private static Uri ForClients(Uri address)
    {
        // Kestrel reports the wildcards * and + as [::] (or 0.0.0.0 without IPv6).
        string host = address.Host switch
        {
            "0.0.0.0" => "127.0.0.1",
            "[::]" => "[::1]",
            _ => address.Host,
        };
        return new UriBuilder(address.Scheme, host, address.Port).Uri;
    }
}

/// <summary>Settings of an <see cref="InferenceHttpHost"/>.</summary>
public sealed class InferenceHttpHostOptions
{
    /// <summary>The default URL: the IPv4 loopback on a free port.</summary>
    public const string DefaultUrls = "http://127.0.0.1:0";

    /// <summary>
    /// The URLs Kestrel listens on, separated by <c>;</c>: <c>http://</c>, a host (an IP address, <c>localhost</c>, or a
    /// wildcard: <c>0.0.0.0</c>, <c>[::]</c>, <c>*</c>) and a port, no path. Port 0 picks a free port (not with
    /// <c>localhost</c>). <value>Defaults to <see cref="DefaultUrls"/> (<c>http://127.0.0.1:0</c>).</value>
    /// </summary>
    public string Urls { get; init; } = DefaultUrls;

    /// <summary>How long stopping waits for the requests in flight before Kestrel closes their connections (zero or more).
    /// <value>Defaults to 30 seconds.</value></summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Lists every problem of these options at once (each bad URL, the timeout); each names the property, the
    /// value and the fix. <c>StartHttpAsync</c> throws one <see cref="ValidationException"/> listing them.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        InferenceHttpHost.ParseUrls(Urls, errors);
        if (ShutdownTimeout < TimeSpan.Zero)
            errors.Add(InferenceHttpHost.ShutdownTimeoutProblem(ShutdownTimeout));
        return errors;
    }
}

/// <summary>Starts an <see cref="InferenceHttpHost"/> for an <see cref="InferenceServer"/>.</summary>
public static class InferenceHttpHostExtensions
{
    /// <summary>
    /// Loads the server (<see cref="InferenceServer.LoadAsync"/>), then serves it over HTTP on a minimal Kestrel
    /// application (the endpoints of <c>app.MapServingGraph(server)</c>) until the returned host is disposed.
    /// </summary>
    /// <param name="server">The server to serve.</param>
    /// <param name="urls">The URLs to listen on, separated by <c>;</c>, such as <c>http://127.0.0.1:8080</c>; port 0 picks a
    /// free port (read it from <see cref="InferenceHttpHost.BaseAddress"/>). The IPv4 loopback on a free port by default.</param>
    /// <param name="cancellationToken">Cancels the load and the start.</param>
    /// <returns>The started host.</returns>
    /// <exception cref="ValidationException">A URL is not an absolute http URL with a host, or has a path; the message names it and the fix.</exception>
    /// <exception cref="ServingException">Status 503: a step or model failed to load (nothing listens).</exception>
    /// <exception cref="IOException">An address is already in use.</exception>
    public static Task<InferenceHttpHost> StartHttpAsync(this InferenceServer server, string urls = InferenceHttpHostOptions.DefaultUrls, CancellationToken cancellationToken = default)
        => InferenceHttpHost.StartAsync(server, new InferenceHttpHostOptions { Urls = urls }, nameof(urls), cancellationToken);

    /// <summary>Loads the server, then serves it over HTTP with options; see <see cref="StartHttpAsync(InferenceServer, string, CancellationToken)"/>.</summary>
    /// <param name="server">The server to serve.</param>
    /// <param name="options">The URLs and the shutdown timeout.</param>
    /// <param name="cancellationToken">Cancels the load and the start.</param>
    /// <returns>The started host.</returns>
    /// <exception cref="ValidationException">A URL is not an absolute http URL with a host, or has a path; the message names it and the fix.</exception>
    /// <exception cref="ServingException">Status 503: a step or model failed to load (nothing listens).</exception>
    /// <exception cref="IOException">An address is already in use.</exception>
    public static Task<InferenceHttpHost> StartHttpAsync(this InferenceServer server, InferenceHttpHostOptions options, CancellationToken cancellationToken = default)
        => InferenceHttpHost.StartAsync(server, options, nameof(options), cancellationToken);
}
