using System.Text.Json;
using Berth.Serve.Admission;
using Xunit;

namespace Berth.Serve.Tests.Admission;

public class ImageReviewTests
{
    [Fact]
    public void A_review_gives_its_images_annotations_and_namespace()
    {
        using var doc = JsonDocument.Parse("""
            {"apiVersion":"imagepolicy.k8s.io/v1alpha1","kind":"ImageReview","spec":{"containers":[{"image":"reg.test/a:1"},{"image":"reg.test/b@sha256:00"},{"image":"reg.test/a:1"}],
             "annotations":{"mycluster.image-policy.k8s.io/ticket-1234":"break-glass"},"namespace":"prod"}}
            """);
        var r = ImageReview.Parse(doc.RootElement);
        Assert.Equal(["reg.test/a:1", "reg.test/b@sha256:00"], r.Images);
        Assert.Equal([("mycluster.image-policy.k8s.io/ticket-1234", "break-glass")], r.Annotations);
        Assert.Equal("prod", r.Namespace);
    }

    [Fact]
    public void A_review_of_another_kind_or_without_images_is_refused_by_field()
    {
        using var a = JsonDocument.Parse("""{"apiVersion":"v1","kind":"ImageReview","spec":{}}""");
        Assert.Equal("ImageReview: apiVersion: \"v1\", not imagepolicy.k8s.io/v1alpha1", Assert.Throws<ServeException>(() => ImageReview.Parse(a.RootElement)).Message);
        using var b = JsonDocument.Parse("""{"apiVersion":"imagepolicy.k8s.io/v1alpha1","kind":"ImageReview","spec":{"containers":[{}]}}""");
        Assert.Equal("ImageReview: spec.containers[0].image: missing", Assert.Throws<ServeException>(() => ImageReview.Parse(b.RootElement)).Message);
    }

    [Fact]
    public void The_answer_is_an_image_review_with_its_status()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) ImageReview.WriteResponse(w, false, "reg.test/a:1: signature: not signed");
        Assert.Equal("""{"apiVersion":"imagepolicy.k8s.io/v1alpha1","kind":"ImageReview","status":{"allowed":false,"reason":"reg.test/a:1: signature: not signed"}}""",
            System.Text.Encoding.UTF8.GetString(ms.ToArray()));
    }
}
