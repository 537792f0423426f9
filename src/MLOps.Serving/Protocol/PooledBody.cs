using System.Buffers;

namespace MLOps.Serving.Protocol;

/// <summary>
/// A body read from a stream into a buffer rented from <see cref="ArrayPool{T}.Shared"/>, at most a limit: the one read
/// loop of request bodies read from a stream (<see cref="InferenceJson.ParseRequestAsync"/>) and of remote answers (the
/// HTTP host reads from the request pipe instead). Dispose it to return the buffer.
/// </summary>
internal sealed class PooledBody : IDisposable
{
    private const int DefaultInitialBytes = 16 * 1024;

    private byte[]? _buffer;

    private PooledBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    /// <summary>The number of bytes read.</summary>
    public int Length { get; }

    /// <summary>The bytes read.</summary>
    public ReadOnlyMemory<byte> Memory => _buffer is null ? default : _buffer.AsMemory(0, Length);

    /// <summary>The bytes read.</summary>
    public ReadOnlySpan<byte> Span => Memory.Span;

    /// <summary>
    /// Reads the stream to its end, or stops as soon as it holds more than <paramref name="limit"/> bytes.
    /// </summary>
    /// <param name="stream">The stream.</param>
    /// <param name="limit">The largest body accepted, in bytes (below <see cref="Array.MaxLength"/>).</param>
    /// <param name="expectedLength">The declared length (Content-Length), which sizes the first buffer, or null.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The body, or <see langword="null"/> when it is longer than <paramref name="limit"/> (nothing stays rented).</returns>
    public static async ValueTask<PooledBody?> ReadAsync(Stream stream, long limit, long? expectedLength, CancellationToken cancellationToken)
    {
        if (expectedLength > limit)
            return null;
        // One byte over the expected length, so that the read seeing the end does not grow the buffer.
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Max(1, Math.Min((expectedLength ?? DefaultInitialBytes) + 1, limit + 1)));
        int length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(2L * buffer.Length, limit + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                int read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                    return new PooledBody(buffer, length);
                length += read;
                if (length > limit)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return null;
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>Returns the buffer; idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } rented)
            ArrayPool<byte>.Shared.Return(rented);
    }
}
