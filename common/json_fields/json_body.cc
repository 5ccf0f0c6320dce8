#include "common/json_fields/json_body.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/json_fields/json_fields.h"

namespace omnihub::json_fields {
namespace {

using nlohmann::json;

// Whether `text`, read as JSON, opens more than `max_depth` arrays and
// objects inside one another; brackets in strings do not count. Exact for
// valid JSON (for anything else the parser has the last word), one pass and
// no allocation, so the common, shallow body costs almost nothing more.
bool NestsDeeperThan(absl::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, whatever it is
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

// A key as an error shows it: at most 64 bytes, cut between UTF-8 characters
// (the error is JSON too, and must stay valid UTF-8).
std::string ShortKey(const std::string& key) {
  constexpr size_t kMaxBytes = 64;
  if (key.size() <= kMaxBytes) return key;
  size_t end = kMaxBytes;
  while (end > 0 && (static_cast<unsigned char>(key[end]) & 0xC0) == 0x80) {
    --end;
  }
  return absl::StrCat(key.substr(0, end), "...");
}

// Reads a body that nests too deeply, building nothing, and stops where it
// passes the limit, knowing which member it was in. Runs only for bodies
// NestsDeeperThan() refused, to name the field.
class DepthFinder final : public nlohmann::json_sax<json> {
 public:
  explicit DepthFinder(size_t max_depth) : max_depth_(max_depth) {}

  bool null() override { return Value(); }
  bool boolean(bool) override { return Value(); }
  bool number_integer(number_integer_t) override { return Value(); }
  bool number_unsigned(number_unsigned_t) override { return Value(); }
  bool number_float(number_float_t, const string_t&) override {
    return Value();
  }
  bool string(string_t&) override { return Value(); }
  bool binary(binary_t&) override { return Value(); }
  bool start_object(std::size_t) override { return Enter(false); }
  bool key(string_t& key) override {
    frames_.back().key = key;
    return true;
  }
  bool end_object() override { return Leave(); }
  bool start_array(std::size_t) override { return Enter(true); }
  bool end_array() override { return Leave(); }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception&) override {
    return false;
  }

  bool too_deep() const { return too_deep_; }

  // The member whose value went too deep: the path of open containers up to
  // the innermost object's key ("batch[0].properties.p"); array indices after
  // it name nothing a sender would call a field.
  std::string Field(const JsonBodyOptions& options) const {
    std::string path(options.root);
    if (!frames_.empty() && frames_[0].array && !options.root_array.empty()) {
      path = std::string(options.root_array);
    }
    size_t named = 0;  // frames up to the innermost object
    for (size_t i = 0; i < frames_.size(); ++i) {
      if (!frames_[i].array) named = i + 1;
    }
    for (size_t i = 0; i < named; ++i) {
      const Frame& frame = frames_[i];
      if (frame.array) {
        absl::StrAppend(&path, path.empty() ? "body" : "", "[",
                        frame.elements - 1, "]");
      } else {
        absl::StrAppend(&path, path.empty() ? "" : ".", ShortKey(frame.key));
      }
    }
    return path.empty() ? "body" : path;
  }

 private:
  struct Frame {
    bool array = false;
    size_t elements = 0;   // arrays: elements begun so far
    std::string key = "";  // objects: the member being read
  };

  bool Value() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().elements;
    return true;
  }
  bool Enter(bool array) {
    Value();
    if (frames_.size() >= max_depth_) {
      too_deep_ = true;
      return false;  // stops the parser
    }
    frames_.push_back({.array = array});
    return true;
  }
  bool Leave() {
    frames_.pop_back();
    return true;
  }

  const size_t max_depth_;
  std::vector<Frame> frames_;
  bool too_deep_ = false;
};

}  // namespace

absl::StatusOr<json> ParseJsonBody(absl::string_view text,
                                   const JsonBodyOptions& options) {
  if (NestsDeeperThan(text, options.max_depth)) {
    DepthFinder finder(options.max_depth);
    json::sax_parse(text, &finder);
    if (finder.too_deep()) {
      return FieldError("", finder.Field(options),
                        absl::StrCat("nests arrays and objects deeper than "
                                     "the limit of ",
                                     options.max_depth));
    }
    // Not JSON before it got that deep.
    return FieldError("", "body", "is not valid JSON");
  }
  json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) {
    return FieldError("", "body", "is not valid JSON");
  }
  return document;
}

}  // namespace omnihub::json_fields
