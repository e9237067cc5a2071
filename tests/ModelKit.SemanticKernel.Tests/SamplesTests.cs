using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace ModelKit.Tests;

/// <summary>
/// The Microsoft.Extensions.AI and Semantic Kernel samples run as real processes (<c>dotnet sample.dll data-dir</c>),
/// built before these tests by the project references, on the real all-MiniLM-L6-v2 (the chat sample on the
/// generated reciting decoder).
/// </summary>
public sealed class SamplesTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task EmbeddingsSample_RegistersMiniLmOnce_AndPrintsTheMostSimilarPair()
    {
        using var data = new TempDirectory();

        var first = await RunSampleAsync("ModelKit.EmbeddingsSample", data.Path);
        Assert.True(first.ExitCode == 0, first.Describe());
        Assert.Contains("registered all-MiniLM-L6-v2", first.Output, StringComparison.Ordinal);
        Assert.Contains("5 sentences embedded by modelkit/all-MiniLM-L6-v2: 384 dimensions", first.Output, StringComparison.Ordinal);
        // The pair sentence-transformers publishes (cosine 0.755) is the closest of the five.
        Assert.Contains("most similar: [0] \"A man is eating food.\" ~ [1] \"A man is eating a piece of bread.\" (cosine 0.75", first.Output, StringComparison.Ordinal);

        var second = await RunSampleAsync("ModelKit.EmbeddingsSample", data.Path);
        Assert.True(second.ExitCode == 0, second.Describe());
        Assert.DoesNotContain("registered", second.Output, StringComparison.Ordinal);
        Assert.Contains("most similar: [0]", second.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SemanticKernelSample_RanksThePasswordDocumentFirst()
    {
        using var data = new TempDirectory();

        var run = await RunSampleAsync("ModelKit.SemanticKernelSample", data.Path);

        Assert.True(run.ExitCode == 0, run.Describe());
        var ranking = run.Output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 2 && char.IsDigit(l[0]) && l[1] == '.').ToList();
        Assert.Equal(6, ranking.Count);
        Assert.StartsWith("1. ", ranking[0], StringComparison.Ordinal);
        Assert.EndsWith("To reset your password, open Settings and choose Security.", ranking[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChatSample_StreamsTwoTurnsOfTheConversation()
    {
        using var data = new TempDirectory();

        var run = await RunSampleAsync("ModelKit.ChatSample", data.Path);

        Assert.True(run.ExitCode == 0, run.Describe());
        var lines = run.Output.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal("registered gettysburg", lines[0]);
        // Two turns, each answered with the address's first 30 tokens (the reciting decoder's answer to anything).
        Assert.Equal(["user: How does your address at Gettysburg begin?", "user: Say it again, please."], lines.Where(l => l.StartsWith("user: ", StringComparison.Ordinal)));
        var answers = lines.Where(l => l.StartsWith("assistant: ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, answers.Count);
        Assert.All(answers, a => Assert.StartsWith("assistant: Four score and seven years ago our fathers brought forth on this continent, a new nation", a, StringComparison.Ordinal));
        Assert.Equal(answers[0], answers[1]);
        var counts = lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^\((\d+) streamed updates, (\d+) prompt tokens, (\d+) completion tokens\)$"))
            .Where(m => m.Success).Select(m => (Updates: int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), Prompt: int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), Completion: int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture))).ToList();
        Assert.Equal(2, counts.Count);
        Assert.All(counts, c => Assert.Equal(30, c.Completion));
        Assert.All(counts, c => Assert.InRange(c.Updates, 10, 30)); // streamed token by token, not in one piece
        // The second prompt holds the whole history: the first question, its answer and the second question.
        Assert.True(counts[1].Prompt > counts[0].Prompt + 30, $"prompt tokens: {counts[0].Prompt}, then {counts[1].Prompt}");
    }

    private static async Task<SampleRun> RunSampleAsync(string name, string dataDirectory)
    {
        var configuration = typeof(SamplesTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "Configuration").Value!;
        var dll = Path.Combine(RepositoryRoot.Path, "samples", name, "bin", configuration, "net10.0", name + ".dll");
        Assert.True(File.Exists(dll), $"{dll} was not built");

        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dataDirectory,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add(dataDirectory);
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        var error = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (error) error.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(Limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return new SampleRun(-1, output.ToString(), $"killed after {Limit}\n" + error);
        }

        await process.WaitForExitAsync(); // drains the redirected streams
        return new SampleRun(process.ExitCode, output.ToString(), error.ToString());
    }

    private sealed record SampleRun(int ExitCode, string Output, string Error)
    {
        public string Describe() => $"exit code {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
    }
}
