package mirror_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/cheeseshop/cheeseshop/internal/mirror"
	"github.com/cheeseshop/cheeseshop/internal/mirror/mirrortest"
)

// newS3Target starts an in-process S3 server speaking real HTTP on loopback
// and returns a target on a bucket in it. The public URL is the server's
// own path-style bucket URL, which serves objects without signatures.
func newS3Target(t *testing.T, prefix string) *mirror.S3 {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("cdn"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	u, err := url.Parse("s3://cdn/" + prefix + "?endpoint=" + url.QueryEscape(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	s, err := mirror.NewS3(context.Background(), u, mirror.TargetOptions{
		AWS: aws.Config{Credentials: credentials.NewStaticCredentialsProvider("test-key", "test-secret", "")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3Conformance(t *testing.T) {
	t.Parallel()
	mirrortest.Run(t, newS3Target(t, "packages"))
}

func TestS3ConformanceNoPrefix(t *testing.T) {
	t.Parallel()
	mirrortest.Run(t, newS3Target(t, ""))
}
