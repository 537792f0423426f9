using Microsoft.Data.Sqlite;
using MLOps.FeatureStore.Online;
using static MLOps.FeatureStore.Tests.Online.OnlineBatches;

namespace MLOps.FeatureStore.Tests.Online;

/// <summary>The online store contract against <see cref="SqliteOnlineStore"/> on a real file, plus what is specific to
/// SQLite: the file layout, several stores (as several processes would) on one file, disposal.</summary>
public sealed class SqliteOnlineStoreTests : OnlineStoreContractTests
{
    private string DbPath => System.IO.Path.Combine(Folder, "online", "online.db");

    protected override IOnlineStore CreateStore(string folder) => new SqliteOnlineStore(DbPath);

    private static SqliteConnection OpenRaw(string path)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        c.Open();
        return c;
    }

    private static object? Scalar(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    [Test]
    public void Constructor_InvalidOptions_ThrowsListingEveryProblem()
    {
        var e = Assert.Throws<ValidationException>(() => new SqliteOnlineStore(DbPath, new SqliteOnlineStoreOptions
        {
            BusyTimeout = TimeSpan.FromSeconds(-1),
            MaxWriteRetries = -1,
            Synchronous = "NORMAL; DROP TABLE x",
            MaxIdleReadConnections = -1,
        }));
        Assert.That(e!.Errors, Has.Count.EqualTo(4));
    }

    [Test]
    public async Task Constructor_OptionsChangedAfterwards_StoreKeepsItsValidatedCopy()
    {
        var options = new SqliteOnlineStoreOptions { Synchronous = "FULL" };
        await using var store = new SqliteOnlineStore(DbPath, options);
        // invalid (and SQL) after the store took its copy: a store still reading the caller's object would run it in its PRAGMA
        options.Synchronous = "OFF; CREATE TABLE injected (x)";

        await store.PrepareAsync(Table("flights"));

        using var c = OpenRaw(DbPath);
        Assert.That(Scalar(c, "SELECT count(*) FROM sqlite_master WHERE name = 'injected';"), Is.EqualTo(0));
        Assert.That(Scalar(c, "SELECT count(*) FROM online_tables;"), Is.EqualTo(1));
    }

    [Test]
    public async Task PrepareAsync_NewTable_CreatesWalFileWithPositionalColumns()
    {
        var table = Table("Flight Delays!");
        await Store.PrepareAsync(table);

        using var c = OpenRaw(DbPath);
        Assert.That(Scalar(c, "PRAGMA journal_mode;"), Is.EqualTo("wal"));
        var name = (string)Scalar(c, "SELECT table_name FROM online_tables WHERE project = 'proj' AND feature_set = 'Flight Delays!';")!;
        Assert.That(name, Does.Match("^fs_proj_flight_delays__[0-9a-f]{8}$"));
        Assert.That(Scalar(c, $"SELECT group_concat(name || ' ' || type, ', ') FROM pragma_table_info('{name}');"),
            Is.EqualTo("k TEXT, ts INTEGER, c0 REAL, c1 INTEGER, c2 INTEGER, c3 TEXT, c4 INTEGER"));
        Assert.That(Scalar(c, $"SELECT group_concat(feature || '=' || type, ', ') FROM (SELECT feature, type FROM online_columns WHERE table_name = '{name}' ORDER BY position);"),
            Is.EqualTo("delay=Double, count=Int64, late=Boolean, destination=String, last_seen=Timestamp"));
    }

    [Test]
    public async Task PrepareAsync_SeveralStoresAtOnce_CreateOneTableWithEveryFeature()
    {
        var stores = Enumerable.Range(0, 4).Select(_ => new SqliteOnlineStore(DbPath)).ToArray();
        try
        {
            // Each store adds its own feature to the same feature set, at the same moment.
            await Task.WhenAll(stores.Select((s, i) => Task.Run(() => s.PrepareAsync(Table("flights", new FeatureColumn("delay", FeatureType.Double), new FeatureColumn($"f{i}", FeatureType.Int64))))));

            using var reader = Store.OpenReader(Table(), ["delay", "f0", "f1", "f2", "f3"]);
            Assert.That(reader.Columns, Has.Count.EqualTo(5));
            using var c = OpenRaw(DbPath);
            Assert.That(Scalar(c, "SELECT count(*) FROM online_tables;"), Is.EqualTo(1));
            Assert.That(Scalar(c, "SELECT count(*) FROM online_columns;"), Is.EqualTo(5));
        }
        finally
        {
            foreach (var s in stores) await s.DisposeAsync();
        }
    }

    [Test]
    public async Task WriteAsync_SeveralStoresOnOneFile_LoseNoRowsAndSeeEachOthersColumns()
    {
        const int Stores = 4, Batches = 10, RowsPerBatch = 100;
        var table = Table();
        await Store.PrepareAsync(table);
        var stores = Enumerable.Range(0, Stores).Select(_ => new SqliteOnlineStore(DbPath)).ToArray();
        try
        {
            // Warm every store's catalog cache, then add a feature through another store: the cached entries are stale.
            foreach (var s in stores) await s.WriteAsync(table, Rows(T0, 0, "warm"), NoState);
            var wider = Table("flights", [.. AllTypes, new FeatureColumn("extra", FeatureType.String)]);
            await Store.PrepareAsync(wider);

            await Task.WhenAll(stores.Select((s, w) => Task.Run(async () =>
            {
                for (var b = 0; b < Batches; b++)
                {
                    var keys = Enumerable.Range(0, RowsPerBatch).Select(i => $"s{w}-{b * RowsPerBatch + i}").ToArray();
                    await s.WriteAsync(wider, Batch(
                        ("origin", Strings(keys)), ("ts", Times(keys.Select(_ => (DateTimeOffset?)T0).ToArray())),
                        ("extra", Strings(keys))), NoState);
                }
            })));

            using var reader = Store.OpenReader(wider, ["extra"]);
            var wrong = 0;
            for (var w = 0; w < Stores; w++)
                for (var i = 0; i < Batches * RowsPerBatch; i++)
                {
                    var key = $"s{w}-{i}";
                    var (found, values, _) = Read(reader, key);
                    if (!found || values[0].Text != key) wrong++;
                }
            Assert.That(wrong, Is.Zero);
        }
        finally
        {
            foreach (var s in stores) await s.DisposeAsync();
        }
    }

    [Test]
    public async Task OpenReader_WritesOfAnotherStore_AreSeen()
    {
        var table = Table();
        await Store.PrepareAsync(table);
        using var reader = Store.OpenReader(table, ["delay"]);
        await using (var other = new SqliteOnlineStore(DbPath))
            await other.WriteAsync(table, Rows(T0, 7, "SFO"), NoState);

        Assert.That(Read(reader, "SFO").Values[0].Number, Is.EqualTo(7));
    }

    [Test]
    public async Task OpenReader_TableDroppedWhileOpen_ThrowsFeatureStoreException()
    {
        var table = Table();
        await Store.PrepareAsync(table);
        using var reader = Store.OpenReader(table, ["delay"]);

        await Store.DropAsync(table);

        var e = Assert.Throws<FeatureStoreException>(() => reader.TryRead("SFO", new FeatureValue[1], out _));
        Assert.That(e!.Message, Does.Contain("new reader"));
    }

    [Test]
    public async Task TryReadMany_Batch_LeavesNoReadTransactionOpen()
    {
        var table = Table();
        await Store.PrepareAsync(table);
        await Store.WriteAsync(table, Rows(T0, 1, "SFO", "LAX"), NoState);
        using var reader = Store.OpenReader(table, ["delay"]);

        Assert.That(reader.TryReadMany(["SFO", "LAX", "JFK"], new FeatureValue[3], new long[3], new bool[3]), Is.EqualTo(2));

        Assert.That(TruncateWal(), Is.Zero, "a reader holding a snapshot would keep the WAL from being truncated");
    }

    [Test]
    public async Task TryReadMany_TableDroppedWhileOpen_ThrowsAndLeavesNoReadTransactionOpen()
    {
        var table = Table();
        await Store.PrepareAsync(table);
        await Store.WriteAsync(table, Rows(T0, 1, "SFO"), NoState);
        using var reader = Store.OpenReader(table, ["delay"]);

        await Store.DropAsync(table);

        var e = Assert.Throws<FeatureStoreException>(() => reader.TryReadMany(["SFO", "LAX"], new FeatureValue[2], new long[2], new bool[2]));
        Assert.That(e!.Message, Does.Contain("new reader"));
        Assert.That(TruncateWal(), Is.Zero);
    }

    /// <summary>Runs <c>PRAGMA wal_checkpoint(TRUNCATE)</c> on a connection of its own; 1 when a reader blocked it.</summary>
    private long TruncateWal()
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Pooling = false, DefaultTimeout = 1 }.ToString());
        c.Open();
        using (var timeout = c.CreateCommand())
        {
            timeout.CommandText = "PRAGMA busy_timeout = 200;";
            timeout.ExecuteNonQuery();
        }
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
        using var r = cmd.ExecuteReader();
        Assert.That(r.Read(), Is.True);
        return r.GetInt64(0);
    }

    [Test]
    public async Task OpenReader_StoreDisposed_ReaderKeepsWorkingUntilDisposed()
    {
        var store = new SqliteOnlineStore(System.IO.Path.Combine(Folder, "other.db"));
        var table = Table();
        await store.PrepareAsync(table);
        await store.WriteAsync(table, Rows(T0, 3, "SFO"), NoState);
        var reader = store.OpenReader(table, ["delay"]);

        await store.DisposeAsync();

        Assert.That(Read(reader, "SFO").Values[0].Number, Is.EqualTo(3));
        reader.Dispose();
        Assert.Throws<ObjectDisposedException>(() => reader.TryRead("SFO", new FeatureValue[1], out _));
    }

    [Test]
    public async Task Methods_AfterDispose_ThrowObjectDisposed()
    {
        var store = new SqliteOnlineStore(System.IO.Path.Combine(Folder, "other.db"));
        var table = Table();
        await store.PrepareAsync(table);
        await store.DisposeAsync();
        await store.DisposeAsync(); // twice is fine

        Assert.ThrowsAsync<ObjectDisposedException>(() => store.PrepareAsync(table));
        Assert.ThrowsAsync<ObjectDisposedException>(() => store.WriteAsync(table, Rows(T0, 1, "SFO"), NoState));
        Assert.ThrowsAsync<ObjectDisposedException>(() => store.LoadWindowStateAsync(table, ["SFO"]));
        Assert.ThrowsAsync<ObjectDisposedException>(() => store.DropAsync(table));
        Assert.Throws<ObjectDisposedException>(() => store.OpenReader(table, ["delay"]));
    }

    [Test]
    public async Task WriteAsync_Cancelled_ThrowsAndWritesNothing()
    {
        var table = Table();
        await Store.PrepareAsync(table);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        Assert.CatchAsync<OperationCanceledException>(() => Store.WriteAsync(table, Rows(T0, 1, "SFO"), NoState, cts.Token));
        Assert.That(Read(table, "SFO").Found, Is.False);
    }
}
