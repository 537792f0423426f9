using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace MLOps.Storage.Sqlite;

/// <summary>
/// The opaque page token of a run search: the sort-key values of the last run of the page (the keyset cursor), the
/// search's snapshot horizon (the greatest run rowid when its first page was read) and a fingerprint of the project,
/// filter and order it belongs to, sealed with a checksum and written in base64url.
/// </summary>
internal sealed record RunPageToken(long Horizon, IReadOnlyList<object?> Cursor)
{
    private const byte Version = 1;
    private const int HashLength = 16;
    private static readonly byte[] Domain = "mlops.run-page-token.v1"u8.ToArray();

    /// <summary>A fingerprint of what a token is bound to: the project, the filter and the order.</summary>
    public static byte[] Fingerprint(RunQuery query)
    {
        var text = string.Join('\n', query.Project, query.Filter?.ToString() ?? "",
            string.Join(", ", query.OrderBy.Select(o => o.Field + (o.Descending ? " desc" : " asc"))));
        return SHA256.HashData(Encoding.UTF8.GetBytes(text))[..HashLength];
    }

    /// <summary>Writes the token for the page that ends at <see cref="Cursor"/>.</summary>
    public string Encode(byte[] fingerprint)
    {
        using var body = new MemoryStream();
        using (var w = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Version);
            w.Write(fingerprint);
            w.Write(Horizon);
            w.Write7BitEncodedInt(Cursor.Count);
            foreach (var value in Cursor)
            {
                switch (value)
                {
                    case null: w.Write((byte)0); break;
                    case long l: w.Write((byte)1); w.Write(l); break;
                    case double d: w.Write((byte)2); w.Write(d); break;
                    case string s: w.Write((byte)3); w.Write(s); break;
                    default: throw new InvalidOperationException($"A run sort key has an unexpected type {value.GetType().Name}.");
                }
            }
            w.Write(Checksum(body.GetBuffer().AsSpan(0, (int)body.Length)));
        }
        return Base64Url.EncodeToString(body.GetBuffer().AsSpan(0, (int)body.Length));
    }

    /// <summary>Reads and checks a token of the search with <paramref name="fingerprint"/> and <paramref name="keyCount"/> sort keys.</summary>
    /// <exception cref="ValidationException">The token is malformed, was altered, or belongs to another search.</exception>
    public static RunPageToken Decode(string token, byte[] fingerprint, int keyCount)
    {
        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(token);
        }
        catch (FormatException)
        {
            throw Invalid(token);
        }
        if (bytes.Length < 1 + HashLength + 8 + 1 + HashLength || bytes[0] != Version
            || !Checksum(bytes.AsSpan(0, bytes.Length - HashLength)).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - HashLength)))
            throw Invalid(token);
        if (!bytes.AsSpan(1, HashLength).SequenceEqual(fingerprint))
            throw new ValidationException($"RunQuery.PageToken '{Shorten(token)}' belongs to another search: it was returned for a different project, filter or order. " +
                "Pass a token only with the filter and order of the search that returned it, or pass null to start this search from its first page.");
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes, 1 + HashLength, bytes.Length - 1 - 2 * HashLength), Encoding.UTF8);
            var horizon = r.ReadInt64();
            var count = r.Read7BitEncodedInt();
            if (count != keyCount) throw Invalid(token);
            var cursor = new object?[count];
            for (var i = 0; i < count; i++)
            {
                cursor[i] = r.ReadByte() switch
                {
                    0 => null,
                    1 => r.ReadInt64(),
                    2 => r.ReadDouble(),
                    3 => r.ReadString(),
                    _ => throw Invalid(token),
                };
            }
            if (r.BaseStream.Position != r.BaseStream.Length) throw Invalid(token);
            return new RunPageToken(horizon, cursor);
        }
        catch (Exception e) when (e is EndOfStreamException or FormatException or IOException)
        {
            throw Invalid(token);
        }
    }

    private static byte[] Checksum(ReadOnlySpan<byte> body)
    {
        var data = new byte[Domain.Length + body.Length];
        Domain.CopyTo(data, 0);
        body.CopyTo(data.AsSpan(Domain.Length));
        return SHA256.HashData(data)[..HashLength];
    }

    private static ValidationException Invalid(string token)
        => new($"RunQuery.PageToken '{Shorten(token)}' is not a page token of this search: it is malformed, was changed or was cut short. " +
            "Pass the NextPageToken of the previous page exactly as it was returned, or null for the first page.");

    private static string Shorten(string token) => token.Length <= 300 ? token : token[..300] + "...";
}
