using MLOps.Serving.Hosting;

namespace MLOps.Serving.Tests.Hosting;

/// <summary>The route parser of the REST paths, against a plain split-and-decode parser of the same rules.</summary>
public class OpenInferenceRouteTests
{
    /// <summary>The oracle: the paths split on '/', empty segments dropped, segments after "v2" URL-decoded, then matched.</summary>
    private static OpenInferenceRoute? Oracle(string path)
    {
        int query = path.IndexOfAny(['?', '#']);
        if (query >= 0)
            path = path[..query];
        var s = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (s.Length == 0 || s[0] != "v2")
            return null;
        for (int i = 1; i < s.Length; i++)
            s[i] = Uri.UnescapeDataString(s[i]);
        switch (s.Length)
        {
            case 1: return new(OpenInferenceEndpoint.ServerMetadata, null, null);
            case 2 when s[1] == "models": return new(OpenInferenceEndpoint.ModelList, null, null);
            case 3 when s[1] == "health" && s[2] == "live": return new(OpenInferenceEndpoint.ServerLive, null, null);
            case 3 when s[1] == "health" && s[2] == "ready": return new(OpenInferenceEndpoint.ServerReady, null, null);
        }
        if (s.Length < 3 || s[1] != "models" || string.IsNullOrWhiteSpace(s[2]))
            return null;
        string? version = null;
        int rest = 3;
        if (s.Length >= 5 && s[3] == "versions" && !string.IsNullOrWhiteSpace(s[4]))
        {
            version = s[4];
            rest = 5;
        }
        if (s.Length == rest)
            return new(OpenInferenceEndpoint.ModelMetadata, s[2], version);
        if (s.Length != rest + 1)
            return null;
        return s[rest] switch
        {
            "ready" => new(OpenInferenceEndpoint.ModelReady, s[2], version),
            "infer" => new(OpenInferenceEndpoint.ModelInfer, s[2], version),
            "explain" => new(OpenInferenceEndpoint.ModelExplain, s[2], version),
            _ => null,
        };
    }

    private static readonly string[] Pieces =
        ["v2", "models", "health", "live", "ready", "infer", "explain", "versions", "1", "delay", "delay-risk", "%64elay", "m%6Fdels",
         "%20", " ", "x%2Fy", "%", "%zz", "?q=1", "#f", "", "V2", "v%32", "a b"];

    private static readonly string[][] Likely =
    [
        ["v2"],
        ["models", "health"],
        ["delay", "delay-risk", "%64elay", "live", "ready", "%20", "x%2Fy"],
        ["infer", "ready", "explain", "versions"],
        ["1", "%20", "ready", "v%32"],
        ["infer", "ready", "explain"],
        ["infer"],
    ];

    [Test]
    public void TryParse_RandomPaths_SameRouteAsSplittingTheStringEachSegment()
    {
        var known = new Dictionary<string, int>(StringComparer.Ordinal) { ["delay"] = 1, ["delay-risk"] = 2 };
        var endpoints = new HashSet<OpenInferenceEndpoint>();
        for (int seed = 0; seed < 20_000; seed++)
        {
            var random = new Random(seed);
            // Mostly the shape of real paths (the likely word at each position), sometimes any piece.
            string path = (random.Next(8) == 0 ? "" : "/") + string.Join("/", Enumerable.Range(0, random.Next(8))
                    .Select(i => random.Next(3) == 0 ? Pieces[random.Next(Pieces.Length)] : Likely[Math.Min(i, Likely.Length - 1)][random.Next(Likely[Math.Min(i, Likely.Length - 1)].Length)]))
                + (random.Next(6) == 0 ? "/" : "");
            var expected = Oracle(path);

            bool parsed = OpenInferenceRoute.TryParse(path, known, out var route);
            bool parsedWithoutNames = OpenInferenceRoute.TryParse(path, out var routeWithoutNames);

            Assert.That(parsed ? route : (OpenInferenceRoute?)null, Is.EqualTo(expected), $"seed {seed}: '{path}'");
            Assert.That(parsedWithoutNames ? routeWithoutNames : (OpenInferenceRoute?)null, Is.EqualTo(expected), $"seed {seed}: '{path}'");
            if (expected is { } hit)
                endpoints.Add(hit.Endpoint);
        }
        Assert.That(endpoints, Is.EquivalentTo(Enum.GetValues<OpenInferenceEndpoint>()), "the paths must reach every endpoint");
    }

    [Test]
    public void TryParse_KnownModelName_IsTheServedModelsString()
    {
        string served = string.Concat("de", "lay".AsSpan()); // not the literal "delay" of the path
        var known = new Dictionary<string, int>(StringComparer.Ordinal) { [served] = 1 };

        Assert.That(OpenInferenceRoute.TryParse("/v2/models/delay/infer", known, out var route), Is.True);
        Assert.That(route.Model, Is.SameAs(served));
    }
}
