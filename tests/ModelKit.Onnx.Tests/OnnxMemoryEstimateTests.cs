using System.Text;
using Microsoft.Extensions.Options;
using ModelKit.Backends;
using ModelKit.Onnx;

namespace ModelKit.Tests;

/// <summary>A model's memory figure: its tensors' bytes read from the file (<see cref="OnnxInitializerSize"/>) and what the backend makes of them.</summary>
public sealed class OnnxMemoryEstimateTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task EstimateMemoryAsync_GeneratedMlp_IsTheWeightsWithTheAllowanceAndWhatTheSessionReports()
    {
        var backend = new OnnxBackend(Options.Create(new OnnxRuntimeOptions { IntraOpThreads = 1 }));
        var weights = ((64 * 256) + 256 + (256 * 10) + 10) * 4L;
        var estimate = await backend.EstimateMemoryAsync(new ModelLoadRequest(TestModels.Mlp));
        Assert.Equal((long)Math.Ceiling(weights * 1.25) + (2L << 20), estimate);
        using var session = await backend.LoadAsync(new ModelLoadRequest(TestModels.Mlp));
        Assert.Equal((estimate!.Value, MemoryMeasurement.InitializerEstimate), (session.MemoryBytes, session.MemoryMeasurement));
        Assert.Null(await backend.EstimateMemoryAsync(new ModelLoadRequest(_dir.Combine("missing.onnx"))));
    }

    [Fact]
    public void Read_GeneratedMlp_IsItsWeightsInBytes()
    {
        // 64→256→10: w1, b1, w2, b2 as float32.
        Assert.Equal(((64 * 256) + 256 + (256 * 10) + 10) * 4L, OnnxInitializerSize.Read(TestModels.Mlp));
    }

    [Fact]
    public void Read_RealModel_IsMostOfItsFile()
    {
        // The PaddleOCR classifier stores its weights as raw data: they are nearly the whole file, and never more.
        var path = TestModels.OcrClassifier;
        var bytes = OnnxInitializerSize.Read(path);
        var file = new FileInfo(path).Length;
        Assert.NotNull(bytes);
        Assert.InRange(bytes.Value, file * 9 / 10, file);
    }

    [Fact]
    public void Read_EveryStorage_CountsElementsTimesTheirSize()
    {
        var subgraph = Message(Bytes(5, Tensor(dataType: 3, dims: [7], Bytes(9, new byte[7]))));                     // int8[7] raw
        var graph = Message(
            Bytes(5, Tensor(dataType: 1, dims: [3, 4], Bytes(4, Packed(Enumerable.Repeat(0L, 12).ToArray(), fixed32: true)))), // float[3,4] in float_data
            Bytes(5, Tensor(dataType: 7, dims: [5], Bytes(7, Packed([1, 2, 3, 4, 5])))),                          // int64[5] in int64_data
            Bytes(5, Message(Bytes(1, Packed([2, 3])), Varint(2, 10))),                                            // float16[2,3], dims packed, no data
            Bytes(5, Tensor(dataType: 1, dims: [1000, 1000],                                                       // float[1000,1000] in an external file
                Varint(14, 1), Bytes(13, Message(Bytes(1, "location"u8.ToArray()), Bytes(2, "weights.bin"u8.ToArray()))))),
            Bytes(15, Message(Bytes(1, Tensor(dataType: 1, dims: [3])), Bytes(2, Tensor(dataType: 7, dims: [3])))), // sparse: float[3] values, int64[3] indices
            Bytes(1, Message(Bytes(4, "Constant"u8.ToArray()), Bytes(5, Message(Bytes(1, "value"u8.ToArray()), Bytes(5, Tensor(dataType: 11, dims: [2], Bytes(9, new byte[16]))))))), // double[2]
            Bytes(1, Message(Bytes(4, "If"u8.ToArray()), Bytes(5, Message(Bytes(1, "then_branch"u8.ToArray()), Bytes(6, subgraph))))),
            Bytes(5, Tensor(dataType: 8, dims: [2], Bytes(6, "ab"u8.ToArray()), Bytes(6, "cde"u8.ToArray()))));          // string[2]
        var model = Message(Varint(1, 8), Bytes(2, "test"u8.ToArray()), Bytes(7, graph));

        using var stream = new MemoryStream(model);
        var expected = (12 * 4) + (5 * 8) + (6 * 2) + (1_000_000 * 4) + ((3 * 4) + (3 * 8)) + (2 * 8) + 7 + ((2 * 32) + 5);
        Assert.Equal(expected, OnnxInitializerSize.Read(stream));
    }

    [Fact]
    public void Read_SubByteTypes_RoundUpToWholeBytes()
    {
        var model = Message(Bytes(7, Message(Bytes(5, Tensor(dataType: 22, dims: [3]))))); // int4[3]: 12 bits
        using var stream = new MemoryStream(model);
        Assert.Equal(2, OnnxInitializerSize.Read(stream));
    }

    [Fact]
    public void Read_NotAModelOrTruncated_IsNull()
    {
        var junk = _dir.Combine("junk.onnx");
        File.WriteAllText(junk, "this is not a protobuf");
        Assert.Null(OnnxInitializerSize.Read(junk));

        var truncated = _dir.Combine("truncated.onnx");
        var bytes = File.ReadAllBytes(TestModels.Mlp);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        Assert.Null(OnnxInitializerSize.Read(truncated));
    }

    public void Dispose() => _dir.Dispose();

    // A few protobuf wire-format writers, enough to lay out the ONNX messages above by hand.
    private static byte[] Tensor(int dataType, long[] dims, params byte[][] fields) =>
        Message([.. dims.Select(d => Varint(1, d)), Varint(2, dataType), Bytes(8, Encoding.UTF8.GetBytes("t" + dataType)), .. fields]);

    private static byte[] Message(params byte[][] fields) => [.. fields.SelectMany(f => f)];

    private static byte[] Varint(int field, long value) => [.. VarintBytes(((ulong)field << 3) | 0), .. VarintBytes((ulong)value)];

    private static byte[] Bytes(int field, byte[] value) => [.. VarintBytes(((ulong)field << 3) | 2), .. VarintBytes((ulong)value.Length), .. value];

    private static byte[] Packed(long[] values, bool fixed32 = false) =>
        fixed32 ? new byte[values.Length * 4] : [.. values.SelectMany(v => VarintBytes((ulong)v))];

    private static byte[] VarintBytes(ulong value)
    {
        var bytes = new List<byte>();
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
        return [.. bytes];
    }
}
