// omnihub-timeline: the customer-timeline service. Flags, wiring and signal
// handling only; what the service does lives in the libraries beside this.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/functional/any_invocable.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/auth/caller.h"
#include "common/auth/server_security.h"
#include "common/config/env_flags.h"
#include "common/event_validation/event_validator.h"
#include "common/event_validation/ingest_limit_flags.h"
#include "common/grpc_util/served_services.h"
#include "common/grpc_util/server_limits.h"
#include "common/identity/identity_normalizer.h"
#include "common/logging/log.h"
#include "common/metrics/build_info.h"
#include "common/metrics/grpc_server_metrics.h"
#include "common/metrics/metrics_server.h"
#include "common/redis/pipelined_redis_client.h"
#include "common/redis/redis_credentials.h"
#include "common/redis/redis_metrics.h"
#include "common/redis_cluster/cluster_redis_client.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "services/insights/insights_service.h"
#include "services/insights/store/insights_engine.h"
#include "services/insights/store/insights_metrics.h"
#include "services/recommendations/cross_sell_keeper.h"
#include "services/recommendations/recommendation_service.h"
#include "services/segments/segment_service.h"
#include "services/segments/store/segment_engine.h"
#include "services/segments/store/segment_metrics.h"
#include "services/timeline/customer_service.h"
#include "services/timeline/durability.h"
#include "services/timeline/identity_metrics.h"
#include "services/timeline/identity_rules.h"
#include "services/timeline/timeline_metrics.h"
#include "services/timeline/timeline_service.h"
#include "services/timeline/timeline_store.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "Address the gRPC server listens on (host:port). Without TLS and "
          "--auth_tokens_file only a loopback address is accepted, unless "
          "--insecure.");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate (chain) of the gRPC port; with --tls_key_file the "
          "port speaks TLS. Both files are re-read when they change.");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file.");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA certificate(s): set, every client must present a "
          "certificate signed by it (mutual TLS).");
ABSL_FLAG(absl::Duration, tls_refresh_interval, absl::Minutes(1),
          "How often the TLS files are checked for changes.");
ABSL_FLAG(std::string, auth_tokens_file, "",
          "File of accepted bearer tokens: per line the token's SHA-256 "
          "(hex), a principal name and its scopes (ingest, ingest-verified, "
          "read, link, privacy, admin). Re-read on SIGHUP. Empty: no tokens "
          "checked (loopback only).");
ABSL_FLAG(bool, insecure, false,
          "Serve a non-loopback --listen address without TLS and tokens "
          "(anyone who can reach it may read, export, erase and merge "
          "customers); a warning is logged at start.");
ABSL_FLAG(bool, reflection, true,
          "Serve gRPC reflection (open to callers without a token, like "
          "health checks): lists the services and their messages.");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "Address of the Prometheus /metrics endpoint (host:port).");
ABSL_FLAG(std::string, redis_address, "127.0.0.1:6379",
          "Redis server (host:port); with --redis_cluster, seed nodes of "
          "the Redis Cluster (host:port,host:port,...).");
ABSL_FLAG(bool, redis_cluster, false,
          "Redis is a Redis Cluster: route each command to the master of "
          "its key's slot (--redis_address lists seed nodes).");
ABSL_FLAG(std::string, redis_user, "",
          "Redis ACL user (AUTH user password; Redis 6 and later); empty: the "
          "default user.");
ABSL_FLAG(std::string, redis_password_file, "",
          "A file holding the Redis password (AUTH on every connection); "
          "without it, the environment variable OMNIHUB_REDIS_PASSWORD. "
          "Never on the command line, where ps shows it. Empty: no AUTH.");
ABSL_FLAG(int, redis_db, 0, "Redis database number (SELECT).");
ABSL_FLAG(int, redis_connections, 2,
          "Connections to Redis; every call shares them, pipelined.");
ABSL_FLAG(absl::Duration, redis_timeout, absl::Seconds(2),
          "How long to wait for Redis before failing a call.");
ABSL_FLAG(int, redis_max_queued, 100000,
          "Most Redis commands waiting to be sent; past it a call fails at "
          "once (ingest answers UNAVAILABLE: overloaded, send again).");
ABSL_FLAG(int64_t, redis_max_queued_bytes, 64 << 20,
          "Most bytes of Redis commands waiting to be sent, per connection; "
          "past it a call fails at once as with --redis_max_queued.");
ABSL_FLAG(std::string, durability, "none",
          "none: acknowledge once Redis has the writes (with the shipped "
          "appendfsync everysec, a Redis crash may lose up to about a second "
          "of them); fsync: Redis must have appendonly yes and appendfsync "
          "always (checked at start, the hub refuses to start otherwise); "
          "replica: acknowledge a batch only once --durability_replicas "
          "replicas have its writes (Redis WAIT; on a Redis Cluster, on "
          "every master), else answer UNAVAILABLE.");
ABSL_FLAG(int, durability_replicas, 1,
          "--durability=replica: replicas that must have a batch's writes "
          "(of each master, on a Redis Cluster).");
ABSL_FLAG(absl::Duration, durability_timeout, absl::Seconds(1),
          "--durability=replica: how long to wait for them before answering "
          "UNAVAILABLE (the sender sends again; ingest is idempotent).");
ABSL_FLAG(int, grpc_max_concurrent_streams, 1000,
          "Most calls at once on one client connection; the client queues "
          "the rest (0: gRPC's default, no limit).");
ABSL_FLAG(int64_t, grpc_memory_quota, int64_t{1} << 30,
          "Bytes gRPC may use for calls in flight; past it new calls are "
          "refused (RESOURCE_EXHAUSTED) (0: no quota).");
ABSL_FLAG(absl::Duration, overload_retry_after, absl::Milliseconds(500),
          "Sent with every UNAVAILABLE answer as the grpc-retry-pushback-ms "
          "trailer: how long a client should wait before sending again.");
ABSL_FLAG(std::string, key_prefix, "omnihub:", "Prefix of every Redis key.");
ABSL_FLAG(int64_t, retention_max_events, 10000,
          "Most events kept per customer's timeline (0: no limit). Older "
          "events are trimmed; the single view still counts them.");
ABSL_FLAG(int64_t, max_untrusted_records, 100,
          "Most merge-log records of untrusted sources (claims refused, "
          "claims a verified event took over) one customer keeps (0: no "
          "limit); past it they are only counted, in "
          "omnihub_untrusted_records_dropped_total.");
ABSL_FLAG(absl::Duration, retention_max_age, absl::ZeroDuration(),
          "Events that occurred longer ago are trimmed (0: keep all), e.g. "
          "\"8760h\".");
ABSL_FLAG(int, max_batch_events, 1000, "Most events in one Ingest request.");
ABSL_FLAG(int, max_page_size, 500, "Largest GetTimeline page.");
ABSL_FLAG(int, default_page_size, 50, "GetTimeline page size when unset.");
ABSL_FLAG(int, max_request_bytes, 8 << 20,
          "Largest gRPC request message, in bytes.");
ABSL_FLAG(std::string, default_region, "US",
          "Region (ISO 3166) for phone numbers written without +country.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGTERM/SIGINT, how long in-flight calls may take to finish.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error.");
ABSL_FLAG(std::string, identity_priority, "",
          "Identity kinds, most trustworthy first (e.g. "
          "\"crm_id,login_id,email\"); kinds left out follow in the default "
          "order crm_id, login_id, email, phone, loyalty_card, "
          "web_anonymous_id.");
ABSL_FLAG(std::string, identity_policy, "",
          "Per kind, merge (may prove two customers one person) or attach "
          "(finds the customer but never merges), e.g. \"phone=attach\"; "
          "kinds left out merge.");
ABSL_FLAG(std::string, identity_limits, "crm_id=1,login_id=1",
          "Most identities of a kind on one customer, e.g. "
          "\"login_id=1,phone=3\" (0: no limit); a merge that would break "
          "a limit is refused.");
ABSL_FLAG(std::string, identity_blocklist, "",
          "Identities never used to resolve customers, as kind:value,... "
          "(e.g. a shop's own phone number, a shared test account).");
ABSL_FLAG(absl::Duration, merge_resume_after, absl::Seconds(30),
          "A merge unfinished after this long (its replica died) is finished "
          "by any replica.");
ABSL_FLAG(absl::Duration, erased_event_window, absl::Hours(24 * 30),
          "How long an erased customer's events are refused (FORGOTTEN) when "
          "sent again with one of its identities; their tombstones (hashes) "
          "expire after it.");
ABSL_FLAG(absl::Duration, suppression_period, absl::Hours(24 * 365),
          "ForgetCustomer with suppress: how long events carrying the erased "
          "identities are refused (SUPPRESSED) when the request does not "
          "say (suppress_for).");
ABSL_FLAG(absl::Duration, max_suppression_period, absl::Hours(24 * 365 * 5),
          "The longest suppression a ForgetCustomer may ask for.");
ABSL_FLAG(int, worker_threads, 4,
          "Threads for merges, erasures, exports and merge-log reads; no "
          "kind holds all of them, so one kind never waits behind another.");
ABSL_FLAG(int, worker_max_queued, 1000,
          "Most merges (and likewise erasures, exports, merge-log reads) "
          "waiting for a worker thread; past it a call is answered "
          "UNAVAILABLE at once.");
ABSL_FLAG(int, max_export_bytes, 64 << 20,
          "Largest ExportCustomer answer, in bytes.");
ABSL_FLAG(bool, insights, true,
          "Keep purchase days, lifecycles and the purchase model "
          "(InsightsService). Off only to measure what they cost.");
ABSL_FLAG(int, at_risk_inactive_days, 90,
          "Days without a purchase after which a customer is at risk (all "
          "customers while no model is fitted; one-time buyers always).");
ABSL_FLAG(int, lapsed_inactive_days, 180,
          "Days without a purchase after which a customer has lapsed.");
ABSL_FLAG(double, at_risk_probability, 0.5,
          "With a model: a repeat buyer whose probability of being active "
          "falls below this is at risk.");
ABSL_FLAG(double, lapsed_probability, 0.2,
          "With a model: below this, a repeat buyer has lapsed.");
ABSL_FLAG(int, lifecycle_history_limit, 100,
          "Most lifecycle changes kept per customer (the oldest go).");
ABSL_FLAG(absl::Duration, model_refit_interval, absl::Hours(24),
          "Refit the purchase model this often (one replica does); 0: only "
          "on request (FitPurchaseModel).");
ABSL_FLAG(int64_t, model_sample_customers, 100000,
          "A fit reads at most this many customers, a uniform sample.");
ABSL_FLAG(int64_t, model_min_repeat_customers, 20,
          "Fewer customers with a repeat purchase: no fit "
          "(FAILED_PRECONDITION).");
ABSL_FLAG(int, clv_periods, 12,
          "Lifetime value: periods summed (with --clv_period_days).");
ABSL_FLAG(double, clv_period_days, 30, "Lifetime value: days per period.");
ABSL_FLAG(double, clv_discount_rate, 0.01,
          "Lifetime value: discount rate per period.");
ABSL_FLAG(absl::Duration, insights_tick, absl::Seconds(1),
          "How often each replica sweeps the lifecycle deadlines due.");
ABSL_FLAG(int, lifecycle_refresh_rate, 2000,
          "Most lifecycles the sweeper and the re-evaluation bring up to "
          "date per second on each replica (0: no limit), so that many "
          "deadlines falling due at once leave Redis time for ingest.");
ABSL_FLAG(absl::Duration, census_interval, absl::Minutes(15),
          "How often customers are counted per lifecycle stage for "
          "omnihub_lifecycle_customers (one replica does; 0: never).");
ABSL_FLAG(absl::Duration, rfm_interval, absl::Hours(1),
          "How often one replica recomputes the RFM quintile boundaries and "
          "rewrites every customer's top-customer rankings (predicted values "
          "drift with time); also after every new purchase model. 0: never.");
ABSL_FLAG(int, ranking_refresh_rate, 5000,
          "Most customers' rankings that pass rewrites per second (0: no "
          "limit), so that it leaves Redis time for ingest.");
ABSL_FLAG(int, top_customers_max_page, 1000,
          "ListTopCustomers: most customers per page.");
ABSL_FLAG(int64_t, top_customers_segment_scan, 10000,
          "ListTopCustomers within a segment: most ranking entries looked at "
          "for one page (the page then holds fewer members and its token "
          "goes on).");
ABSL_FLAG(int, insights_threads, 2,
          "Threads for fits, KPIs, cohorts and insights answers.");
ABSL_FLAG(bool, cross_sell, true,
          "Count what customers buy together from purchases' line items "
          "(RecommendationService). Off only to measure what it costs.");
ABSL_FLAG(int64_t, cross_sell_max_items, 100000,
          "Most products and categories counted for cross-selling (a 64th "
          "per shard); an item first bought past it is not counted "
          "(omnihub_cross_sell_items_left_out_total) until room is made.");
ABSL_FLAG(int64_t, cross_sell_max_pairs_per_item, 1000,
          "Most co-bought items counted per item (the first seen); the rest "
          "are omnihub_cross_sell_pairs_left_out_total.");
ABSL_FLAG(int, cross_sell_max_basket_items, 200,
          "Most products (and as many categories) counted per customer.");
ABSL_FLAG(int64_t, cross_sell_top_partners, 25,
          "Partners read per bought item by GetCrossSellCandidates: those "
          "with the most customers in common (a partner beyond them is not "
          "a candidate through that item).");
ABSL_FLAG(absl::Duration, cross_sell_customers_max_age, absl::Seconds(1),
          "How long GetCrossSellCandidates may reuse the number of customers "
          "counted (lift's denominator, read from 64 shards) that another "
          "request read; 0: every request reads it.");
ABSL_FLAG(int, cross_sell_threads, 2,
          "Threads that update the cross-selling counts (candidates are "
          "read asynchronously, without them).");
ABSL_FLAG(absl::Duration, clock_offset, absl::ZeroDuration(),
          "Benchmarks and drills only: the store's and the insights' clock "
          "runs this far ahead of the machine's (e.g. \"4320h\" makes 180 "
          "days of lifecycle deadlines fall due at once).");
ABSL_FLAG(bool, segments, true,
          "Keep user-defined segment memberships (SegmentService; needs "
          "--insights). Off only to measure what they cost.");
ABSL_FLAG(int, segments_max, 100, "Most segments defined at once.");
ABSL_FLAG(int, segment_condition_max_depth, 8,
          "Deepest nesting of a segment's condition tree.");
ABSL_FLAG(int, segment_condition_max_nodes, 64,
          "Most nodes in a segment's condition tree.");
ABSL_FLAG(int, segment_threads, 2,
          "Loops evaluating the segments of the customers of events, each "
          "a batch of --segment_batch customers at a time.");
ABSL_FLAG(int, segment_batch, 256,
          "Customers whose segments are evaluated together (one pipelined "
          "round trip per step), by events, deadlines and the background "
          "evaluation.");
ABSL_FLAG(int, segment_pass_concurrency, 8,
          "Batches of --segment_batch customers the background evaluation "
          "of a new or changed segment, and the deadline sweep, evaluate at "
          "once: more finishes a pass sooner and leaves less of Redis to "
          "ingest meanwhile.");
ABSL_FLAG(int, segment_max_queued, 10000,
          "Events waiting for their customer's segments at most; past it an "
          "event is refused (UNAVAILABLE) and its sender retries.");
ABSL_FLAG(int, segment_history_limit, 50,
          "Segment entries and exits kept per customer (the oldest go).");
ABSL_FLAG(absl::Duration, segment_size_interval, absl::Minutes(1),
          "How often each replica counts every segment's members (the "
          "omnihub_segment_members gauge and the day's size history).");
ABSL_FLAG(std::string, replica_name, "",
          "This replica's name in leases and in the model's fitted_by "
          "(default: host name and process id).");

namespace omnihub::timeline {
namespace {

absl::StatusOr<redis::RedisClientOptions> RedisOptionsFromFlags() {
  redis::RedisClientOptions options;
  std::string address = absl::GetFlag(FLAGS_redis_address);
  // A cluster's seeds are checked by the cluster client; the first stands
  // for them in the options (and the start-up log).
  if (absl::GetFlag(FLAGS_redis_cluster)) {
    address = std::string(absl::StripAsciiWhitespace(
        std::vector<std::string>(absl::StrSplit(address, ','))[0]));
  }
  std::pair<std::string, std::string> host_port =
      absl::StrSplit(address, absl::MaxSplits(':', 1));
  if (host_port.first.empty() ||
      !absl::SimpleAtoi(host_port.second, &options.port)) {
    return absl::InvalidArgumentError(
        "--redis_address must be host:port, got \"" + address + "\"");
  }
  options.host = host_port.first;
  absl::StatusOr<redis::RedisCredentials> credentials =
      redis::RedisCredentialsFrom(absl::GetFlag(FLAGS_redis_user),
                                  absl::GetFlag(FLAGS_redis_password_file));
  if (!credentials.ok()) return credentials.status();
  options.user = credentials->user;
  options.password = credentials->password;
  options.db = absl::GetFlag(FLAGS_redis_db);
  options.connections = absl::GetFlag(FLAGS_redis_connections);
  options.command_timeout = absl::GetFlag(FLAGS_redis_timeout);
  options.max_queued =
      static_cast<size_t>(std::max(absl::GetFlag(FLAGS_redis_max_queued), 1));
  options.max_queued_bytes = static_cast<size_t>(
      std::max<int64_t>(absl::GetFlag(FLAGS_redis_max_queued_bytes), 1));
  return options;
}

// The event limits' flags are shared with the adapters (ingest_limit_flags.h).
absl::StatusOr<IngestLimits> LimitsFromFlags() {
  absl::StatusOr<IngestLimits> limits = IngestLimitsFromFlags();
  if (!limits.ok()) return limits.status();
  limits->max_batch_events = absl::GetFlag(FLAGS_max_batch_events);
  limits->max_page_size = absl::GetFlag(FLAGS_max_page_size);
  limits->default_page_size = absl::GetFlag(FLAGS_default_page_size);
  return limits;
}

absl::StatusOr<insights::InsightsOptions> InsightsOptionsFromFlags() {
  insights::InsightsOptions options;
  options.rules.at_risk_inactive_days =
      absl::GetFlag(FLAGS_at_risk_inactive_days);
  options.rules.lapsed_inactive_days =
      absl::GetFlag(FLAGS_lapsed_inactive_days);
  options.rules.at_risk_probability = absl::GetFlag(FLAGS_at_risk_probability);
  options.rules.lapsed_probability = absl::GetFlag(FLAGS_lapsed_probability);
  if (absl::Status status = options.rules.Validate(); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", status.message()));
  }
  options.keeper.history_limit = absl::GetFlag(FLAGS_lifecycle_history_limit);
  options.refit_interval = absl::GetFlag(FLAGS_model_refit_interval);
  options.model_sample_customers = absl::GetFlag(FLAGS_model_sample_customers);
  options.fit.min_repeat_customers =
      absl::GetFlag(FLAGS_model_min_repeat_customers);
  options.value.periods = absl::GetFlag(FLAGS_clv_periods);
  options.value.period_days = absl::GetFlag(FLAGS_clv_period_days);
  options.value.discount_rate = absl::GetFlag(FLAGS_clv_discount_rate);
  if (options.value.periods < 1 || options.value.period_days < 1 ||
      options.value.discount_rate < 0 || options.value.discount_rate > 1) {
    return absl::InvalidArgumentError(
        "--clv_periods and --clv_period_days must be at least 1, "
        "--clv_discount_rate 0 to 1");
  }
  options.tick = absl::GetFlag(FLAGS_insights_tick);
  options.refresh_rate =
      std::max(absl::GetFlag(FLAGS_lifecycle_refresh_rate), 0);
  options.census_interval = absl::GetFlag(FLAGS_census_interval);
  options.rfm_interval = absl::GetFlag(FLAGS_rfm_interval);
  options.ranking_refresh_rate =
      std::max(absl::GetFlag(FLAGS_ranking_refresh_rate), 0);
  options.threads = std::max(absl::GetFlag(FLAGS_insights_threads), 1);
  options.replica = absl::GetFlag(FLAGS_replica_name);
  if (options.replica.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    options.replica = absl::StrCat(host, ":", getpid());
  }
  return options;
}

// The hub's Redis client: one Redis, or a Redis Cluster (--redis_cluster);
// the rest of the hub sees only the RedisClient.
struct HubRedis {
  std::unique_ptr<redis::RedisClient> client;
  absl::AnyInvocable<void()> shutdown;
};

absl::StatusOr<HubRedis> MakeRedisClient(
    const redis::RedisClientOptions& options, redis::RedisMetrics* metrics) {
  if (!absl::GetFlag(FLAGS_redis_cluster)) {
    auto single = redis::PipelinedRedisClient::Create(options, metrics);
    if (!single.ok()) return single.status();
    redis::PipelinedRedisClient* raw = single->get();
    return HubRedis{*std::move(single), [raw] { raw->Shutdown(); }};
  }
  redis_cluster::ClusterOptions cluster_options;
  for (absl::string_view seed : absl::StrSplit(
           absl::GetFlag(FLAGS_redis_address), ',', absl::SkipWhitespace())) {
    cluster_options.seeds.emplace_back(absl::StripAsciiWhitespace(seed));
  }
  cluster_options.node = options;
  if (options.db != 0) {
    return absl::InvalidArgumentError(
        "--redis_db must be 0 with --redis_cluster: a cluster has one "
        "database");
  }
  auto cluster =
      redis_cluster::ClusterRedisClient::Create(cluster_options, metrics);
  if (!cluster.ok()) return cluster.status();
  redis_cluster::ClusterRedisClient* raw = cluster->get();
  return HubRedis{*std::move(cluster), [raw] { raw->Shutdown(); }};
}

// Reports SERVING only while Redis is reachable, so load balancers and
// orchestrators route around a replica that cannot store anything; the same
// for the server as a whole and for each of its services by name. `last` is
// what was reported before the watch began.
void WatchHealth(grpc::Server* server, std::vector<std::string> services,
                 const redis::RedisClient* redis, bool last,
                 absl::Notification* stop) {
  while (!stop->WaitForNotificationWithTimeout(absl::Milliseconds(500))) {
    const bool serving = redis->connected();
    if (serving != last) {
      grpc_util::SetServingStatus(*server, services, serving);
      log::Info("health: %s", serving ? "SERVING (Redis reachable)"
                                      : "NOT_SERVING (Redis unreachable)");
      last = serving;
    }
  }
}

// Finishes merges that a replica left half done when it died. Every replica
// runs this; merges are idempotent, so two finishing one is harmless.
void ResumeStaleMerges(TimelineStore* store, absl::Duration after,
                       absl::Notification* stop) {
  const absl::Duration every = std::max(after / 4, absl::Seconds(1));
  while (!stop->WaitForNotificationWithTimeout(every)) {
    absl::StatusOr<int> resumed = store->ResumeStaleMerges(after);
    if (!resumed.ok()) {
      log::Warning("could not look for unfinished merges: %s",
                   resumed.status().message());
    }
  }
}

// --durability=fsync promises what only Redis's configuration can keep:
// refuse to start when Redis says it is configured otherwise. Redis not
// reachable yet (or CONFIG refused, as some managed services do) cannot be
// asked: a warning, and the operator's word for it.
absl::Status CheckDurabilityAtStart(redis::RedisClient& redis,
                                    Durability durability) {
  if (durability != Durability::kFsync) return absl::OkStatus();
  const absl::Time give_up = absl::Now() + absl::Seconds(3);
  while (!redis.connected() && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  absl::Status checked = CheckRedisDurability(redis, durability);
  if (absl::IsFailedPrecondition(checked)) return checked;
  if (!checked.ok()) {
    log::Warning(
        "--durability=fsync: could not check Redis's configuration (%s); "
        "make sure it has appendonly yes and appendfsync always",
        checked.message());
  } else {
    log::Info("durability: Redis fsyncs every write before answering");
  }
  return absl::OkStatus();
}

// SIGHUP: the token file again (a token added or revoked takes effect for
// the next call); a file that does not parse leaves the tokens as they were.
void ReloadTokens(auth::TokenAuthenticator* authenticator) {
  if (authenticator == nullptr) {
    log::Info("SIGHUP: no --auth_tokens_file to re-read");
    return;
  }
  if (absl::Status reloaded = authenticator->Reload(); !reloaded.ok()) {
    log::Error("SIGHUP: tokens unchanged, the token file is refused: %s",
               reloaded.message());
    return;
  }
  log::Info("SIGHUP: token file re-read, %d tokens",
            static_cast<int>(authenticator->token_count()));
}

int Run() {
  log::Level level;
  if (!log::ParseLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    log::Error("--log_level must be debug, info, warning or error");
    return 2;
  }
  log::SetMinLevel(level);

  absl::StatusOr<redis::RedisClientOptions> redis_options =
      RedisOptionsFromFlags();
  if (!redis_options.ok()) {
    log::Error("%s", redis_options.status().message());
    return 2;
  }
  absl::StatusOr<IngestLimits> limits = LimitsFromFlags();
  if (!limits.ok()) {
    log::Error("%s", limits.status().message());
    return 2;
  }
  if (absl::GetFlag(FLAGS_suppression_period) < absl::Milliseconds(1) ||
      absl::GetFlag(FLAGS_suppression_period) >
          absl::GetFlag(FLAGS_max_suppression_period)) {
    log::Error(
        "--suppression_period must be positive and at most "
        "--max_suppression_period (%s)",
        absl::FormatDuration(absl::GetFlag(FLAGS_max_suppression_period)));
    return 2;
  }
  // A wrong password or user is said once, at start, rather than retried
  // for ever in the background; a Redis that is down is waited for.
  if (absl::Status handshake =
          redis::PipelinedRedisClient::CheckHandshake(*redis_options);
      absl::IsPermissionDenied(handshake)) {
    log::Error("%s (check --redis_user, --redis_password_file or %s)",
               handshake.message(), redis::kRedisPasswordVariable);
    return 2;
  }

  auto registry = std::make_shared<prometheus::Registry>();
  metrics::RegisterBuildInfo(*registry, "timeline", OMNIHUB_VERSION,
                             OMNIHUB_GIT_COMMIT);
  absl::StatusOr<std::unique_ptr<metrics::MetricsServer>> metrics_server =
      metrics::MetricsServer::Start(absl::GetFlag(FLAGS_metrics_listen),
                                    registry);
  if (!metrics_server.ok()) {
    log::Error("%s", metrics_server.status().message());
    return 1;
  }
  redis::RedisMetrics redis_metrics(*registry);
  metrics::GrpcServerMetrics grpc_metrics(*registry);
  TimelineMetrics timeline_metrics(*registry);

  absl::StatusOr<HubRedis> redis =
      MakeRedisClient(*redis_options, &redis_metrics);
  if (!redis.ok()) {
    log::Error("%s", redis.status().message());
    return 1;
  }

  absl::StatusOr<Durability> durability =
      ParseDurability(absl::GetFlag(FLAGS_durability));
  if (!durability.ok()) {
    log::Error("%s", durability.status().message());
    return 2;
  }
  if (absl::Status checked =
          CheckDurabilityAtStart(*redis->client, *durability);
      !checked.ok()) {
    log::Error("%s", checked.message());
    return 2;
  }
  // WAIT holds its connection until the replicas answer: a client of its
  // own (on a cluster, one connection per master), so ingest's commands
  // never queue behind it.
  std::optional<HubRedis> barrier_client;
  std::unique_ptr<ReplicaBarrier> replica_barrier;
  if (*durability == Durability::kReplica) {
    redis::RedisClientOptions barrier_options = *redis_options;
    barrier_options.connections = 1;
    barrier_options.command_timeout = absl::GetFlag(FLAGS_durability_timeout) +
                                      redis_options->command_timeout;
    absl::StatusOr<HubRedis> client =
        MakeRedisClient(barrier_options, &redis_metrics);
    if (!client.ok()) {
      log::Error("%s", client.status().message());
      return 1;
    }
    barrier_client = *std::move(client);
    const int replicas = absl::GetFlag(FLAGS_durability_replicas);
    if (replicas < 1) {
      log::Error("--durability_replicas must be at least 1");
      return 2;
    }
    replica_barrier = std::make_unique<ReplicaBarrier>(
        barrier_client->client.get(),
        ReplicaBarrierOptions{
            .replicas = replicas,
            .timeout = absl::GetFlag(FLAGS_durability_timeout),
            .key_prefix = absl::GetFlag(FLAGS_key_prefix)});
    log::Info(
        "durability: a batch is acknowledged once %d replica(s) have it "
        "(WAIT, up to %s)",
        replicas,
        absl::FormatDuration(absl::GetFlag(FLAGS_durability_timeout)));
  }

  identity::IdentityNormalizer normalizer(identity::IdentityNormalizerOptions{
      .default_region = absl::GetFlag(FLAGS_default_region)});
  absl::StatusOr<IdentityRules> rules =
      IdentityRules::Parse({.priority = absl::GetFlag(FLAGS_identity_priority),
                            .policies = absl::GetFlag(FLAGS_identity_policy),
                            .limits = absl::GetFlag(FLAGS_identity_limits),
                            .blocked = absl::GetFlag(FLAGS_identity_blocklist)},
                           normalizer);
  if (!rules.ok()) {
    log::Error("identity rules: %s", rules.status().message());
    return 2;
  }
  const std::string key_prefix = absl::GetFlag(FLAGS_key_prefix);
  if (key_prefix.find_first_of("{}") != std::string::npos) {
    log::Error(
        "--key_prefix must not contain { or }: they would change the "
        "Redis Cluster hash tags");
    return 2;
  }
  log::Info("identity rules: %s", rules->Describe());
  IdentityMetrics identity_metrics(*registry);

  TimelineStoreOptions store_options;
  store_options.key_prefix = key_prefix;
  store_options.identity_rules = *std::move(rules);
  store_options.worker_threads = absl::GetFlag(FLAGS_worker_threads);
  store_options.worker_max_queued =
      static_cast<size_t>(std::max(absl::GetFlag(FLAGS_worker_max_queued), 1));
  store_options.retention.max_events_per_customer =
      absl::GetFlag(FLAGS_retention_max_events);
  store_options.retention.max_age = absl::GetFlag(FLAGS_retention_max_age);
  store_options.keep_purchases = absl::GetFlag(FLAGS_insights);
  store_options.max_untrusted_records =
      absl::GetFlag(FLAGS_max_untrusted_records);
  if (store_options.max_untrusted_records < 0) {
    log::Error("--max_untrusted_records must not be negative");
    return 2;
  }
  store_options.erased_event_window = absl::GetFlag(FLAGS_erased_event_window);
  if (store_options.erased_event_window <= absl::ZeroDuration()) {
    log::Error("--erased_event_window must be positive");
    return 2;
  }
  if (const absl::Duration offset = absl::GetFlag(FLAGS_clock_offset);
      offset != absl::ZeroDuration()) {
    log::Warning(
        "--clock_offset=%s: this hub's clock runs ahead of the machine's "
        "(for benchmarks and drills, never in production)",
        absl::FormatDuration(offset));
    store_options.clock = [offset] { return absl::Now() + offset; };
  }
  TimelineStore store(redis->client.get(), std::move(store_options),
                      &identity_metrics);
  absl::StatusOr<insights::InsightsOptions> insights_options =
      InsightsOptionsFromFlags();
  if (!insights_options.ok()) {
    log::Error("%s", insights_options.status().message());
    return 2;
  }
  insights::InsightsMetrics insights_metrics(*registry);
  insights::InsightsEngine engine(&store.context(), *insights_options,
                                  &insights_metrics);
  // What keeps state beside the single view hears of every change to it.
  const bool segments_on =
      absl::GetFlag(FLAGS_insights) && absl::GetFlag(FLAGS_segments);
  segments::SegmentOptions segment_options;
  segment_options.max_segments = std::max(absl::GetFlag(FLAGS_segments_max), 1);
  segment_options.condition.max_depth =
      std::max(absl::GetFlag(FLAGS_segment_condition_max_depth), 1);
  segment_options.condition.max_nodes =
      std::max(absl::GetFlag(FLAGS_segment_condition_max_nodes), 1);
  segment_options.keeper.threads =
      std::max(absl::GetFlag(FLAGS_segment_threads), 1);
  segment_options.keeper.batch =
      std::max(absl::GetFlag(FLAGS_segment_batch), 1);
  segment_options.concurrency =
      std::max(absl::GetFlag(FLAGS_segment_pass_concurrency), 1);
  segment_options.keeper.max_queued =
      static_cast<size_t>(std::max(absl::GetFlag(FLAGS_segment_max_queued), 1));
  segment_options.keeper.history_limit =
      std::max(absl::GetFlag(FLAGS_segment_history_limit), 1);
  segment_options.size_interval = absl::GetFlag(FLAGS_segment_size_interval);
  segment_options.replica = insights_options->replica;
  segments::SegmentMetrics segment_metrics(*registry);
  segments::SegmentEngine segment_engine(&store.context(), &engine,
                                         segment_options, &segment_metrics);
  CustomerObserverList observers;
  if (absl::GetFlag(FLAGS_insights)) {
    observers.Add(&engine.keeper());
    observers.Add(&engine.ranking());
  }
  if (segments_on) observers.Add(&segment_engine.keeper());
  recommendations::CrossSellMetrics cross_sell_metrics(*registry);
  recommendations::CrossSellKeeper cross_sell(
      &store.context(),
      {.max_items =
           std::max<int64_t>(absl::GetFlag(FLAGS_cross_sell_max_items), 1),
       .max_pairs_per_item = std::max<int64_t>(
           absl::GetFlag(FLAGS_cross_sell_max_pairs_per_item), 1),
       .max_basket_items = static_cast<size_t>(
           std::max(absl::GetFlag(FLAGS_cross_sell_max_basket_items), 1)),
       .top_partners =
           std::max<int64_t>(absl::GetFlag(FLAGS_cross_sell_top_partners), 1),
       .customers_max_age = absl::GetFlag(FLAGS_cross_sell_customers_max_age),
       .threads = std::max(absl::GetFlag(FLAGS_cross_sell_threads), 1)},
      &cross_sell_metrics);
  if (absl::GetFlag(FLAGS_cross_sell)) observers.Add(&cross_sell);
  store.SetObserver(&observers);
  EventValidator validator(*limits, &normalizer);
  // Only callers whose token has the scope ingest-verified vouch for the
  // identities they send (every caller does when tokens are off, on
  // loopback); the others' identities are claims.
  TimelineService service(
      &store, &validator, &normalizer, &timeline_metrics, replica_barrier.get(),
      /*caller_may_verify=*/[](const grpc::CallbackServerContext& context) {
        return auth::MayAssertVerified(context);
      });
  CustomerService customer_service(
      &store, &validator, &normalizer,
      CustomerServiceLimits{
          .max_export_bytes =
              static_cast<size_t>(absl::GetFlag(FLAGS_max_export_bytes)),
          .default_suppression = absl::GetFlag(FLAGS_suppression_period),
          .max_suppression = absl::GetFlag(FLAGS_max_suppression_period)});
  insights::InsightsService insights_service(
      &engine, &store, &validator,
      {.max_top_customers_page =
           std::max(absl::GetFlag(FLAGS_top_customers_max_page), 1),
       .max_top_customers_segment_scan = std::max<int64_t>(
           absl::GetFlag(FLAGS_top_customers_segment_scan), 1)},
      segments_on ? &segment_engine : nullptr);
  segments::SegmentService segment_service(&segment_engine, &store, &validator);
  recommendations::RecommendationService recommendation_service(
      &cross_sell, &store, &validator);

  absl::StatusOr<auth::ServerSecurity> security = auth::MakeServerSecurity(
      {.listen = absl::GetFlag(FLAGS_listen),
       .tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file),
       .tls_key_file = absl::GetFlag(FLAGS_tls_key_file),
       .tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file),
       .tls_refresh_interval = absl::GetFlag(FLAGS_tls_refresh_interval),
       .token_file = absl::GetFlag(FLAGS_auth_tokens_file),
       .insecure = absl::GetFlag(FLAGS_insecure)},
      *registry);
  if (!security.ok()) {
    log::Error("%s", security.status().message());
    return 2;
  }
  if (security->warn) {
    log::Warning("%s", security->description);
  } else {
    log::Info("%s", security->description);
  }

  grpc::EnableDefaultHealthCheckService(true);
  if (absl::GetFlag(FLAGS_reflection)) {
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  }
  grpc::ServerBuilder builder;
  // Health by service name covers whatever is registered below.
  grpc_util::ServedServices served(builder);
  int bound_port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), security->credentials,
                           &bound_port);
  builder.SetMaxReceiveMessageSize(absl::GetFlag(FLAGS_max_request_bytes));
  builder.SetMaxSendMessageSize(absl::GetFlag(FLAGS_max_export_bytes) +
                                (1 << 20));
  builder.RegisterService(&service);
  builder.RegisterService(&customer_service);
  if (absl::GetFlag(FLAGS_insights)) builder.RegisterService(&insights_service);
  if (segments_on) builder.RegisterService(&segment_service);
  if (absl::GetFlag(FLAGS_cross_sell)) {
    builder.RegisterService(&recommendation_service);
  }
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(
      metrics::MakeGrpcServerMetricsInterceptorFactory(&grpc_metrics));
  grpc_util::ApplyServerLimits(
      {.max_concurrent_streams =
           absl::GetFlag(FLAGS_grpc_max_concurrent_streams),
       .memory_quota_bytes = absl::GetFlag(FLAGS_grpc_memory_quota),
       .retry_pushback = absl::GetFlag(FLAGS_overload_retry_after)},
      builder, interceptors);
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    log::Error("could not listen on %s", absl::GetFlag(FLAGS_listen));
    return 1;
  }
  log::Info(
      "omnihub-timeline %s listening on %s (gRPC) and %s (metrics); "
      "%s at %s",
      OMNIHUB_VERSION, absl::GetFlag(FLAGS_listen),
      absl::GetFlag(FLAGS_metrics_listen),
      absl::GetFlag(FLAGS_redis_cluster) ? "Redis Cluster (seeds)" : "Redis",
      absl::GetFlag(FLAGS_redis_cluster)
          ? absl::GetFlag(FLAGS_redis_address)
          : absl::StrCat(redis_options->host, ":", redis_options->port));

  // Each service by name from the start, not only once the watch runs.
  const bool serving = redis->client->connected();
  grpc_util::SetServingStatus(*server, served.names(), serving);
  if (!serving) log::Info("health: NOT_SERVING (Redis unreachable)");
  absl::Notification stop_health;
  std::thread health(WatchHealth, server.get(), served.names(),
                     redis->client.get(), serving, &stop_health);
  absl::Notification stop_merges;
  std::thread merges(ResumeStaleMerges, &store,
                     absl::GetFlag(FLAGS_merge_resume_after), &stop_merges);
  if (absl::GetFlag(FLAGS_insights)) engine.Start();
  if (segments_on) {
    if (absl::Status loaded = segment_engine.LoadDefinitions(); !loaded.ok()) {
      log::Warning("segments: %s (loaded on the next tick)", loaded.ToString());
    }
    segment_engine.Start();
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  int received = 0;
  while (sigwait(&signals, &received) == 0 && received == SIGHUP) {
    ReloadTokens(security->authenticator.get());
  }
  log::Info(
      "%s received: refusing new calls, finishing in-flight ones "
      "(up to %s)",
      received == SIGINT ? "SIGINT" : "SIGTERM",
      absl::FormatDuration(absl::GetFlag(FLAGS_shutdown_grace)));

  stop_health.Notify();
  health.join();
  stop_merges.Notify();
  merges.join();
  server->GetHealthCheckService()->SetServingStatus(false);
  server->Shutdown(
      std::chrono::system_clock::now() +
      absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_shutdown_grace)));
  server->Wait();
  segment_engine.Stop();
  engine.Stop();
  if (barrier_client) barrier_client->shutdown();
  redis->shutdown();
  log::Info("stopped cleanly");
  return 0;
}

}  // namespace
}  // namespace omnihub::timeline

int main(int argc, char** argv) {
  // The password flag of old versions: `ps` shows command lines to every
  // user of the machine.
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (absl::StartsWith(arg, "--redis_password=") ||
        arg == "--redis_password" ||
        absl::StartsWith(arg, "-redis_password=") || arg == "-redis_password") {
      std::fprintf(stderr,
                   "--redis_password is not taken on the command line, where "
                   "ps shows it: use --redis_password_file or %s\n",
                   omnihub::redis::kRedisPasswordVariable);
      return 2;
    }
  }
  // Signals are taken by sigwait in main; every thread started later inherits
  // this mask, so none of them is interrupted by SIGINT/SIGTERM.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  omnihub::config::ParseFlags(
      argc, argv,
      "omnihub-timeline: stores every customer's interactions from all "
      "channels in Redis and serves the timeline and single view over gRPC "
      "(omnihub.v1.TimelineService).\n\nUsage: omnihub-timeline [flags]");
  return omnihub::timeline::Run();
}
