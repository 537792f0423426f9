namespace MLOps.Serving.Graphs;

/// <summary>
/// The event that flows through a <see cref="ServingGraph"/>: a request id, the model name it addresses, a body, headers,
/// parameters and a per-event bag of items. A step returns the event it produced: the same instance, changed, or a new one
/// (<see cref="WithBody"/>).
/// </summary>
/// <remarks>
/// Branches of a flow and shadow routes receive a <see cref="Clone"/>: their dictionaries are copies, so they cannot change
/// what the responding branch sees; the <see cref="Body"/> object itself is shared and should be treated as immutable.
/// </remarks>
public sealed class ServingEvent
{
    /// <summary>The <see cref="Items"/> key under which a failing step's name is stored before an error handler is called.</summary>
    public const string ErrorStepItem = "mlops.error.step";

    /// <summary>Creates an event.</summary>
    /// <param name="body">The payload (a request object, a tensor, a number, a label, ...).</param>
    /// <param name="path">The model or route name the event addresses, used by routers; <see langword="null"/> for none.</param>
    /// <param name="id">The request id; a new random id when <see langword="null"/>.</param>
    public ServingEvent(object? body = null, string? path = null, string? id = null)
    {
        _id = string.IsNullOrEmpty(id) ? null : id;
        Path = path;
        Body = body;
    }

    private ServingEvent(ServingEvent other, object? body)
    {
        // The same id as the other event; a random one is only made when someone reads it (most requests never do).
        _id = Volatile.Read(ref other._id);
        if (_id is null)
            _idSource = other;
        Path = other.Path;
        Body = body;
        // The dictionaries are made on first use (most events never touch them); a copy copies only those that exist.
        if (other._headers is { Count: > 0 } headers) _headers = new Dictionary<string, object?>(headers, StringComparer.OrdinalIgnoreCase);
        if (other._parameters is { Count: > 0 } parameters) _parameters = new Dictionary<string, object?>(parameters, StringComparer.Ordinal);
        if (other._items is { Count: > 0 } items) _items = new Dictionary<string, object?>(items, StringComparer.Ordinal);
    }

    private Dictionary<string, object?>? _headers;
    private Dictionary<string, object?>? _parameters;
    private Dictionary<string, object?>? _items;

    private string? _id;
    private readonly ServingEvent? _idSource;

    /// <summary>The request id, kept by <see cref="Clone"/> and <see cref="WithBody"/>: the one given, or a random one made
    /// the first time it is read (the same for every copy). Thread-safe.</summary>
    public string Id
    {
        get
        {
            var id = Volatile.Read(ref _id);
            if (id is not null)
                return id;
            id = _idSource?.Id ?? Guid.NewGuid().ToString("N");
            return Interlocked.CompareExchange(ref _id, id, null) ?? id;
        }
    }

    /// <summary>The model or route name the event addresses (routers pick a route by it); <see langword="null"/> for none.</summary>
    public string? Path { get; set; }

    /// <summary>The payload.</summary>
    public object? Body { get; set; }

    /// <summary>The request headers (case-insensitive keys).</summary>
    public IDictionary<string, object?> Headers => _headers ??= new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The request parameters (the Open Inference Protocol's <c>parameters</c>).</summary>
    public IDictionary<string, object?> Parameters => _parameters ??= new Dictionary<string, object?>(StringComparer.Ordinal);

    /// <summary>A bag for steps to pass values to later steps of the same event; never sent to the client.</summary>
    public IDictionary<string, object?> Items => _items ??= new Dictionary<string, object?>(StringComparer.Ordinal);

    /// <summary>Whether <see cref="Items"/> holds anything, without creating it.</summary>
    internal bool HasItems => _items is { Count: > 0 };

    /// <summary>Returns a copy with the same id, path and body and copies of the dictionaries.</summary>
    /// <returns>The copy.</returns>
    public ServingEvent Clone() => new(this, Body);

    /// <summary>Returns a copy (as <see cref="Clone"/>) with another body.</summary>
    /// <param name="body">The new payload.</param>
    /// <returns>The copy.</returns>
    public ServingEvent WithBody(object? body) => new(this, body);

    /// <inheritdoc />
    public override string ToString() => $"ServingEvent {Id} (path {Path ?? "none"}, body {Body?.GetType().Name ?? "null"})";
}
