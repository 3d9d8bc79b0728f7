package hookstack

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/queue"
)

// WebhookRoute is the one API route; the ingest handler answers every
// method itself (HEAD handshakes, 405 for the rest), as the dev server does.
const WebhookRoute = "/webhooks/{provider}"

// AccessLogFormat is the API stage's access log line (JSON, one per request).
// It carries no headers, query strings or bodies.
var AccessLogFormat = func() string {
	fields := []struct{ k, v string }{
		{"requestId", "$context.requestId"},
		{"requestTime", "$context.requestTime"},
		{"sourceIp", "$context.identity.sourceIp"},
		{"userAgent", "$context.identity.userAgent"},
		{"routeKey", "$context.routeKey"},
		{"path", "$context.path"},
		{"status", "$context.status"},
		{"responseLength", "$context.responseLength"},
		{"responseLatency", "$context.responseLatency"},
		{"integrationStatus", "$context.integrationStatus"},
		{"integrationLatency", "$context.integrationLatency"},
		{"integrationError", "$context.integrationErrorMessage"},
		{"error", "$context.error.message"},
	}
	parts := make([]string, len(fields))
	for i, f := range fields {
		k, _ := json.Marshal(f.k)
		v, _ := json.Marshal(f.v)
		parts[i] = string(k) + ":" + string(v)
	}
	return "{" + strings.Join(parts, ",") + "}"
}()

// IngestProps configure NewIngest.
type IngestProps struct {
	Config  *Config
	Queues  *Queues
	Bucket  awss3.IBucket
	Secrets *Secrets
}

// Ingest is the public edge: the HTTP API and the ingest function.
type Ingest struct {
	constructs.Construct
	Function   awslambda.Function
	Api        awsapigatewayv2.HttpApi
	AccessLogs awslogs.LogGroup
	// Domain is the custom domain, nil without context domainName.
	Domain awsapigatewayv2.DomainName
	// BaseUrl is the public base URL without a trailing slash: the custom
	// domain if any, else the API's execute-api endpoint. Webhook URLs are
	// BaseUrl + "/webhooks/<provider>".
	BaseUrl *string
}

// NewIngest creates the HTTP API (ANY /webhooks/{provider}, stage throttling,
// JSON access logs, optional custom domain) and the ingest function, which
// may send to the domain queues and their DLQs, put claim-check bodies and
// read the providers' secrets.
func NewIngest(scope constructs.Construct, id *string, props *IngestProps) *Ingest {
	this := constructs.NewConstruct(scope, id)
	cfg := props.Config

	var domain awsapigatewayv2.DomainName
	var mapping *awsapigatewayv2.DomainMappingOptions
	if cfg.DomainName != "" {
		domain = awsapigatewayv2.NewDomainName(this, jsii.String("Domain"), &awsapigatewayv2.DomainNameProps{
			DomainName:     jsii.String(cfg.DomainName),
			Certificate:    awscertificatemanager.Certificate_FromCertificateArn(this, jsii.String("Certificate"), jsii.String(cfg.CertificateArn)),
			SecurityPolicy: awsapigatewayv2.SecurityPolicy_TLS_1_2,
		})
		mapping = &awsapigatewayv2.DomainMappingOptions{DomainName: domain}
	}
	api := awsapigatewayv2.NewHttpApi(this, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		ApiName:              jsii.String(cfg.StackName + "-webhooks"),
		Description:          jsii.String("Hookstack webhook receiver: ANY " + WebhookRoute),
		CreateDefaultStage:   jsii.Bool(true),
		DefaultDomainMapping: mapping,
	})

	baseURL := jsii.String("https://" + *api.ApiId() + ".execute-api." + *awscdk.Aws_REGION() + "." + *awscdk.Aws_URL_SUFFIX())
	if domain != nil {
		baseURL = jsii.String("https://" + cfg.DomainName)
	}

	accessLogs := awslogs.NewLogGroup(this, jsii.String("AccessLogs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays(retentionDays[cfg.LogRetentionDays]),
		RemovalPolicy: removalPolicy(cfg.Removal),
	})
	// The L2 HttpStage takes access log settings as an interface that Go
	// cannot implement through jsii, so set them (and the throttling) on the
	// L1 stage.
	stage := api.DefaultStage().Node().DefaultChild().(awsapigatewayv2.CfnStage)
	stage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format:         jsii.String(AccessLogFormat),
	})
	stage.SetDefaultRouteSettings(&awsapigatewayv2.CfnStage_RouteSettingsProperty{
		ThrottlingRateLimit:  jsii.Number(cfg.ThrottleRate),
		ThrottlingBurstLimit: jsii.Number(cfg.ThrottleBurst),
	})

	env := map[string]*string{
		EnvClaimBucket: props.Bucket.BucketName(),
		EnvPublicURL:   baseURL,
		EnvProviders:   jsii.String(strings.Join(cfg.Providers, ",")),
	}
	if cfg.HubSpotLegacySignatures {
		env[EnvHubSpotLegacy] = jsii.String("true")
	}
	if cfg.SalesforceAnyIP {
		env[EnvSalesforceAnyIP] = jsii.String("true")
	}
	if slices.Contains(cfg.Providers, "salesforce") && len(cfg.AllowCidrs["salesforce"]) == 0 && !cfg.SalesforceAnyIP {
		awscdk.Annotations_Of(this).AddWarningV2(jsii.String("hookstack:salesforce-allowlist"), jsii.String(SalesforceAllowlistWarning), nil)
	}
	for _, q := range envelope.DomainQueues {
		queueURLs(env, props.Queues.ByName, q, queue.DLQ(q))
	}
	for _, p := range cfg.Providers {
		env[SecretARNEnv(p)] = props.Secrets.ByProvider[p].SecretArn()
		if cidrs := cfg.AllowCidrs[p]; len(cidrs) > 0 {
			env[AllowCidrsEnv(p)] = jsii.String(strings.Join(cidrs, ","))
		}
	}
	fn := newFunction(this, "Ingest", &functionProps{Name: "ingest", Config: cfg, Environment: env})

	for _, q := range envelope.DomainQueues {
		props.Queues.ByName[q].GrantSendMessages(fn)
		// Unparseable bodies go straight to the DLQ, not through 5 retries.
		props.Queues.ByName[queue.DLQ(q)].GrantSendMessages(fn)
	}
	grantClaimBodies(fn, props.Bucket, "s3:PutObject")
	for _, p := range cfg.Providers {
		props.Secrets.ByProvider[p].GrantRead(fn, nil)
	}

	api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:    jsii.String(WebhookRoute),
		Methods: &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_ANY},
		Integration: awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("IngestIntegration"), fn,
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
			}),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(api, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-APIG4"),
		Reason: jsii.String("Webhook providers cannot sign requests with IAM, Cognito or JWT; every request is " +
			"authenticated in the ingest function by the provider's own signature (HMAC, RSA or token) over the raw " +
			"body, fail closed, before anything is queued."),
	}}, jsii.Bool(true))

	return &Ingest{Construct: this, Function: fn, Api: api, AccessLogs: accessLogs, Domain: domain, BaseUrl: baseURL}
}

// SalesforceAllowlistWarning is the synth warning of a stack that enables
// salesforce with neither a source allowlist nor salesforceAnyIp: ingest
// refuses every Salesforce request (403) until one is set.
const SalesforceAllowlistWarning = "salesforce is enabled without allowCidrs for it: Salesforce signs nothing, so ingest " +
	"refuses its requests (403) until you set -c allowCidrs='salesforce=<Salesforce's published IP ranges>', or " +
	"-c salesforceAnyIp=true to accept any address (anyone who knows your OrganizationId can then post)"
