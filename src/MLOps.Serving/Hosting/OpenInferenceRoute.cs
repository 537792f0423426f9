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
    public static bool TryParse(string path, out OpenInferenceRoute route) => TryParse<object>(path, null, out route);

    /// <summary>Parses the path as <see cref="TryParse(string, out OpenInferenceRoute)"/>, without splitting it into strings:
    /// a model name that is a key of <paramref name="known"/> is that key (no string is made for it).</summary>
    public static bool TryParse<T>(string path, Dictionary<string, T>? known, out OpenInferenceRoute route)
    {
        route = default;
        if (string.IsNullOrEmpty(path))
            return false;
        var text = path.AsSpan();
        int query = text.IndexOfAny('?', '#');
        if (query >= 0)
            text = text[..query];
        Span<Range> ranges = stackalloc Range[8];
        int count = text.Split(ranges, '/', StringSplitOptions.RemoveEmptyEntries);
        if (count == 0 || count > 6 || !text[ranges[0]].SequenceEqual("v2"))
            return false;
        switch (count)
        {
            case 1:
                route = new(OpenInferenceEndpoint.ServerMetadata, null, null);
                return true;
            case 2 when Is(text[ranges[1]], "models"):
                route = new(OpenInferenceEndpoint.ModelList, null, null);
                return true;
            case 3 when Is(text[ranges[1]], "health") && Is(text[ranges[2]], "live"):
                route = new(OpenInferenceEndpoint.ServerLive, null, null);
                return true;
            case 3 when Is(text[ranges[1]], "health") && Is(text[ranges[2]], "ready"):
                route = new(OpenInferenceEndpoint.ServerReady, null, null);
                return true;
        }
        if (count < 3 || !Is(text[ranges[1]], "models"))
            return false;
        string? version = null;
        int rest = 3;
        if (count >= 5 && Is(text[ranges[3]], "versions"))
        {
            version = Decode(text[ranges[4]]);
            if (string.IsNullOrWhiteSpace(version))
                return false;
            rest = 5;
        }
        OpenInferenceEndpoint endpoint;
        if (count == rest)
        {
            endpoint = OpenInferenceEndpoint.ModelMetadata;
        }
        else if (count == rest + 1)
        {
            var last = text[ranges[rest]];
            if (Is(last, "infer"))
                endpoint = OpenInferenceEndpoint.ModelInfer;
            else if (Is(last, "ready"))
                endpoint = OpenInferenceEndpoint.ModelReady;
            else if (Is(last, "explain"))
                endpoint = OpenInferenceEndpoint.ModelExplain;
            else
                return false;
        }
        else
        {
            return false;
        }
        var nameText = text[ranges[2]];
        string model = nameText.Contains('%') || known is null || !known.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(nameText, out string? key, out _)
            ? Decode(nameText)
            : key;
        if (string.IsNullOrWhiteSpace(model))
            return false;
        route = new(endpoint, model, version);
        return true;
    }

    /// <summary>Whether a path segment is the word, after URL-decoding.</summary>
    private static bool Is(ReadOnlySpan<char> segment, string word)
        => segment.Contains('%') ? Uri.UnescapeDataString(segment.ToString()) == word : segment.SequenceEqual(word);

    private static string Decode(ReadOnlySpan<char> segment) => segment.Contains('%') ? Uri.UnescapeDataString(segment.ToString()) : segment.ToString();
}
