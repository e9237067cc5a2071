using System.Diagnostics;
using ModelKit.ModelGenerator;

namespace ModelKit.Tests;

/// <summary>
/// The generator's files against the ONNX project's own checker (<c>onnx.checker.check_model</c> with full
/// shape inference), run through Python's onnx package (Debian: python3-onnx; scripts/test.sh installs it).
/// </summary>
public sealed class OnnxCheckerTests : IDisposable
{
    private const string Script = "import sys, onnx\nfor p in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(p), full_check=True)\n    print('ok', p)\n";
    private static readonly Lazy<string> Python = new(FindPython);
    private readonly TempDirectory _dir = new();

    private static string FindPython()
    {
        string[] candidates = [Environment.GetEnvironmentVariable("MODELKIT_PYTHON") ?? string.Empty, "/usr/bin/python3", "python3"];
        foreach (var candidate in candidates.Where(c => c.Length > 0))
        {
            try
            {
                if (Run(candidate, ["-c", "import onnx"]).ExitCode == 0) return candidate;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Not installed under that name.
            }
        }

        throw new InvalidOperationException(
            "No Python with the onnx package was found (tried MODELKIT_PYTHON, /usr/bin/python3, python3): install python3-onnx (scripts/test.sh does so with apt when it can).");
    }

    private static (int ExitCode, string Output) Run(string file, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private (int ExitCode, string Output) Check(params string[] paths) => Run(Python.Value, ["-c", Script, .. paths]);

    [Fact]
    public void GeneratedModels_PassTheOnnxChecker()
    {
        var bertSmall = DemoModels.Write(Path.Combine(_dir.Path, "bert-small.onnx"), DemoModels.CreateBertEncoder(new BertSpec { Layers = 4, Hidden = 256, Heads = 4, Vocabulary = 8000 }));
        var mlpExternal = DemoModels.Write(Path.Combine(_dir.Path, "mlp-external.onnx"), DemoModels.CreateMlpWithExternalData("mlp-external.onnx.data"));
        var (exitCode, output) = Check(TestModels.Mlp, TestModels.MlpV2, TestModels.BertTiny, bertSmall, mlpExternal);
        Assert.True(exitCode == 0, output);
        Assert.Equal(5, output.Split('\n').Count(l => l.StartsWith("ok ", StringComparison.Ordinal)));
    }

    [Fact]
    public void BrokenGraph_IsRejectedByTheChecker()
    {
        // A node reading a value nothing produces: the checker must say so (this keeps the test above honest).
        var g = new OnnxGraphBuilder("broken");
        g.Input("x", OnnxDataType.Float, "N", 2);
        g.Node("Add", ["x", "nowhere"], "y");
        g.Output("y", OnnxDataType.Float, "N", 2);
        var path = DemoModels.Write(Path.Combine(_dir.Path, "broken.onnx"), g.Build());

        var (exitCode, output) = Check(path);
        Assert.NotEqual(0, exitCode);
        Assert.Contains("nowhere", output, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Dispose();
}
