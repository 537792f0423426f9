namespace MLOps.Serving.Hosting;

/// <summary>
/// The endpoint names (<c>WithName</c>, <see cref="Microsoft.AspNetCore.Routing.IEndpointNameMetadata"/>) of the routes
/// <c>MapServingGraph</c> maps, for link generation, OpenAPI operation ids and per-route policies. A route with
/// <c>/versions/{version}</c> has the name of its route without a version plus <c>Version</c>
/// (<c>OpenInference.ModelVersionInfer</c>).
/// </summary>
public static class OpenInferenceEndpointNames
{
    /// <summary><c>GET /v2/health/live</c>.</summary>
    public const string ServerLive = "OpenInference.ServerLive";

    /// <summary><c>GET /v2/health/ready</c>.</summary>
    public const string ServerReady = "OpenInference.ServerReady";

    /// <summary><c>GET /v2</c>.</summary>
    public const string ServerMetadata = "OpenInference.ServerMetadata";

    /// <summary><c>GET /v2/models</c> (MLRun's list of model names).</summary>
    public const string ModelList = "OpenInference.ModelList";

    /// <summary><c>GET /v2/models/{name}</c>.</summary>
    public const string ModelMetadata = "OpenInference.ModelMetadata";

    /// <summary><c>GET /v2/models/{name}/versions/{version}</c>.</summary>
    public const string ModelVersionMetadata = "OpenInference.ModelVersionMetadata";

    /// <summary><c>GET /v2/models/{name}/ready</c>.</summary>
    public const string ModelReady = "OpenInference.ModelReady";

    /// <summary><c>GET /v2/models/{name}/versions/{version}/ready</c>.</summary>
    public const string ModelVersionReady = "OpenInference.ModelVersionReady";

    /// <summary><c>POST /v2/models/{name}/infer</c>.</summary>
    public const string ModelInfer = "OpenInference.ModelInfer";

    /// <summary><c>POST /v2/models/{name}/versions/{version}/infer</c>.</summary>
    public const string ModelVersionInfer = "OpenInference.ModelVersionInfer";

    /// <summary><c>POST /v2/models/{name}/explain</c> (MLRun's extension).</summary>
    public const string ModelExplain = "OpenInference.ModelExplain";

    /// <summary><c>POST /v2/models/{name}/versions/{version}/explain</c>.</summary>
    public const string ModelVersionExplain = "OpenInference.ModelVersionExplain";

    /// <summary><c>GET</c> and <c>POST /v2/{**path}</c>: any other path under <c>/v2</c>, answered 404 (unknown path) or
    /// 405 (a route of the protocol with the other method) with an <c>{"error"}</c> body.</summary>
    public const string Fallback = "OpenInference.Fallback";
}
