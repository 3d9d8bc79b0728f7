// Package blob is the claim-check store: webhook bodies too large for a
// queue message are stored here and the message carries the reference.
// Adapters: s3blob (S3, in AWS) and fileblob (a directory, for
// `hookstack dev`); both pass the contract suite in blobtest.
package blob

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Store puts bodies under a key and gets them back by reference.
type Store interface {
	// Put stores body under key (overwriting) and returns the reference
	// to put in the message, e.g. "s3://bucket/bodies/ID" or "file:bodies/ID".
	// The reference contains the key verbatim.
	Put(ctx context.Context, key string, body []byte) (ref string, err error)
	// Get returns the body a reference points at: ErrNotFound when there
	// is no such object, ErrInvalidRef when ref is not one of this store's.
	Get(ctx context.Context, ref string) ([]byte, error)
}

var (
	// ErrNotFound: the reference points at nothing.
	ErrNotFound = errors.New("blob not found")
	// ErrInvalidRef: the reference is malformed or belongs to another kind of store.
	ErrInvalidRef = errors.New("invalid blob reference")
	// ErrInvalidKey: the key is not a clean relative path.
	ErrInvalidKey = errors.New("invalid blob key")
)

// CheckKey accepts keys both adapters store alike: a clean relative
// slash-separated path ("bodies/01J…"), at most 1024 bytes, without empty,
// "." or ".." segments, backslashes, control characters or a first segment
// starting with ".tmp" (reserved for fileblob's temporary files).
func CheckKey(key string) error {
	if key == "" || len(key) > 1024 {
		return fmt.Errorf("%w: %q: must be 1..1024 bytes", ErrInvalidKey, key)
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("%w: %q: control character or backslash", ErrInvalidKey, key)
		}
	}
	for i, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: %q: empty, '.' or '..' segment", ErrInvalidKey, key)
		}
		if i == 0 && strings.HasPrefix(seg, ".tmp") {
			return fmt.Errorf("%w: %q: reserved first segment", ErrInvalidKey, key)
		}
	}
	return nil
}
