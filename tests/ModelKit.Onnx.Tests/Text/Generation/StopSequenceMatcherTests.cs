using ModelKit.Onnx.Text.Generation;

namespace ModelKit.Tests.Text.Generation;

public sealed class StopSequenceMatcherTests
{
    [Fact]
    public void Push_NoStops_PassesTextThrough()
    {
        var matcher = new StopSequenceMatcher([]);

        Assert.Equal(("Hello", false), matcher.Push("Hello"));
        Assert.Equal((" world", false), matcher.Push(" world"));
        Assert.Equal("", matcher.Flush());
    }

    [Fact]
    public void Push_StopInsideOneDelta_EmitsTextBeforeItAndStops()
    {
        var matcher = new StopSequenceMatcher(["\n\n"]);

        Assert.Equal(("First line.", true), matcher.Push("First line.\n\nSecond"));
        Assert.True(matcher.Stopped);
        Assert.Equal(("", true), matcher.Push("more"));
        Assert.Equal("", matcher.Flush());
    }

    [Fact]
    public void Push_StopSpanningSeveralDeltas_HoldsThePossibleStartAndNeverEmitsPartOfIt()
    {
        var matcher = new StopSequenceMatcher(["<|im_end|>"]);

        Assert.Equal(("Sure", false), matcher.Push("Sure"));
        Assert.Equal(("!", false), matcher.Push("!<|"));
        Assert.Equal(("", false), matcher.Push("im"));
        Assert.Equal(("", false), matcher.Push("_en"));
        Assert.Equal(("", true), matcher.Push("d|>\nuser"));
    }

    [Fact]
    public void Push_PossibleStartThatDoesNotContinue_ReleasesTheHeldText()
    {
        var matcher = new StopSequenceMatcher(["END"]);

        Assert.Equal(("The ", false), matcher.Push("The E"));
        Assert.Equal(("", false), matcher.Push("N")); // "EN" may still become "END"
        Assert.Equal(("", false), matcher.Push(""));
        Assert.Equal(("ENd", false), matcher.Push("d"));
        Assert.False(matcher.Stopped);
    }

    [Fact]
    public void Push_SeveralStops_StopsAtTheEarliest()
    {
        var matcher = new StopSequenceMatcher(["world", "lo w", "xyz"]);

        Assert.Equal(("He", false), matcher.Push("Hel")); // "l" may start "lo w"
        Assert.Equal(("l", true), matcher.Push("lo world")); // "lo w" starts before "world": the choice's text is "Hel"
    }

    [Fact]
    public void Push_OverlappingPrefixes_HoldsTheLongestPossibleStart()
    {
        var matcher = new StopSequenceMatcher(["aab"]);

        Assert.Equal(("", false), matcher.Push("a"));
        Assert.Equal(("", false), matcher.Push("a"));
        Assert.Equal(("a", false), matcher.Push("a")); // "aaa": the last two may still start "aab"
        Assert.Equal(("", true), matcher.Push("b")); // "aaab": the choice's text is the "a" already sent
    }

    [Fact]
    public void Flush_HeldTextWithoutStop_ReturnsIt()
    {
        var matcher = new StopSequenceMatcher(["###"]);

        Assert.Equal(("Total", false), matcher.Push("Total##"));
        Assert.Equal("##", matcher.Flush());
    }

    [Fact]
    public void Constructor_EmptyStop_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => new StopSequenceMatcher(["ok", ""]));
        Assert.Contains("Stop sequence 1 is empty", error.Message, StringComparison.Ordinal);
    }
}
