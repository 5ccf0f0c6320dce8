// Every method of every service in proto/ has a scope in the table: a new
// RPC fails this test until someone decides who may call it.
#include "common/auth/method_scopes.h"

#include <filesystem>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.pb.h"
#include "gtest/gtest.h"
#include "omnihub/v1/customer.pb.h"
#include "omnihub/v1/insights.pb.h"
#include "omnihub/v1/recommendations.pb.h"
#include "omnihub/v1/segments.pb.h"
#include "omnihub/v1/timeline.pb.h"

namespace omnihub::auth {
namespace {

// The .proto files under proto/, as paths relative to it
// ("omnihub/v1/x.proto").
std::set<std::string> ProtoFiles() {
  std::set<std::string> files;
  const std::filesystem::path root(OMNIHUB_PROTO_DIR);
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(root)) {
    if (entry.path().extension() == ".proto") {
      files.insert(entry.path().lexically_relative(root).string());
    }
  }
  return files;
}

TEST(MethodScopesTest, EveryMethodOfEveryServiceInProtoHasAnEntry) {
  // Linking the generated messages registers their files in the pool.
  v1::IngestRequest timeline;
  v1::ForgetCustomerRequest customer;
  v1::GetKpisRequest insights;
  v1::ListSegmentsRequest segments;
  v1::GetCrossSellCandidatesRequest recommendations;
  grpc::health::v1::HealthCheckRequest health;
  const std::set<std::string> files = ProtoFiles();
  ASSERT_GE(files.size(), 5u);
  int methods = 0;
  for (const std::string& name : files) {
    const google::protobuf::FileDescriptor* file =
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName(
            name);
    ASSERT_NE(file, nullptr)
        << name << " is not linked into this test: add its message to the "
        << "list above";
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const std::string path = absl::StrCat("/", service->full_name(), "/",
                                              service->method(m)->name());
        EXPECT_TRUE(AccessOf(path).has_value())
            << path << " has no scope in common/auth/method_scopes.cc";
        ++methods;
      }
    }
  }
  EXPECT_GE(methods, 15);
}

TEST(MethodScopesTest, SensitiveMethodsNeedTheirOwnScopes) {
  auto scope_of = [](absl::string_view method) {
    std::optional<MethodAccess> access = AccessOf(method);
    EXPECT_TRUE(access.has_value() && !access->open) << method;
    return access.has_value() ? access->scope : Scope::kAdmin;
  };
  EXPECT_EQ(scope_of("/omnihub.v1.TimelineService/Ingest"), Scope::kIngest);
  EXPECT_EQ(scope_of("/omnihub.v1.TimelineService/IngestStream"),
            Scope::kIngest);
  EXPECT_EQ(scope_of("/omnihub.v1.CustomerService/ForgetCustomer"),
            Scope::kPrivacy);
  EXPECT_EQ(scope_of("/omnihub.v1.CustomerService/ExportCustomer"),
            Scope::kPrivacy);
  EXPECT_EQ(scope_of("/omnihub.v1.CustomerService/GetMergeLog"),
            Scope::kPrivacy);
  EXPECT_EQ(scope_of("/omnihub.v1.CustomerService/LinkIdentities"),
            Scope::kLink);
  EXPECT_EQ(scope_of("/omnihub.v1.InsightsService/FitPurchaseModel"),
            Scope::kAdmin);
  EXPECT_TRUE(AccessOf("/grpc.health.v1.Health/Check")->open);
  EXPECT_FALSE(AccessOf("/omnihub.v1.TimelineService/Nope").has_value());
  EXPECT_FALSE(AccessOf("").has_value());
}

}  // namespace
}  // namespace omnihub::auth
