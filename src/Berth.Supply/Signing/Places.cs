using Berth.Images.Registry;
using Berth.Images.Store;
using Berth.Images.Transports;

namespace Berth.Supply.Signing;

/// <summary>The attachment place of an image reference: its registry repository (where pushes go, not a mirror), or the store's repository.</summary>
public static class Places
{
    public static RegistryPlace Of(DockerReference image)
    {
        var q = image.Qualified ?? throw new SupplyException($"{image}: a short name is ambiguous here: give the registry (docker://HOST/NAME)");
        var push = image.Settings.Conf.PushTarget(q);
        return new RegistryPlace(image.Settings.Pool.For(push.Reference.Registry, push.Insecure), push.Reference.Repository);
    }

    public static StorePlace OfStore(OciLayout store, string imageName) => new(store, StorePlace.RepositoryOf(imageName));
}
