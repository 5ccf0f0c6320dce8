// The services a gRPC server serves, named as the server itself registered
// them, so health can be reported for each by name ("omnihub.v1.
// TimelineService", as Kubernetes gRPC probes and grpc_health_probe
// -service=... ask) and a service added later is reported without anyone
// remembering to list it.
//
//   grpc::ServerBuilder builder;
//   ServedServices served(builder);  // before BuildAndStart
//   builder.RegisterService(&timeline_service);
//   std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
//   SetServingStatus(*server, served.names(), /*serving=*/true);
#ifndef OMNIHUB_COMMON_GRPC_UTIL_SERVED_SERVICES_H_
#define OMNIHUB_COMMON_GRPC_UTIL_SERVED_SERVICES_H_

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"

namespace omnihub::grpc_util {

class ServedServices {
 public:
  // Hooks into `builder`; it learns the names when the server is built.
  explicit ServedServices(grpc::ServerBuilder& builder);

  // Every service of the built server by full name, the health and
  // reflection services included; empty before BuildAndStart.
  const std::vector<std::string>& names() const { return *names_; }

 private:
  std::shared_ptr<std::vector<std::string>> names_;
};

// Sets the health of the server as a whole (service "") and of each service
// in `services` to SERVING or NOT_SERVING. Needs the health check service
// (grpc::EnableDefaultHealthCheckService(true) before building).
void SetServingStatus(grpc::Server& server,
                      const std::vector<std::string>& services, bool serving);

}  // namespace omnihub::grpc_util

#endif  // OMNIHUB_COMMON_GRPC_UTIL_SERVED_SERVICES_H_
