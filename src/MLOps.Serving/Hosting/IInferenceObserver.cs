namespace MLOps.Serving.Hosting;

/// <summary>
/// Receives an <see cref="InferenceRecord"/> for every inference request of a <see cref="InferenceServer"/> (subscribe with
/// <see cref="InferenceServer.Subscribe"/>). Called synchronously, on the request's thread, after the response is ready and
/// before it is returned, possibly from many threads at once: keep it short and thread-safe (queue the record for heavy work).
/// </summary>
/// <remarks>An exception thrown by an observer is caught and traced (<see cref="System.Diagnostics.Trace"/>); it never
/// changes the response nor stops the other observers.</remarks>
public interface IInferenceObserver
{
    /// <summary>Called once per inference request, success or error.</summary>
    /// <param name="record">What the request did.</param>
    void OnInference(InferenceRecord record);
}
