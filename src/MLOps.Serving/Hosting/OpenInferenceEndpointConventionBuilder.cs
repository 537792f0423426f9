using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace MLOps.Serving.Hosting;

/// <summary>
/// The endpoints <c>MapServingGraph</c> maps: conventions added to this builder (<c>RequireAuthorization()</c>,
/// <c>RequireRateLimiting(...)</c>, <c>WithTags(...)</c>, ...) apply to every route of the group, and the properties give
/// the routes of one operation (with and without <c>/versions/{version}</c>) for conventions of their own, such as
/// <c>endpoints.Infer.RequireRateLimiting("inference")</c> or <c>endpoints.Health.AllowAnonymous()</c>.
/// </summary>
public sealed class OpenInferenceEndpointConventionBuilder : IEndpointConventionBuilder
{
    internal OpenInferenceEndpointConventionBuilder(RouteGroupBuilder group, IEndpointConventionBuilder health, IEndpointConventionBuilder metadata,
        IEndpointConventionBuilder readiness, IEndpointConventionBuilder infer, IEndpointConventionBuilder explain, IEndpointConventionBuilder fallback)
    {
        Group = group;
        Health = health;
        Metadata = metadata;
        Readiness = readiness;
        Infer = infer;
        Explain = explain;
        Fallback = fallback;
    }

    /// <summary>The <c>/v2</c> route group of every route.</summary>
    public RouteGroupBuilder Group { get; }

    /// <summary><c>GET /v2/health/live</c> and <c>GET /v2/health/ready</c>.</summary>
    public IEndpointConventionBuilder Health { get; }

    /// <summary><c>GET /v2</c>, <c>GET /v2/models</c> and <c>GET /v2/models/{name}[/versions/{version}]</c>.</summary>
    public IEndpointConventionBuilder Metadata { get; }

    /// <summary><c>GET /v2/models/{name}[/versions/{version}]/ready</c>.</summary>
    public IEndpointConventionBuilder Readiness { get; }

    /// <summary><c>POST /v2/models/{name}[/versions/{version}]/infer</c>.</summary>
    public IEndpointConventionBuilder Infer { get; }

    /// <summary><c>POST /v2/models/{name}[/versions/{version}]/explain</c>.</summary>
    public IEndpointConventionBuilder Explain { get; }

    /// <summary>The catch-all route answering 404 and 405 under <c>/v2</c> (<see cref="OpenInferenceEndpointNames.Fallback"/>).</summary>
    public IEndpointConventionBuilder Fallback { get; }

    /// <summary>Adds a convention to every route of the group.</summary>
    /// <param name="convention">The convention.</param>
    public void Add(Action<EndpointBuilder> convention) => ((IEndpointConventionBuilder)Group).Add(convention);

    /// <summary>Adds a convention run after the others, to every route of the group.</summary>
    /// <param name="finallyConvention">The convention.</param>
    public void Finally(Action<EndpointBuilder> finallyConvention) => ((IEndpointConventionBuilder)Group).Finally(finallyConvention);

    /// <summary>Several routes' builders as one.</summary>
    internal sealed class Composite(params IEndpointConventionBuilder[] parts) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            foreach (var part in parts)
                part.Add(convention);
        }

        public void Finally(Action<EndpointBuilder> finallyConvention)
        {
            foreach (var part in parts)
                part.Finally(finallyConvention);
        }
    }
}
