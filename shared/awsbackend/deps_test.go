package awsbackend

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestFunctionsLinkOnlyTheirServices checks which AWS SDK service clients
// each Lambda bootstrap links (built as the Makefile builds them): every
// service a binary links costs its package initialisation at every cold
// start, used or not. Only ingest links Secrets Manager; ingest, the
// processors and the deliverer (claim-check bodies: the deliverer reads a
// large raw forward's) link S3, the fan-out does not; ingest links no
// DynamoDB.
// None links the packages in notLinked, whose initialisation is paid at
// every cold start for nothing a function needs.
func TestFunctionsLinkOnlyTheirServices(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	const sdk = "github.com/aws/aws-sdk-go-v2/service/"
	notLinked := []string{
		"github.com/aws/aws-sdk-go-v2/config", // the SDK's loader: EnvConfig instead (awsconfig)
		"github.com/oklog/ulid/v2",            // its default entropy and database/sql/driver: ulidgen instead
	}
	tests := []struct {
		function string
		services []string // exactly these of sdk+{sqs,s3,dynamodb,secretsmanager}
	}{
		{"ingest", []string{"s3", "secretsmanager", "sqs"}},
		{"payments", []string{"dynamodb", "s3", "sqs"}},
		{"inventory", []string{"dynamodb", "s3", "sqs"}},
		{"leads", []string{"dynamodb", "s3", "sqs"}},
		{"relay", []string{"dynamodb", "s3", "sqs"}},
		{"fanout", []string{"dynamodb", "sqs"}},
		{"deliverer", []string{"dynamodb", "s3", "sqs"}},
	}
	for _, tt := range tests {
		t.Run(tt.function, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc",
				"github.com/hookstack/hookstack/functions/"+tt.function).Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			var got []string
			for _, pkg := range strings.Fields(string(out)) {
				if slices.Contains(notLinked, pkg) {
					t.Errorf("functions/%s links %s", tt.function, pkg)
				}
				if s, ok := strings.CutPrefix(pkg, sdk); ok && slices.Contains([]string{"sqs", "s3", "dynamodb", "secretsmanager"}, s) {
					got = append(got, s)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.services) {
				t.Errorf("functions/%s links the services %v, want %v", tt.function, got, tt.services)
			}
		})
	}
}
