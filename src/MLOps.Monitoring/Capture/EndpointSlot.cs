using MLOps.Monitoring.Endpoints;
using System.Collections.Concurrent;
using System.Diagnostics;

namespace MLOps.Monitoring.Capture;

/// <summary>An endpoint watched by a capture session and its traffic counters, updated from serving threads without locks. A
/// slot of a version first seen after the session started is pending (<see cref="IsRegistered"/> false) until the writer has
/// registered its endpoint; its counters count from the first request all the same.</summary>
internal sealed class EndpointSlot
{
    private long _requests;
    private long _errors;
    private long _dropped;
    private long _firstTicks = long.MaxValue;
    private long _lastTicks = long.MinValue;
    private EndpointTraffic _stored;
    private ModelEndpoint? _endpoint;
    private readonly ConcurrentDictionary<long, MinuteTraffic> _minutes = new();

    /// <summary>A slot of an endpoint registered when the session started.</summary>
    public EndpointSlot(ModelEndpoint endpoint, string projectName)
        : this(endpoint.Model, endpoint.ModelVersion, projectName) => _endpoint = endpoint;

    /// <summary>A pending slot: its endpoint is registered later by the writer (<see cref="Register"/>).</summary>
    public EndpointSlot(string model, string? version, string projectName)
    {
        Model = model;
        Version = version;
        Name = version is null ? model : $"{model}:{version}";
        Tags = new()
        {
            { "mlops.project", projectName },
            { "mlops.model.name", model },
            { "mlops.model.version", version },
        };
    }

    /// <summary>The served model name.</summary>
    public string Model { get; }

    /// <summary>The served version, or null.</summary>
    public string? Version { get; }

    /// <summary>The endpoint's name (<c>model</c> or <c>model:version</c>), known before it is registered.</summary>
    public string Name { get; }

    /// <summary>Whether the endpoint is registered (always, except for a version first seen after the start, until the writer registers it).</summary>
    public bool IsRegistered => Volatile.Read(ref _endpoint) is not null;

    /// <summary>Set by the writer when registering the endpoint failed; cleared at the next flush, which tries again.</summary>
    public bool RegistrationFailed { get; set; }

    /// <summary>The endpoint (only once <see cref="IsRegistered"/>: the writer registers it before it writes anything of it).</summary>
    public ModelEndpoint Endpoint => Volatile.Read(ref _endpoint)
        ?? throw new InvalidOperationException($"The model endpoint {Name} is not registered yet.");

    /// <summary>Links the endpoint the writer registered for this slot.</summary>
    public void Register(ModelEndpoint endpoint) => Volatile.Write(ref _endpoint, endpoint);

    public TagList Tags { get; }

    public void Count(DateTimeOffset started, bool error)
    {
        Interlocked.Increment(ref _requests);
        if (error) Interlocked.Increment(ref _errors);
        var ticks = started.UtcTicks;
        Minute(ticks).Add(error);
        long seen;
        while (ticks < (seen = Volatile.Read(ref _firstTicks)) && Interlocked.CompareExchange(ref _firstTicks, ticks, seen) != seen) { }
        while (ticks > (seen = Volatile.Read(ref _lastTicks)) && Interlocked.CompareExchange(ref _lastTicks, ticks, seen) != seen) { }
    }

    public long AddDropped(long count, DateTimeOffset started)
    {
        Interlocked.Add(ref _minutes.GetOrAdd(started.UtcTicks / TimeSpan.TicksPerMinute, s_newMinute).Dropped, count);
        return Interlocked.Add(ref _dropped, count);
    }

    private static readonly Func<long, MinuteTraffic> s_newMinute = static _ => new MinuteTraffic();

    /// <summary>The counters of a request's minute (allocates once per endpoint and minute).</summary>
    private MinuteTraffic Minute(long ticks) => _minutes.GetOrAdd(ticks / TimeSpan.TicksPerMinute, s_newMinute);

    /// <summary>The per-minute traffic not stored yet (called by the writer only). Minutes more than an hour older than the newest
    /// are retired (read once more on the next call, for a count in flight); a later request of such a minute re-creates it.</summary>
    public List<TrafficMinute> PendingMinutes()
    {
        var pending = new List<TrafficMinute>();
        long newest = long.MinValue;
        foreach (var (minute, traffic) in _minutes)
        {
            newest = Math.Max(newest, minute);
            if (traffic.TakePending() is { IsEmpty: false } row) pending.Add(row with { Minute = minute });
        }
        foreach (var (minute, traffic) in _retired)
            if (traffic.TakePending() is { IsEmpty: false } row) pending.Add(row with { Minute = minute });
        _retired.Clear();
        foreach (var minute in _minutes.Keys)
            if (minute < newest - RetainMinutes && _minutes.TryRemove(minute, out var old)) _retired.Add((minute, old)); // read once more on the next flush
        return pending;
    }

    /// <summary>Gives back minutes taken by <see cref="PendingMinutes"/> whose write failed, so the next flush stores them.</summary>
    public void RestoreMinutes(IEnumerable<TrafficMinute> rows)
    {
        foreach (var row in rows) Minute(row.Minute * TimeSpan.TicksPerMinute).Restore(row);
    }

    private readonly List<(long Minute, MinuteTraffic Traffic)> _retired = [];

    /// <summary>How many minutes before the newest the counters are kept (at most about this many per endpoint).</summary>
    private const long RetainMinutes = 60;

    /// <summary>The traffic since the last <see cref="MarkStored"/> (called by the writer only).</summary>
    public EndpointTraffic Pending()
    {
        long first = Volatile.Read(ref _firstTicks), last = Volatile.Read(ref _lastTicks);
        return new EndpointTraffic(
            Volatile.Read(ref _requests) - _stored.Requests,
            Volatile.Read(ref _errors) - _stored.Errors,
            Volatile.Read(ref _dropped) - _stored.Dropped,
            first == long.MaxValue ? null : new DateTimeOffset(first, TimeSpan.Zero),
            last == long.MinValue ? null : new DateTimeOffset(last, TimeSpan.Zero));
    }

    public void MarkStored(EndpointTraffic pending)
        => _stored = new EndpointTraffic(_stored.Requests + pending.Requests, _stored.Errors + pending.Errors, _stored.Dropped + pending.Dropped, null, null);
}

/// <summary>The counters of one endpoint and minute, updated from serving threads without locks.</summary>
internal sealed class MinuteTraffic
{
    public long Requests;
    public long Errors;
    public long Dropped;
    private long _storedRequests;
    private long _storedErrors;
    private long _storedDropped;

    public void Add(bool error)
    {
        Interlocked.Increment(ref Requests);
        if (error) Interlocked.Increment(ref Errors);
    }

    /// <summary>The counts since the last call (called by the writer only).</summary>
    public TrafficMinute TakePending()
    {
        long requests = Volatile.Read(ref Requests), errors = Volatile.Read(ref Errors), dropped = Volatile.Read(ref Dropped);
        var row = new TrafficMinute(0, requests - _storedRequests, errors - _storedErrors, dropped - _storedDropped);
        (_storedRequests, _storedErrors, _storedDropped) = (requests, errors, dropped);
        return row;
    }

    public void Restore(TrafficMinute row)
    {
        _storedRequests -= row.Requests;
        _storedErrors -= row.Errors;
        _storedDropped -= row.Dropped;
    }
}

/// <summary>The traffic of one minute (minutes since 0001-01-01 UTC): every request, sampled or not.</summary>
internal readonly record struct TrafficMinute(long Minute, long Requests, long Errors, long Dropped)
{
    public bool IsEmpty => Requests == 0 && Errors == 0 && Dropped == 0;

    public DateTimeOffset Time => new(Minute * TimeSpan.TicksPerMinute, TimeSpan.Zero);
}
