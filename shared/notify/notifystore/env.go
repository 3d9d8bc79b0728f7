package notifystore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookstack/hookstack/shared/awsbackend/awsconfig"
	"github.com/hookstack/hookstack/shared/blob"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/notify"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
)

// EnvTable names the DynamoDB table (the stack sets it).
const EnvTable = "HOOKSTACK_TABLE"

// EnvClaimBucket names the claim-check bucket the deliverer reads large raw
// forwards' bodies from (read by the ClaimReader).
const EnvClaimBucket = "HOOKSTACK_CLAIM_BUCKET"

// EndpointCacheTTL is how long the Lambdas cache the endpoint list: an
// added, changed or removed endpoint takes effect within it.
const EndpointCacheTTL = 30 * time.Second

// Queues each function needs, exactly the URLs the stack gives it
// (infra/hookstack/notifications.go): the fan-out sends to deliveries and
// dead-letters malformed notifications into its DLQ; the deliverer
// re-schedules on its queue and dead-letters into its DLQ.
var (
	fanOutQueues    = []string{envelope.QueueNotifications, queue.DLQ(envelope.QueueNotifications), envelope.QueueDeliveries}
	delivererQueues = []string{envelope.QueueDeliveries, queue.DLQ(envelope.QueueDeliveries)}
)

// deps are what both functions build from the environment.
type deps struct {
	cfg       notify.Config
	aws       aws.Config
	queue     *sqsq.Queue
	endpoints *Endpoints
	log       *DeliveryLog
}

// ClaimReader builds the deliverer's reader of claim-check bodies (the
// inbound bodies large raw forwards are built from: notify.Delivery.DataRef)
// from the SDK configuration and the environment (HOOKSTACK_CLAIM_BUCKET),
// nil when none is configured. The deliverer's main passes
// awsbackend.ClaimReader: the S3 client is linked there, never in this
// package, which the fan-out shares and which reads no bodies.
type ClaimReader func(cfg aws.Config, getenv func(string) string) blob.Store

// checkEnv reads every variable the function needs and reports all that
// are missing or malformed at once, before any AWS set-up.
func checkEnv(getenv func(string) string, queues []string) (notify.Config, string, map[string]string, error) {
	var errs []error
	cfg, err := notify.ConfigFromEnv(getenv)
	if err != nil {
		errs = append(errs, err)
	}
	table := strings.TrimSpace(getenv(EnvTable))
	if table == "" {
		errs = append(errs, fmt.Errorf("%s is not set: the DynamoDB table of endpoints and the delivery log", EnvTable))
	}
	urls, err := sqsq.URLsFromEnv(getenv, queues)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return notify.Config{}, "", nil, errors.Join(errs...)
	}
	return cfg, table, urls, nil
}

func fromEnv(ctx context.Context, getenv func(string) string, queues []string) (deps, error) {
	cfg, table, urls, err := checkEnv(getenv, queues)
	if err != nil {
		return deps{}, err
	}
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		return deps{}, err
	}
	st := dynamostore.New(dynamodb.NewFromConfig(awsCfg), table, dynamostore.ListKinds(ListedKinds...))
	return deps{
		cfg:       cfg,
		aws:       awsCfg,
		queue:     sqsq.New(sqs.NewFromConfig(awsCfg), urls),
		endpoints: NewEndpoints(st, &notify.Guard{Allow: cfg.Allow}),
		log:       NewDeliveryLog(st),
	}, nil
}

// FanOutFromEnv builds the fanout Lambda's handler: the notifications queue
// (and its DLQ, for malformed messages) and the deliveries queue from
// HOOKSTACK_QUEUE_URL_*, endpoints from HOOKSTACK_TABLE cached for
// EndpointCacheTTL. Missing or malformed variables are all named in the
// error.
func FanOutFromEnv(ctx context.Context, getenv func(string) string, log *slog.Logger) (*notify.FanOutHandler, error) {
	d, err := fromEnv(ctx, getenv, fanOutQueues)
	if err != nil {
		return nil, fmt.Errorf("fanout: %w", err)
	}
	return &notify.FanOutHandler{
		Endpoints: notify.CachedEndpoints(d.endpoints, EndpointCacheTTL),
		Queue:     d.queue,
		Logger:    log,
	}, nil
}

// DelivererFromEnv builds the deliverer Lambda's handler: the deliveries
// queue and its DLQ from HOOKSTACK_QUEUE_URL_*, endpoints (cached for
// EndpointCacheTTL; a delivery is dropped only after a consistent read of
// its endpoint agrees) and the delivery log from HOOKSTACK_TABLE,
// notify.ConfigFromEnv (HOOKSTACK_RETRY_SCHEDULE, HOOKSTACK_DELIVERY_TIMEOUT,
// HOOKSTACK_OUTBOUND_ALLOW_CIDRS) for the SSRF-guarded client, and the
// claim-check bodies of large raw forwards from claims (nil, or claims
// returning nil: such deliveries are dead-lettered, with a warning here).
func DelivererFromEnv(ctx context.Context, getenv func(string) string, log *slog.Logger, claims ClaimReader) (*notify.DeliverHandler, error) {
	d, err := fromEnv(ctx, getenv, delivererQueues)
	if err != nil {
		return nil, fmt.Errorf("deliverer: %w", err)
	}
	var blobs notify.BlobGetter
	if claims != nil {
		if b := claims(d.aws, getenv); b != nil {
			blobs = b
		}
	}
	if blobs == nil && log != nil {
		log.Warn("no claim-check bucket: raw forwards too large for a queue message will be dead-lettered", "env", EnvClaimBucket)
	}
	return &notify.DeliverHandler{
		Blobs: blobs,
		Deliverer: &notify.Deliverer{
			Client:   notify.NewClient(&notify.Guard{Allow: d.cfg.Allow}, nil),
			Schedule: d.cfg.Schedule,
			Timeout:  d.cfg.Timeout,
		},
		Endpoints: notify.CachedEndpoints(d.endpoints, EndpointCacheTTL),
		Disabler:  d.endpoints,
		Log:       d.log,
		Queue:     d.queue,
		Logger:    log,
	}, nil
}
