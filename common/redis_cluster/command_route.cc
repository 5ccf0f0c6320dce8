#include "common/redis_cluster/command_route.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/redis_cluster/key_slot.h"

namespace omnihub::redis_cluster {
namespace {

using Kind = CommandRoute::Kind;

CommandRoute ToSlot(const std::string& key) {
  return {.kind = Kind::kSlot, .slot = KeySlot(key)};
}

const absl::flat_hash_set<std::string>& KeylessAnyMaster() {
  static const auto* commands = new absl::flat_hash_set<std::string>{
      "PING",    "ECHO",   "INFO",     "TIME",   "CLUSTER",
      "COMMAND", "CLIENT", "LASTSAVE", "MEMORY", "SLOWLOG",
      "LATENCY", "HELLO",  "AUTH",     "DEBUG"};
  return *commands;
}

const absl::flat_hash_set<std::string>& KeylessAllMasters() {
  static const auto* commands =
      new absl::flat_hash_set<std::string>{"FLUSHALL", "FLUSHDB", "FUNCTION"};
  return *commands;
}

const absl::flat_hash_set<std::string>& Unroutable() {
  static const auto* commands = new absl::flat_hash_set<std::string>{
      "SCAN", "KEYS",      "RANDOMKEY", "DBSIZE",  "MULTI",
      "EXEC", "DISCARD",   "WATCH",     "UNWATCH", "SELECT",
      "WAIT", "SUBSCRIBE", "PSUBSCRIBE"};
  return *commands;
}

absl::StatusOr<CommandRoute> RouteScript(const std::vector<std::string>& argv) {
  int64_t numkeys = 0;
  if (argv.size() < 3 || !absl::SimpleAtoi(argv[2], &numkeys) || numkeys < 0 ||
      static_cast<size_t>(numkeys) > argv.size() - 3) {
    return absl::InvalidArgumentError(
        absl::StrCat(argv[0], " needs a script, numkeys and that many keys"));
  }
  if (numkeys == 0) return CommandRoute{.kind = Kind::kAnyMaster};
  return ToSlot(argv[3]);
}

}  // namespace

absl::StatusOr<CommandRoute> RouteOf(const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("empty Redis command");
  const std::string name = absl::AsciiStrToUpper(argv[0]);
  if (name == "EVAL" || name == "EVALSHA" || name == "EVAL_RO" ||
      name == "EVALSHA_RO" || name == "FCALL" || name == "FCALL_RO") {
    return RouteScript(argv);
  }
  if (name == "SCRIPT") {
    // LOAD and FLUSH change every master; EXISTS and KILL are asked of one.
    const std::string sub =
        argv.size() > 1 ? absl::AsciiStrToUpper(argv[1]) : "";
    if (sub == "LOAD" || sub == "FLUSH") {
      return CommandRoute{.kind = Kind::kAllMasters};
    }
    return CommandRoute{.kind = Kind::kAnyMaster};
  }
  if (name == "CONFIG") {
    const std::string sub =
        argv.size() > 1 ? absl::AsciiStrToUpper(argv[1]) : "";
    return CommandRoute{.kind = sub == "SET" || sub == "RESETSTAT"
                                    ? Kind::kAllMasters
                                    : Kind::kAnyMaster};
  }
  if (KeylessAnyMaster().contains(name)) {
    return CommandRoute{.kind = Kind::kAnyMaster};
  }
  if (KeylessAllMasters().contains(name)) {
    return CommandRoute{.kind = Kind::kAllMasters};
  }
  if (Unroutable().contains(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        name,
        " cannot be routed on a Redis Cluster: it needs every node or one "
        "connection's state (scan node by node instead)"));
  }
  if (name == "XREAD" || name == "XREADGROUP") {
    for (size_t i = 1; i + 1 < argv.size(); ++i) {
      if (absl::AsciiStrToUpper(argv[i]) == "STREAMS")
        return ToSlot(argv[i + 1]);
    }
    return absl::InvalidArgumentError(absl::StrCat(name, " needs STREAMS"));
  }
  if (name == "OBJECT" || name == "XINFO") {
    if (argv.size() < 3) {
      return absl::InvalidArgumentError(absl::StrCat(name, " needs a key"));
    }
    return ToSlot(argv[2]);
  }
  if (argv.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " has no key to route it by"));
  }
  return ToSlot(argv[1]);
}

}  // namespace omnihub::redis_cluster
