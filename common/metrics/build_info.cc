#include "common/metrics/build_info.h"

#include <string>

#include "prometheus/gauge.h"

namespace omnihub::metrics {

void RegisterBuildInfo(prometheus::Registry& registry,
                       absl::string_view service, absl::string_view version,
                       absl::string_view commit) {
  prometheus::BuildGauge()
      .Name("omnihub_build_info")
      .Help("Always 1; the labels say which build of which service runs.")
      .Register(registry)
      .Add({{"service", std::string(service)},
            {"version", std::string(version)},
            {"commit", std::string(commit)}})
      .Set(1);
}

}  // namespace omnihub::metrics
