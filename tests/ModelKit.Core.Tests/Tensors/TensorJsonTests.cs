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
}
