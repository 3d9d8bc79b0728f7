// Package cost is Hookstack's cost model as code: AWS list prices, the
// measured or estimated resource use of one webhook through the pipeline
// (API Gateway → ingest → SQS → processor → DynamoDB → notifications →
// fan-out → deliveries → deliverer), and the cost per million webhooks with a
// per-service breakdown, rendered as the Markdown table in BENCHMARKS.md
// (`go test ./shared/cost -run TestReport -v`).
//
// Prices cannot be fetched from the machine this was written on (no
// network): every figure was taken from the vendor's public pricing page as
// known at the date given with it, and must be re-checked against the page
// before being relied on.
package cost

// AWSPrices are the list prices the model uses, in USD, us-east-1, without
// free tiers (a conservative choice: free tiers only lower the bill).
type AWSPrices struct {
	// API Gateway HTTP API, per request (first 300 million a month; a request
	// is metered in 512 KB increments).
	APIGatewayHTTPPerRequest float64
	// Lambda, arm64: per GB-second of duration (first 7.5 billion GB-s a
	// month) and per request.
	LambdaARMPerGBSecond float64
	LambdaPerRequest     float64
	// SQS standard queues, per request; each 64 KB chunk of a payload is one
	// request.
	SQSPerRequest float64
	// DynamoDB on-demand, standard table class: per write and read request
	// unit, and storage per GB-month.
	DynamoPerWRU            float64
	DynamoPerRRU            float64
	DynamoStoragePerGBMonth float64
	// CloudWatch Logs (standard log class): ingestion per GB and archived
	// storage per GB-month.
	LogsIngestPerGB        float64
	LogsStoragePerGBMonth  float64
	CustomMetricPerMonth   float64 // first 10,000 metrics
	AlarmPerMetricPerMonth float64 // standard resolution
	SecretsPerAPICall      float64
	SecretPerMonth         float64
	S3PutPerRequest        float64 // S3 Standard PUT, COPY, POST, LIST
	S3GetPerRequest        float64 // S3 Standard GET, SELECT
	S3StoragePerGBMonth    float64 // S3 Standard, first 50 TB
	DataTransferOutPerGB   float64 // EC2/Lambda to the Internet, first 10 TB (100 GB/month free not counted)
	// DynamoDB on-demand before the November 2024 reduction, for comparison.
	DynamoPreNov2024PerWRU float64
	DynamoPreNov2024PerRRU float64
	// DynamoDB provisioned capacity, per write and read capacity unit-hour
	// (a WCU is one 1 KB write a second, an RCU one strongly consistent
	// 4 KB read a second), for the what-if of steady traffic.
	DynamoProvisionedPerWCUHour float64
	DynamoProvisionedPerRCUHour float64
}

// PriceSource names the public page a price comes from and when it was
// known to be current.
type PriceSource struct {
	Service string
	Figure  string
	Page    string
	AsOf    string // date of knowledge, not of a fetch: nothing is fetched from here
}

// ListPrices are the us-east-1 list prices as known at the dates in
// Sources. DynamoDB uses the on-demand prices after the reduction AWS
// announced on 1 November 2024 (throughput halved: $1.25 → $0.625 per
// million WRU, $0.25 → $0.125 per million RRU) because they are the prices
// that apply now; the earlier ones are kept for the comparison in the report.
var ListPrices = AWSPrices{
	APIGatewayHTTPPerRequest: 1.00 / 1e6,
	LambdaARMPerGBSecond:     0.0000133334,
	LambdaPerRequest:         0.20 / 1e6,
	SQSPerRequest:            0.40 / 1e6,
	DynamoPerWRU:             0.625 / 1e6,
	DynamoPerRRU:             0.125 / 1e6,
	DynamoStoragePerGBMonth:  0.25,
	LogsIngestPerGB:          0.50,
	LogsStoragePerGBMonth:    0.03,
	CustomMetricPerMonth:     0.30,
	AlarmPerMetricPerMonth:   0.10,
	SecretsPerAPICall:        0.05 / 10000,
	SecretPerMonth:           0.40,
	S3PutPerRequest:          0.005 / 1000,
	S3GetPerRequest:          0.0004 / 1000,
	S3StoragePerGBMonth:      0.023,
	DataTransferOutPerGB:     0.09,
	DynamoPreNov2024PerWRU:   1.25 / 1e6,
	DynamoPreNov2024PerRRU:   0.25 / 1e6,

	DynamoProvisionedPerWCUHour: 0.00065,
	DynamoProvisionedPerRCUHour: 0.00013,
}

// Sources lists where each price comes from. Dates are dates of knowledge.
var Sources = []PriceSource{
	{"API Gateway", "HTTP API $1.00 per million requests (first 300 million/month), 512 KB increments", "Amazon API Gateway pricing (aws.amazon.com/api-gateway/pricing/)", "2024-11"},
	{"Lambda", "arm64 $0.0000133334 per GB-second (first 7.5 billion GB-s/month); $0.20 per million requests", "AWS Lambda pricing (aws.amazon.com/lambda/pricing/)", "2024-11"},
	{"SQS", "standard queue $0.40 per million requests after the first million; each 64 KB chunk is a request", "Amazon SQS pricing (aws.amazon.com/sqs/pricing/)", "2024-11"},
	{"DynamoDB", "on-demand $0.625 per million WRU, $0.125 per million RRU (after the 1 Nov 2024 reduction; before: $1.25 / $0.25); storage $0.25 per GB-month", "Amazon DynamoDB pricing for on-demand capacity (aws.amazon.com/dynamodb/pricing/on-demand/)", "2024-11"},
	{"DynamoDB (what-if)", "provisioned capacity $0.00065 per WCU-hour, $0.00013 per RCU-hour (standard table class)", "Amazon DynamoDB pricing for provisioned capacity (aws.amazon.com/dynamodb/pricing/provisioned/)", "2024-11"},
	{"CloudWatch", "Logs ingestion $0.50 per GB (standard class), archive $0.03 per GB-month; custom metrics $0.30 per metric-month (first 10,000); standard alarms $0.10 per alarm metric-month", "Amazon CloudWatch pricing (aws.amazon.com/cloudwatch/pricing/)", "2024-11"},
	{"Secrets Manager", "$0.40 per secret-month; $0.05 per 10,000 API calls", "AWS Secrets Manager pricing (aws.amazon.com/secrets-manager/pricing/)", "2024-11"},
	{"S3", "Standard: PUT $0.005 per 1,000, GET $0.0004 per 1,000, storage $0.023 per GB-month (first 50 TB)", "Amazon S3 pricing (aws.amazon.com/s3/pricing/)", "2024-11"},
	{"Data transfer", "out to the Internet $0.09 per GB (first 10 TB/month, after 100 GB/month free)", "Amazon EC2 on-demand pricing, data transfer (aws.amazon.com/ec2/pricing/on-demand/)", "2024-11"},
}
