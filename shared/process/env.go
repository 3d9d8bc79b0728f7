package process

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookstack/hookstack/shared/awsbackend"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/inventory"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/sqsq"
	"github.com/hookstack/hookstack/shared/relay"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
)

// Environment variables the processors read (besides the queue URLs).
const (
	EnvTable     = "HOOKSTACK_TABLE"
	EnvLowStock  = "HOOKSTACK_LOW_STOCK"
	EnvDoneLists = "HOOKSTACK_TRELLO_DONE_LISTS"
	EnvFaults    = "HOOKSTACK_FAULTS"
	// EnvMaxReceives is the processor queue's maxReceiveCount (the stack's
	// redrive policy), so the handler dead-letters a message on its last
	// receive with a reason (Config.MaxReceives).
	EnvMaxReceives = "HOOKSTACK_MAX_RECEIVE_COUNT"
)

// DefaultMaxReceives is Config.MaxReceives when HOOKSTACK_MAX_RECEIVE_COUNT
// is unset: the maxReceiveCount of the stack's processor queues and of the
// dev server's local queues.
const DefaultMaxReceives = 5

// ConfigFromEnv reads HOOKSTACK_LOW_STOCK (default 5; 0 announces only out
// of stock), HOOKSTACK_TRELLO_DONE_LISTS (default "Done,Completed") and
// HOOKSTACK_MAX_RECEIVE_COUNT (default 5; 0 leaves dead-lettering after
// repeated transient failures to the queue's redrive, without a reason).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		Inventory:   inventory.Config{LowStock: inventory.LowStock(inventory.DefaultLowStock)},
		Relay:       relay.Config{DoneLists: relay.ParseDoneLists(getenv(EnvDoneLists))},
		MaxReceives: DefaultMaxReceives,
	}
	if v := strings.TrimSpace(getenv(EnvLowStock)); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return Config{}, fmt.Errorf("%s=%q: want a whole number >= 0", EnvLowStock, v)
		}
		cfg.Inventory.LowStock = inventory.LowStock(n)
	}
	if v := strings.TrimSpace(getenv(EnvMaxReceives)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			return Config{}, fmt.Errorf("%s=%q: want a whole number from 0 to 1000", EnvMaxReceives, v)
		}
		cfg.MaxReceives = n
	}
	return cfg, nil
}

// StoreOptions configure the processors' dynamostore: they only Get their
// records and the archive, so no dynamostore.ListKinds (none of their writes
// touches gsi1), and the archive, which only Hookstack reads, is packed
// (about one write unit per envelope instead of three). Every writer of
// processor records on DynamoDB uses them.
var StoreOptions = []dynamostore.Option{dynamostore.PackKinds(KindArchive)}

// FromEnv builds processor name's handler for its Lambda from the
// stack's environment, once at start-up: SQS for its queue, its DLQ and
// the notifications queue (HOOKSTACK_QUEUE_URL_<NAME>, _<NAME>_DLQ,
// _NOTIFICATIONS), DynamoDB on HOOKSTACK_TABLE, S3 claim-check bodies on
// HOOKSTACK_CLAIM_BUCKET (optional), ConfigFromEnv, the replay archive's
// HOOKSTACK_ARCHIVE_TTL (ArchiveTTLFromEnv), and the test-only
// HOOKSTACK_FAULTS (see ParseFaults; unset in every deployed stack).
func FromEnv(ctx context.Context, name string, getenv func(string) string, log *slog.Logger) (*Handler, error) {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	table := strings.TrimSpace(getenv(EnvTable))
	if table == "" {
		return nil, fmt.Errorf("%s is not set", EnvTable)
	}
	faults, err := ParseFaults(getenv(EnvFaults))
	if err != nil {
		return nil, err
	}
	archiveTTL, err := ArchiveTTLFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsbackend.Config(ctx)
	if err != nil {
		return nil, err
	}
	urls, err := sqsq.URLsFromEnv(getenv, []string{name, queue.DLQ(name), envelope.QueueNotifications})
	if err != nil {
		return nil, err
	}
	deps := Deps{
		Queue:  sqsq.New(sqs.NewFromConfig(awsCfg), urls),
		Store:  dynamostore.New(dynamodb.NewFromConfig(awsCfg), table, StoreOptions...),
		Logger: log,
		// The replay archive (HOOKSTACK_ARCHIVE_TTL, default 7 days).
		ArchiveTTL: archiveTTL,
	}
	if b := awsbackend.Blobs(awsCfg, getenv); b != nil {
		deps.Blobs = b
	}
	if faults != nil {
		log.Warn("fault injection is on (test only)", "env", EnvFaults, "rules", len(faults.rules))
		deps.Store = faults.Wrap(deps.Store)
	}
	return New(name, deps, cfg)
}
