namespace ModelKit.Onnx;

/// <summary>
/// Sizes an ONNX model's weights from its file without loading it: walks the protobuf (ModelProto.graph →
/// GraphProto.initializer, sparse_initializer and the tensors and subgraphs in node attributes) and adds up
/// product(dims) × element size for every tensor, whatever its storage (raw_data, typed fields or external data).
/// The file is streamed and tensor payloads are skipped by seeking, so a multi-gigabyte model costs a few reads.
/// </summary>
/// <remarks>
/// A hand-written reader rather than Google.Protobuf's <c>CodedInputStream</c>: only tags, varints and lengths are
/// needed, and skipping a payload here is one seek instead of reading it through.
/// </remarks>
internal static class OnnxInitializerSize
{
    // Field numbers from onnx.proto3.
    private const int ModelGraph = 7;
    private const int GraphNode = 1, GraphInitializer = 5, GraphSparseInitializer = 15;
    private const int NodeAttribute = 5;
    private const int AttributeTensor = 5, AttributeGraph = 6, AttributeTensors = 10, AttributeGraphs = 11, AttributeSparseTensor = 22, AttributeSparseTensors = 23;
    private const int TensorDims = 1, TensorDataType = 2, TensorStringData = 6;
    private const int SparseValues = 1, SparseIndices = 2;

    // libstdc++'s std::string, which ONNX Runtime holds per element of a string tensor (short strings live inside it).
    private const long StringElementBytes = 32;

    /// <summary>
    /// The bytes of every tensor the model holds, or null when the file is not an ONNX model this reader understands
    /// (ONNX Runtime then says why when it loads the file).
    /// </summary>
    public static long? Read(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            return Read(stream);
        }
        catch (Exception ex) when (ex is FormatException or EndOfStreamException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>
    /// Like <see cref="Read(string)"/> over a stream positioned at the model's first byte; throws <see cref="FormatException"/>,
    /// <see cref="EndOfStreamException"/> or <see cref="OverflowException"/> on a malformed one.
    /// </summary>
    public static long Read(Stream stream)
    {
        var reader = new ProtoReader(stream);
        long total = 0;
        var end = stream.CanSeek ? stream.Length : long.MaxValue;
        while (reader.TryReadTag(end, out var field, out var wireType))
        {
            if (field == ModelGraph && wireType == ProtoReader.LengthDelimited) total = checked(total + Graph(reader, reader.ReadMessageEnd()));
            else reader.SkipField(wireType);
        }

        return total;
    }

    private static long Graph(ProtoReader reader, long end)
    {
        long total = 0;
        while (reader.TryReadTag(end, out var field, out var wireType))
        {
            total = checked(total + (field, wireType) switch
            {
                (GraphInitializer, ProtoReader.LengthDelimited) => Tensor(reader, reader.ReadMessageEnd()),
                (GraphSparseInitializer, ProtoReader.LengthDelimited) => SparseTensor(reader, reader.ReadMessageEnd()),
                (GraphNode, ProtoReader.LengthDelimited) => Node(reader, reader.ReadMessageEnd()),
                _ => reader.SkipField(wireType),
            });
        }

        return total;
    }

    // Constant nodes keep their value in an attribute; control-flow nodes (If, Loop, Scan) keep subgraphs there.
    private static long Node(ProtoReader reader, long end)
    {
        long total = 0;
        while (reader.TryReadTag(end, out var field, out var wireType))
        {
            total = checked(total + (field == NodeAttribute && wireType == ProtoReader.LengthDelimited
                ? Attribute(reader, reader.ReadMessageEnd())
                : reader.SkipField(wireType)));
        }

        return total;
    }

    private static long Attribute(ProtoReader reader, long end)
    {
        long total = 0;
        while (reader.TryReadTag(end, out var field, out var wireType))
        {
            if (wireType != ProtoReader.LengthDelimited)
            {
                reader.SkipField(wireType);
                continue;
            }

            total = checked(total + field switch
            {
                AttributeTensor or AttributeTensors => Tensor(reader, reader.ReadMessageEnd()),
                AttributeGraph or AttributeGraphs => Graph(reader, reader.ReadMessageEnd()),
                AttributeSparseTensor or AttributeSparseTensors => SparseTensor(reader, reader.ReadMessageEnd()),
                _ => reader.SkipField(wireType),
            });
        }

        return total;
    }

    private static long SparseTensor(ProtoReader reader, long end)
    {
        long total = 0;
        while (reader.TryReadTag(end, out var field, out var wireType))
        {
            total = checked(total + ((field is SparseValues or SparseIndices) && wireType == ProtoReader.LengthDelimited
                ? Tensor(reader, reader.ReadMessageEnd())
                : reader.SkipField(wireType)));
        }

        return total;
    }

    private static long Tensor(ProtoReader reader, long end)
    {
        long count = 1;
        var dataType = 0;
        long stringBytes = 0;
        while (reader.TryReadTag(end, out var field, out var wireType))
        {
            switch (field, wireType)
            {
                case (TensorDims, ProtoReader.Varint):
                    count = checked(count * Dimension(reader.ReadVarint()));
                    break;
                case (TensorDims, ProtoReader.LengthDelimited):
                    var packedEnd = reader.ReadMessageEnd();
                    while (reader.Position < packedEnd) count = checked(count * Dimension(reader.ReadVarint()));
                    break;
                case (TensorDataType, ProtoReader.Varint):
                    dataType = (int)reader.ReadVarint();
                    break;
                case (TensorStringData, ProtoReader.LengthDelimited):
                    stringBytes = checked(stringBytes + reader.SkipLengthDelimited());
                    break;
                default:
                    reader.SkipField(wireType);
                    break;
            }
        }

        if (dataType == 8) return checked((count * StringElementBytes) + stringBytes);
        var bits = ElementBits(dataType);
        return checked(((count * bits) + 7) / 8);
    }

    private static long Dimension(ulong value) =>
        (long)value >= 0 ? (long)value : throw new FormatException($"A tensor dimension of {(long)value} is not valid.");

    // TensorProto.DataType; unknown (newer) types count as one byte per element.
    private static int ElementBits(int dataType) => dataType switch
    {
        1 or 6 or 12 => 32,                       // FLOAT, INT32, UINT32
        2 or 3 or 9 => 8,                         // UINT8, INT8, BOOL
        4 or 5 or 10 or 16 => 16,                 // UINT16, INT16, FLOAT16, BFLOAT16
        7 or 11 or 13 or 14 => 64,                // INT64, DOUBLE, UINT64, COMPLEX64
        15 => 128,                                // COMPLEX128
        17 or 18 or 19 or 20 or 24 => 8,          // FLOAT8 variants, FLOAT8E8M0
        21 or 22 or 23 => 4,                      // UINT4, INT4, FLOAT4E2M1
        25 or 26 => 2,                            // UINT2, INT2
        _ => 8,
    };

    /// <summary>A forward-only protobuf wire reader over a stream, with its own buffer and seeking skips.</summary>
    private sealed class ProtoReader
    {
        public const int Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5;
        private readonly Stream _stream;
        private readonly byte[] _buffer = new byte[16 * 1024];
        private long _bufferStart;
        private int _offset;
        private int _count;

        // Positions are absolute in a seekable stream and count from where reading started otherwise.
        public ProtoReader(Stream stream)
        {
            _stream = stream;
            _bufferStart = stream.CanSeek ? stream.Position : 0;
        }

        public long Position => _bufferStart + _offset;

        public bool TryReadTag(long end, out int field, out int wireType)
        {
            field = wireType = 0;
            if (Position > end) throw new FormatException("A field runs past the end of its message.");
            if (Position == end) return false;
            if (!EnsureByte())
            {
                // The end of the stream is the end of the outermost message only.
                return end == long.MaxValue ? false : throw new EndOfStreamException();
            }

            var tag = ReadVarint();
            field = (int)(tag >> 3);
            wireType = (int)(tag & 7);
            if (field == 0) throw new FormatException("Field number 0 is not valid.");
            return true;
        }

        public ulong ReadVarint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (!EnsureByte()) throw new EndOfStreamException();
                var b = _buffer[_offset++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return value;
            }

            throw new FormatException("A varint is longer than 10 bytes.");
        }

        // The absolute position where the length-delimited field that starts here ends.
        public long ReadMessageEnd()
        {
            var length = ReadVarint();
            if (length > long.MaxValue / 2) throw new FormatException("A field length is not valid.");
            return Position + (long)length;
        }

        // Skips the field's value; returns 0 so that it reads as "adds nothing" where sizes are summed.
        public long SkipField(int wireType)
        {
            switch (wireType)
            {
                case Varint:
                    ReadVarint();
                    break;
                case Fixed64:
                    Skip(8);
                    break;
                case Fixed32:
                    Skip(4);
                    break;
                case LengthDelimited:
                    SkipLengthDelimited();
                    break;
                default:
                    throw new FormatException($"Wire type {wireType} is not used by ONNX.");
            }

            return 0;
        }

        // Skips a length-delimited value and returns its length.
        public long SkipLengthDelimited()
        {
            var end = ReadMessageEnd();
            var length = end - Position;
            Skip(length);
            return length;
        }

        private void Skip(long bytes)
        {
            if (bytes <= _count - _offset)
            {
                _offset += (int)bytes;
                return;
            }

            var target = Position + bytes;
            if (_stream.CanSeek)
            {
                if (target > _stream.Length) throw new EndOfStreamException();
                _stream.Position = target;
                _bufferStart = target;
                _offset = _count = 0;
                return;
            }

            while (Position < target)
            {
                if (!EnsureByte()) throw new EndOfStreamException();
                _offset += (int)Math.Min(_count - _offset, target - Position);
            }
        }

        private bool EnsureByte()
        {
            if (_offset < _count) return true;
            _bufferStart += _count;
            _offset = 0;
            _count = _stream.Read(_buffer, 0, _buffer.Length);
            return _count > 0;
        }
    }
}
