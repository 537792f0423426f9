using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using MLOps.FeatureStore.Internal;

namespace MLOps.FeatureStore;

/// <summary>
/// Checks that a feature store's online store can be written and read: it upserts one row into a probe table
/// (feature set <see cref="ProbeTable"/> of the project, one string key and one double) and reads it back. Healthy
/// when the value read is the one written; unhealthy, with the exception, when the store cannot be opened, written or
/// read. Register it with <c>services.AddHealthChecks().AddFeatureStoreOnlineStore()</c>.
/// </summary>
/// <param name="featureStore">The feature store whose online store is checked.</param>
public sealed class FeatureStoreOnlineHealthCheck(FeatureStoreCatalog featureStore) : IHealthCheck
{
    /// <summary>The name of the probe table in the online store (not a feature set: it is never listed).</summary>
    public const string ProbeTable = "_mlops_health";

    /// <inheritdoc/>
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var clock = Stopwatch.StartNew();
        var project = featureStore.Project.Name;
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["project"] = project,
            ["onlineStore"] = featureStore.OnlineStore.GetType().Name,
        };
        if (featureStore.OnlineStore is SqliteOnlineStore sqlite) data["path"] = sqlite.Path;
        try
        {
            var store = featureStore.OnlineStore;
            var table = new OnlineTable(project, ProbeTable, [new FeatureColumn("probe", FeatureType.String)], "ts", [new FeatureColumn("value", FeatureType.Double)]);
            await store.PrepareAsync(table, cancellationToken).ConfigureAwait(false);
            // a new value each time: a check that passes has written this very value
            var value = Random.Shared.NextDouble();
            var now = Timestamps.FromDateTimeOffset(featureStore.Project.TimeProvider.GetUtcNow());
            var key = EntityKey.Encode(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var row = new RecordBatch(
                new Schema([Arrays.Field("probe", FeatureType.String), Arrays.Field("ts", FeatureType.Timestamp), Arrays.Field("value", FeatureType.Double)], null),
                [
                    new StringArray.Builder().Append(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)).Build(),
                    Arrays.Timestamps([now], [true]),
                    new DoubleArray.Builder().Append(value).Build(),
                ],
                1);
            await store.WriteAsync(table, row, new Dictionary<string, byte[]>(), cancellationToken).ConfigureAwait(false);
            using var reader = store.OpenReader(table, ["value"]);
            var read = new FeatureValue[1];
            if (!reader.TryRead(key, read, out _))
                return HealthCheckResult.Unhealthy($"The online store of project '{project}' did not return the probe row it was just given.", data: data);
            if (read[0].AsDouble() != value)
                return HealthCheckResult.Unhealthy($"The online store of project '{project}' returned {read[0].AsDouble()} for the probe row instead of {value} (another writer at a later time?).", data: data);
            data["durationMs"] = clock.Elapsed.TotalMilliseconds;
            return HealthCheckResult.Healthy($"The online store of project '{project}' can be written and read.", data);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            data["durationMs"] = clock.Elapsed.TotalMilliseconds;
            return new HealthCheckResult(context.Registration?.FailureStatus ?? HealthStatus.Unhealthy,
                $"The online store of project '{project}' cannot be written or read: {e.Message}", e, data);
        }
    }
}
