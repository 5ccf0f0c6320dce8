// Segment calls as the web adapter receives them: any body on any of its
// routes, and every call it accepts turned into an event.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/identity/identity_normalizer.h"
#include "services/web_adapter/segment_call.h"
#include "tests/fuzz/hub_validation.h"

namespace {

constexpr absl::string_view kRoutes[] = {"batch", "page", "track", "identify"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the route, the rest is the body.
  const absl::string_view kind = kRoutes[data[0] % std::size(kRoutes)];
  const absl::string_view body(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  static const omnihub::identity::IdentityNormalizer normalizer;
  absl::StatusOr<omnihub::web::SegmentBatch> batch =
      omnihub::web::ParseSegmentBody(body, kind, {});
  if (!batch.ok()) return 0;
  const omnihub::web::RequestContext context{
      .received_at = absl::FromUnixSeconds(1795000000),
      .site = "fuzz",
      .client_ip = "192.0.2.0",
      .user_agent = "fuzzer"};
  for (const omnihub::web::SegmentCall& call : batch->calls) {
    absl::StatusOr<omnihub::v1::InteractionEvent> event =
        omnihub::web::SegmentCallToEvent(call, context, normalizer, {});
    if (event.ok()) omnihub::fuzz::ValidateAsTheHubWould(*std::move(event));
  }
  return 0;
}
