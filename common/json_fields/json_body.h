// Parses a request body from outside as JSON, refusing bodies that nest arrays
// and objects too deeply, so no later step can run out of stack on them.
//
//   absl::StatusOr<nlohmann::json> document =
//       ParseJsonBody(request.body, {.max_depth = 32, .root = "call"});
//   if (!document.ok()) return document.status();  // 400, naming the field
//
// nlohmann-json's parser does not recurse, but copying, comparing and
// serialising a value do, once per level: a 400 KB body of 200,000 nested
// arrays crashed the web adapter when it turned a property back into text.
#ifndef OMNIHUB_COMMON_JSON_FIELDS_JSON_BODY_H_
#define OMNIHUB_COMMON_JSON_FIELDS_JSON_BODY_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace omnihub::json_fields {

// The adapters' --max_json_depth default: far more than any call record,
// visit or analytics call needs (a Segment track call with a list of products
// is 4 deep), and little stack for the recursive steps.
inline constexpr size_t kDefaultMaxJsonDepth = 32;

struct JsonBodyOptions {
  // Most arrays and objects nested in one another: `{}` is 1, `{"a": []}` 2.
  size_t max_depth = kDefaultMaxJsonDepth;
  // Names the document in errors, as the reader names its records ("call",
  // "track"); empty: field names start at the top ("batch[0].properties.p").
  absl::string_view root = "";
  // Names the document when it is an array ("calls" gives "calls[3].x");
  // empty: `root`.
  absl::string_view root_array = "";
};

// The document, or INVALID_ARGUMENT: "body: is not valid JSON", or, for too
// deep a body, "<field>: nests arrays and objects deeper than the limit of N"
// naming the member whose value goes too deep ("track.properties.p").
absl::StatusOr<nlohmann::json> ParseJsonBody(absl::string_view text,
                                             const JsonBodyOptions& options);

}  // namespace omnihub::json_fields

#endif  // OMNIHUB_COMMON_JSON_FIELDS_JSON_BODY_H_
