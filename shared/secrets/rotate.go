package secrets

// Rotation of a provider's secrets in AWS Secrets Manager (what
// `hookstack secrets set|retire` do against a deployed stack): read the
// current value, parse it (a JSON array, {"secrets": [...]}, a bare string
// as CloudFormation generates it, or the "[]" placeholder), prepend the new
// secret (the old ones stay active) or keep only the newest, and write the
// result back as a JSON array, newest first.
//
// The write is a compare-and-set, so two rotations at once cannot lose one:
// the new value is stored as a version staged HOOKSTACK_NEXT (not yet
// current), then AWSCURRENT is moved to it from the version that was read
// (UpdateSecretVersionStage with RemoveFromVersionId), which Secrets Manager
// refuses when another writer moved AWSCURRENT in between; the edit is then
// applied again to the newer value.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/hookstack/hookstack/shared/signature"
)

// Rotation errors.
var (
	// ErrInvalidSecret: the value cannot be the provider's secret (the
	// message says why).
	ErrInvalidSecret = errors.New("invalid secret")
	// ErrSecretNotFound: Secrets Manager has no secret of that name.
	ErrSecretNotFound = errors.New("secret not found")
	// ErrNothingActive: retire on a provider that has no active secret.
	ErrNothingActive = errors.New("no active secret")
	// ErrConcurrentChange: other writers kept changing the secret while
	// this one tried to (every compare-and-set attempt lost).
	ErrConcurrentChange = errors.New("secret changed concurrently")
)

// StageNext is the staging label of a value written but not yet made
// current (see editRemote).
const StageNext = "HOOKSTACK_NEXT"

// casAttempts bounds the compare-and-set retries of one rotation step.
const casAttempts = 4

// Prepend returns list with secret first and any other copy of it removed
// (rotation: the older secrets stay active, newest first).
func Prepend(list []string, secret string) []string {
	out := []string{secret}
	for _, s := range list {
		if s != secret {
			out = append(out, s)
		}
	}
	return out
}

// Retire returns only the newest secret of list (none when list is empty).
func Retire(list []string) []string {
	if len(list) > 1 {
		return []string{list[0]}
	}
	return append([]string(nil), list...)
}

// Validate refuses a value that cannot be provider's secret, where that is
// cheap to tell (a prefix, an id's shape, a token pasted by mistake), with
// the reason. It does not prove a value right.
func Validate(provider, value string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s secret: %s: %w", provider, fmt.Sprintf(format, args...), ErrInvalidSecret)
	}
	switch {
	case value == "":
		return bad("empty")
	case !utf8.ValidString(value):
		return bad("not valid UTF-8 text")
	case strings.TrimSpace(value) != value:
		return bad("it starts or ends with white space (it would be stripped, and signatures would not match): quote it exactly")
	case strings.Contains(value, ","):
		return bad("it contains a comma, which HOOKSTACK_SECRET_%s and plain-string values use to separate secrets", strings.ToUpper(provider))
	case strings.IndexFunc(value, unicode.IsControl) >= 0:
		return bad("it contains a control character (a pasted line break?)")
	}
	for _, t := range mistakes[provider] {
		if strings.HasPrefix(value, t.prefix) && (t.length == 0 || len(value) == t.length) {
			return bad("%s", t.reason)
		}
	}
	switch provider {
	case "stripe":
		if !strings.HasPrefix(value, "whsec_") || len(value) == len("whsec_") {
			return bad("a Stripe webhook signing secret starts with whsec_ (Dashboard → Developers → Webhooks → your endpoint → Signing secret → Reveal; `stripe listen` prints one too)")
		}
	case "standard":
		if strings.HasPrefix(value, signature.StandardPublicKeyPrefix) {
			if err := signature.CheckSecret(provider, value); err != nil {
				return bad("%s", strings.TrimPrefix(err.Error(), signature.ErrUnusableSecret.Error()+": "))
			}
			return nil
		}
		rest, ok := strings.CutPrefix(value, "whsec_")
		if !ok {
			return bad("a Standard Webhooks secret is whsec_ followed by base64 (as Svix and other senders show it; if you hold only the base64 part, put whsec_ in front), or whpk_ followed by the base64 ed25519 public key of a sender that signs with v1a")
		}
		key, err := base64.StdEncoding.DecodeString(rest)
		if err != nil || len(key) == 0 {
			return bad("the part after whsec_ is not base64 (standard alphabet, padded with = to a multiple of 4 characters)")
		}
	case "salesforce":
		if err := validOrgID(value); err != nil {
			return bad("%s (Setup → Company Information → Salesforce.com Organization ID)", err)
		}
	}
	return nil
}

// mistake is a value that is some other credential of the provider.
type mistake struct {
	prefix string
	length int // 0: any
	reason string
}

var mistakes = map[string][]mistake{
	"stripe": {
		{"sk_", 0, "that is a Stripe secret API key, not a webhook signing secret (whsec_...)"},
		{"rk_", 0, "that is a Stripe restricted API key, not a webhook signing secret (whsec_...)"},
		{"pk_", 0, "that is a Stripe publishable key, not a webhook signing secret (whsec_...)"},
		{"we_", 0, "that is a Stripe webhook endpoint id, not its signing secret (whsec_...)"},
	},
	"github": {
		{"ghp_", 0, "that is a GitHub personal access token, not a webhook secret (the text you put in the webhook's Secret field)"},
		{"github_pat_", 0, "that is a GitHub personal access token, not a webhook secret (the text you put in the webhook's Secret field)"},
		{"gho_", 0, "that is a GitHub OAuth token, not a webhook secret"},
		{"ghs_", 0, "that is a GitHub App installation token, not a webhook secret"},
	},
	"slack": {
		{"xoxb-", 0, "that is a Slack bot token, not the app's Signing Secret (Basic Information → App Credentials)"},
		{"xoxp-", 0, "that is a Slack user token, not the app's Signing Secret (Basic Information → App Credentials)"},
		{"xapp-", 0, "that is a Slack app-level token, not the app's Signing Secret (Basic Information → App Credentials)"},
	},
	"shopify": {
		{"shpat_", 0, "that is a Shopify Admin API access token, not the webhook signing secret (the app's client secret, or the key shown under Settings → Notifications → Webhooks)"},
		{"shpca_", 0, "that is a Shopify access token, not the webhook signing secret"},
		{"shppa_", 0, "that is a Shopify private app password, not the webhook signing secret"},
	},
	"twilio": {
		{"AC", 34, "that is the Twilio Account SID, not the Auth Token (Console → Account info → Auth Token)"},
		{"SK", 34, "that is a Twilio API key SID, not the account's Auth Token (Twilio signs webhooks with the Auth Token)"},
	},
	"hubspot": {
		{"pat-", 0, "that is a HubSpot private app access token, not the app's client secret"},
	},
}

// validOrgID checks a Salesforce OrganizationId: "00D" and 15 letters and
// digits, or 18 with the case-checksum suffix.
func validOrgID(id string) error {
	if len(id) != 15 && len(id) != 18 {
		return fmt.Errorf("an OrganizationId has 15 or 18 characters, this has %d", len(id))
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return errors.New("an OrganizationId has only letters and digits")
		}
	}
	if !strings.HasPrefix(id, "00D") {
		return errors.New("an OrganizationId starts with 00D")
	}
	if len(id) == 18 {
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
		for i := range 3 {
			flags := 0
			for j := range 5 {
				if c := id[i*5+j]; c >= 'A' && c <= 'Z' {
					flags |= 1 << j
				}
			}
			if !strings.EqualFold(id[15+i:16+i], alphabet[flags:flags+1]) {
				return errors.New("the last 3 characters of this 18-character id do not match its first 15 (a typo, or a changed letter case?)")
			}
		}
	}
	return nil
}

// SecretsManagerRW is the part of the Secrets Manager client rotation uses.
type SecretsManagerRW interface {
	SecretsManagerAPI
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	UpdateSecretVersionStage(ctx context.Context, in *secretsmanager.UpdateSecretVersionStageInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
}

// Change is the outcome of a rotation step.
type Change struct {
	Before  []string // active secrets before, newest first
	After   []string // active secrets now, newest first
	Changed bool     // false when nothing had to be written
	// VersionID of the value written (empty when nothing was written).
	VersionID string
}

// SetRemote prepends secret to the list stored in Secrets Manager secret id
// (a name or ARN). When secret is already the newest nothing is written.
func SetRemote(ctx context.Context, client SecretsManagerRW, id, secret string) (Change, error) {
	return editRemote(ctx, client, id, func(list []string) ([]string, error) { return Prepend(list, secret), nil })
}

// RetireRemote keeps only the newest secret stored in Secrets Manager
// secret id. With one active secret nothing is written; with none it fails
// with ErrNothingActive.
func RetireRemote(ctx context.Context, client SecretsManagerRW, id string) (Change, error) {
	return editRemote(ctx, client, id, func(list []string) ([]string, error) {
		if len(list) == 0 {
			return nil, ErrNothingActive
		}
		return Retire(list), nil
	})
}

func editRemote(ctx context.Context, client SecretsManagerRW, id string, edit func([]string) ([]string, error)) (Change, error) {
	var lost error
	for range casAttempts {
		c, done, err := editOnce(ctx, client, id, edit)
		if done || err != nil {
			return c, err
		}
		lost = fmt.Errorf("secret %s: %w", id, ErrConcurrentChange)
	}
	return Change{}, fmt.Errorf("%w (%d attempts): run the command again", lost, casAttempts)
}

// editOnce reads the current value, applies edit and compare-and-sets the
// result; done is false when another writer made a newer value current first.
func editOnce(ctx context.Context, client SecretsManagerRW, id string, edit func([]string) ([]string, error)) (c Change, done bool, err error) {
	got, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return c, false, fmt.Errorf("read secret %s: %w", id, notFound(err))
	}
	if got.SecretString == nil {
		return c, false, fmt.Errorf("secret %s holds binary data, not the JSON array of secrets Hookstack reads: %w", id, ErrInvalidSecret)
	}
	if c.Before, err = ParseValue(*got.SecretString); err != nil {
		return c, false, fmt.Errorf("secret %s: %w", id, err)
	}
	if c.After, err = edit(c.Before); err != nil {
		return c, false, fmt.Errorf("secret %s: %w", id, err)
	}
	if FormatValue(c.After) == FormatValue(c.Before) && strings.HasPrefix(strings.TrimSpace(*got.SecretString), "[") {
		return c, true, nil // already stored as that array
	}
	put, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:      aws.String(id),
		SecretString:  aws.String(FormatValue(c.After)),
		VersionStages: []string{StageNext},
	})
	if err != nil {
		return c, false, fmt.Errorf("write secret %s: %w", id, notFound(err))
	}
	_, err = client.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId:            aws.String(id),
		VersionStage:        aws.String("AWSCURRENT"),
		MoveToVersionId:     put.VersionId,
		RemoveFromVersionId: got.VersionId,
	})
	var invalid *smtypes.InvalidParameterException
	var request *smtypes.InvalidRequestException
	switch {
	case errors.As(err, &invalid), errors.As(err, &request):
		return Change{}, false, nil // AWSCURRENT moved since the read: apply the edit again
	case err != nil:
		return c, false, fmt.Errorf("make secret %s version %s current: %w", id, aws.ToString(put.VersionId), notFound(err))
	}
	c.Changed, c.VersionID = true, aws.ToString(put.VersionId)
	return c, true, nil
}

// notFound adds ErrSecretNotFound to Secrets Manager's ResourceNotFoundException.
func notFound(err error) error {
	var rnf *smtypes.ResourceNotFoundException
	if errors.As(err, &rnf) {
		return fmt.Errorf("%w: %w", ErrSecretNotFound, err)
	}
	return err
}
