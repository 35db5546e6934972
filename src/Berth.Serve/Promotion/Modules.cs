namespace Berth.Serve.Http;

/// <summary>servep's half of the module hook: policy, promotion, VEX and admission.</summary>
public static partial class Modules
{
    static partial void Add(List<IServeModule> modules, ServeContext context) => modules.Add(new Promotion.PolicyModule());
}
