// Package s3blob is the blob.Store on Amazon S3 (AWS SDK v2): references
// are "s3://<bucket>/<key>". For emulators build the client with
// o.UsePathStyle = true (see s3test).
package s3blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/hookstack/hookstack/shared/blob"
)

// Scheme prefixes every reference.
const Scheme = "s3://"

// Store puts blobs into one bucket and reads any s3:// reference.
type Store struct {
	client *s3.Client
	bucket string
}

var _ blob.Store = (*Store)(nil)

// New returns a store writing to bucket (HOOKSTACK_CLAIM_BUCKET in AWS).
func New(client *s3.Client, bucket string) *Store {
	return &Store{client: client, bucket: bucket}
}

// Ref returns the reference of key in bucket.
func Ref(bucket, key string) string { return Scheme + bucket + "/" + key }

// ParseRef splits "s3://bucket/key".
func ParseRef(ref string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(ref, Scheme)
	if !ok {
		return "", "", fmt.Errorf("%w: %q: want %s<bucket>/<key>", blob.ErrInvalidRef, ref, Scheme)
	}
	bucket, key, ok = strings.Cut(rest, "/")
	if !ok || bucket == "" {
		return "", "", fmt.Errorf("%w: %q: want %s<bucket>/<key>", blob.ErrInvalidRef, ref, Scheme)
	}
	if err := blob.CheckKey(key); err != nil {
		return "", "", fmt.Errorf("%w: %w", blob.ErrInvalidRef, err)
	}
	return bucket, key, nil
}

// Put uploads body to key and returns "s3://bucket/key".
func (s *Store) Put(ctx context.Context, key string, body []byte) (string, error) {
	if err := blob.CheckKey(key); err != nil {
		return "", fmt.Errorf("s3blob put: %w", err)
	}
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		return "", fmt.Errorf("s3blob put %s: %w", Ref(s.bucket, key), err)
	}
	return Ref(s.bucket, key), nil
}

// Get downloads the object ref points at.
func (s *Store) Get(ctx context.Context, ref string) ([]byte, error) {
	bucket, key, err := ParseRef(ref)
	if err != nil {
		return nil, fmt.Errorf("s3blob get: %w", err)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("s3blob get %s: %w: %w", ref, blob.ErrNotFound, err)
		}
		return nil, fmt.Errorf("s3blob get %s: %w", ref, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("s3blob get %s: read: %w", ref, err)
	}
	return b, nil
}

func isNotFound(err error) bool {
	var (
		noKey    *types.NoSuchKey
		noBucket *types.NoSuchBucket
		notFound *types.NotFound
		apiErr   smithy.APIError
	)
	if errors.As(err, &noKey) || errors.As(err, &noBucket) || errors.As(err, &notFound) {
		return true
	}
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchKey", "NoSuchBucket", "NotFound":
			return true
		}
	}
	return false
}

// EnsureBucket creates bucket unless it exists (for tests and
// `hookstack dev --aws` against an emulator; in AWS the stack creates it).
func EnsureBucket(ctx context.Context, client *s3.Client, bucket string) error {
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err == nil {
		return nil
	}
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	if err != nil {
		var owned *types.BucketAlreadyOwnedByYou
		if errors.As(err, &owned) {
			return nil
		}
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	return nil
}
