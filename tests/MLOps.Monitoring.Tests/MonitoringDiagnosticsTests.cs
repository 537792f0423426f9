namespace MLOps.Monitoring.Tests;

public sealed class MonitoringDiagnosticsTests
{
    [Test]
    public void Names_FollowThePackageConvention_AreMLOpsMonitoring()
    {
        Assert.That(MonitoringDiagnostics.ActivitySourceName, Is.EqualTo("MLOps.Monitoring"));
        Assert.That(MonitoringDiagnostics.MeterName, Is.EqualTo("MLOps.Monitoring"));
    }
}
