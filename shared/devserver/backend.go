package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookstack/hookstack/shared/blob"
	"github.com/hookstack/hookstack/shared/blob/fileblob"
	"github.com/hookstack/hookstack/shared/blob/s3blob"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/notify/notifystore"
	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/localq"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
	"github.com/hookstack/hookstack/shared/stack"
	"github.com/hookstack/hookstack/shared/store"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
	"github.com/hookstack/hookstack/shared/store/localstore"
)

// Backends of `hookstack dev`.
const (
	// BackendLocal is the embedded, file-backed queues, store and blobs in
	// the data folder (the default; no AWS account needed).
	BackendLocal = "local"
	// BackendAWS is the SDK adapters (SQS, DynamoDB, S3), against emulators
	// (AWS_ENDPOINT_URL) or a real account.
	BackendAWS = "aws"
)

// Environment variables of the backend choice.
const (
	// EnvBackend picks the backend when Options.Backend is empty.
	EnvBackend = "HOOKSTACK_BACKEND"
	// EnvAWSPrefix is the name prefix of the queues, table and bucket the
	// aws backend creates on emulators, when Options.AWSPrefix is empty.
	EnvAWSPrefix = "HOOKSTACK_AWS_PREFIX"
	// EnvTable and EnvClaimBucket name an existing table and bucket.
	EnvTable       = "HOOKSTACK_TABLE"
	EnvClaimBucket = "HOOKSTACK_CLAIM_BUCKET"
)

// DefaultAWSPrefix starts the names of what the aws backend creates on
// emulators: hookstack-dev-payments, hookstack-dev-table, ...
const DefaultAWSPrefix = "hookstack-dev-"

// Errors of the backend choice.
var (
	// ErrUnknownBackend: --backend/HOOKSTACK_BACKEND is neither local nor aws.
	ErrUnknownBackend = errors.New("unknown backend")
	// ErrNoAWSResources: the aws backend has no queues or table to use and
	// no emulator to create them on.
	ErrNoAWSResources = errors.New("no AWS resources to use")
	// ErrAWSConfig: no region or no usable credentials.
	ErrAWSConfig = errors.New("AWS configuration incomplete")
	// ErrBadPrefix: the name prefix does not fit SQS, DynamoDB and S3 names.
	ErrBadPrefix = errors.New("invalid AWS name prefix")
)

// backendQueue is the pipeline's queue plus the DLQ view of the dev API.
type backendQueue interface {
	queue.Queue
	DeadLetters
}

// backend is where the pipeline keeps its queues, records and claim-check
// bodies. Everything else (ingest, processors, fan-out, deliverer, event
// log, secrets) is the same for every backend.
type backend struct {
	kind  string
	queue backendQueue
	store store.Store
	blobs blob.Store // nil: no claim-check store (oversized bodies are refused)
	// lines describe the backend and its resources for the start-up output.
	lines   []string
	closers []io.Closer
}

// Close releases the backend's files (the local one's); the aws backend
// holds nothing to close.
func (b *backend) Close() error {
	var errs []error
	for i := len(b.closers) - 1; i >= 0; i-- {
		errs = append(errs, b.closers[i].Close())
	}
	return errors.Join(errs...)
}

// describe writes the start-up lines.
func (b *backend) describe(w io.Writer) {
	fmt.Fprintln(w)
	for _, l := range b.lines {
		fmt.Fprintln(w, l)
	}
}

// backendKind resolves o.Backend, then HOOKSTACK_BACKEND; default local.
func backendKind(o Options) (string, error) {
	kind, from := o.Backend, "backend"
	if kind == "" {
		kind, from = o.Getenv(EnvBackend), EnvBackend
	}
	switch k := strings.ToLower(strings.TrimSpace(kind)); k {
	case "", BackendLocal:
		return BackendLocal, nil
	case BackendAWS:
		return BackendAWS, nil
	default:
		return "", fmt.Errorf("%s=%q: %w: use %s or %s", from, kind, ErrUnknownBackend, BackendLocal, BackendAWS)
	}
}

// openBackend opens the backend o asks for. deliveryReceives is the
// deliveries queue's maxReceiveCount (the others get MaxReceiveCount).
func openBackend(ctx context.Context, o Options, deliveryReceives int) (*backend, error) {
	kind, err := backendKind(o)
	if err != nil {
		return nil, err
	}
	if kind == BackendAWS {
		return openAWS(ctx, o, deliveryReceives)
	}
	return openLocal(o.DataDir, deliveryReceives)
}

// openLocal opens the embedded backend in dir.
func openLocal(dir string, deliveryReceives int) (*backend, error) {
	b := &backend{kind: BackendLocal}
	q, err := localq.Open(filepath.Join(dir, "queues.db"), localq.Config{
		Queues: envelope.AllQueues, MaxReceive: MaxReceiveCount,
		MaxReceiveFor: map[string]int{envelope.QueueDeliveries: deliveryReceives},
	})
	if err != nil {
		return nil, fmt.Errorf("open local queues (is another hookstack dev using %s?): %w", dir, err)
	}
	b.closers = append(b.closers, q)
	st, err := localstore.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("open local store: %w", err)
	}
	b.closers = append(b.closers, st)
	blobs, err := fileblob.New(filepath.Join(dir, "blobs"))
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	b.queue, b.store, b.blobs = localDeadLetters{q}, st, blobs
	b.lines = []string{fmt.Sprintf("Backend: local (embedded queues, store and blobs in %s; --aws for SQS, DynamoDB and S3)", dir)}
	return b, nil
}

// localDeadLetters is the embedded queue with the DLQ view.
type localDeadLetters struct{ *localq.Queue }

func (d localDeadLetters) Peek(name string, limit int) ([]queue.Message, error) {
	return d.List(context.Background(), name, limit)
}

// sqsDeadLetters is the SQS adapter with the DLQ view: listing receives the
// messages and makes them visible again at once (sqsq.Peek). On emulators
// (byHand) redrive is redriveByHand; in AWS it is sqsq's Redrive (SQS's
// message move task).
type sqsDeadLetters struct {
	*sqsq.Queue
	byHand bool
}

// Redrive moves the DLQ's messages back to source.
func (d sqsDeadLetters) Redrive(ctx context.Context, dlq, source string) (int, error) {
	if !d.byHand {
		return d.Queue.Redrive(ctx, dlq, source)
	}
	return redriveByHand(ctx, d, dlq, source)
}

// redriveByHand moves the messages that are in dlq when it starts back to
// source: receive, send, delete (a failure may duplicate a message, never
// lose one). It moves the messages a listing finds at the start (up to
// 1000; run it again for more), and leaves alone any message sent to dlq after the start: the pipeline keeps
// running meanwhile, and a message that fails again at once is dead-lettered
// anew — moving that one too would cycle it for ever.
func redriveByHand(ctx context.Context, q sqsDeadLetters, dlq, source string) (int, error) {
	start := time.Now()
	held, err := q.Peek(dlq, 1000)
	if err != nil {
		return 0, err
	}
	want := map[string]bool{}
	for _, m := range held {
		if m.SentAt.Before(start) {
			want[m.ID] = true
		}
	}
	moved := 0
	for len(want) > 0 {
		batch, err := q.Receive(ctx, dlq, 10, time.Minute, time.Second)
		if err != nil {
			return moved, fmt.Errorf("redrive %s: %w", dlq, err)
		}
		if len(batch) == 0 {
			return moved, nil
		}
		progress := false
		for _, m := range batch {
			if !want[m.ID] {
				// Not ours to move: visible again for the next listing.
				if err := q.ChangeVisibility(ctx, dlq, m.ReceiptHandle, 0); err != nil && !errors.Is(err, queue.ErrReceiptInvalid) {
					return moved, fmt.Errorf("redrive %s: %w", dlq, err)
				}
				continue
			}
			if _, err := q.Send(ctx, source, queue.Outgoing{Body: m.Body, Attributes: m.Attributes}); err != nil {
				return moved, fmt.Errorf("redrive %s to %s: %w", dlq, source, err)
			}
			if err := q.Delete(ctx, dlq, m.ReceiptHandle); err != nil {
				return moved, fmt.Errorf("redrive %s: %w", dlq, err)
			}
			delete(want, m.ID)
			moved++
			progress = true
		}
		if !progress {
			return moved, nil
		}
	}
	return moved, nil
}

// sqsPeekTimeout bounds one DLQ listing.
const sqsPeekTimeout = 30 * time.Second

func (d sqsDeadLetters) Peek(name string, limit int) ([]queue.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sqsPeekTimeout)
	defer cancel()
	return d.Queue.Peek(ctx, name, limit, 0)
}

// AWS services whose endpoints can be overridden (AWS_ENDPOINT_URL_<ID>).
const (
	svcSQS      = "SQS"
	svcDynamoDB = "DYNAMODB"
	svcS3       = "S3"
)

// endpointFor is the endpoint override of service: AWS_ENDPOINT_URL_<ID>,
// else AWS_ENDPOINT_URL; "" means AWS itself.
func endpointFor(getenv func(string) string, service string) string {
	if ep := strings.TrimSpace(getenv("AWS_ENDPOINT_URL_" + service)); ep != "" {
		return ep
	}
	return strings.TrimSpace(getenv("AWS_ENDPOINT_URL"))
}

// awsPlan is what the aws backend uses: existing resources, or ones to
// create on an emulator.
type awsPlan struct {
	prefix    string
	endpoints map[string]string // service → endpoint ("" → AWS)
	from      string            // where the resources come from, for the start-up output

	queueURLs map[string]string // every queue and DLQ; nil: provision under prefix
	table     string
	makeTable bool
	bucket    string // "": none
	makeBkt   bool
}

// allQueueNames are every queue with its DLQ.
func allQueueNames() []string {
	names := make([]string, 0, 2*len(envelope.AllQueues))
	for _, n := range envelope.AllQueues {
		names = append(names, n, queue.DLQ(n))
	}
	return names
}

// checkPrefix accepts what fits SQS queue, DynamoDB table and S3 bucket
// names: lower-case letters, digits and '-', at most 40 characters.
func checkPrefix(p string) error {
	if len(p) > 40 {
		return fmt.Errorf("%w %q: at most 40 characters", ErrBadPrefix, p)
	}
	for _, c := range p {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return fmt.Errorf("%w %q: use lower-case letters, digits and '-' (it starts S3 bucket names)", ErrBadPrefix, p)
		}
	}
	return nil
}

// planAWS decides which queues, table and bucket the aws backend uses: a
// stack's outputs (out != nil); else HOOKSTACK_QUEUE_URL_<NAME>,
// HOOKSTACK_TABLE and HOOKSTACK_CLAIM_BUCKET; else, where an endpoint
// override points at an emulator, resources created under prefix.
func planAWS(getenv func(string) string, prefix string, out *stack.Outputs) (awsPlan, error) {
	if err := checkPrefix(prefix); err != nil {
		return awsPlan{}, err
	}
	p := awsPlan{prefix: prefix, endpoints: map[string]string{}}
	for _, s := range []string{svcSQS, svcDynamoDB, svcS3} {
		p.endpoints[s] = endpointFor(getenv, s)
	}
	names := allQueueNames()
	if out != nil {
		p.from = "stack " + out.StackName
		var missing []string
		p.queueURLs = map[string]string{}
		for _, n := range names {
			u := out.Queues[n]
			if u == "" {
				missing = append(missing, stack.KeyQueueUrl+stack.Title(n))
				continue
			}
			p.queueURLs[n] = u
		}
		if len(missing) > 0 {
			return awsPlan{}, fmt.Errorf("stack %s lacks the outputs %s: %w: deploy it again with `make deploy`", out.StackName, strings.Join(missing, ", "), ErrNoAWSResources)
		}
		if out.TableName == "" {
			return awsPlan{}, fmt.Errorf("stack %s has no %s output: %w: deploy it again with `make deploy`", out.StackName, stack.KeyTableName, ErrNoAWSResources)
		}
		p.table, p.bucket = out.TableName, out.ClaimBucket
		return p, nil
	}

	p.from = "environment"
	anyURL := slices.ContainsFunc(names, func(n string) bool { return strings.TrimSpace(getenv(sqsq.EnvVar(n))) != "" })
	switch {
	case anyURL:
		urls, err := sqsq.URLsFromEnv(getenv, names)
		if err != nil {
			return awsPlan{}, fmt.Errorf("%w (every queue and DLQ, or none to create them on an emulator)", err)
		}
		p.queueURLs = urls
	case p.endpoints[svcSQS] != "":
		p.from = "emulator"
	default:
		return awsPlan{}, fmt.Errorf("%w: pass --stack NAME to use a deployed stack, set %s<NAME> for every queue and DLQ (and %s), or set AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_SQS, _DYNAMODB, _S3) to emulators to create them there",
			ErrNoAWSResources, sqsq.EnvPrefix, EnvTable)
	}
	switch t := strings.TrimSpace(getenv(EnvTable)); {
	case t != "":
		p.table = t
	case p.endpoints[svcDynamoDB] != "":
		p.table, p.makeTable = prefix+"table", true
	default:
		return awsPlan{}, fmt.Errorf("%w: no table: set %s to the stack's table, pass --stack NAME, or set AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_DYNAMODB) to an emulator to create one there",
			ErrNoAWSResources, EnvTable)
	}
	switch b := strings.TrimSpace(getenv(EnvClaimBucket)); {
	case b != "":
		p.bucket = b
	case p.endpoints[svcS3] != "":
		p.bucket, p.makeBkt = prefix+"claims", true
	}
	return p, nil
}

// awsConfig loads the SDK configuration with getenv's region, credentials
// and profile over the process's, and checks that it has a region and
// usable credentials.
func awsConfig(ctx context.Context, getenv func(string) string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithHTTPClient(awshttp.NewBuildableClient())}
	if r := firstOf(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")); r != "" {
		opts = append(opts, config.WithRegion(r))
	}
	if p := getenv("AWS_PROFILE"); p != "" {
		opts = append(opts, config.WithSharedConfigProfile(p))
	}
	if id, key := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && key != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, key, getenv("AWS_SESSION_TOKEN"))))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("%w: load AWS configuration (check AWS_PROFILE and AWS_REGION): %w", ErrAWSConfig, err)
	}
	if cfg.Region == "" {
		return cfg, fmt.Errorf("%w: no AWS region: set AWS_REGION (any region, e.g. us-east-1, for emulators)", ErrAWSConfig)
	}
	if cfg.Credentials == nil {
		return cfg, fmt.Errorf("%w: no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values for emulators)", ErrAWSConfig)
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := cfg.Credentials.Retrieve(cctx); err != nil {
		return cfg, fmt.Errorf("%w: no usable AWS credentials: set AWS_PROFILE (after `aws sso login` if it uses SSO), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values for emulators): %w", ErrAWSConfig, err)
	}
	return cfg, nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// awsSetupTimeout bounds the start-up calls (stack, provisioning, checks).
const awsSetupTimeout = 2 * time.Minute

// openAWS opens the SDK adapters: it plans the resources, creates them on
// emulators or checks that the given ones answer, and describes them.
func openAWS(ctx context.Context, o Options, deliveryReceives int) (*backend, error) {
	prefix := o.AWSPrefix
	if prefix == "" {
		prefix = firstOf(o.Getenv(EnvAWSPrefix), DefaultAWSPrefix)
	}
	ctx, cancel := context.WithTimeout(ctx, awsSetupTimeout)
	defer cancel()

	var (
		cfg aws.Config
		out *stack.Outputs
		err error
	)
	if o.Stack != "" {
		if cfg, err = awsConfig(ctx, o.Getenv); err != nil {
			return nil, err
		}
		if out, err = stack.Read(ctx, cloudformation.NewFromConfig(cfg), o.Stack); err != nil {
			return nil, fmt.Errorf("--stack %s (region %s): %w: check AWS_PROFILE and AWS_REGION point at the stack's account and region", o.Stack, cfg.Region, err)
		}
	}
	plan, err := planAWS(o.Getenv, prefix, out)
	if err != nil {
		return nil, err
	}
	if out == nil {
		if cfg, err = awsConfig(ctx, o.Getenv); err != nil {
			return nil, err
		}
	}

	sqsClient := sqs.NewFromConfig(cfg, func(opt *sqs.Options) {
		if ep := plan.endpoints[svcSQS]; ep != "" {
			opt.BaseEndpoint = aws.String(ep)
		}
	})
	ddbClient := dynamodb.NewFromConfig(cfg, func(opt *dynamodb.Options) {
		if ep := plan.endpoints[svcDynamoDB]; ep != "" {
			opt.BaseEndpoint = aws.String(ep)
		}
	})
	s3Client := s3.NewFromConfig(cfg, func(opt *s3.Options) {
		if ep := plan.endpoints[svcS3]; ep != "" {
			opt.BaseEndpoint = aws.String(ep)
			opt.UsePathStyle = true // emulators
		}
	})

	urls := plan.queueURLs
	if urls == nil {
		if urls, err = provisionQueues(ctx, sqsClient, prefix, deliveryReceives); err != nil {
			return nil, err
		}
	} else if err := checkQueues(ctx, sqsClient, urls); err != nil {
		return nil, err
	}
	if plan.makeTable {
		if err := dynamostore.CreateTable(ctx, ddbClient, plan.table); err != nil {
			return nil, fmt.Errorf("%w (is the DynamoDB emulator at %s up?)", err, plan.endpoints[svcDynamoDB])
		}
	} else if _, err := ddbClient.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(plan.table)}); err != nil {
		return nil, fmt.Errorf("table %s (region %s): %w: check %s, AWS_REGION and that your credentials may use it", plan.table, cfg.Region, err, EnvTable)
	}
	if plan.makeBkt {
		if err := s3blob.EnsureBucket(ctx, s3Client, plan.bucket); err != nil {
			return nil, fmt.Errorf("%w (is the S3 emulator at %s up?)", err, plan.endpoints[svcS3])
		}
	}

	b := &backend{
		kind:  BackendAWS,
		queue: sqsDeadLetters{Queue: sqsq.New(sqsClient, urls), byHand: plan.endpoints[svcSQS] != ""},
		// The dev server lists endpoints and delivery attempts (records: Get
		// only) and writes records as the processor Lambdas do.
		store: dynamostore.New(ddbClient, plan.table,
			append([]dynamostore.Option{dynamostore.ListKinds(notifystore.ListedKinds...)}, process.StoreOptions...)...),
	}
	if plan.bucket != "" {
		b.blobs = s3blob.New(s3Client, plan.bucket)
	}
	b.lines = describeAWS(plan, cfg.Region, urls, o.DataDir)
	return b, nil
}

// provisionQueues creates every queue and DLQ under prefix (idempotent), with
// the local backend's maxReceiveCounts.
func provisionQueues(ctx context.Context, client *sqs.Client, prefix string, deliveryReceives int) (map[string]string, error) {
	var rest []string
	for _, n := range envelope.AllQueues {
		if n != envelope.QueueDeliveries {
			rest = append(rest, n)
		}
	}
	urls, err := sqsq.Provision(ctx, client, rest, MaxReceiveCount, prefix)
	if err != nil {
		return nil, fmt.Errorf("create queues on the SQS emulator: %w (a queue of that name with other settings exists: use another --aws-prefix)", err)
	}
	d, err := sqsq.Provision(ctx, client, []string{envelope.QueueDeliveries}, deliveryReceives, prefix)
	if err != nil {
		return nil, fmt.Errorf("create queues on the SQS emulator: %w (a queue of that name with other settings exists, e.g. from another HOOKSTACK_RETRY_SCHEDULE: use another --aws-prefix)", err)
	}
	for k, v := range d {
		urls[k] = v
	}
	return urls, nil
}

// checkQueues makes sure every given queue answers, so a wrong URL or
// region fails at start-up rather than in the pipeline.
func checkQueues(ctx context.Context, client *sqs.Client, urls map[string]string) error {
	for _, n := range allQueueNames() {
		_, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl:       aws.String(urls[n]),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
		})
		if err != nil {
			return fmt.Errorf("queue %s (%s): %w: check %s, AWS_REGION and that your credentials may use it", n, urls[n], err, sqsq.EnvVar(n))
		}
	}
	return nil
}

// queueName is the SQS queue name at the end of a queue URL.
func queueName(u string) string {
	if pu, err := url.Parse(u); err == nil && pu.Path != "" {
		return path.Base(pu.Path)
	}
	return u
}

// describeAWS is the aws backend's start-up description.
func describeAWS(p awsPlan, region string, urls map[string]string, dataDir string) []string {
	where := func(svc string) string {
		if ep := p.endpoints[svc]; ep != "" {
			return ep
		}
		return "AWS"
	}
	made := func(b bool) string {
		if b {
			return " (created on start-up if missing)"
		}
		return ""
	}
	var qs []string
	for _, n := range envelope.AllQueues {
		qs = append(qs, queueName(urls[n]))
	}
	lines := []string{
		fmt.Sprintf("Backend: aws (resources from %s; region %s; SQS: %s, DynamoDB: %s, S3: %s)",
			p.from, region, where(svcSQS), where(svcDynamoDB), where(svcS3)),
		fmt.Sprintf("  queues: %s, each with its %s%s", strings.Join(qs, ", "), envelope.DLQSuffix, made(p.queueURLs == nil)),
		fmt.Sprintf("  table:  %s%s", p.table, made(p.makeTable)),
	}
	if p.bucket != "" {
		lines = append(lines, fmt.Sprintf("  claim bucket: %s%s", p.bucket, made(p.makeBkt)))
	} else {
		lines = append(lines, "  claim bucket: none (set "+EnvClaimBucket+"; bodies too large for a queue message are refused)")
	}
	lines = append(lines, fmt.Sprintf("  event log and secrets: local, in %s", dataDir))
	if p.queueURLs != nil && p.endpoints[svcSQS] == "" {
		lines = append(lines, "  note: a deployed stack's Lambda functions consume these queues too; each message goes to whichever receives it first")
	}
	return lines
}
