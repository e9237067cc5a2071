using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace ModelKit.Tensors;

/// <summary>
/// A dense, row-major tensor: an element type, a shape and a window over a managed array.
/// Slicing along dimension 0 shares the array; nothing is copied.
/// </summary>
public sealed class Tensor
{
    private readonly Array _data;
    private readonly long[] _shape;
    private readonly int _offset;
    private readonly int _length;

    private Tensor(TensorElementType elementType, Array data, int offset, int length, long[] shape)
    {
        ElementType = elementType;
        _data = data;
        _offset = offset;
        _length = length;
        _shape = shape;
    }

    /// <summary>The element type.</summary>
    public TensorElementType ElementType { get; }

    /// <summary>The dimensions (row-major).</summary>
    public ReadOnlySpan<long> Shape => _shape;

    /// <summary>The number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>The number of elements (the product of the dimensions).</summary>
    public int Length => _length;

    /// <summary>The size of dimension 0 (1 for a scalar).</summary>
    public long BatchSize => _shape.Length == 0 ? 1 : _shape[0];

    /// <summary>Creates a tensor over <paramref name="data"/> (not copied) with the given shape.</summary>
    public static Tensor Create<T>(T[] data, params long[] shape) => Create(new ArraySegment<T>(data), shape);

    /// <summary>Creates a tensor over a segment of an array (not copied) with the given shape.</summary>
    public static Tensor Create<T>(ArraySegment<T> data, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(data.Array);
        ArgumentNullException.ThrowIfNull(shape);
        var type = TensorElementTypes.Of<T>();
        var count = CountElements(shape);
        if (count != data.Count)
        {
            throw new ArgumentException($"Shape {FormatShape(shape)} holds {count} elements but {data.Count} were given.", nameof(shape));
        }

        return new Tensor(type, data.Array, data.Offset, data.Count, (long[])shape.Clone());
    }

    /// <summary>Allocates a zero-filled tensor of the given type and shape.</summary>
    public static Tensor Allocate(TensorElementType type, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var count = checked((int)CountElements(shape));
        Array data = type switch
        {
            TensorElementType.Float32 => new float[count],
            TensorElementType.Float16 => new Half[count],
            TensorElementType.Float64 => new double[count],
            TensorElementType.Int64 => new long[count],
            TensorElementType.Int32 => new int[count],
            TensorElementType.Int8 => new sbyte[count],
            TensorElementType.UInt8 => new byte[count],
            TensorElementType.Bool => new bool[count],
            TensorElementType.String => CreateEmptyStrings(count),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
        };
        return new Tensor(type, data, 0, count, (long[])shape.Clone());
    }

    /// <summary>The elements as a span; <typeparamref name="T"/> must match <see cref="ElementType"/>.</summary>
    public Span<T> AsSpan<T>()
    {
        if (_data is not T[] array)
        {
            throw new InvalidOperationException($"The tensor holds {ElementType.GetName()}, not {typeof(T).Name}.");
        }

        return new Span<T>(array, _offset, _length);
    }

    /// <summary>The elements as memory; <typeparamref name="T"/> must match <see cref="ElementType"/>.</summary>
    public Memory<T> AsMemory<T>()
    {
        if (_data is not T[] array)
        {
            throw new InvalidOperationException($"The tensor holds {ElementType.GetName()}, not {typeof(T).Name}.");
        }

        return new Memory<T>(array, _offset, _length);
    }

    /// <summary>A copy of the elements.</summary>
    public T[] ToArray<T>() => AsSpan<T>().ToArray();

    /// <summary>
    /// The elements' bytes in memory order (the machine's, little-endian on the platforms .NET runs on); a bool is one
    /// byte. Writing to the span writes the tensor. Strings have no fixed-size bytes: <see cref="InvalidOperationException"/>.
    /// </summary>
    public Span<byte> AsBytes() => ElementType switch
    {
        TensorElementType.Float32 => MemoryMarshal.AsBytes(AsSpan<float>()),
        TensorElementType.Float16 => MemoryMarshal.AsBytes(AsSpan<Half>()),
        TensorElementType.Float64 => MemoryMarshal.AsBytes(AsSpan<double>()),
        TensorElementType.Int64 => MemoryMarshal.AsBytes(AsSpan<long>()),
        TensorElementType.Int32 => MemoryMarshal.AsBytes(AsSpan<int>()),
        TensorElementType.Int8 => MemoryMarshal.AsBytes(AsSpan<sbyte>()),
        TensorElementType.UInt8 => AsSpan<byte>(),
        TensorElementType.Bool => MemoryMarshal.AsBytes(AsSpan<bool>()),
        _ => throw new InvalidOperationException($"A {ElementType.GetName()} tensor has no fixed-size bytes."),
    };

    /// <summary>Rows <paramref name="start"/> .. <paramref name="start"/>+<paramref name="count"/> of dimension 0, sharing this tensor's storage.</summary>
    public Tensor Slice(long start, long count)
    {
        if (_shape.Length == 0)
        {
            throw new InvalidOperationException("A scalar cannot be sliced along dimension 0.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (start + count > _shape[0])
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"Rows {start}..{start + count} exceed dimension 0 of size {_shape[0]}.");
        }

        var rowLength = _shape[0] == 0 ? 0 : _length / (int)_shape[0];
        var shape = (long[])_shape.Clone();
        shape[0] = count;
        return new Tensor(ElementType, _data, _offset + (int)(start * rowLength), (int)(count * rowLength), shape);
    }

    /// <summary>
    /// Like <see cref="Slice"/>, for a backend that splits a batch's outputs by request: <paramref name="shape"/> (this
    /// tensor's shape with dimension 0 set to <paramref name="count"/>) is used as is, so one array can serve every slice
    /// of the same size; a tensor's shape is never written after creation. The caller guarantees the rows exist.
    /// </summary>
    public Tensor SliceRows(long start, long count, long[] shape)
    {
        var rowLength = _shape[0] == 0 ? 0 : _length / (int)_shape[0];
        return new Tensor(ElementType, _data, _offset + (int)(start * rowLength), (int)(count * rowLength), shape);
    }

    /// <summary>The number of elements in <paramref name="shape"/>; throws for negative dimensions.</summary>
    public static long CountElements(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Shape {FormatShape(shape)} has a negative dimension.", nameof(shape));
            }

            count = checked(count * d);
        }

        return count;
    }

    /// <summary>Formats a shape as <c>[2,3]</c>, with <c>?</c> for dynamic (-1) dimensions.</summary>
    public static string FormatShape(ReadOnlySpan<long> shape)
    {
        var sb = new StringBuilder("[");
        for (var i = 0; i < shape.Length; i++)
        {
            if (i > 0) sb.Append(',');
            if (shape[i] < 0) sb.Append('?');
            else sb.Append(shape[i]);
        }

        return sb.Append(']').ToString();
    }

    /// <summary>The type and shape, e.g. <c>float32[2,4]</c>.</summary>
    public override string ToString() => ElementType.GetName() + FormatShape(_shape);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string[] CreateEmptyStrings(int count)
    {
        var result = new string[count];
        Array.Fill(result, string.Empty);
        return result;
    }
}
