namespace Berth.Serve.Http;

/// <summary>A part of the service with its own routes (promotion, VEX, admission): started after storage opens, before the listener.</summary>
public interface IServeModule
{
    string Name { get; }
    Task StartAsync(ServeContext context, CancellationToken stopping);
    void MapRoutes(Routes routes);
}

/// <summary>
/// The modules compiled in. servep's code implements <see cref="Add"/> (a partial method: with no
/// implementation the call compiles to nothing, so the core builds alone).
/// </summary>
public static partial class Modules
{
    static partial void Add(List<IServeModule> modules, ServeContext context);

    public static List<IServeModule> All(ServeContext context)
    {
        var list = new List<IServeModule>();
        Add(list, context);
        return list;
    }
}
