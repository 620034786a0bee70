package mirror

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3 is a target in an S3-compatible bucket: AWS S3 (usually behind
// CloudFront), Cloudflare R2, Backblaze B2, MinIO and the like.
type S3 struct {
	client *s3.Client
	bucket string
	prefix string // "" or "dir/sub", without slashes at either end
	public *url.URL
}

// cacheControl is sent with every object: paths are content-addressed (the
// blake2b-256 of the file is in the path), so an object never changes and
// CDNs and clients may keep it for a year.
const cacheControl = "public, max-age=31536000, immutable"

// NewS3 returns a target for s3://bucket/prefix?endpoint=URL&region=NAME.
// Credentials, and the region unless the URL names one, come from opts.AWS,
// which the caller loads (cmd, from the AWS SDK's standard sources); this
// package never reads the process environment or the shared AWS files.
// With an endpoint (anything not AWS) requests use path-style addressing,
// which every S3-compatible store accepts, and the region defaults to
// us-east-1. The public URL defaults to the bucket's own URL:
// <endpoint>/<bucket>/<prefix>, or the AWS virtual-host URL.
func NewS3(ctx context.Context, u *url.URL, opts TargetOptions) (*S3, error) {
	if u.Host == "" {
		return nil, fmt.Errorf("mirror target %q: want s3://bucket/prefix", redact(u))
	}
	q := u.Query()
	for k := range q {
		if k != "endpoint" && k != "region" {
			return nil, fmt.Errorf("mirror target %q: unknown parameter %q (want endpoint, region)", redact(u), k)
		}
	}
	endpoint, region := q.Get("endpoint"), q.Get("region")
	t := &S3{bucket: u.Host, prefix: strings.Trim(u.Path, "/")}

	cfg := opts.AWS.Copy()
	// The worker verifies every object by reading it back through the
	// public URL, and many S3-compatible stores reject the SDK's newer
	// default request checksums: send them only where S3 requires them.
	cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	if region != "" {
		cfg.Region = region
	} else if endpoint != "" && cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if opts.HTTPClient != nil {
		cfg.HTTPClient = opts.HTTPClient
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("mirror target %q: no region: add ?region=… or set AWS_REGION", redact(u))
	}
	var ep *url.URL
	var err error
	if endpoint != "" {
		if ep, err = parseBase(endpoint, "mirror target endpoint"); err != nil {
			return nil, err
		}
	}
	t.client = s3.NewFromConfig(cfg, func(o *s3.Options) {
		if ep != nil {
			o.BaseEndpoint = aws.String(ep.String())
			o.UsePathStyle = true
		}
	})

	pub := opts.PublicURL
	if pub == "" {
		if ep != nil {
			b := *ep
			b.Path += "/" + url.PathEscape(t.bucket)
			pub = b.String()
		} else {
			pub = "https://" + t.bucket + ".s3." + cfg.Region + ".amazonaws.com"
		}
		if t.prefix != "" {
			pub += "/" + t.prefix
		}
	}
	if t.public, err = parseBase(pub, "mirror public URL"); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *S3) key(path string) string {
	if t.prefix == "" {
		return path
	}
	return t.prefix + "/" + path
}

// Put uploads the object with one PutObject, which S3 makes visible only
// once it is complete. The SDK signs the payload's sha256 over plain HTTP,
// which needs a seekable body: readers that cannot be read at an offset are
// spooled to a temporary file first.
func (t *S3) Put(ctx context.Context, path string, r io.Reader, size int64) error {
	if err := checkPath(path); err != nil {
		return err
	}
	var body io.ReadSeeker
	if ra, ok := r.(interface {
		io.ReaderAt
		io.Seeker
	}); ok { // *os.File, *bytes.Reader: read in place
		start, err := ra.Seek(0, io.SeekCurrent)
		if err != nil {
			return fmt.Errorf("put %s: %w", path, err)
		}
		end, err := ra.Seek(0, io.SeekEnd)
		if err != nil {
			return fmt.Errorf("put %s: %w", path, err)
		}
		if end-start != size {
			return fmt.Errorf("put %s: got %d bytes, want %d", path, end-start, size)
		}
		body = io.NewSectionReader(ra, start, size)
	} else {
		f, err := spool(r, size)
		if err != nil {
			return fmt.Errorf("put %s: %w", path, err)
		}
		defer os.Remove(f.Name())
		defer f.Close()
		body = f
	}
	_, err := t.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(t.bucket),
		Key:           aws.String(t.key(path)),
		Body:          body,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String("application/octet-stream"),
		CacheControl:  aws.String(cacheControl),
	})
	if err != nil {
		return fmt.Errorf("put %s: %w", path, err)
	}
	return nil
}

// Delete removes the object with one DeleteObject, which S3 answers with
// success whether or not the key existed.
func (t *S3) Delete(ctx context.Context, path string) error {
	if err := checkPath(path); err != nil {
		return err
	}
	if _, err := t.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(t.bucket),
		Key:    aws.String(t.key(path)),
	}); err != nil {
		return fmt.Errorf("delete %s: %w", path, err)
	}
	return nil
}

// PublicURL returns the public base URL joined with path.
func (t *S3) PublicURL(path string) string { return joinURL(t.public, path) }

// spool copies exactly size bytes of r to a temporary file and rewinds it.
func spool(r io.Reader, size int64) (*os.File, error) {
	f, err := os.CreateTemp("", "cheeseshop-mirror-*")
	if err != nil {
		return nil, err
	}
	n, err := io.Copy(f, io.LimitReader(r, size+1))
	if err == nil && n != size {
		err = fmt.Errorf("got %d bytes, want %d", n, size)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}
