namespace MLOps.Registry;

public sealed partial class ModelRegistry
{
    private partial ValueTask DisposeLoadedAsync()
    {
        _ = _project;
        return ValueTask.CompletedTask;
    }
}
