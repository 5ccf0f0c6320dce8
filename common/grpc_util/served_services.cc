#include "common/grpc_util/served_services.h"

#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/impl/server_builder_plugin.h"
#include "grpcpp/impl/server_initializer.h"

namespace omnihub::grpc_util {
namespace {

// A server builder plugin is the one hook that sees the built server's own
// list of services (the reflection service reads it the same way). Finish
// runs once the server has started, so every service is registered by then,
// the ones gRPC adds itself (health, reflection) too.
class ServiceNamesPlugin final : public grpc::ServerBuilderPlugin {
 public:
  explicit ServiceNamesPlugin(std::shared_ptr<std::vector<std::string>> names)
      : names_(std::move(names)) {}

  std::string name() override { return "omnihub_served_services"; }
  void InitServer(grpc::ServerInitializer*) override {}
  void Finish(grpc::ServerInitializer* initializer) override {
    *names_ = *initializer->GetServiceList();
  }
  void ChangeArguments(const std::string&, void*) override {}
  bool has_sync_methods() const override { return false; }
  bool has_async_methods() const override { return false; }

 private:
  std::shared_ptr<std::vector<std::string>> names_;
};

// Options are how one builder (rather than every builder in the process, as
// ServerBuilder::InternalAddPluginFactory would) gets a plugin.
class ServiceNamesOption final : public grpc::ServerBuilderOption {
 public:
  explicit ServiceNamesOption(std::shared_ptr<std::vector<std::string>> names)
      : names_(std::move(names)) {}

  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    plugins->push_back(std::make_unique<ServiceNamesPlugin>(names_));
  }

 private:
  std::shared_ptr<std::vector<std::string>> names_;
};

}  // namespace

ServedServices::ServedServices(grpc::ServerBuilder& builder)
    : names_(std::make_shared<std::vector<std::string>>()) {
  builder.SetOption(std::make_unique<ServiceNamesOption>(names_));
}

void SetServingStatus(grpc::Server& server,
                      const std::vector<std::string>& services, bool serving) {
  grpc::HealthCheckServiceInterface* health = server.GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus("", serving);
  for (const std::string& service : services) {
    health->SetServingStatus(service, serving);
  }
}

}  // namespace omnihub::grpc_util
