using Berth.Images.Referrers;
using Berth.Oci.Image;
using Berth.Serve.Promotion;
using Berth.Serve.Tests.Policy;
using Berth.Supply.Attachments;
using Berth.Supply.Attestations;
using Berth.Supply.Signing;
using Xunit;

namespace Berth.Serve.Tests.Promotion;

public class AttachmentSnapshotTests
{
    [Fact]
    public void A_snapshot_copies_signatures_attestations_and_referrers_byte_for_byte()
    {
        var source = PolicyEngineTests.Signed();
        Attestor.Attest(source, PolicyEngineTests.Image, PolicyEngineTests.Repo, PolicyLoaderTests.Key, "https://openvex.dev/ns", """{"@context":"https://openvex.dev/ns/v0.2.0","statements":[]}"""u8.ToArray());
        var subject = new Descriptor { MediaType = MediaTypes.Manifest, Digest = PolicyEngineTests.Image.ToString(), Size = 100 };
        var sbom = """{"bomFormat":"CycloneDX"}"""u8.ToArray();
        var artifact = ArtifactManifest.Build(subject, AttachedDocuments.CycloneDx, sbom, "sbom.json");
        source.PutReferrer(artifact, sbom);

        var snapshot = AttachmentSnapshot.Fetch(source, PolicyEngineTests.Image);
        Assert.Equal(3, snapshot.Count);
        var target = new MemoryPlace("memory/prod");
        snapshot.CopyTo(target);
        snapshot.CopyTo(target);
        foreach (var suffix in new[] { "sig", "att" })
            Assert.Equal(source.GetTagged(CosignAttachments.Tag(PolicyEngineTests.Image, suffix))!.Bytes, target.GetTagged(CosignAttachments.Tag(PolicyEngineTests.Image, suffix))!.Bytes);
        Assert.Equal(1, target.ReferrerCount);
        // What was copied still verifies where it landed.
        var sigs = CosignAttachments.Read(target, PolicyEngineTests.Image, "sig");
        Assert.True(SigstoreVerifier.Verify(sigs, PolicyEngineTests.Image, new SigstoreRequirement([System.Text.Encoding.UTF8.GetBytes(PolicyLoaderTests.KeyPem)])).Any);
        Assert.Equal(sbom, AttachmentSnapshot.Fetch(target, PolicyEngineTests.Image).GetBlob(artifact.Layer));
    }

    [Fact]
    public void An_image_with_nothing_attached_has_an_empty_snapshot()
    {
        var s = AttachmentSnapshot.Fetch(new MemoryPlace(), PolicyEngineTests.Image);
        Assert.Equal(0, s.Count);
        Assert.Empty(CosignAttachments.Read(s, PolicyEngineTests.Image, "sig"));
    }
}
