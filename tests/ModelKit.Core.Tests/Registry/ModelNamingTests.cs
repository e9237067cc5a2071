using ModelKit.Registry;

namespace ModelKit.Tests.Registry;

public sealed class ModelNamingTests
{
    [Theory]
    [InlineData(null, "deepseek-v3", "7b", "deepseek-v3-7b")]
    [InlineData(null, "resnet", null, "resnet")]
    [InlineData("microsoft/DialoGPT-medium", "ignored", "7b", "microsoft/DialoGPT-medium")]
    [InlineData(" ", "resnet", " ", "resnet")]
    public void FromTypeAndSize_SeedForms_NameTheModel(string? id, string? type, string? size, string expected) =>
        Assert.Equal(expected, ModelNaming.FromTypeAndSize(id, type, size));

    [Fact]
    public void FromTypeAndSize_Nothing_IsInvalidInput() =>
        Assert.Contains("'model_type'", Assert.Throws<InvalidInputException>(() => ModelNaming.FromTypeAndSize(null, null, "7b")).Message, StringComparison.Ordinal);
}
