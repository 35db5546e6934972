using System.Diagnostics;
using System.Text.Json.Nodes;
using Berth.Oci.Json;
using Berth.Oci.Runtime;
using Xunit;

namespace Berth.Oci.Tests;

public class DefaultSpecTests
{
    /// <summary>`berth spec` is `runc spec`: same document but for the version and the hostname.</summary>
    [Fact]
    public void The_default_spec_is_the_one_runc_writes()
    {
        Assert.True(File.Exists("/usr/sbin/runc") || File.Exists("/usr/bin/runc"), "runc is installed by `make test` (scripts/install-deps.sh test)");
        var dir = Directory.CreateTempSubdirectory("berth-spec-");
        try
        {
            var p = System.Diagnostics.Process.Start(new ProcessStartInfo("runc", "spec") { WorkingDirectory = dir.FullName })!;
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
            var runc = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.FullName, "config.json")))!.AsObject();
            var ours = JsonNode.Parse(JsonOut.Document(DefaultSpec.Create()))!.AsObject();
            foreach (var o in new[] { runc, ours })
            {
                o.Remove("ociVersion");
                o.Remove("hostname");
            }
            Assert.True(JsonNode.DeepEquals(runc, ours), $"runc:\n{runc}\nberth:\n{ours}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
