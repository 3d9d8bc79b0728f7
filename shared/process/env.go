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
)

// ConfigFromEnv reads HOOKSTACK_LOW_STOCK (default 5) and
// HOOKSTACK_TRELLO_DONE_LISTS (default "Done,Completed").
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		Inventory: inventory.Config{LowStock: inventory.DefaultLowStock},
		Relay:     relay.Config{DoneLists: relay.ParseDoneLists(getenv(EnvDoneLists))},
	}
	if v := strings.TrimSpace(getenv(EnvLowStock)); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return Config{}, fmt.Errorf("%s=%q: want a whole number >= 0", EnvLowStock, v)
		}
		cfg.Inventory.LowStock = n
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
