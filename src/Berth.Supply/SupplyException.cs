namespace Berth.Supply;

/// <summary>A supply-chain operation that cannot proceed: a malformed package database, SBOM, OSV record or VEX document, named by its path and field.</summary>
public sealed class SupplyException : Exception
{
    public SupplyException(string message, Exception? inner = null) : base(message, inner) { }
}
