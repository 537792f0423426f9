using MLOps.Storage;
using System.Globalization;
using System.Text.Json.Nodes;

namespace MLOps.Monitoring.Endpoints;

/// <summary>
/// The model endpoints of a project in its metadata store: one spec of kind <c>model-endpoint</c> per endpoint, named by the
/// endpoint's id, whose body holds the model, version and reference and whose status holds the traffic counters.
/// </summary>
#pragma warning disable CA1001 // the semaphore has no wait handle to release (AvailableWaitHandle is never used); it lives as long as the project
internal sealed class EndpointRecords(MLOpsProject project)
#pragma warning restore CA1001
{
    internal const string Kind = "model-endpoint";

    private readonly SemaphoreSlim _gate = new(1, 1);

    private ISpecRecords Specs => project.Store.Specs;

    /// <summary>Lists the project's endpoints, ordered by id (registration time).</summary>
    public async Task<IReadOnlyList<ModelEndpoint>> ListAsync(CancellationToken cancellationToken)
    {
        var specs = await Specs.ListAsync(project.Name, Kind, cancellationToken).ConfigureAwait(false);
        return [.. specs.Select(FromSpec).OrderBy(e => e.Id, StringComparer.Ordinal)];
    }

    /// <summary>The endpoint with an id, or null.</summary>
    public async Task<ModelEndpoint?> FindByIdAsync(string id, CancellationToken cancellationToken)
    {
        var spec = await Specs.GetAsync(project.Name, Kind, id, "latest", cancellationToken).ConfigureAwait(false);
        return spec is null ? null : FromSpec(spec);
    }

    /// <summary>The endpoint of a model and version, or null.</summary>
    public async Task<ModelEndpoint?> FindAsync(string model, string? version, CancellationToken cancellationToken)
        => (await ListAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(e => e.Model == model && e.ModelVersion == version);

    /// <summary>Registers the endpoint of a model and version, or returns the existing one (with the new reference when one is given).</summary>
    public async Task<ModelEndpoint> RegisterAsync(string model, string? version, EndpointReference? reference, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var existing = await FindAsync(model, version, cancellationToken).ConfigureAwait(false);
            if (existing is not null)
                return reference is null || reference == existing.Reference ? existing : await SaveAsync(existing with { Reference = reference }, cancellationToken).ConfigureAwait(false);
            var now = project.TimeProvider.GetUtcNow();
            var endpoint = new ModelEndpoint
            {
                Id = Guid.CreateVersion7(now).ToString("N"),
                Project = project.Name,
                Model = model,
                ModelVersion = version,
                Reference = reference,
                Created = now,
            };
            return await SaveAsync(endpoint, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Adds traffic to an endpoint's counters and sets its state (read-modify-write of its status).</summary>
    public async Task<ModelEndpoint> AddTrafficAsync(string id, EndpointTraffic traffic, EndpointState? state, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var spec = await Specs.GetAsync(project.Name, Kind, id, "latest", cancellationToken).ConfigureAwait(false)
                ?? throw NotFound(id);
            var current = FromSpec(spec);
            var updated = current with
            {
                State = state ?? current.State,
                RequestCount = current.RequestCount + traffic.Requests,
                ErrorCount = current.ErrorCount + traffic.Errors,
                DroppedCount = current.DroppedCount + traffic.Dropped,
                FirstRequest = Min(current.FirstRequest, traffic.First),
                LastRequest = Max(current.LastRequest, traffic.Last),
            };
            await Specs.UpdateStatusAsync(project.Name, Kind, id, spec.Version, StatusJson(updated), project.TimeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            return updated;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Records an analysed window: moves the watermark to <paramref name="analyzedUntil"/> when given and later, and sets
    /// the latest drift when given and its window is not older than the current one (read-modify-write of the status).</summary>
    public async Task<ModelEndpoint> SetAnalysisAsync(string id, DateTimeOffset? analyzedUntil, (MLOps.Monitoring.Applications.ResultStatus Status, DateTimeOffset Window)? drift, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var spec = await Specs.GetAsync(project.Name, Kind, id, "latest", cancellationToken).ConfigureAwait(false)
                ?? throw NotFound(id);
            var current = FromSpec(spec);
            var updated = current;
            if (analyzedUntil is { } until && (current.AnalyzedUntil is null || until > current.AnalyzedUntil))
                updated = updated with { AnalyzedUntil = until };
            if (drift is { } d && (current.LatestDriftWindow is null || d.Window >= current.LatestDriftWindow))
                updated = updated with { LatestDrift = d.Status, LatestDriftWindow = d.Window };
            if (updated == current) return current;
            await Specs.UpdateStatusAsync(project.Name, Kind, id, spec.Version, StatusJson(updated), project.TimeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            return updated;
        }
        finally
        {
            _gate.Release();
        }
    }

    public NotFoundException NotFound(string id)
        => new("model endpoint", id, $"The model endpoint with id '{id}' does not exist in project '{project.Name}'. List the project's endpoints with project.Monitoring.ListEndpointsAsync(), or register one with RegisterEndpointAsync.");

    private async Task<ModelEndpoint> SaveAsync(ModelEndpoint endpoint, CancellationToken cancellationToken)
    {
        var labels = new Dictionary<string, string> { ["model"] = endpoint.Model };
        if (endpoint.ModelVersion is not null) labels["model-version"] = endpoint.ModelVersion;
        var spec = await Specs.SaveAsync(new NewSpec(project.Name, Kind, endpoint.Id, BodyJson(endpoint), $"Model endpoint {endpoint.Name}", labels, project.TimeProvider.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        // a new version of the body (a new reference) starts without status: carry the counters over
        if (spec.Status is null)
            await Specs.UpdateStatusAsync(project.Name, Kind, endpoint.Id, spec.Version, StatusJson(endpoint), project.TimeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return endpoint;
    }

    private static string BodyJson(ModelEndpoint endpoint)
    {
        var body = new JsonObject
        {
            ["id"] = endpoint.Id,
            ["model"] = endpoint.Model,
            ["modelVersion"] = endpoint.ModelVersion,
            ["created"] = endpoint.Created.ToString("O", CultureInfo.InvariantCulture),
        };
        if (endpoint.Reference is { } reference)
        {
            body["reference"] = new JsonObject
            {
                ["source"] = reference.Source,
                ["profile"] = reference.Profile is null ? null : JsonNode.Parse(reference.Profile.ToJson()),
            };
        }
        return body.ToJsonString();
    }

    private static string StatusJson(ModelEndpoint endpoint) => new JsonObject
    {
        ["state"] = endpoint.State.ToString(),
        ["firstRequest"] = endpoint.FirstRequest?.ToString("O", CultureInfo.InvariantCulture),
        ["lastRequest"] = endpoint.LastRequest?.ToString("O", CultureInfo.InvariantCulture),
        ["requests"] = endpoint.RequestCount,
        ["errors"] = endpoint.ErrorCount,
        ["dropped"] = endpoint.DroppedCount,
        ["latestDrift"] = endpoint.LatestDrift?.ToString(),
        ["latestDriftWindow"] = endpoint.LatestDriftWindow?.ToString("O", CultureInfo.InvariantCulture),
        ["analyzedUntil"] = endpoint.AnalyzedUntil?.ToString("O", CultureInfo.InvariantCulture),
    }.ToJsonString();

    private static ModelEndpoint FromSpec(SpecRecord spec)
    {
        var body = JsonNode.Parse(spec.Body)!.AsObject();
        EndpointReference? reference = null;
        if (body["reference"] is JsonObject r)
        {
            var profile = r["profile"] is { } p ? DatasetProfile.FromJson(p.ToJsonString()) : null;
            reference = new EndpointReference((string?)r["source"], profile);
        }
        var endpoint = new ModelEndpoint
        {
            Id = spec.Name,
            Project = spec.Project,
            Model = (string)body["model"]!,
            ModelVersion = (string?)body["modelVersion"],
            Created = DateTimeOffset.Parse((string)body["created"]!, CultureInfo.InvariantCulture),
            Reference = reference,
        };
        if (spec.Status is null) return endpoint;
        var status = JsonNode.Parse(spec.Status)!.AsObject();
        return endpoint with
        {
            State = Enum.Parse<EndpointState>((string)status["state"]!),
            FirstRequest = Time(status["firstRequest"]),
            LastRequest = Time(status["lastRequest"]),
            RequestCount = (long)status["requests"]!,
            ErrorCount = (long)status["errors"]!,
            DroppedCount = (long)status["dropped"]!,
            LatestDrift = status["latestDrift"] is { } drift ? Enum.Parse<MLOps.Monitoring.Applications.ResultStatus>((string)drift!) : null,
            LatestDriftWindow = Time(status["latestDriftWindow"]),
            AnalyzedUntil = Time(status["analyzedUntil"]),
        };
    }

    private static DateTimeOffset? Time(JsonNode? node) => node is null ? null : DateTimeOffset.Parse((string)node!, CultureInfo.InvariantCulture);

    private static DateTimeOffset? Min(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;

    private static DateTimeOffset? Max(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;
}

/// <summary>Traffic of an endpoint since the last time it was stored.</summary>
internal readonly record struct EndpointTraffic(long Requests, long Errors, long Dropped, DateTimeOffset? First, DateTimeOffset? Last)
{
    public bool IsEmpty => Requests == 0 && Dropped == 0;
}
