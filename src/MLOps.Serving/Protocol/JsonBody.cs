using System.Buffers;
using System.Text.Json;
using static MLOps.Serving.Protocol.RequestJson;

namespace MLOps.Serving.Protocol;

/// <summary>Writes the bodies: one reusable writer and buffer per thread, the writer options, parameters.</summary>
internal static class JsonBody
{
    internal static void WriteParameters(Utf8JsonWriter writer, IReadOnlyDictionary<string, JsonElement>? parameters)
    {
        if (parameters is null)
            return;
        writer.WritePropertyName("parameters"u8);
        writer.WriteStartObject();
        foreach (var (key, value) in parameters)
        {
            writer.WritePropertyName(key);
            value.WriteTo(writer);
        }
        writer.WriteEndObject();
    }

    internal static byte[] Serialize<T>(T value, Action<Utf8JsonWriter, T> write)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Write(value, write);
    }

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    /// <summary>Writes JSON with this thread's reusable buffer and writer and returns an exact-size copy: one allocation
    /// for the bytes instead of a growing buffer and a writer per body.</summary>
    internal static byte[] Write<T>(T state, Action<Utf8JsonWriter, T> write)
        => Write(state, write, 0, static (body, _) => body.ToArray());

    /// <summary>Takes the bytes of a written body, which are only valid during the call.</summary>
    internal delegate TResult BodyConsumer<in TTarget, out TResult>(ReadOnlySpan<byte> body, TTarget target);

    /// <summary>Writes JSON with this thread's reusable buffer and writer and hands the bytes to <paramref name="consume"/>
    /// (such as a copy into a response pipe): no allocation once the thread's buffer exists.</summary>
    /// <param name="state">The value to write.</param>
    /// <param name="write">Writes the value.</param>
    /// <param name="target">The consumer's state.</param>
    /// <param name="consume">Takes the written bytes (a static lambda: no closure per body).</param>
    /// <returns>What <paramref name="consume"/> returns.</returns>
    internal static TResult Write<T, TTarget, TResult>(T state, Action<Utf8JsonWriter, T> write, TTarget target, BodyConsumer<TTarget, TResult> consume)
    {
        var buffer = t_buffer;
        var writer = t_writer;
        t_buffer = null; // taken: a nested call (a writer callback that serializes) gets its own
        t_writer = null;
        buffer ??= new ArrayBufferWriter<byte>(1024);
        if (writer is null)
            writer = new Utf8JsonWriter(buffer, WriterOptions);
        else
            writer.Reset(buffer);
        try
        {
            write(writer, state);
            writer.Flush();
            return consume(buffer.WrittenSpan, target);
        }
        finally
        {
            if (buffer.Capacity <= MaxCachedBuffer)
            {
                buffer.ResetWrittenCount();
                writer.Reset();
                t_buffer = buffer;
                t_writer = writer;
            }
            else
            {
                writer.Dispose();
            }
        }
    }

    private const int MaxCachedBuffer = 1 << 20;

    /// <summary>Readable bodies: quotes in messages stay <c>'</c> rather than <c>\u0027</c> (the bodies are
    /// <c>application/json</c>, never embedded in HTML); control characters, <c>"</c> and <c>\</c> are still escaped.</summary>
    /// <remarks>The writers here produce well-formed JSON by construction (and the tests parse every kind of body they
    /// write), so the writer's structural validation is skipped: it costs about a tenth of writing a small response.</remarks>
    internal static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };
}
