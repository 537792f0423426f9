namespace MLOps.Internal;

/// <summary>Sortable identifiers: version-7 GUIDs (time first), 32 lower-case hex digits.</summary>
internal static class Ids
{
    public static string New(TimeProvider time) => Guid.CreateVersion7(time.GetUtcNow()).ToString("N");
}
