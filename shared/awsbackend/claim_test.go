package awsbackend

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/hookstack/hookstack/shared/blob/s3blob"
)

// ClaimReader is the deliverer's claim-check reader: the S3 store on
// HOOKSTACK_CLAIM_BUCKET, and a nil interface (not a nil *s3blob.Store,
// which would pass a != nil check) when the bucket is not set.
func TestClaimReader(t *testing.T) {
	cfg := aws.Config{Region: "us-east-1"}
	tests := []struct {
		name   string
		env    map[string]string
		wantS3 bool
	}{
		{"bucket set", map[string]string{"HOOKSTACK_CLAIM_BUCKET": "claims"}, true},
		{"bucket unset", map[string]string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ClaimReader(cfg, func(k string) string { return tt.env[k] })
			if tt.wantS3 {
				if _, ok := got.(*s3blob.Store); !ok {
					t.Fatalf("ClaimReader = %T, want *s3blob.Store", got)
				}
				return
			}
			if got != nil {
				t.Fatalf("ClaimReader = %#v, want a nil interface", got)
			}
		})
	}
}
