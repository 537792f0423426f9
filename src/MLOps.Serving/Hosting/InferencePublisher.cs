using MLOps.Serving.Models;
using MLOps.Serving.Protocol;

namespace MLOps.Serving.Hosting;

/// <summary>
/// Publishes the <see cref="InferenceRecord"/> of every observed inference to the subscribed
/// <see cref="IInferenceObserver"/>s of an <see cref="InferenceServer"/>. Without observers nothing is built: the server asks
/// <see cref="HasObservers"/> first. Thread-safe (copy-on-write array of observers).
/// </summary>
internal sealed class InferencePublisher(InferenceServer server, TimeProvider timeProvider)
{
    private readonly Lock _lock = new();
    private IInferenceObserver[] _observers = [];

    /// <summary>Whether an observer is subscribed now.</summary>
    public bool HasObservers => Volatile.Read(ref _observers).Length != 0;

    /// <summary>Subscribes an observer; disposing the result unsubscribes it (idempotent).</summary>
    public IDisposable Subscribe(IInferenceObserver observer)
    {
        lock (_lock)
            Volatile.Write(ref _observers, [.. _observers, observer]);
        return new Subscription(this, observer);
    }

    private void Unsubscribe(IInferenceObserver observer)
    {
        lock (_lock)
        {
            int index = Array.IndexOf(_observers, observer);
            if (index < 0)
                return;
            var observers = new IInferenceObserver[_observers.Length - 1];
            Array.Copy(_observers, 0, observers, 0, index);
            Array.Copy(_observers, index + 1, observers, index, observers.Length - index);
            Volatile.Write(ref _observers, observers);
        }
    }

    /// <summary>Runs an inference and publishes its record, success or error (a cancellation by the caller is not published).</summary>
    /// <param name="model">The model name.</param>
    /// <param name="version">The version asked for, or null.</param>
    /// <param name="request">The request when already parsed (the capture's <see cref="InferenceCapture.Incoming"/>).</param>
    /// <param name="run">Runs the inference with the capture in its event.</param>
    /// <param name="cancellationToken">The caller's token.</param>
    public async ValueTask<InferenceResponse> ObserveAsync(string model, string? version, InferenceRequest? request,
        Func<InferenceCapture, ValueTask<InferenceResponse>> run, CancellationToken cancellationToken)
    {
        var started = timeProvider.GetUtcNow();
        long start = timeProvider.GetTimestamp();
        var capture = new InferenceCapture { Incoming = request };
        try
        {
            var response = await run(capture).ConfigureAwait(false);
            Publish(capture, model, version, started, start, response, 200, null);
            return response;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (ServingException e)
        {
            Publish(capture, model, version, started, start, null, e.StatusCode, e.Message);
            throw;
        }
        catch (Exception e)
        {
            Publish(capture, model, version, started, start, null, 500, $"The server failed: {e.GetType().Name}: {e.Message}");
            throw;
        }
    }

    private void Publish(InferenceCapture capture, string model, string? version, DateTimeOffset started, long start,
        InferenceResponse? response, int statusCode, string? error)
    {
        var latency = timeProvider.GetElapsedTime(start);
        var observers = Volatile.Read(ref _observers);
        if (observers.Length == 0)
            return;
        var request = capture.ModelRequest ?? capture.Incoming;
        var record = new InferenceRecord(
            RequestId: capture.EventId ?? request?.Id,
            Model: model,
            ModelVersion: version ?? response?.ModelVersion ?? server.VersionOf(model), // the version that answered, not the one served now (an upgrade may have happened meanwhile)
            Started: started,
            Latency: latency,
            Request: request,
            Response: response,
            StatusCode: statusCode,
            Error: error);
        foreach (var observer in observers)
        {
            try
            {
                observer.OnInference(record);
            }
#pragma warning disable CA1031 // an observer that fails must not change the response nor stop the other observers
            catch (Exception e)
#pragma warning restore CA1031
            {
                ServingLog.ObserverFailed(server.Logger, e, observer.GetType().Name, server.Graph.Name, record.RequestId);
                if (server.Telemetry.CaptureDropped.Enabled)
                {
                    server.Telemetry.CaptureDropped.Add(1, new System.Diagnostics.TagList
                    {
                        { "mlops.serving.graph", server.Graph.Name },
                        { "mlops.serving.observer", observer.GetType().Name },
                    });
                }
            }
        }
    }

    private sealed class Subscription(InferencePublisher publisher, IInferenceObserver observer) : IDisposable
    {
        private InferencePublisher? _publisher = publisher;

        public void Dispose() => Interlocked.Exchange(ref _publisher, null)?.Unsubscribe(observer);
    }
}
