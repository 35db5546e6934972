namespace Berth.Serve.Auth;

/// <summary>What a caller may do. Scan cannot promote or write VEX (issue 18: promote and vex need a role scan lacks); Admin is every role.</summary>
public enum Role { Scan, Promote, Vex, Admission, Admin }

public static class Roles
{
    public static Role Parse(string text, string where) => text switch
    {
        "scan" => Role.Scan,
        "promote" => Role.Promote,
        "vex" => Role.Vex,
        "admission" => Role.Admission,
        "admin" => Role.Admin,
        _ => throw new ServeException(0, $"{where}: unknown role \"{text}\" (scan, promote, vex, admission, admin)"),
    };

    public static string Name(Role r) => r.ToString().ToLowerInvariant();
}

/// <summary>Who asked: the subject recorded in the audit log and the roles it holds.</summary>
public sealed record Caller(string Subject, IReadOnlySet<Role> Roles, string Via)
{
    public bool Has(Role r) => Roles.Contains(r) || Roles.Contains(Role.Admin);

    /// <summary>The role recorded in the audit log for a request that needed <paramref name="r"/>.</summary>
    public string RoleFor(Role r) => Roles.Contains(r) ? Auth.Roles.Name(r) : "admin";

    public static readonly Caller Anonymous = new("anonymous", new HashSet<Role>(), "none");
}
