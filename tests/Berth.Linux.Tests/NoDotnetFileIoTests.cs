using System.Text.RegularExpressions;
using Xunit;

namespace Berth.Linux.Tests;

/// <summary>
/// The class of defect, not one case: System.IO's file calls throw IOException and
/// UnauthorizedAccessException worded for .NET ("Access to the path … is denied") that name
/// neither Berth's operation nor, often, the path. The libraries and the CLI use Berth.Linux's
/// FileSystem, Files, RegularFile and FdStream instead; what cannot throw (File.Exists,
/// Directory.Exists, Path's string functions) stays allowed.
/// </summary>
public class NoDotnetFileIoTests
{
    static readonly Regex Forbidden = new(
        @"\b(File|Directory)\.(?!Exists\b)[A-Z]\w*\s*\(|\bnew\s+(FileStream|StreamReader|StreamWriter|DirectoryInfo|FileInfo|BinaryReader|BinaryWriter)\b|\b(FileStream|DirectoryInfo|FileInfo|SafeFileHandle)\b|\bPath\.GetTempFileName\b",
        RegexOptions.Compiled);

    static string SourceRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "src", "Berth.Linux"))) return Path.Combine(dir.FullName, "src");
        throw new InvalidOperationException("src/ not found above the test assembly");
    }

    [Fact]
    public void No_library_or_the_cli_calls_system_io_for_files()
    {
        var offences = new List<string>();
        foreach (var file in Directory.EnumerateFiles(SourceRoot(), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains("/obj/") || file.Contains("/bin/")) continue;
            var lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                var code = lines[i].TrimStart();
                if (code.StartsWith("//")) continue;
                if (Forbidden.IsMatch(code)) offences.Add($"{Path.GetRelativePath(SourceRoot(), file)}:{i + 1}: {code}");
            }
        }
        Assert.True(offences.Count == 0, "System.IO file calls (use Berth.Linux.FileSystem, Files, RegularFile or FdStream):\n" + string.Join('\n', offences));
    }
}
