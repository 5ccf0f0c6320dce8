// omnihub-cli's commands on an adapter's dead-letter files
// (<spool_dir>/dead-letters.jsonl and its rotated .1 to .3): send them to
// the hub again once the cause is fixed, and erase a person from them.
//
//   omnihub-cli replay-dead-letters
//   --file=.omnihub/spool/phone/dead-letters.jsonl omnihub-cli
//   erase-dead-letters --file=... --identity=phone:+442071838750
#ifndef OMNIHUB_SERVICES_CLI_DEAD_LETTER_COMMANDS_H_
#define OMNIHUB_SERVICES_CLI_DEAD_LETTER_COMMANDS_H_

#include <string>

#include "omnihub/v1/timeline.grpc.pb.h"

namespace omnihub::cli {

// Ingests the events of `file` in batches of `batch`; the lines the hub
// answered for (accepted, updated, duplicate — so a replay never makes a
// duplicate — or forgotten: the person was erased) are removed from the
// file, those it rejects again stay. Prints a count per answer. Exit status:
// 0 done, 1 a call failed (what was answered is removed all the same), 2 bad
// usage.
int ReplayDeadLetters(v1::TimelineService::Stub& stub, const std::string& file,
                      int batch);

// Removes from `file` every dead letter whose event names `identity` or any
// other identity the hub knows for the same customer (asked first: run it
// before ForgetCustomer). Values are compared normalised as the adapters
// normalise them (`default_region` for phone numbers without +country).
int EraseDeadLetters(v1::TimelineService::Stub& stub, const std::string& file,
                     const v1::Identity& identity,
                     const std::string& default_region);

}  // namespace omnihub::cli

#endif  // OMNIHUB_SERVICES_CLI_DEAD_LETTER_COMMANDS_H_
