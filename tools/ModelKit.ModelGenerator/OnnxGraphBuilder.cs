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
    private const int TensorDims = 1, TensorDataType = 2, TensorName = 8, TensorRawData = 9;
    private const int ValueInfoName = 1, ValueInfoType = 2;
    private const int TypeTensor = 1, TypeTensorElemType = 1, TypeTensorShape = 2;
    private const int ShapeDim = 1, DimValue = 1, DimParam = 2;

    private readonly string _name;
    private readonly List<ProtoWriter> _nodes = [];
    private readonly List<ProtoWriter> _initializers = [];
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

    /// <summary>Serialises the model (IR version 8).</summary>
    public byte[] Build()
    {
        var graph = new ProtoWriter();
        foreach (var n in _nodes) graph.Message(GraphNode, n);
        graph.String(GraphName, _name);
        foreach (var i in _initializers) graph.Message(GraphInitializer, i);
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

    private string TempName(string prefix) => $"{prefix}_{_tempCount++}";

    private string AddInitializer(string name, OnnxDataType type, ReadOnlySpan<byte> raw, long[] dims)
    {
        var tensor = new ProtoWriter();
        foreach (var d in dims) tensor.Int64(TensorDims, d);
        tensor.Int64(TensorDataType, (long)type).String(TensorName, name).Bytes(TensorRawData, raw);
        _initializers.Add(tensor);
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
}
