using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Berth.Supply.Signing.Keyless;

/// <summary>
/// RFC 8785 (JCS) canonical JSON, what a Rekor SET is signed over: members sorted by UTF-16 code
/// units, no whitespace, strings with only the escapes JCS requires, numbers in ECMAScript form.
/// </summary>
public static class CanonicalJson
{
    public static byte[] Transform(ReadOnlySpan<byte> json)
    {
        using var doc = JsonDocument.Parse(json.ToArray());
        var sb = new StringBuilder();
        Write(doc.RootElement, sb);
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    static void Write(JsonElement e, StringBuilder sb)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                sb.Append('{');
                bool first = true;
                foreach (var p in e.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    if (!first) sb.Append(',');
                    first = false;
                    String(p.Name, sb);
                    sb.Append(':');
                    Write(p.Value, sb);
                }
                sb.Append('}');
                break;
            case JsonValueKind.Array:
                sb.Append('[');
                int i = 0;
                foreach (var v in e.EnumerateArray())
                {
                    if (i++ > 0) sb.Append(',');
                    Write(v, sb);
                }
                sb.Append(']');
                break;
            case JsonValueKind.String: String(e.GetString()!, sb); break;
            case JsonValueKind.Number: sb.Append(Number(e.GetDouble())); break;
            case JsonValueKind.True: sb.Append("true"); break;
            case JsonValueKind.False: sb.Append("false"); break;
            default: sb.Append("null"); break;
        }
    }

    // ECMAScript Number.prototype.toString: integers without exponent below 1e21, otherwise the shortest round-trip form.
    static string Number(double d)
    {
        if (double.IsNaN(d) || double.IsInfinity(d)) throw new SupplyException("canonical JSON: a number is not finite");
        if (d == 0) return "0";
        if (Math.Floor(d) == d && Math.Abs(d) < 1e21) return d.ToString("F0", CultureInfo.InvariantCulture);
        var r = d.ToString("R", CultureInfo.InvariantCulture);
        return r.Replace("E+", "e+").Replace("E-", "e-");
    }

    static void String(string s, StringBuilder sb)
    {
        sb.Append('"');
        foreach (var c in s)
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        sb.Append('"');
    }
}
