using ModelKit.Deployments;

namespace ModelKit.Tests.Deployments;

public sealed class ResourceQuantityTests
{
    [Theory]
    [InlineData("8Gi", 8L << 30)]
    [InlineData("16Gi", 16L << 30)]
    [InlineData("512Mi", 512L << 20)]
    [InlineData("1.5Gi", 3L << 29)]
    [InlineData("2G", 2_000_000_000L)]
    [InlineData("100k", 100_000L)]
    [InlineData(" 1500000 ", 1_500_000L)]
    public void ParseBytes_SeedQuantities_AreBytes(string text, long expected) => Assert.Equal(expected, ResourceQuantity.ParseBytes(text));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void ParseBytes_NoText_IsNull(string? text) => Assert.Null(ResourceQuantity.ParseBytes(text));

    [Theory]
    [InlineData("8GB")]
    [InlineData("-1Gi")]
    [InlineData("0")]
    [InlineData("NaNGi")]
    [InlineData("1e300Gi")]
    [InlineData("Gi")]
    [InlineData("99999999999999999999")]
    public void ParseBytes_NotAQuantity_IsInvalidModelConfigNamingTheField(string text)
    {
        var error = Assert.Throws<InvalidModelConfigException>(() => ResourceQuantity.ParseBytes(text, "resource_requirements.memory"));
        Assert.Contains("'resource_requirements.memory'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseBytes_LongText_IsQuotedShort()
    {
        var error = Assert.Throws<InvalidModelConfigException>(() => ResourceQuantity.ParseBytes(new string('x', 10_000)));
        Assert.True(error.Message.Length < 200, error.Message);
    }

    [Theory]
    [InlineData("cuda:1", "2", "cuda:1")]
    [InlineData(null, "1", "cuda:0")]
    [InlineData(null, "0", null)]
    [InlineData(null, null, null)]
    [InlineData(null, "many", null)]
    public void Device_ExplicitDeviceWins_ElseGpusAskForTheFirstGpu(string? device, string? gpus, string? expected) =>
        Assert.Equal(expected, ResourceQuantity.Device(device, gpus));
}
