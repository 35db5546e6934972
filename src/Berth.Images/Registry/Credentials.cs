namespace Berth.Images.Registry;

/// <summary>What a registry is authenticated with: a user and password, or (docker's "&lt;token&gt;" user) an identity token for the OAuth2 refresh flow.</summary>
public sealed record RegistryCredentials(string Username, string Secret)
{
    public const string IdentityTokenUser = "<token>";

    public bool IsIdentityToken => Username == IdentityTokenUser;

    public string BasicHeader() => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{Username}:{Secret}"));

    // Never a secret in a log line or an exception message.
    public override string ToString() => $"RegistryCredentials({Username}, ***)";
}

/// <summary>Where credentials for a registry come from (auth files and helpers, a --creds flag, a test).</summary>
public interface ICredentialSource
{
    /// <summary>Credentials for <paramref name="repository"/> on <paramref name="registry"/> (the repository may pick a more specific entry), or null for anonymous.</summary>
    RegistryCredentials? Get(string registry, string repository);
}

/// <summary>The same credentials for every registry (skopeo's --creds), or none.</summary>
public sealed class FixedCredentials(RegistryCredentials? credentials) : ICredentialSource
{
    public static FixedCredentials Anonymous { get; } = new(null);

    public RegistryCredentials? Get(string registry, string repository) => credentials;
}
