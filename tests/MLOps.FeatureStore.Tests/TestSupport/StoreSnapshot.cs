using System.Security.Cryptography;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Online;

namespace MLOps.FeatureStore.Tests.TestSupport;

/// <summary>What a feature set holds, for comparing two stores or one store before and after.</summary>
public static class StoreSnapshot
{
    /// <summary>The online row of every given entity of a single-entity set, feature → value (absent entities left out).</summary>
    public static async Task<SortedDictionary<string, IReadOnlyDictionary<string, object?>>> OnlineAsync(FeatureStoreCatalog fs, string set, IEnumerable<string> keys)
    {
        var stored = await fs.GetFeatureSetAsync(set);
        var table = fs.OnlineTableOf(stored);
        var features = table.Features.Select(f => f.Name).ToArray();
        var result = new SortedDictionary<string, IReadOnlyDictionary<string, object?>>(StringComparer.Ordinal);
        using var reader = fs.OnlineStore.OpenReader(table, features);
        var values = new FeatureValue[features.Length];
        foreach (var key in keys.Distinct())
        {
            if (!reader.TryRead(EntityKey.Encode(key), values, out var time)) continue;
            var row = features.Select((f, i) => (f, values[i].ToObject())).ToDictionary(x => x.f, x => x.Item2);
            row["(event time)"] = time;
            result[key] = row;
        }

        return result;
    }

    /// <summary>The saved window state of the given entities, as hex.</summary>
    public static async Task<SortedDictionary<string, string>> WindowStateAsync(FeatureStoreCatalog fs, string set, IEnumerable<string> keys)
    {
        var stored = await fs.GetFeatureSetAsync(set);
        var state = await fs.OnlineStore.LoadWindowStateAsync(fs.OnlineTableOf(stored), keys.Distinct().Select(k => EntityKey.Encode(k)).ToArray());
        return new SortedDictionary<string, string>(state.ToDictionary(kv => kv.Key, kv => Convert.ToHexString(kv.Value)), StringComparer.Ordinal);
    }

    /// <summary>Every file under the set's folder (including hidden and temporary ones) with the SHA-256 of its content.</summary>
    public static SortedDictionary<string, string> Files(FeatureStoreCatalog fs, string set)
    {
        var root = fs.SetRoot(set);
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (!Directory.Exists(root)) return result;
        foreach (var file in Directory.GetFiles(root, "*", SearchOption.AllDirectories))
            result[Path.GetRelativePath(root, file)] = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));
        return result;
    }

    /// <summary>The stored versions of a set with their status and update time.</summary>
    public static async Task<string[]> VersionsAsync(FeatureStoreCatalog fs, string set)
        => (await fs.Project.Store.Specs.ListVersionsAsync(fs.Project.Name, FeatureSetSpec.Kind, set))
            .Select(r => $"v{r.Version} updated {r.Updated:O} status {r.Status}").ToArray();
}
