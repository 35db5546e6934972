using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;

namespace Berth.Serve.Auth;

/// <summary>Who a request is from: a bearer token, else a client certificate Kestrel verified against --client-ca.</summary>
public sealed class Authenticator(TokenTable tokens)
{
    public Caller? Authenticate(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return tokens.ForToken(header["Bearer ".Length..].Trim());
        if (http.Connection.ClientCertificate is { } cert)
            return tokens.ForCertificate(cert.Subject, cert.GetNameInfo(X509NameType.SimpleName, false));
        return null;
    }
}
