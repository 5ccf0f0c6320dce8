#include "common/grpc_util/served_services.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "omnihub/v1/customer.grpc.pb.h"
#include "omnihub/v1/timeline.grpc.pb.h"

namespace omnihub::grpc_util {
namespace {

using grpc::health::v1::HealthCheckResponse;

class ServedServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    served_ = std::make_unique<ServedServices>(builder);
    builder.RegisterService(&timeline_);
    builder.RegisterService(&customers_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    health_ = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  // The health of `service`, or the code of the failed call.
  std::string HealthOf(const std::string& service) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    grpc::Status status = health_->Check(&context, request, &response);
    if (!status.ok()) return absl::StrCat("code ", status.error_code());
    return HealthCheckResponse::ServingStatus_Name(response.status());
  }

  bool Named(const std::string& service) {
    const std::vector<std::string>& names = served_->names();
    return std::find(names.begin(), names.end(), service) != names.end();
  }

  v1::TimelineService::CallbackService timeline_;
  v1::CustomerService::CallbackService customers_;
  std::unique_ptr<ServedServices> served_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

TEST_F(ServedServicesTest, NamesEveryRegisteredService) {
  EXPECT_TRUE(Named("omnihub.v1.TimelineService"));
  EXPECT_TRUE(Named("omnihub.v1.CustomerService"));
  EXPECT_TRUE(Named("grpc.health.v1.Health"));  // added by gRPC itself
}

TEST_F(ServedServicesTest, HealthIsSetForEachServiceByName) {
  // Before: gRPC knows only the server as a whole.
  EXPECT_EQ(HealthOf("omnihub.v1.TimelineService"), "code 5");  // NOT_FOUND
  SetServingStatus(*server_, served_->names(), true);
  for (const char* service :
       {"", "omnihub.v1.TimelineService", "omnihub.v1.CustomerService"}) {
    EXPECT_EQ(HealthOf(service), "SERVING") << service;
  }
  SetServingStatus(*server_, served_->names(), false);
  for (const char* service :
       {"", "omnihub.v1.TimelineService", "omnihub.v1.CustomerService"}) {
    EXPECT_EQ(HealthOf(service), "NOT_SERVING") << service;
  }
  EXPECT_EQ(HealthOf("omnihub.v1.NoSuchService"), "code 5");
}

}  // namespace
}  // namespace omnihub::grpc_util
