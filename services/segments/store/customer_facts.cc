#include "services/segments/store/customer_facts.h"

#include "absl/strings/match.h"
#include "common/identity/identity_normalizer.h"
#include "services/insights/analysis/customer_record.h"
#include "services/insights/store/customer_read.h"
#include "services/timeline/store_context.h"

namespace omnihub::segments {

using redis::Reply;
using timeline::IntegerOrZero;

FactSources SourcesOf(const insights::InsightsEngine& insights) {
  return {.model = insights.model().Get(),
          .rfm = insights.rfm().Get(),
          .value = insights.options().value};
}

absl::StatusOr<ViewFacts> FactsOfView(const Reply& view,
                                      const FactSources& sources,
                                      absl::Time now) {
  const insights::LifecycleRules& rules = sources.model->rules;
  ViewFacts result;
  absl::StatusOr<insights::CustomerRead> read =
      insights::ParseCustomerRead(view);
  if (!read.ok()) return read.status();
  if (!read->record.has_value()) {
    result.gone = true;
    return result;
  }
  CustomerFacts& facts = result.facts;
  for (size_t i = 0; i + 1 < view.elements.size(); i += 2) {
    const std::string& field = view.elements[i].str;
    const std::string& value = view.elements[i + 1].str;
    if (field == "total") {
      facts.total_interactions = IntegerOrZero(value);
    } else if (field == "last") {
      facts.last_interaction = absl::FromUnixMicros(IntegerOrZero(value));
    } else if (absl::StartsWith(field, "n:")) {
      facts.channel_counts[static_cast<int>(IntegerOrZero(field.substr(2)))] =
          IntegerOrZero(value);
    } else if (absl::StartsWith(field, "k:")) {
      facts.kind_counts[static_cast<int>(IntegerOrZero(field.substr(2)))] =
          IntegerOrZero(value);
    } else if (absl::StartsWith(field, "t:")) {
      facts.channel_last[static_cast<int>(IntegerOrZero(field.substr(2)))] =
          absl::FromUnixMicros(IntegerOrZero(value));
    } else if (absl::StartsWith(field, "val:")) {
      facts.value_micros[field.substr(4)] = IntegerOrZero(value);
    } else if (absl::StartsWith(field, "i:")) {
      const size_t colon = field.find(':', 2);
      v1::IdentityKind kind;
      if (colon != std::string::npos &&
          identity::ParseIdentityKindName(field.substr(2, colon - 2), &kind)) {
        facts.identity_kinds.insert(kind);
      }
    }
  }
  // A channel whose every interaction was taken out again by updates.
  for (auto it = facts.channel_last.begin(); it != facts.channel_last.end();) {
    auto count = facts.channel_counts.find(it->first);
    if (count == facts.channel_counts.end() || count->second <= 0) {
      it = facts.channel_last.erase(it);
    } else {
      ++it;
    }
  }
  if (facts.total_interactions <= 0) facts.last_interaction.reset();
  auto record = std::make_shared<const insights::CustomerRecord>(
      *std::move(read->record));
  const int64_t today = insights::DayOf(now);
  facts.lifecycle_stage =
      static_cast<int>(insights::StageOn(record->days(), today, rules).stage);
  if (std::optional<int64_t> next =
          insights::NextChangeByTime(record->days(), today, rules)) {
    facts.lifecycle_next_change = insights::StartOfDay(*next);
  }
  facts.record = std::move(record);
  // Aliases into what the holders gave: they live as long as the facts.
  if (sources.rfm->proto.has_value()) {
    facts.rfm = std::shared_ptr<const insights::RfmBoundaries>(
        sources.rfm, &sources.rfm->boundaries);
  }
  if (sources.model->fitted.has_value()) {
    facts.model = std::shared_ptr<const insights::FittedModel>(
        sources.model, &*sources.model->fitted);
  }
  facts.value = sources.value;
  return result;
}

}  // namespace omnihub::segments
