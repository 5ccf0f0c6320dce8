// omnihub_build_info{service,version,commit} 1: which build is running.
//
//   RegisterBuildInfo(*registry, "timeline", OMNIHUB_VERSION,
//   OMNIHUB_GIT_COMMIT);
#ifndef OMNIHUB_COMMON_METRICS_BUILD_INFO_H_
#define OMNIHUB_COMMON_METRICS_BUILD_INFO_H_

#include "absl/strings/string_view.h"
#include "prometheus/registry.h"

namespace omnihub::metrics {

void RegisterBuildInfo(prometheus::Registry& registry,
                       absl::string_view service, absl::string_view version,
                       absl::string_view commit);

}  // namespace omnihub::metrics

#endif  // OMNIHUB_COMMON_METRICS_BUILD_INFO_H_
