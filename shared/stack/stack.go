// Package stack reads a deployed Hookstack stack's CloudFormation outputs
// (DescribeStacks) into a typed Outputs: the API URL, each provider's
// webhook URL and Secrets Manager secret, the table, the queues and the
// dashboard. The output names are the ones infra/hookstack/stack.go writes:
// ApiUrl, WebhookUrl<Provider>, SecretName<Provider>, TableName,
// QueueUrl<Queue>, DashboardUrl, ... with the name title-cased
// (WebhookUrlGithub, QueueUrlPaymentsDlq).
package stack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"
)

// DefaultName is the stack name `make deploy` uses unless told otherwise
// (context key stackName).
const DefaultName = "Hookstack"

// Output keys (and key prefixes, for the per-provider, per-queue and
// per-function outputs), as infra/hookstack/stack.go names them.
const (
	KeyApiUrl             = "ApiUrl"
	KeyExecuteApiUrl      = "ExecuteApiUrl"
	KeyCustomDomainTarget = "CustomDomainTarget"
	KeyProviders          = "Providers"
	KeyWebhookUrl         = "WebhookUrl"
	KeySecretName         = "SecretName"
	KeyTableName          = "TableName"
	KeyClaimBucketName    = "ClaimBucketName"
	KeyQueueUrl           = "QueueUrl"
	KeyFunctionName       = "FunctionName"
	KeyLogGroup           = "LogGroup"
	KeyAlarmTopicArn      = "AlarmTopicArn"
	KeyDashboardUrl       = "DashboardUrl"
)

// Errors of Read.
var (
	// ErrNotFound: no stack of that name in this account and region.
	ErrNotFound = errors.New("stack not found")
	// ErrNoOutputs: the stack exists but has no Hookstack outputs (still
	// being created, rolled back, or not a Hookstack stack).
	ErrNoOutputs = errors.New("stack has no Hookstack outputs")
	// ErrNoProvider: the stack does not enable that provider.
	ErrNoProvider = errors.New("provider not enabled in the stack")
)

// Provider is what a deployed stack says about one webhook provider.
type Provider struct {
	Name       string `json:"provider"`
	WebhookURL string `json:"webhook_url"`
	SecretName string `json:"secret_name"`
}

// Outputs are a deployed Hookstack stack's outputs, typed.
type Outputs struct {
	StackName string `json:"stack"`
	StackID   string `json:"stack_id,omitempty"`
	Region    string `json:"region,omitempty"` // from the stack id
	Status    string `json:"status,omitempty"`

	APIURL             string `json:"api_url"`
	ExecuteAPIURL      string `json:"execute_api_url,omitempty"`
	CustomDomainTarget string `json:"custom_domain_target,omitempty"`
	// Providers in the order the stack lists them (its Providers output),
	// then any other provider that has a webhook URL or secret output.
	Providers     []Provider        `json:"providers"`
	TableName     string            `json:"table_name,omitempty"`
	ClaimBucket   string            `json:"claim_bucket,omitempty"`
	Queues        map[string]string `json:"queues,omitempty"`     // "payments", "payments-dlq" → URL
	Functions     map[string]string `json:"functions,omitempty"`  // "ingest" → function name
	LogGroups     map[string]string `json:"log_groups,omitempty"` // "ingest" → its log group
	AlarmTopicArn string            `json:"alarm_topic_arn,omitempty"`
	DashboardURL  string            `json:"dashboard_url,omitempty"`
	// Raw holds every output, by key.
	Raw map[string]string `json:"-"`
}

// Provider returns what the stack says about provider p.
func (o *Outputs) Provider(p string) (Provider, bool) {
	for _, pr := range o.Providers {
		if pr.Name == p {
			return pr, true
		}
	}
	return Provider{}, false
}

// SecretName returns the Secrets Manager secret holding p's secrets.
func (o *Outputs) SecretName(p string) (string, error) {
	pr, ok := o.Provider(p)
	if !ok || pr.SecretName == "" {
		return "", fmt.Errorf("stack %s has no %s%s output: %w", o.StackName, KeySecretName, Title(p), ErrNoProvider)
	}
	return pr.SecretName, nil
}

// DescribeStacksAPI is the part of the CloudFormation client Read uses.
type DescribeStacksAPI interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// Read describes the stack name (a name or a stack id) and maps its outputs.
// A stack that does not exist yields ErrNotFound; one without an ApiUrl or
// any webhook output yields ErrNoOutputs (with its status in the message).
func Read(ctx context.Context, client DescribeStacksAPI, name string) (*Outputs, error) {
	if name == "" {
		name = DefaultName
	}
	out, err := client.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		if IsNotFound(err) {
			return nil, fmt.Errorf("describe stack %s: %w", name, ErrNotFound)
		}
		return nil, fmt.Errorf("describe stack %s: %w", name, err)
	}
	if len(out.Stacks) == 0 {
		return nil, fmt.Errorf("describe stack %s: %w", name, ErrNotFound)
	}
	st := out.Stacks[0]
	raw := make(map[string]string, len(st.Outputs))
	for _, o := range st.Outputs {
		if k := aws.ToString(o.OutputKey); k != "" {
			raw[k] = aws.ToString(o.OutputValue)
		}
	}
	o := Parse(raw)
	o.StackName = aws.ToString(st.StackName)
	if o.StackName == "" {
		o.StackName = name
	}
	o.StackID = aws.ToString(st.StackId)
	if a, err := arn.Parse(o.StackID); err == nil {
		o.Region = a.Region
	}
	o.Status = string(st.StackStatus)
	if o.APIURL == "" && len(o.Providers) == 0 {
		return o, fmt.Errorf("stack %s (status %s): %w", o.StackName, statusOr(st.StackStatus), ErrNoOutputs)
	}
	return o, nil
}

func statusOr(s types.StackStatus) string {
	if s == "" {
		return "unknown"
	}
	return string(s)
}

// IsNotFound reports whether err is CloudFormation's answer for a stack that
// does not exist: a ValidationError "Stack with id X does not exist".
func IsNotFound(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationError" &&
		strings.Contains(apiErr.ErrorMessage(), "does not exist")
}

// Parse maps output key → value into Outputs (StackName and the other
// DescribeStacks fields are left for the caller). Keys it does not know are
// kept in Raw only.
func Parse(raw map[string]string) *Outputs {
	o := &Outputs{
		APIURL:             raw[KeyApiUrl],
		ExecuteAPIURL:      raw[KeyExecuteApiUrl],
		CustomDomainTarget: raw[KeyCustomDomainTarget],
		TableName:          raw[KeyTableName],
		ClaimBucket:        raw[KeyClaimBucketName],
		AlarmTopicArn:      raw[KeyAlarmTopicArn],
		DashboardURL:       raw[KeyDashboardUrl],
		Queues:             map[string]string{},
		Functions:          map[string]string{},
		LogGroups:          map[string]string{},
		Raw:                raw,
	}
	webhooks, secretNames := map[string]string{}, map[string]string{}
	for k, v := range raw {
		switch {
		case k == KeyApiUrl || k == KeyExecuteApiUrl:
		case suffixed(k, KeyWebhookUrl) && validName(providerName(k[len(KeyWebhookUrl):])):
			webhooks[providerName(k[len(KeyWebhookUrl):])] = v
		case suffixed(k, KeySecretName) && validName(providerName(k[len(KeySecretName):])):
			secretNames[providerName(k[len(KeySecretName):])] = v
		case suffixed(k, KeyQueueUrl):
			o.Queues[Untitle(k[len(KeyQueueUrl):])] = v
		case suffixed(k, KeyFunctionName):
			o.Functions[Untitle(k[len(KeyFunctionName):])] = v
		case suffixed(k, KeyLogGroup):
			o.LogGroups[Untitle(k[len(KeyLogGroup):])] = v
		}
	}
	var order []string
	for _, p := range strings.Split(raw[KeyProviders], ",") {
		if p = strings.ToLower(strings.TrimSpace(p)); validName(p) && !slices.Contains(order, p) {
			order = append(order, p)
		}
	}
	var rest []string
	for p := range webhooks {
		if !slices.Contains(order, p) && !slices.Contains(rest, p) {
			rest = append(rest, p)
		}
	}
	for p := range secretNames {
		if !slices.Contains(order, p) && !slices.Contains(rest, p) {
			rest = append(rest, p)
		}
	}
	slices.Sort(rest)
	for _, p := range append(order, rest...) {
		o.Providers = append(o.Providers, Provider{Name: p, WebhookURL: webhooks[p], SecretName: secretNames[p]})
	}
	return o
}

// suffixed reports whether key is prefix followed by a name starting with
// an upper-case letter (so "SecretNameX" matches "SecretName", but
// "SecretNames" does not).
func suffixed(key, prefix string) bool {
	return len(key) > len(prefix) && strings.HasPrefix(key, prefix) &&
		key[len(prefix)] >= 'A' && key[len(prefix)] <= 'Z'
}

// validName: provider names are lower-case letters and digits.
func validName(p string) bool {
	if p == "" {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// providerName turns a title-cased provider ("Github") back into its path
// name ("github"). Provider names are single lower-case words.
func providerName(titled string) string { return strings.ToLower(titled) }

// Title is the stack's naming of a resource in an output key: each
// '-'/'_'-separated word upper-first, joined ("payments-dlq" → "PaymentsDlq").
func Title(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		if r == '-' || r == '_' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

// Untitle inverts Title for lower-case names: "PaymentsDlq" → "payments-dlq".
func Untitle(titled string) string {
	var b strings.Builder
	for i, r := range titled {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
