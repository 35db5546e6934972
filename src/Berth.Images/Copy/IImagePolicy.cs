using Berth.Images.Transports;

namespace Berth.Images.Copy;

/// <summary>
/// The gate a copy passes before it writes anything (containers/image's PolicyContext.IsRunningImageAllowed):
/// told each image manifest it is about to copy, as read from the source, it throws when the image
/// is not admitted. Implemented by Berth.Supply's containers-policy.json evaluation; the copy itself
/// knows nothing of policies, keys or signatures.
/// </summary>
public interface IImagePolicy
{
    /// <summary>
    /// Throws an <see cref="ImageException"/> ("policy: REQUIREMENT: reason") unless the image whose
    /// manifest is <paramref name="manifest"/> (its exact bytes and digest: a signature names that digest)
    /// may be copied from <paramref name="source"/>.
    /// </summary>
    void Admit(IImageSource source, RawManifest manifest);
}
