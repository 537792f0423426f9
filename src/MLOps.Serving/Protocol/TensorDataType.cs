namespace MLOps.Serving.Protocol;

/// <summary>
/// The tensor datatypes of the Open Inference Protocol (KServe V2), written in JSON as their upper-case names
/// (<c>"FP32"</c>, <c>"BYTES"</c>, ...).
/// </summary>
public enum TensorDataType
{
    /// <summary><c>BOOL</c>: booleans.</summary>
    Bool,

    /// <summary><c>UINT8</c>.</summary>
    UInt8,

    /// <summary><c>UINT16</c>.</summary>
    UInt16,

    /// <summary><c>UINT32</c>.</summary>
    UInt32,

    /// <summary><c>UINT64</c>.</summary>
    UInt64,

    /// <summary><c>INT8</c>.</summary>
    Int8,

    /// <summary><c>INT16</c>.</summary>
    Int16,

    /// <summary><c>INT32</c>.</summary>
    Int32,

    /// <summary><c>INT64</c>.</summary>
    Int64,

    /// <summary><c>FP16</c>: half-precision floats (carried as doubles in JSON).</summary>
    Fp16,

    /// <summary><c>FP32</c>: single-precision floats.</summary>
    Fp32,

    /// <summary><c>FP64</c>: double-precision floats.</summary>
    Fp64,

    /// <summary><c>BYTES</c>: strings (UTF-8) or binary.</summary>
    Bytes,
}
