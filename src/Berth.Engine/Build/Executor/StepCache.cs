using Berth.Images.Transports;
using Berth.Oci.Image;

namespace Berth.Engine.Build.Executor;

/// <summary>A step's outcome as the cache keeps it: the image after the step (config and all layers), the step's layer diff_id if it made one.</summary>
public sealed record StepOutcome(Descriptor Config, IReadOnlyList<Descriptor> Layers, string? DiffId, History History);

/// <summary>
/// The build cache as the executor sees it (Build/Cache's BuildCache behind it): keyed by the
/// parent image id, the instruction text with ARGs expanded and the digests of what it reads.
/// </summary>
public interface IStepCache
{
    string Key(string parentImageId, string instructionText, IEnumerable<string> inputDigests);
    /// <summary>A hit with every blob claimed by <paramref name="dst"/>'s lease; null on a miss or when a blob is gone.</summary>
    StepOutcome? TryGet(string key, IImageDestination dst);
    void Put(string key, StepOutcome outcome);
}

/// <summary>No cache (--layers=false, or no cache at all).</summary>
public sealed class NoStepCache : IStepCache
{
    public string Key(string parentImageId, string instructionText, IEnumerable<string> inputDigests) => "";
    public StepOutcome? TryGet(string key, IImageDestination dst) => null;
    public void Put(string key, StepOutcome outcome) { }
}
