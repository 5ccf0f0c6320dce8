#include "common/json_fields/json_fields.h"

#include "absl/strings/str_cat.h"

namespace omnihub::json_fields {

absl::Status FieldError(absl::string_view record, absl::string_view field,
                        absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(record, record.empty() || field.empty() ? "" : ".", field,
                   ": ", problem));
}

const nlohmann::json* JsonFields::Find(const char* name) const {
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(name);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

absl::Status JsonFields::String(const char* name, std::string* out,
                                bool required, size_t max_bytes) const {
  const nlohmann::json* field = Find(name);
  if (field == nullptr) {
    return required ? Error(name, "must be set") : absl::OkStatus();
  }
  if (!field->is_string()) return Error(name, "must be a string");
  const std::string& text = field->get_ref<const std::string&>();
  if (required && text.empty()) return Error(name, "must be set");
  if (text.size() > max_bytes) {
    return Error(name, absl::StrCat("is longer than ", max_bytes, " bytes"));
  }
  *out = text;
  return absl::OkStatus();
}

absl::Status JsonFields::Time(const char* name, std::optional<absl::Time>* out,
                              bool required) const {
  std::string text;
  if (absl::Status status = String(name, &text, required, 64); !status.ok()) {
    return status;
  }
  if (text.empty()) return absl::OkStatus();
  absl::Time time;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, nullptr)) {
    return Error(name, "must be an RFC 3339 time like 2026-11-20T09:30:00Z");
  }
  *out = time;
  return absl::OkStatus();
}

absl::Status JsonFields::Integer(const char* name, int64_t min, int64_t max,
                                 int64_t* out) const {
  const nlohmann::json* field = Find(name);
  if (field == nullptr) return absl::OkStatus();
  bool in_range = false;
  if (field->is_number_unsigned()) {
    // Above INT64_MAX it would not survive the conversion below.
    const uint64_t value = field->get<uint64_t>();
    in_range = value <= static_cast<uint64_t>(max) &&
               (min <= 0 || value >= static_cast<uint64_t>(min));
  } else if (field->is_number_integer()) {
    const int64_t value = field->get<int64_t>();
    in_range = value >= min && value <= max;
  }
  if (!in_range) {
    return Error(
        name, absl::StrCat("must be a whole number from ", min, " to ", max));
  }
  *out = field->get<int64_t>();
  return absl::OkStatus();
}

absl::Status JsonFields::Satisfaction(std::optional<double>* out) const {
  const nlohmann::json* score = Find("satisfaction");
  if (score == nullptr) return absl::OkStatus();
  double scale = 10;
  if (const nlohmann::json* given = Find("satisfaction_scale")) {
    if (!given->is_number() || given->get<double>() <= 0 ||
        given->get<double>() > 100) {
      return Error("satisfaction_scale",
                   "must be a positive number up to 100 (e.g. 5 or 10)");
    }
    scale = given->get<double>();
  }
  if (!score->is_number() || score->get<double>() < 0 ||
      score->get<double>() > scale) {
    return Error("satisfaction",
                 absl::StrCat("must be a number from 0 to ", scale));
  }
  *out = score->get<double>() * 10 / scale;
  return absl::OkStatus();
}

}  // namespace omnihub::json_fields
