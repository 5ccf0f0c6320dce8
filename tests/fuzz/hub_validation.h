// What the hub does first with an adapter's event: validate and normalise it.
// The fuzz targets pass it every event a parser accepted, so a parser's
// output the hub cannot take is found too.
#ifndef OMNIHUB_TESTS_FUZZ_HUB_VALIDATION_H_
#define OMNIHUB_TESTS_FUZZ_HUB_VALIDATION_H_

#include "absl/time/time.h"
#include "common/event_validation/event_validator.h"
#include "common/identity/identity_normalizer.h"
#include "omnihub/v1/event.pb.h"

namespace omnihub::fuzz {

inline void ValidateAsTheHubWould(v1::InteractionEvent event) {
  static const identity::IdentityNormalizer normalizer;
  static const timeline::EventValidator validator({}, &normalizer);
  (void)validator.ValidateEvent(event, absl::FromUnixSeconds(1795000000),
                                "event");
}

}  // namespace omnihub::fuzz

#endif  // OMNIHUB_TESTS_FUZZ_HUB_VALIDATION_H_
