namespace Berth.Runtime.Tests;

/// <summary>The C helpers in native/, compiled once per test run.</summary>
public static class NativeTools
{
    static readonly Lazy<string> Dir = new(() =>
    {
        var dir = Directory.CreateTempSubdirectory("berth-native-").FullName;
        var src = Path.Combine(AppContext.BaseDirectory, "native");
        // Static: the probe runs inside a busybox rootfs that has no libc.
        Sandbox.Exec("gcc", "-static", "-O2", "-o", Path.Combine(dir, "probe"), Path.Combine(src, "probe.c")).Ok();
        Sandbox.Exec("gcc", "-O2", "-o", Path.Combine(dir, "listener"), Path.Combine(src, "listener.c")).Ok();
        Sandbox.Exec("gcc", "-O2", "-o", Path.Combine(dir, "console"), Path.Combine(src, "console.c")).Ok();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
        return dir;
    });

    public static string Probe => Path.Combine(Dir.Value, "probe");
    public static string Listener => Path.Combine(Dir.Value, "listener");
    public static string Console => Path.Combine(Dir.Value, "console");

    /// <summary>Puts the probe at /bin/probe in a bundle's rootfs.</summary>
    public static void InstallProbe(string bundle) =>
        File.Copy(Probe, Path.Combine(bundle, "rootfs", "bin", "probe"), overwrite: true);
}
