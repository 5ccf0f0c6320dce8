// One ListSegmentMembers page over gRPC, for the tests that page through a
// segment's members (segments_test, paged_reads_test).
#ifndef OMNIHUB_TESTS_INTEGRATION_SEGMENT_PAGES_H_
#define OMNIHUB_TESTS_INTEGRATION_SEGMENT_PAGES_H_

#include <string>

#include "grpcpp/grpcpp.h"
#include "omnihub/v1/segments.grpc.pb.h"

namespace omnihub::testing {

// The page of `page_size` (0: the server's default) from `token` ("": the
// first). A failed call fails the test and gives an empty page with no
// token, so a loop over the pages ends.
inline v1::ListSegmentMembersResponse MembersPage(
    v1::SegmentService::Stub& segments, const std::string& name, int page_size,
    const std::string& token) {
  v1::ListSegmentMembersRequest request;
  request.set_name(name);
  request.set_page_size(page_size);
  request.set_page_token(token);
  v1::ListSegmentMembersResponse response;
  grpc::ClientContext context;
  const grpc::Status status =
      segments.ListSegmentMembers(&context, request, &response);
  EXPECT_TRUE(status.ok()) << name << ": " << status.error_message();
  if (!status.ok()) return v1::ListSegmentMembersResponse();
  return response;
}

}  // namespace omnihub::testing

#endif  // OMNIHUB_TESTS_INTEGRATION_SEGMENT_PAGES_H_
