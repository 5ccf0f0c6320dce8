// Reads the fields of one JSON object that came from outside, so every wrong
// type or value becomes an INVALID_ARGUMENT whose message names the field:
// "visits[2].checked_in_at: must be an RFC 3339 time ...".
//
//   JsonFields in(body[i], absl::StrCat("calls[", i, "]"));
//   std::string id;
//   if (absl::Status s = in.String("call_id", &id, true, 128); !s.ok()) ...
#ifndef OMNIHUB_COMMON_JSON_FIELDS_JSON_FIELDS_H_
#define OMNIHUB_COMMON_JSON_FIELDS_JSON_FIELDS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace omnihub::json_fields {

// "record.field: problem" (or "record: problem" when `field` is empty).
absl::Status FieldError(absl::string_view record, absl::string_view field,
                        absl::string_view problem);

class JsonFields {
 public:
  // `object` must outlive this reader; `path` names it in errors.
  JsonFields(const nlohmann::json& object, std::string path)
      : object_(object), path_(std::move(path)) {}

  // A missing or null field leaves `out` as it is, unless `required`.
  absl::Status String(const char* name, std::string* out, bool required,
                      size_t max_bytes = 1024) const;
  // An RFC 3339 time given as a string.
  absl::Status Time(const char* name, std::optional<absl::Time>* out,
                    bool required) const;
  // A whole number in [min, max].
  absl::Status Integer(const char* name, int64_t min, int64_t max,
                       int64_t* out) const;
  // `satisfaction` on the scale `satisfaction_scale` (default 10), as 0-10.
  absl::Status Satisfaction(std::optional<double>* out) const;

  // The field if present and not null.
  const nlohmann::json* Find(const char* name) const;
  const nlohmann::json& object() const { return object_; }
  const std::string& path() const { return path_; }
  absl::Status Error(absl::string_view field, absl::string_view problem) const {
    return FieldError(path_, field, problem);
  }

 private:
  const nlohmann::json& object_;
  std::string path_;
};

}  // namespace omnihub::json_fields

#endif  // OMNIHUB_COMMON_JSON_FIELDS_JSON_FIELDS_H_
