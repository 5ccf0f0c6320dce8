// Serves a Prometheus registry on its own HTTP port at /metrics, over
// prometheus-cpp's Exposer (which throws; this class does not).
//
//   auto registry = std::make_shared<prometheus::Registry>();
//   absl::StatusOr<std::unique_ptr<MetricsServer>> server =
//       MetricsServer::Start("127.0.0.1:9464", registry);
//   if (!server.ok()) return server.status();
#ifndef OMNIHUB_COMMON_METRICS_METRICS_SERVER_H_
#define OMNIHUB_COMMON_METRICS_METRICS_SERVER_H_

#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace omnihub::metrics {

class MetricsServer {
 public:
  // `address` is host:port; port 0 picks a free one (see port()). Serves
  // until destroyed. UNAVAILABLE naming the address when it cannot be bound;
  // INVALID_ARGUMENT for a null registry.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      absl::string_view address,
      std::shared_ptr<prometheus::Registry> registry);

  // The port actually bound; 0 if unknown.
  int port() const;

 private:
  explicit MetricsServer(std::unique_ptr<prometheus::Exposer> exposer)
      : exposer_(std::move(exposer)) {}
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace omnihub::metrics

#endif  // OMNIHUB_COMMON_METRICS_METRICS_SERVER_H_
