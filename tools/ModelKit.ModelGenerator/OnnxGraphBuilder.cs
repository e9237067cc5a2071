using System.Runtime.InteropServices;

namespace ModelKit.ModelGenerator;

/// <summary>ONNX's tensor element type codes (TensorProto.DataType).</summary>
public enum OnnxDataType
{
    /// <summary>float32.</summary>
    Float = 1,
    /// <summary>uint8.</summary>
    UInt8 = 2,
    /// <summary>int8.</summary>
    Int8 = 3,
    /// <summary>int32.</summary>
    Int32 = 6,
    /// <summary>int64.</summary>
    Int64 = 7,
    /// <summary>string.</summary>
    String = 8,
    /// <summary>bool.</summary>
    Bool = 9,
    /// <summary>float16.</summary>
    Float16 = 10,
    /// <summary>float64.</summary>
    Double = 11,
}

/// <summary>
/// Builds an ONNX model (a ModelProto) node by node and serialises it. Field numbers follow onnx.proto;
/// weights are stored as little-endian raw data.
/// </summary>
public sealed class OnnxGraphBuilder
{
    // onnx.proto field numbers.
    private const int ModelIrVersion = 1, ModelProducerName = 2, ModelProducerVersion = 3, ModelDocString = 6, ModelGraph = 7, ModelOpsetImport = 8;
    private const int OpsetDomain = 1, OpsetVersion = 2;
    private const int GraphNode = 1, GraphName = 2, GraphInitializer = 5, GraphInput = 11, GraphOutput = 12;
    private const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4, NodeAttribute = 5;
    private const int AttrName = 1, AttrFloat = 2, AttrInt = 3, AttrInts = 8, AttrType = 20;
    private const int AttrTypeFloat = 1, AttrTypeInt = 2, AttrTypeInts = 7;
    private const int TensorDims = 1, TensorDataType = 2, TensorName = 8, TensorRawData = 9, TensorExternalData = 13, TensorDataLocation = 14;
    private const int EntryKey = 1, EntryValue = 2, DataLocationExternal = 1, ExternalAlignment = 4096;
    private const int ValueInfoName = 1, ValueInfoType = 2;
    private const int TypeTensor = 1, TypeTensorElemType = 1, TypeTensorShape = 2;
    private const int ShapeDim = 1, DimValue = 1, DimParam = 2;

    private readonly string _name;
    private readonly List<ProtoWriter> _nodes = [];
    private readonly List<Initializer> _initializers = [];
    private readonly List<ProtoWriter> _inputs = [];
    private readonly List<ProtoWriter> _outputs = [];
    private int _nodeCount;
    private int _tempCount;

    /// <summary>Starts a graph named <paramref name="name"/>.</summary>
    public OnnxGraphBuilder(string name) => _name = name;

    /// <summary>The default-domain opset the model imports. Default: 17.</summary>
    public int Opset { get; init; } = 17;

    /// <summary>A doc string stored in the model.</summary>
    public string? DocString { get; init; }

    /// <summary>Declares a graph input. A dimension is a number, or a string naming a dynamic dimension.</summary>
    public OnnxGraphBuilder Input(string name, OnnxDataType type, params object[] dims)
    {
        _inputs.Add(ValueInfo(name, type, dims));
        return this;
    }

    /// <summary>Declares a graph output.</summary>
    public OnnxGraphBuilder Output(string name, OnnxDataType type, params object[] dims)
    {
        _outputs.Add(ValueInfo(name, type, dims));
        return this;
    }

    /// <summary>Adds a float32 initializer and returns its name.</summary>
    public string Constant(string name, float[] values, params long[] dims) =>
        AddInitializer(name, OnnxDataType.Float, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    /// <summary>Adds an int64 initializer and returns its name.</summary>
    public string Constant(string name, long[] values, params long[] dims) =>
        AddInitializer(name, OnnxDataType.Int64, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    /// <summary>Adds a scalar float32 constant and returns its name.</summary>
    public string Scalar(float value) => Constant(TempName("c"), [value]);

    /// <summary>Adds a scalar int64 constant and returns its name.</summary>
    public string Scalar(long value) => Constant(TempName("c"), [value]);

    /// <summary>Adds a node with one output (named automatically unless given) and returns the output's name.</summary>
    public string Node(string opType, string[] inputs, string? output = null, params (string Name, object Value)[] attributes)
    {
        output ??= TempName(opType.ToLowerInvariant());
        NodeWithOutputs(opType, inputs, [output], attributes);
        return output;
    }

    /// <summary>Adds a node with several outputs.</summary>
    public void NodeWithOutputs(string opType, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var node = new ProtoWriter();
        foreach (var i in inputs) node.String(NodeInput, i);
        foreach (var o in outputs) node.String(NodeOutput, o);
        node.String(NodeName, $"{opType}_{_nodeCount++}");
        node.String(NodeOpType, opType);
        foreach (var (name, value) in attributes)
        {
            var attr = new ProtoWriter().String(AttrName, name);
            switch (value)
            {
                case float f:
                    attr.Float(AttrFloat, f).Int64(AttrType, AttrTypeFloat);
                    break;
                case int or long:
                    attr.Int64(AttrInt, Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)).Int64(AttrType, AttrTypeInt);
                    break;
                case long[] ints:
                    foreach (var v in ints) attr.Int64(AttrInts, v);
                    attr.Int64(AttrType, AttrTypeInts);
                    break;
                default:
                    throw new ArgumentException($"Attribute '{name}' has an unsupported value type {value?.GetType().Name}.", nameof(attributes));
            }

            node.Message(NodeAttribute, attr);
        }

        _nodes.Add(node);
    }

    /// <summary>Serialises the model (IR version 8) with every weight inside it.</summary>
    public byte[] Build() => Serialize(externalLocation: null, sizeThreshold: 0, data: null);

    /// <summary>
    /// Serialises the model with its larger weights in a separate external-data file, as exporters write models over
    /// 2 GB: each initializer of at least <paramref name="sizeThreshold"/> bytes gets <c>data_location = EXTERNAL</c> and
    /// <c>external_data</c> entries <c>location</c> (<paramref name="location"/>, relative to the model's folder),
    /// <c>offset</c> (aligned to 4096 bytes) and <c>length</c>; smaller ones stay inside the model.
    /// </summary>
    public ExternalDataModel BuildWithExternalData(string location, int sizeThreshold = 1024)
    {
        ArgumentException.ThrowIfNullOrEmpty(location);
        using var data = new MemoryStream();
        var model = Serialize(location, sizeThreshold, data);
        return new ExternalDataModel(model, data.ToArray(), location);
    }

    private byte[] Serialize(string? externalLocation, int sizeThreshold, MemoryStream? data)
    {
        var graph = new ProtoWriter();
        foreach (var n in _nodes) graph.Message(GraphNode, n);
        graph.String(GraphName, _name);
        foreach (var i in _initializers) graph.Message(GraphInitializer, Tensor(i, externalLocation, sizeThreshold, data));
        foreach (var i in _inputs) graph.Message(GraphInput, i);
        foreach (var o in _outputs) graph.Message(GraphOutput, o);

        var model = new ProtoWriter()
            .Int64(ModelIrVersion, 8)
            .String(ModelProducerName, "ModelKit.ModelGenerator")
            .String(ModelProducerVersion, "1");
        if (DocString is not null) model.String(ModelDocString, DocString);
        model.Message(ModelGraph, graph);
        model.Message(ModelOpsetImport, new ProtoWriter().String(OpsetDomain, string.Empty).Int64(OpsetVersion, Opset));
        return model.ToArray();
    }

    private static ProtoWriter Tensor(Initializer initializer, string? externalLocation, int sizeThreshold, MemoryStream? data)
    {
        var tensor = new ProtoWriter();
        foreach (var d in initializer.Dims) tensor.Int64(TensorDims, d);
        tensor.Int64(TensorDataType, (long)initializer.Type).String(TensorName, initializer.Name);
        if (externalLocation is null || data is null || initializer.Raw.Length < sizeThreshold)
        {
            return tensor.Bytes(TensorRawData, initializer.Raw);
        }

        var offset = (data.Length + ExternalAlignment - 1) / ExternalAlignment * ExternalAlignment;
        data.SetLength(offset);
        data.Position = offset;
        data.Write(initializer.Raw);
        tensor.Message(TensorExternalData, Entry("location", externalLocation));
        tensor.Message(TensorExternalData, Entry("offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        tensor.Message(TensorExternalData, Entry("length", initializer.Raw.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return tensor.Int64(TensorDataLocation, DataLocationExternal);
    }

    private static ProtoWriter Entry(string key, string value) => new ProtoWriter().String(EntryKey, key).String(EntryValue, value);

    private string TempName(string prefix) => $"{prefix}_{_tempCount++}";

    private string AddInitializer(string name, OnnxDataType type, ReadOnlySpan<byte> raw, long[] dims)
    {
        _initializers.Add(new Initializer(name, type, raw.ToArray(), dims));
        return name;
    }

    private static ProtoWriter ValueInfo(string name, OnnxDataType type, object[] dims)
    {
        var shape = new ProtoWriter();
        foreach (var d in dims)
        {
            var dim = new ProtoWriter();
            if (d is string param) dim.String(DimParam, param);
            else dim.Int64(DimValue, Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture));
            shape.Message(ShapeDim, dim);
        }

        var tensorType = new ProtoWriter().Int64(TypeTensorElemType, (long)type).Message(TypeTensorShape, shape);
        var typeProto = new ProtoWriter().Message(TypeTensor, tensorType);
        return new ProtoWriter().String(ValueInfoName, name).Message(ValueInfoType, typeProto);
    }

    private sealed record Initializer(string Name, OnnxDataType Type, byte[] Raw, long[] Dims);
}

/// <summary>A model whose larger weights live in an external-data file (<see cref="OnnxGraphBuilder.BuildWithExternalData"/>).</summary>
/// <param name="Model">The ModelProto bytes.</param>
/// <param name="Data">The external-data file's bytes.</param>
/// <param name="Location">The data file's name, relative to the model's folder, as the model refers to it.</param>
public sealed record ExternalDataModel(byte[] Model, byte[] Data, string Location);
