package hookstack

import (
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// SecretPlaceholder is the initial value of a provider-issued secret: an
// empty list of active secrets, so ingest rejects that provider's webhooks
// until `hookstack secrets set <provider> <value>` fills it.
const SecretPlaceholder = "[]"

// GeneratedSecretLength is the length of a generated secret: 32 characters of
// [A-Za-z0-9], which is also valid unpadded base64 (24 bytes) for Standard
// Webhooks' whsec_ secrets.
const GeneratedSecretLength = 32

// SecretsProps configure NewSecrets.
type SecretsProps struct {
	Providers []string // enabled providers
	Removal   string
}

// Secrets are the providers' signing secrets, one Secrets Manager secret per
// enabled provider.
//
// Value shape: a JSON array of active secrets, newest first
// (["whsec_new","whsec_old"]). CloudFormation can generate only a bare
// string or a JSON object, so a generated secret (github, standard) starts
// as a bare string; readers treat a value that is not a JSON array as a
// one-element list, and `hookstack secrets set` rewrites it as an array.
type Secrets struct {
	constructs.Construct
	ByProvider map[string]awssecretsmanager.Secret
}

// NewSecrets creates one secret per enabled provider: generated for the
// providers whose secret we choose, an empty-list placeholder for the rest.
func NewSecrets(scope constructs.Construct, id *string, props *SecretsProps) *Secrets {
	this := constructs.NewConstruct(scope, id)
	byProvider := map[string]awssecretsmanager.Secret{}
	for _, p := range props.Providers {
		sp := &awssecretsmanager.SecretProps{
			RemovalPolicy: removalPolicy(props.Removal),
		}
		if slices.Contains(GeneratedSecretProviders, p) {
			sp.Description = jsii.String("Hookstack " + p + " webhook signing secret, generated: paste it into " + p +
				". Value: JSON array of active secrets, newest first (a bare string counts as one).")
			sp.GenerateSecretString = &awssecretsmanager.SecretStringGenerator{
				PasswordLength:     jsii.Number(GeneratedSecretLength),
				ExcludePunctuation: jsii.Bool(true),
				IncludeSpace:       jsii.Bool(false),
			}
		} else {
			sp.Description = jsii.String("Hookstack " + p + " webhook signing secret, issued by " + p +
				": fill with `hookstack secrets set " + p + " <value>`. Value: JSON array of active secrets, newest first.")
			sp.SecretStringValue = awscdk.SecretValue_UnsafePlainText(jsii.String(SecretPlaceholder))
		}
		secret := awssecretsmanager.NewSecret(this, jsii.String(title(p)), sp)
		cdknag.NagSuppressions_AddResourceSuppressions(secret, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-SMG4"),
			Reason: jsii.String("A webhook signing secret is shared with the provider and must be rotated in the provider's " +
				"dashboard at the same time; `hookstack secrets set` keeps the old secret active until " +
				"`hookstack secrets retire`, so rotation is a manual, two-sided procedure rather than a rotation Lambda."),
		}}, jsii.Bool(false))
		byProvider[p] = secret
	}
	return &Secrets{Construct: this, ByProvider: byProvider}
}
