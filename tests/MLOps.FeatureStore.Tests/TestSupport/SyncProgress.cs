namespace MLOps.FeatureStore.Tests.TestSupport;

/// <summary>An IProgress that reports synchronously, on the ingesting thread (Progress&lt;T&gt; posts to the thread pool).</summary>
public sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
