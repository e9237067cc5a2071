using System.Runtime.InteropServices;
using System.Text;

namespace ModelKit.Registry;

/// <summary>
/// Hard links, which .NET has no API for: <c>link(2)</c> on Unix, <c>CreateHardLinkW</c> on Windows. A version's
/// directory links its files to their blobs, so that the content is stored once and is the same file the store
/// hashes. Symbolic links would not do: ONNX Runtime resolves links when it checks that external data stays inside
/// the model's folder.
/// </summary>
internal static class HardLink
{
    /// <summary>Links <paramref name="link"/> to the file at <paramref name="existing"/>; false when the file system cannot (or the link exists).</summary>
    public static bool TryCreate(string existing, string link)
    {
        try
        {
            return OperatingSystem.IsWindows()
                ? CreateHardLinkW(link, existing, IntPtr.Zero)
                : Unix.link(NullTerminated(existing), NullTerminated(link)) == 0;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// Puts a link to <paramref name="existing"/> at <paramref name="path"/>, replacing what is there in one step
    /// (link under a temporary name, then rename); copies when the file system has no hard links.
    /// </summary>
    public static void Replace(string existing, string path)
    {
        var temporary = path + ".link-" + Guid.NewGuid().ToString("N");
        if (!TryCreate(existing, temporary)) File.Copy(existing, temporary);
        File.Move(temporary, path, overwrite: true);
    }

    private static byte[] NullTerminated(string path)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(path) + 1];
        Encoding.UTF8.GetBytes(path, bytes);
        return bytes;
    }

    [DllImport("kernel32.dll", CharSet = CharSet.Unicode, SetLastError = true, ExactSpelling = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.System32)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static extern bool CreateHardLinkW(string fileName, string existingFileName, IntPtr securityAttributes);

    private static class Unix
    {
        [DllImport("libc", SetLastError = true, ExactSpelling = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable IDE1006, SA1300 // the C function's name
        public static extern int link(byte[] existing, byte[] link);
#pragma warning restore IDE1006, SA1300
    }
}
