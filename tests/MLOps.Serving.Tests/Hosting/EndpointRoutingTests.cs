using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;
using MLOps.Serving.Tests.Models;

namespace MLOps.Serving.Tests.Hosting;

/// <summary>The routes of <c>MapServingGraph</c> as real ASP.NET Core endpoints: names, metadata, and conventions
/// (authorization) applied through the returned builder, over a real Kestrel on 127.0.0.1.</summary>
public class EndpointRoutingTests
{
    private const string Secret = "Test secret";
    private DelayRiskModel _delay = null!;
    private ServingRouter _graph = null!;
    private WebApplication? _app;
    private HttpClient _client = null!;

    [SetUp]
    public void SetUp()
    {
        _delay = new DelayRiskModel("delay-risk", "1");
        _graph = ServingGraph.Router("flights").Route(new ModelStep(_delay)).Build();
    }

    [TearDown]
    public async Task TearDown()
    {
        _client?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        await _graph.DisposeAsync();
    }

    private async Task StartAsync(Action<OpenInferenceEndpointConventionBuilder>? conventions = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddAuthentication("Test").AddScheme<AuthenticationSchemeOptions, TestAuthHandler>("Test", null);
        builder.Services.AddAuthorization();
        builder.Services.AddServing(_graph, _delay);
        _app = builder.Build();
        _app.UseAuthentication();
        _app.UseAuthorization();
        var endpoints = _app.MapServingGraph();
        conventions?.Invoke(endpoints);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        _client = new HttpClient { BaseAddress = new Uri(address) };
    }

    private static HttpRequestMessage Get(string path, bool authenticated)
    {
        var message = new HttpRequestMessage(HttpMethod.Get, path);
        if (authenticated)
            message.Headers.TryAddWithoutValidation("Authorization", Secret);
        return message;
    }

    private static HttpRequestMessage Infer(string path, bool authenticated)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new ByteArrayContent(InferenceJson.SerializeRequest(DelayRiskModel.Request("r1", [1000f], [8]))),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (authenticated)
            message.Headers.TryAddWithoutValidation("Authorization", Secret);
        return message;
    }

    [Test]
    public async Task MapServingGraph_RequireAuthorizationOnTheGroup_Answers401WithoutCredentialsAnd200With()
    {
        await StartAsync(endpoints => endpoints.RequireAuthorization());

        using var anonymousLive = await _client.SendAsync(Get("/v2/health/live", authenticated: false));
        using var anonymousInfer = await _client.SendAsync(Infer("/v2/models/delay-risk/infer", authenticated: false));
        using var anonymousUnknown = await _client.SendAsync(Get("/v2/nothing/here", authenticated: false));
        using var live = await _client.SendAsync(Get("/v2/health/live", authenticated: true));
        using var infer = await _client.SendAsync(Infer("/v2/models/delay-risk/versions/1/infer", authenticated: true));

        Assert.That(anonymousLive.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(anonymousInfer.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(anonymousUnknown.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "the catch-all route belongs to the group too");
        Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(infer.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(InferenceJson.ParseResponse(await infer.Content.ReadAsByteArrayAsync()).Id, Is.EqualTo("r1"));
    }

    [Test]
    public async Task MapServingGraph_RequireAuthorizationOnInferOnly_ProtectsInferAndLeavesHealthOpen()
    {
        await StartAsync(endpoints => endpoints.Infer.RequireAuthorization());

        using var live = await _client.SendAsync(Get("/v2/health/live", authenticated: false));
        using var metadata = await _client.SendAsync(Get("/v2/models/delay-risk", authenticated: false));
        using var anonymousInfer = await _client.SendAsync(Infer("/v2/models/delay-risk/infer", authenticated: false));
        using var anonymousVersionInfer = await _client.SendAsync(Infer("/v2/models/delay-risk/versions/1/infer", authenticated: false));
        using var infer = await _client.SendAsync(Infer("/v2/models/delay-risk/infer", authenticated: true));

        Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(metadata.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(anonymousInfer.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(anonymousVersionInfer.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(infer.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task MapServingGraph_GroupAuthorizationWithAnonymousHealth_LeavesOnlyTheProbesOpen()
    {
        await StartAsync(endpoints => endpoints.RequireAuthorization().Health.AllowAnonymous());

        using var live = await _client.SendAsync(Get("/v2/health/live", authenticated: false));
        using var ready = await _client.SendAsync(Get("/v2/health/ready", authenticated: false));
        using var metadata = await _client.SendAsync(Get("/v2", authenticated: false));
        using var modelReady = await _client.SendAsync(Get("/v2/models/delay-risk/ready", authenticated: false));

        Assert.That((live.StatusCode, ready.StatusCode), Is.EqualTo((HttpStatusCode.OK, HttpStatusCode.OK)));
        Assert.That((metadata.StatusCode, modelReady.StatusCode), Is.EqualTo((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized)));
    }

    [Test]
    public async Task MapServingGraph_EndpointDataSource_ListsEveryRouteWithItsNameMethodAndTag()
    {
        await StartAsync();

        var routes = _app!.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/v2", StringComparison.Ordinal) == true)
            .Select(e => (
                Pattern: e.RoutePattern.RawText!,
                Methods: string.Join(",", e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods),
                Name: e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName,
                Tag: e.Metadata.GetMetadata<ITagsMetadata>()?.Tags.Single()))
            .OrderBy(r => r.Name, StringComparer.Ordinal)
            .ToList();

        var expected = new[]
        {
            ("/v2/{**path}", "GET,POST", OpenInferenceEndpointNames.Fallback),
            ("/v2/models/{name}/explain", "POST", OpenInferenceEndpointNames.ModelExplain),
            ("/v2/models/{name}/infer", "POST", OpenInferenceEndpointNames.ModelInfer),
            ("/v2/models", "GET", OpenInferenceEndpointNames.ModelList),
            ("/v2/models/{name}", "GET", OpenInferenceEndpointNames.ModelMetadata),
            ("/v2/models/{name}/ready", "GET", OpenInferenceEndpointNames.ModelReady),
            ("/v2/models/{name}/versions/{version}/explain", "POST", OpenInferenceEndpointNames.ModelVersionExplain),
            ("/v2/models/{name}/versions/{version}/infer", "POST", OpenInferenceEndpointNames.ModelVersionInfer),
            ("/v2/models/{name}/versions/{version}", "GET", OpenInferenceEndpointNames.ModelVersionMetadata),
            ("/v2/models/{name}/versions/{version}/ready", "GET", OpenInferenceEndpointNames.ModelVersionReady),
            ("/v2/health/live", "GET", OpenInferenceEndpointNames.ServerLive),
            ("/v2/", "GET", OpenInferenceEndpointNames.ServerMetadata),
            ("/v2/health/ready", "GET", OpenInferenceEndpointNames.ServerReady),
        }.OrderBy(r => r.Item3, StringComparer.Ordinal).ToList();
        Assert.That(routes.Select(r => (r.Pattern, r.Methods, r.Name)), Is.EqualTo(expected));
        Assert.That(routes.Select(r => r.Tag), Is.All.EqualTo("Open Inference Protocol"));
        var infer = _app.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .Single(e => e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName == OpenInferenceEndpointNames.ModelInfer);
        Assert.That(infer.Metadata.GetOrderedMetadata<IProducesResponseTypeMetadata>().Select(p => p.StatusCode),
            Is.SupersetOf(new[] { 200, 400, 404, 413, 500, 503 }));
    }

    [Test]
    public async Task Routes_WrongMethodAndUnknownPath_Answer405And404WithAnErrorBody()
    {
        await StartAsync();

        using var wrongMethod = await _client.PostAsync("/v2/health/ready", new ByteArrayContent("{}"u8.ToArray()));
        using var wrongMethodInfer = await _client.GetAsync("/v2/models/delay-risk/infer");
        using var unknown = await _client.GetAsync("/v2/models/delay-risk/versions");
        using var trailingSlash = await _client.GetAsync("/v2/health/live/");
        using var encoded = await _client.GetAsync("/v2/models/delay%2Drisk/ready");

        Assert.That(wrongMethod.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
        Assert.That(await ErrorOf(wrongMethod), Does.Contain("answers GET, not POST"));
        Assert.That(wrongMethodInfer.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
        Assert.That(await ErrorOf(wrongMethodInfer), Does.Contain("answers POST, not GET"));
        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await ErrorOf(unknown), Does.Contain("No Open Inference Protocol endpoint"));
        Assert.That(trailingSlash.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(encoded.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    private static async Task<string> ErrorOf(HttpResponseMessage response)
    {
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()!;
    }

    private sealed class TestAuthHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (Request.Headers.Authorization.ToString() != Secret)
                return Task.FromResult(AuthenticateResult.NoResult());
            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "tester")], "Test");
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), "Test")));
        }
    }
}
