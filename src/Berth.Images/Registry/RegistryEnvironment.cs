namespace Berth.Images.Registry;

/// <summary>
/// The process facts the registry client reads its configuration by: home, XDG directories and the
/// variables containers/image honours. Taken once from the process, or made by a test.
/// </summary>
public sealed record RegistryEnvironment(
    string? Home,
    string? XdgRuntimeDir,
    string? XdgConfigHome,
    string? RegistryAuthFile,
    string? DockerConfig,
    string? RegistriesConf,
    uint Uid)
{
    public static RegistryEnvironment FromProcess() => new(
        Var("HOME"), Var("XDG_RUNTIME_DIR"), Var("XDG_CONFIG_HOME"), Var("REGISTRY_AUTH_FILE"), Var("DOCKER_CONFIG"),
        Var("CONTAINERS_REGISTRIES_CONF"), Linux.Processes.EffectiveUid);

    static string? Var(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    /// <summary>$XDG_CONFIG_HOME, else $HOME/.config.</summary>
    public string? ConfigHome => XdgConfigHome ?? (Home is null ? null : Path.Combine(Home, ".config"));
}
