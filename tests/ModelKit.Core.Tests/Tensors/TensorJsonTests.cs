using System.Text.Json;
using ModelKit.Tensors;

namespace ModelKit.Tests.Tensors;

public sealed class TensorJsonTests
{
    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement.Clone();

    [Theory]
    [InlineData("FP32", "1e400")]
    [InlineData("FP32", "-1e39")]
    [InlineData("FP32", "3.5e38")]
    [InlineData("FP16", "70000")]
    [InlineData("FP16", "3.5e38")]
    [InlineData("FP64", "1e400")]
    [InlineData("INT32", "4294967296")]
    [InlineData("INT8", "128")]
    [InlineData("INT64", "1.5")]
    public void ReadInputs_NumberOutsideTheElementType_IsInvalidInputNotInfinity(string datatype, string value)
    {
        var error = Assert.Throws<InvalidInputException>(() =>
            TensorJson.ReadInputs(Parse($$$"""{"x": {"shape": [1, 1], "datatype": "{{{datatype}}}", "data": [{{{value}}}]}}"""), null));
        Assert.Contains("input 'x'", error.Message, StringComparison.Ordinal);
        Assert.Contains(value, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("FP32", "3.4e38")]
    [InlineData("FP16", "65504")]
    [InlineData("FP32", "\"Infinity\"")]
    [InlineData("FP16", "\"-Infinity\"")]
    public void ReadInputs_LargestFiniteValuesAndExplicitInfinities_AreAccepted(string datatype, string value)
    {
        var inputs = TensorJson.ReadInputs(Parse($$$"""{"x": {"shape": [1, 1], "datatype": "{{{datatype}}}", "data": [{{{value}}}]}}"""), null);
        Assert.Equal(1, inputs["x"].Length);
    }

    [Fact]
    public void ReadInputs_LongBadValue_IsQuotedShort()
    {
        var error = Assert.Throws<InvalidInputException>(() =>
            TensorJson.ReadInputs(Parse($$$"""{"x": {"shape": [1, 1], "datatype": "FP32", "data": ["{{{new string('z', 10_000)}}}"]}}"""), null));
        Assert.True(error.Message.Length < 200, error.Message);
    }

    [Theory]
    [InlineData("[[1, 2, 3], [4, 5, 6]]", new long[] { 2, 3 })]
    [InlineData("[[[1], [2]], [[3], [4]], [[5], [6]]]", new long[] { 3, 2, 1 })]
    [InlineData("[1, 2, 3, 4, 5, 6]", new long[] { 6 })]
    [InlineData("[]", new long[] { 0 })]
    [InlineData("[[]]", new long[] { 1, 0 })]
    public void ReadInputs_NestedData_TakesItsShapeFromTheNestingInOnePass(string data, long[] shape)
    {
        var tensor = TensorJson.ReadInputs(Parse($$$"""{"x": {{{data}}}}"""), Float32Input())["x"];
        Assert.Equal(shape, tensor.Shape.ToArray());
        Assert.Equal(Enumerable.Range(1, (int)tensor.Length).Select(i => (float)i), tensor.ToArray<float>());
    }

    [Fact]
    public void ReadInputs_MoreValuesThanTheFirstGuess_GrowAndKeepEveryValue()
    {
        var data = "[" + string.Join(",", Enumerable.Range(0, 300).Select(r => "[" + string.Join(",", Enumerable.Range(0, 7).Select(c => r * 7 + c)) + "]")) + "]";
        var tensor = TensorJson.ReadInputs(Parse($$$"""{"x": {{{data}}}}"""), Float32Input())["x"];
        Assert.Equal([300L, 7], tensor.Shape.ToArray());
        Assert.Equal(Enumerable.Range(0, 2100).Select(i => (float)i), tensor.ToArray<float>());
    }

    [Theory]
    [InlineData("[[1, 2], [3]]", "dimension 1 has lengths 2 and 1")]
    [InlineData("[[1], [2, 3]]", "dimension 1 has lengths 1 and more")]
    [InlineData("[[1, 2], []]", "dimension 1 has lengths 2 and 0")]
    [InlineData("[1, [2]]", "ragged at dimension 1")]
    [InlineData("[[1], 2]", "ragged at dimension 1")]
    [InlineData("[[1], [[2]]]", "ragged at dimension 2")]
    [InlineData("[[1], [{}]]", "ragged at dimension 2")]
    [InlineData("[[], [1]]", "dimension 1 has lengths 0 and more")]
    [InlineData("[[[1]], []]", "dimension 1 has lengths 1 and 0")]
    [InlineData("[[], [[]]]", "dimension 1 has lengths 0 and more")]
    [InlineData("[[], 1]", "ragged at dimension 1")]
    [InlineData("[{}]", "ragged at dimension 1")]
    public void ReadInputs_RaggedNesting_SaysWhereItIsRagged(string data, string expected)
    {
        var error = Assert.Throws<InvalidInputException>(() => TensorJson.ReadInputs(Parse($$$"""{"x": {{{data}}}}"""), Float32Input()));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadInputs_DeclaredShapeThatDoesNotMatchTheValues_SaysBoth()
    {
        var error = Assert.Throws<InvalidInputException>(() =>
            TensorJson.ReadInputs(Parse("""{"x": {"shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3]}}"""), null));
        Assert.Contains("holds 4 values but 3 were given", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadInputs_DeclaredShapeOverFlatData_ReshapesIt()
    {
        var tensor = TensorJson.ReadInputs(Parse("""{"x": {"shape": [2, 3], "datatype": "INT64", "data": [1, 2, 3, 4, 5, 6]}}"""), null)["x"];
        Assert.Equal([2L, 3], tensor.Shape.ToArray());
        Assert.Equal([1L, 2, 3, 4, 5, 6], tensor.ToArray<long>());
    }

    [Fact]
    public void ReadInputs_BadValueDeepInTheData_NamesItsIndex()
    {
        var error = Assert.Throws<InvalidInputException>(() => TensorJson.ReadInputs(Parse("""{"x": [[1, 2], [3, "four"]]}"""), Float32Input()));
        Assert.Contains("value 3 is \"four\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadInputs_NestingDeeperThanSixteen_IsRefused()
    {
        var data = new string('[', 17) + "1" + new string(']', 17);
        var error = Assert.Throws<InvalidInputException>(() => TensorJson.ReadInputs(Parse($$$"""{"x": {{{data}}}}"""), Float32Input()));
        Assert.Contains("nested more than 16 levels", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadInputs_SixteenLevels_AreAccepted()
    {
        var data = new string('[', 16) + "1" + new string(']', 16);
        var tensor = TensorJson.ReadInputs(Parse($$$"""{"x": {{{data}}}}"""), Float32Input())["x"];
        Assert.Equal(Enumerable.Repeat(1L, 16), tensor.Shape.ToArray());
    }

    [Fact]
    public void ReadInputs_LargeNestedData_IsCountedFirst_AndReadWhole()
    {
        // Over 16 KiB of text: the values are counted before the array is allocated, at its size.
        var data = "[" + string.Join(",", Enumerable.Range(0, 2_000).Select(r => "[" + string.Join(",", Enumerable.Range(0, 10).Select(c => r * 10 + c)) + "]")) + "]";
        var signature = new ModelSignature(
            [new TensorSpec("x", TensorElementType.Int64, [-1, -1]), new TensorSpec("y", TensorElementType.Int64, [-1, -1])], [new TensorSpec("z", TensorElementType.Int64, [-1])]);
        var body = Parse($$$"""{"x": {{{data}}}, "y": [[7]]}""");
        var before = GC.GetAllocatedBytesForCurrentThread();
        var inputs = TensorJson.ReadInputs(body, signature);
        // 20 000 int64 are 160 KB: an array sized from the text (≈ 60 000 slots) or grown by doubling would be over 300 KB.
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 240_000, "large data is allocated once, at its size");
        Assert.Equal([2_000L, 10], inputs["x"].Shape.ToArray());
        Assert.Equal(Enumerable.Range(0, 20_000).Select(i => (long)i), inputs["x"].ToArray<long>());
        Assert.Equal([7L], inputs["y"].ToArray<long>()); // the reader ended at the data's end
    }

    [Theory]
    [InlineData(100_000_000, "holds 100000000 values but 3 were given")]
    [InlineData(2, "holds 2 values but 3 were given")]
    public void ReadInputs_DeclaredShapeThatLies_IsRefusedWithoutAllocatingForIt(long declared, string expected)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<InvalidInputException>(() =>
            TensorJson.ReadInputs(Parse($$$"""{"x": {"shape": [{{{declared}}}], "datatype": "FP64", "data": [1, 2, 3]}}"""), null));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 10, "a 60-byte body must not allocate for the shape it declares");
    }

    [Fact]
    public void ReadInputs_LargeDataAndADeclaredShapeLargerThanIt_SaysBoth()
    {
        var data = string.Join(",", Enumerable.Range(0, 10_000));
        var error = Assert.Throws<InvalidInputException>(() =>
            TensorJson.ReadInputs(Parse($$$"""{"x": {"shape": [10001], "datatype": "INT32", "data": [{{{data}}}]}}"""), null));
        Assert.Contains("holds 10001 values but 10000 were given", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadInputs_ManyStrings_AndABadValueFarIn_AreReadAndNamed()
    {
        var words = string.Join(",", Enumerable.Range(0, 200).Select(i => $"\"w{i}\""));
        var tensor = TensorJson.ReadInputs(Parse($$$"""{"s": {"datatype": "BYTES", "data": [[{{{words}}}]]}}"""), null)["s"];
        Assert.Equal([1L, 200], tensor.Shape.ToArray());
        Assert.Equal("w199", tensor.ToArray<string>()[199]);

        var numbers = string.Join(",", Enumerable.Range(0, 150)) + ",true";
        var error = Assert.Throws<InvalidInputException>(() => TensorJson.ReadInputs(Parse($$$"""{"x": [[{{{numbers}}}]]}"""), Float32Input()));
        Assert.Contains("value 150 is true", error.Message, StringComparison.Ordinal);
    }

    private static ModelSignature Float32Input() => new([new TensorSpec("x", TensorElementType.Float32, [-1, -1])], [new TensorSpec("y", TensorElementType.Float32, [-1])]);
}
