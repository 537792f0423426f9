using MLOps.Monitoring.Endpoints;
using System.Diagnostics;

namespace MLOps.Monitoring.Capture;

/// <summary>An endpoint watched by a capture session and its traffic counters, updated from serving threads without locks.</summary>
internal sealed class EndpointSlot(ModelEndpoint endpoint, string projectName)
{
    private long _requests;
    private long _errors;
    private long _dropped;
    private long _firstTicks = long.MaxValue;
    private long _lastTicks = long.MinValue;
    private EndpointTraffic _stored;

    public ModelEndpoint Endpoint { get; } = endpoint;

    public TagList Tags { get; } = new()
    {
        { "mlops.project", projectName },
        { "mlops.model.name", endpoint.Model },
        { "mlops.model.version", endpoint.ModelVersion },
    };

    public void Count(DateTimeOffset started, bool error)
    {
        Interlocked.Increment(ref _requests);
        if (error) Interlocked.Increment(ref _errors);
        var ticks = started.UtcTicks;
        long seen;
        while (ticks < (seen = Volatile.Read(ref _firstTicks)) && Interlocked.CompareExchange(ref _firstTicks, ticks, seen) != seen) { }
        while (ticks > (seen = Volatile.Read(ref _lastTicks)) && Interlocked.CompareExchange(ref _lastTicks, ticks, seen) != seen) { }
    }

    public long AddDropped(long count) => Interlocked.Add(ref _dropped, count);

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
