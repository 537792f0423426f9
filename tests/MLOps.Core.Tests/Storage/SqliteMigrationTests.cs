using Microsoft.Data.Sqlite;
using MLOps.Storage;
using MLOps.Storage.Sqlite;

namespace MLOps.Core.Tests.Storage;

[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class SqliteMigrationTests
{
    private readonly TempFolder _folder = new();

    [TearDown]
    public void TearDown() => _folder.Dispose();

    [Test]
    public async Task InitializeAsync_StoreAtSchemaVersionOne_MigratesToLatestKeepingData()
    {
        var path = _folder.File("mlops.db");
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await c.OpenAsync();
            var (version, description, sql) = SqliteSchema.Migrations[0];
            await using var cmd = c.CreateCommand();
            cmd.CommandText = $"""
                CREATE TABLE schema_migrations(version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied INTEGER NOT NULL);
                {sql}
                INSERT INTO schema_migrations(version, description, applied) VALUES ({version}, '{description}', 0);
                INSERT INTO projects(name, description, created, updated) VALUES ('old', 'kept', {t0.UtcTicks}, {t0.UtcTicks});
                PRAGMA user_version={version};
                """;
            await cmd.ExecuteNonQueryAsync();
        }

        await using var store = new SqliteMetadataStore(path);
        await store.InitializeAsync();

        Assert.That((await store.Projects.GetAsync("old"))!.Description, Is.EqualTo("kept"));
        var spec = await store.Specs.SaveAsync(new NewSpec("old", "feature-set", "flights", "{}", null, new Dictionary<string, string>(), t0));
        Assert.That(spec.Version, Is.EqualTo(1));
        Assert.That(await store.Specs.ClaimSequenceAsync("old", "s", "a", t0), Is.EqualTo(1));
        await using var check = new SqliteConnection($"Data Source={path};Pooling=False");
        await check.OpenAsync();
        await using var count = check.CreateCommand();
        count.CommandText = "SELECT group_concat(version) FROM (SELECT version FROM schema_migrations ORDER BY version);";
        Assert.That(await count.ExecuteScalarAsync(), Is.EqualTo(string.Join(",", SqliteSchema.Migrations.Select(m => m.Version))));
    }
}
