#include "services/cli/dead_letter_commands.h"

#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/identity/identity_normalizer.h"
#include "common/publisher/dead_letters.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"

namespace omnihub::cli {
namespace {

struct DeadLetter {
  std::string line;  // without its newline
  v1::InteractionEvent event;
};

// The dead letters of `text` that carry an event; the count of those that
// do not (a spooled record that did not parse) in `unreadable`.
std::vector<DeadLetter> ParseDeadLetters(const std::string& text,
                                         size_t* unreadable) {
  std::vector<DeadLetter> letters;
  *unreadable = 0;
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t end = text.find('\n', begin);
    if (end == std::string::npos) break;  // not a whole line
    DeadLetter letter{text.substr(begin, end - begin), {}};
    begin = end + 1;
    const nlohmann::json json =
        nlohmann::json::parse(letter.line, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object() || !json.contains("event") ||
        !json["event"].is_object() ||
        !google::protobuf::util::JsonStringToMessage(json["event"].dump(),
                                                     &letter.event)
             .ok()) {
      ++*unreadable;
      continue;
    }
    letters.push_back(std::move(letter));
  }
  return letters;
}

std::optional<std::string> ReadFile(const std::string& file) {
  absl::StatusOr<std::string> text = publisher::ReadDeadLetters(file);
  if (!text.ok()) {
    std::cerr << text.status().message() << "\n";
    return std::nullopt;
  }
  return *std::move(text);
}

// What the hub has, or must not keep (an erased or suppressed person's
// event): either way it leaves the file.
bool Answered(v1::IngestResult::Status status) {
  return status == v1::IngestResult::STATUS_ACCEPTED ||
         status == v1::IngestResult::STATUS_UPDATED ||
         status == v1::IngestResult::STATUS_DUPLICATE ||
         status == v1::IngestResult::STATUS_FORGOTTEN ||
         status == v1::IngestResult::STATUS_SUPPRESSED;
}

}  // namespace

int ReplayDeadLetters(v1::TimelineService::Stub& stub, const std::string& file,
                      int batch) {
  if (file.empty() || batch < 1) {
    std::cerr << "replay-dead-letters needs --file=<dead-letter file> and a "
                 "--batch of 1 or more\n";
    return 2;
  }
  const std::optional<std::string> text = ReadFile(file);
  if (!text) return 1;
  size_t unreadable = 0;
  const std::vector<DeadLetter> letters = ParseDeadLetters(*text, &unreadable);
  std::multiset<std::string> answered;
  std::map<std::string, int64_t> counts;
  int exit_status = 0;
  for (size_t first = 0; first < letters.size();
       first += static_cast<size_t>(batch)) {
    const size_t last =
        std::min(letters.size(), first + static_cast<size_t>(batch));
    v1::IngestRequest request;
    request.set_request_id(absl::StrCat("replay-dead-letters-", first));
    for (size_t i = first; i < last; ++i) {
      *request.add_events() = letters[i].event;
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    v1::IngestResponse response;
    const grpc::Status status = stub.Ingest(&context, request, &response);
    if (!status.ok() ||
        response.results_size() != static_cast<int>(last - first)) {
      std::cerr << "error: " << status.error_code() << " "
                << status.error_message() << "; the rest stays in " << file
                << "\n";
      exit_status = 1;
      break;
    }
    for (size_t i = first; i < last; ++i) {
      const v1::IngestResult& result =
          response.results(static_cast<int>(i - first));
      ++counts[v1::IngestResult::Status_Name(result.status())];
      if (Answered(result.status())) {
        answered.insert(letters[i].line);
      } else {
        std::cerr << result.event_id() << ": " << result.field() << ": "
                  << result.reason() << "\n";
      }
    }
  }
  absl::StatusOr<size_t> removed =
      publisher::RemoveDeadLetterLines(file, [&](absl::string_view line) {
        auto it = answered.find(std::string(line));
        if (it == answered.end()) return false;
        answered.erase(it);
        return true;
      });
  if (!removed.ok()) {
    std::cerr << removed.status().message() << "\n";
    return 1;
  }
  for (const auto& [name, count] : counts) {
    std::cout << name << " " << count << "\n";
  }
  std::cout << "removed " << *removed << " from " << file << "\n";
  if (unreadable > 0) {
    std::cerr << unreadable << " lines of " << file
              << " hold no event to replay; they stay\n";
  }
  return exit_status;
}

int EraseDeadLetters(v1::TimelineService::Stub& stub, const std::string& file,
                     const v1::Identity& identity,
                     const std::string& default_region) {
  if (file.empty()) {
    std::cerr << "erase-dead-letters needs --file=<dead-letter file>\n";
    return 2;
  }
  const identity::IdentityNormalizer normalizer(
      {.default_region = default_region});
  auto normal = [&](const v1::Identity& id) {
    absl::StatusOr<std::string> value =
        normalizer.Normalize(id.kind(), id.value());
    return std::make_pair(static_cast<int>(id.kind()),
                          value.ok() ? *value : id.value());
  };
  std::set<std::pair<int, std::string>> erased = {normal(identity)};
  // The person's other identities, while the hub still knows them.
  v1::GetCustomerRequest request;
  v1::Identity* asked = request.mutable_customer()->mutable_identity();
  asked->set_kind(identity.kind());
  asked->set_value(erased.begin()->second);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  v1::GetCustomerResponse response;
  const grpc::Status status = stub.GetCustomer(&context, request, &response);
  if (status.ok()) {
    for (const v1::Identity& known : response.customer().identities()) {
      erased.insert(normal(known));
    }
  } else if (status.error_code() != grpc::StatusCode::NOT_FOUND) {
    std::cerr << "error: cannot ask the hub for the customer's other "
                 "identities: "
              << status.error_code() << " " << status.error_message() << "\n";
    return 1;
  }
  size_t unreadable = 0;
  absl::StatusOr<size_t> removed =
      publisher::RemoveDeadLetterLines(file, [&](absl::string_view line) {
        size_t bad = 0;
        const std::vector<DeadLetter> letter =
            ParseDeadLetters(absl::StrCat(line, "\n"), &bad);
        unreadable += bad;
        if (letter.empty()) return false;
        for (const v1::Identity& id : letter[0].event.identities()) {
          if (erased.contains(normal(id))) return true;
        }
        return false;
      });
  if (!removed.ok()) {
    std::cerr << removed.status().message() << "\n";
    return 1;
  }
  std::cout << "removed " << *removed << " from " << file << " ("
            << erased.size() << " identities of the person)\n";
  if (unreadable > 0) {
    std::cerr << unreadable << " lines of " << file
              << " hold no readable event: check them by hand\n";
  }
  return 0;
}

}  // namespace omnihub::cli
