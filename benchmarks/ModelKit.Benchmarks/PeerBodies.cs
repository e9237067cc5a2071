using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Grpc.Inference;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace ModelKit.Benchmarks;

/// <summary>
/// The request bodies benchmarks/peers/compare-rest.sh sends, one row per request, for every surface it measures, written
/// from the model file's own inputs so that each surface carries the same values:
/// <list type="bullet">
/// <item><c>seed000.json</c>: seed 000's <c>{"input_data": …}</c> (an array for a one-input model, else named arrays);</item>
/// <item><c>oip.json</c>: the Open Inference Protocol's JSON request (<c>inputs</c> with name, shape, datatype, data);</item>
/// <item><c>oip.bin</c>: its binary extension, the JSON header (each input's <c>binary_data_size</c>, outputs asked for in
/// binary) followed by the inputs' little-endian bytes; <c>oip.bin.header</c> holds the header's length in bytes;</item>
/// <item><c>grpc.bin</c> and <c>grpc-raw.bin</c>: the Open Inference Protocol's gRPC <c>ModelInfer</c> request for
/// <c>modelId</c> as one gRPC message on the wire (a 5-byte length prefix, then the protobuf), the values in typed contents
/// or in <c>raw_input_contents</c>, for a load generator that posts a file (h2load).</item>
/// </list>
/// A float input is 1, 2, … (one row of its feature size); a text encoder's int64 inputs are one sequence of
/// <c>sequence</c> tokens: [CLS] 200, 201, … [SEP] as <c>input_ids</c>, ones as <c>attention_mask</c>, zeros otherwise.
/// </summary>
internal static class PeerBodies
{
    public static int Write(string modelPath, string directory, int sequence, string modelId)
    {
        using var session = new InferenceSession(modelPath);
        var inputs = new List<(string Name, string Datatype, long[] Shape, string Json, byte[] Bytes)>();
        foreach (var (name, meta) in session.InputMetadata)
        {
            if (meta.ElementDataType == TensorElementType.Float)
            {
                var features = meta.Dimensions[^1];
                var values = Enumerable.Range(1, features).Select(i => (float)i).ToArray();
                var bytes = new byte[values.Length * sizeof(float)];
                Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
                inputs.Add((name, "FP32", [1, features], string.Join(",", values.Select(v => v.ToString(CultureInfo.InvariantCulture))), bytes));
            }
            else if (meta.ElementDataType == TensorElementType.Int64)
            {
                var values = name switch
                {
                    "input_ids" => Enumerable.Range(0, sequence).Select(i => i == 0 ? 101L : i == sequence - 1 ? 102L : 199L + i).ToArray(),
                    "attention_mask" => Enumerable.Repeat(1L, sequence).ToArray(),
                    _ => new long[sequence],
                };
                var bytes = new byte[values.Length * sizeof(long)];
                Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
                inputs.Add((name, "INT64", [1, sequence], string.Join(",", values), bytes));
            }
            else
            {
                Console.Error.WriteLine($"Input '{name}' is {meta.ElementDataType}: only float and int64 inputs have bodies here.");
                return 2;
            }
        }

        Directory.CreateDirectory(directory);
        var seed000 = inputs.Count == 1
            ? $"{{\"input_data\": [[{inputs[0].Json}]]}}"
            : "{\"input_data\": {" + string.Join(", ", inputs.Select(i => $"\"{i.Name}\": [[{i.Json}]]")) + "}}";
        File.WriteAllText(Path.Combine(directory, "seed000.json"), seed000);
        string Tensor(string name, string datatype, long[] shape, string tail) =>
            $"{{\"name\": \"{name}\", \"shape\": [{string.Join(", ", shape)}], \"datatype\": \"{datatype}\", {tail}}}";
        File.WriteAllText(Path.Combine(directory, "oip.json"), "{\"inputs\": [" + string.Join(", ", inputs.Select(i => Tensor(i.Name, i.Datatype, i.Shape, $"\"data\": [{i.Json}]"))) + "]}");
        var header = Encoding.UTF8.GetBytes("{\"inputs\": [" + string.Join(", ", inputs.Select(i => Tensor(i.Name, i.Datatype, i.Shape, $"\"parameters\": {{\"binary_data_size\": {i.Bytes.Length}}}")))
            + "], \"parameters\": {\"binary_data_output\": true}}");
        using (var binary = File.Create(Path.Combine(directory, "oip.bin")))
        {
            binary.Write(header);
            foreach (var input in inputs) binary.Write(input.Bytes);
        }

        File.WriteAllText(Path.Combine(directory, "oip.bin.header"), header.Length.ToString(CultureInfo.InvariantCulture));
        WriteGrpc(Path.Combine(directory, "grpc.bin"), modelId, inputs.Select(i => (i.Name, i.Datatype, i.Shape, i.Bytes)), raw: false);
        WriteGrpc(Path.Combine(directory, "grpc-raw.bin"), modelId, inputs.Select(i => (i.Name, i.Datatype, i.Shape, i.Bytes)), raw: true);
        Console.WriteLine($"wrote seed000.json, oip.json, oip.bin, grpc.bin and grpc-raw.bin ({header.Length}-byte header) for {string.Join(", ", inputs.Select(i => $"{i.Name} {i.Datatype}[{string.Join(",", i.Shape)}]"))}");
        return 0;
    }

    private static void WriteGrpc(string path, string modelId, IEnumerable<(string Name, string Datatype, long[] Shape, byte[] Bytes)> inputs, bool raw)
    {
        var request = new ModelInferRequest { ModelName = modelId };
        foreach (var (name, datatype, shape, bytes) in inputs)
        {
            var tensor = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = datatype, Shape = { shape } };
            request.Inputs.Add(tensor);
            if (raw) request.RawInputContents.Add(ByteString.CopyFrom(bytes));
            else if (datatype == "INT64") tensor.Contents = new InferTensorContents { Int64Contents = { MemoryMarshal.Cast<byte, long>(bytes).ToArray() } };
            else tensor.Contents = new InferTensorContents { Fp32Contents = { MemoryMarshal.Cast<byte, float>(bytes).ToArray() } };
        }

        // A gRPC message on the wire: not compressed (0), its length (4 bytes, big-endian), the message.
        var message = request.ToByteArray();
        var frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), message.Length);
        message.CopyTo(frame, 5);
        File.WriteAllBytes(path, frame);
    }
}
