namespace MLOps.Serving.Hosting;

/// <summary>The endpoints of the Open Inference Protocol (KServe V2 REST).</summary>
internal enum OpenInferenceEndpoint
{
    ServerLive,
    ServerReady,
    ServerMetadata,
    ModelMetadata,
    ModelList,
    ModelReady,
    ModelInfer,
    ModelExplain,
}

/// <summary>A parsed REST path of the Open Inference Protocol: the endpoint, the model and version it names, and its method.</summary>
internal readonly record struct OpenInferenceRoute(OpenInferenceEndpoint Endpoint, string? Model, string? Version)
{
    /// <summary>The HTTP method the endpoint answers.</summary>
    public string Method => Endpoint is OpenInferenceEndpoint.ModelInfer or OpenInferenceEndpoint.ModelExplain ? "POST" : "GET";

    /// <summary>
    /// Parses <c>/v2</c>, <c>/v2/models</c> (MLRun's model list), <c>/v2/health/live</c>, <c>/v2/health/ready</c>, <c>/v2/models/{name}[/versions/{version}]</c>
    /// and its <c>/ready</c>, <c>/infer</c> and <c>/explain</c> (MLRun's extension). A query string and a trailing slash are ignored; segments are URL-decoded.
    /// </summary>
    public static bool TryParse(string path, out OpenInferenceRoute route)
    {
        route = default;
        if (string.IsNullOrEmpty(path))
            return false;
        int query = path.IndexOfAny(['?', '#']);
        if (query >= 0)
            path = path[..query];
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length == 0 || segments[0] != "v2")
            return false;
        for (int i = 1; i < segments.Length; i++)
            segments[i] = Uri.UnescapeDataString(segments[i]);
        switch (segments.Length)
        {
            case 1:
                route = new(OpenInferenceEndpoint.ServerMetadata, null, null);
                return true;
            case 2 when segments[1] == "models":
                route = new(OpenInferenceEndpoint.ModelList, null, null);
                return true;
            case 3 when segments[1] == "health" && segments[2] == "live":
                route = new(OpenInferenceEndpoint.ServerLive, null, null);
                return true;
            case 3 when segments[1] == "health" && segments[2] == "ready":
                route = new(OpenInferenceEndpoint.ServerReady, null, null);
                return true;
        }
        if (segments.Length < 3 || segments[1] != "models" || string.IsNullOrWhiteSpace(segments[2]))
            return false;
        string model = segments[2];
        string? version = null;
        int rest = 3;
        if (segments.Length >= 5 && segments[3] == "versions" && !string.IsNullOrWhiteSpace(segments[4]))
        {
            version = segments[4];
            rest = 5;
        }
        if (segments.Length == rest)
        {
            route = new(OpenInferenceEndpoint.ModelMetadata, model, version);
            return true;
        }
        if (segments.Length != rest + 1)
            return false;
        OpenInferenceEndpoint? endpoint = segments[rest] switch
        {
            "ready" => OpenInferenceEndpoint.ModelReady,
            "infer" => OpenInferenceEndpoint.ModelInfer,
            "explain" => OpenInferenceEndpoint.ModelExplain,
            _ => null,
        };
        if (endpoint is null)
            return false;
        route = new(endpoint.Value, model, version);
        return true;
    }
}
