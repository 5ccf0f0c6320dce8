#include "services/timeline/customer_service.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/auth/caller.h"
#include "common/grpc_util/status_conversion.h"
#include "common/logging/log.h"
#include "google/protobuf/util/json_util.h"
#include "services/timeline/grpc_call_scope.h"

namespace omnihub::timeline {
namespace {

using grpc_util::ToGrpcStatus;

// Free text from outside: required or not, bounded, printable.
absl::Status CheckText(const std::string& value, absl::string_view field,
                       size_t max_bytes, bool required) {
  if (required && value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be set"));
  }
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": is ", value.size(), " bytes; the limit is ", max_bytes));
  }
  if (!identity::IsPrintableUtf8(value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": must be valid UTF-8 without control characters"));
  }
  return absl::OkStatus();
}

// The caller as audit lines name it.
std::string AuditedCaller(const grpc::CallbackServerContext& context) {
  std::string principal = auth::CallerPrincipal(context);
  return principal.empty() ? "an unauthenticated caller (no --auth_tokens_file)"
                           : absl::StrCat("principal ", principal);
}

grpc::ServerUnaryReactor* Finished(grpc::CallbackServerContext* context,
                                   const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace

CustomerService::CustomerService(TimelineStore* store,
                                 const EventValidator* validator,
                                 const identity::IdentityNormalizer* normalizer,
                                 CustomerServiceLimits limits)
    : store_(store),
      validator_(validator),
      normalizer_(normalizer),
      limits_(limits) {}

absl::StatusOr<v1::CustomerSelector> CustomerService::Selector(
    const v1::CustomerSelector& selector) const {
  return validator_->NormalizeCustomerSelector(selector, "customer");
}

absl::StatusOr<v1::CustomerSelector> CustomerService::AuditedSelector(
    const v1::CustomerSelector& selector,
    const std::string& requested_by) const {
  if (absl::Status status = CheckText(requested_by, "requested_by",
                                      limits_.max_source_bytes, true);
      !status.ok()) {
    return status;
  }
  return Selector(selector);
}

grpc::ServerUnaryReactor* CustomerService::ResolveCustomer(
    grpc::CallbackServerContext* context,
    const v1::ResolveCustomerRequest* request,
    v1::ResolveCustomerResponse* response) {
  absl::StatusOr<v1::CustomerSelector> selector = Selector(request->customer());
  if (!selector.ok()) return Finished(context, selector.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  store_->Resolve(
      *std::move(selector),
      [reactor, response](absl::StatusOr<ResolvedCustomer> found) {
        if (!found.ok()) return reactor->Finish(ToGrpcStatus(found.status()));
        response->set_customer_id(found->customer_id);
        response->set_merged_from(found->merged_from);
        reactor->Finish(grpc::Status::OK);
      },
      CallScopeOf(context));
  return reactor;
}

grpc::ServerUnaryReactor* CustomerService::LinkIdentities(
    grpc::CallbackServerContext* context,
    const v1::LinkIdentitiesRequest* request,
    v1::LinkIdentitiesResponse* response) {
  google::protobuf::RepeatedPtrField<v1::Identity> identities =
      request->identities();
  if (std::optional<FieldViolation> violation =
          validator_->NormalizeIdentities(&identities, "")) {
    return Finished(context, absl::InvalidArgumentError(absl::StrCat(
                                 violation->field, ": ", violation->reason)));
  }
  for (const auto& [value, field, max, required] :
       {std::make_tuple(&request->source(), "source", limits_.max_source_bytes,
                        true),
        std::make_tuple(&request->reason(), "reason", limits_.max_reason_bytes,
                        false)}) {
    if (absl::Status status = CheckText(*value, field, max, required);
        !status.ok()) {
      return Finished(context, status);
    }
  }
  LinkRequest link{.identities = std::vector<v1::Identity>(identities.begin(),
                                                           identities.end()),
                   .source = request->source(),
                   .reason = request->reason(),
                   .principal = auth::CallerPrincipal(*context)};
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const std::string source = request->source();
  redis::ScopedCall call(DeadlineOf(context));
  store_->Link(std::move(link), [reactor, response, source,
                                 caller = AuditedCaller(*context)](
                                    absl::StatusOr<IngestOutcome> outcome) {
    if (!outcome.ok()) return reactor->Finish(ToGrpcStatus(outcome.status()));
    response->set_customer_id(outcome->customer_id);
    response->set_created_customer(outcome->created_customer);
    for (const std::string& merged : outcome->merged_customer_ids) {
      response->add_merged_customer_ids(merged);
    }
    log::Info(
        "audit: identities linked on customer %s by %s for %s (%d "
        "customer(s) merged)",
        outcome->customer_id, caller, source,
        static_cast<int>(outcome->merged_customer_ids.size()));
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* CustomerService::GetMergeLog(
    grpc::CallbackServerContext* context, const v1::GetMergeLogRequest* request,
    v1::GetMergeLogResponse* response) {
  absl::StatusOr<v1::CustomerSelector> selector = Selector(request->customer());
  if (!selector.ok()) return Finished(context, selector.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  store_->ReadMergeLog(
      *std::move(selector),
      [reactor, response](absl::StatusOr<v1::GetMergeLogResponse> log) {
        if (!log.ok()) return reactor->Finish(ToGrpcStatus(log.status()));
        *response = *std::move(log);
        reactor->Finish(grpc::Status::OK);
      },
      CallScopeOf(context));
  return reactor;
}

absl::StatusOr<std::optional<SuppressionRequest>>
CustomerService::SuppressionOf(const v1::ForgetCustomerRequest& request) const {
  if (!request.suppress()) {
    if (request.has_suppress_for()) {
      return absl::InvalidArgumentError(
          "suppress_for: only with suppress set to true");
    }
    return std::nullopt;
  }
  absl::Duration period = limits_.default_suppression;
  if (request.has_suppress_for()) {
    const google::protobuf::Duration& asked = request.suppress_for();
    if (asked.nanos() <= -1'000'000'000 || asked.nanos() >= 1'000'000'000 ||
        (asked.seconds() > 0 && asked.nanos() < 0) ||
        (asked.seconds() < 0 && asked.nanos() > 0)) {
      return absl::InvalidArgumentError(
          "suppress_for: is not a valid duration (nanos out of range or of "
          "the other sign)");
    }
    period = absl::Seconds(asked.seconds()) + absl::Nanoseconds(asked.nanos());
    if (period < absl::Milliseconds(1)) {
      return absl::InvalidArgumentError(
          "suppress_for: must be positive (at least 1ms)");
    }
    if (period > limits_.max_suppression) {
      return absl::InvalidArgumentError(
          absl::StrCat("suppress_for: is ", absl::FormatDuration(period),
                       "; --max_suppression_period allows at most ",
                       absl::FormatDuration(limits_.max_suppression)));
    }
  }
  return SuppressionRequest{.period = period,
                            .requested_by = request.requested_by(),
                            .customer_id = ""};
}

grpc::ServerUnaryReactor* CustomerService::ForgetCustomer(
    grpc::CallbackServerContext* context,
    const v1::ForgetCustomerRequest* request,
    v1::ForgetCustomerResponse* response) {
  absl::StatusOr<v1::CustomerSelector> selector =
      AuditedSelector(request->customer(), request->requested_by());
  if (!selector.ok()) return Finished(context, selector.status());
  absl::StatusOr<std::optional<SuppressionRequest>> suppression =
      SuppressionOf(*request);
  if (!suppression.ok()) return Finished(context, suppression.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  store_->Forget(
      *std::move(selector),
      [reactor, response, requested_by = request->requested_by(),
       caller = AuditedCaller(*context)](
          absl::StatusOr<v1::ForgetCustomerResponse> erased) {
        if (!erased.ok()) return reactor->Finish(ToGrpcStatus(erased.status()));
        log::Info(
            "audit: customer %s erased by %s at the request of %s: %d "
            "event(s), %d identity(ies), %d alias(es)%s",
            erased->customer_id(), caller, requested_by,
            static_cast<int>(erased->events_erased()),
            static_cast<int>(erased->identities_erased()),
            static_cast<int>(erased->aliases_erased()),
            erased->identities_suppressed() == 0
                ? std::string()
                : absl::StrCat("; ", erased->identities_suppressed(),
                               " identity(ies) suppressed until ",
                               absl::FormatTime(
                                   absl::RFC3339_sec,
                                   absl::FromUnixSeconds(
                                       erased->suppressed_until().seconds()),
                                   absl::UTCTimeZone())));
        *response = *std::move(erased);
        reactor->Finish(grpc::Status::OK);
      },
      CallScopeOf(context), *std::move(suppression));
  return reactor;
}

absl::StatusOr<std::string> CustomerService::HashOf(
    const v1::Identity& identity, absl::string_view field) const {
  google::protobuf::RepeatedPtrField<v1::Identity> one;
  *one.Add() = identity;
  if (std::optional<FieldViolation> violation =
          validator_->NormalizeIdentities(&one, "")) {
    std::string named = violation->field;
    absl::StrReplaceAll({{"identities[0]", field}}, &named);
    return absl::InvalidArgumentError(
        absl::StrCat(named, ": ", violation->reason));
  }
  return IdentityHash(one.Get(0));
}

grpc::ServerUnaryReactor* CustomerService::ListSuppressions(
    grpc::CallbackServerContext* context,
    const v1::ListSuppressionsRequest* request,
    v1::ListSuppressionsResponse* response) {
  if (request->page_size() < 0 ||
      request->page_size() > limits_.max_suppression_page) {
    return Finished(context, absl::InvalidArgumentError(absl::StrCat(
                                 "page_size: must be between 0 (default ",
                                 limits_.default_suppression_page, ") and ",
                                 limits_.max_suppression_page, ", got ",
                                 request->page_size())));
  }
  if (!request->page_token().empty() &&
      !IsWellFormedSuppressionCursor(request->page_token())) {
    return Finished(context,
                    absl::InvalidArgumentError(
                        "page_token: is not a token ListSuppressions gave"));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  store_->ListSuppressions(
      request->page_size() > 0 ? request->page_size()
                               : limits_.default_suppression_page,
      request->page_token(),
      [reactor, response](absl::StatusOr<SuppressionPage> page) {
        if (!page.ok()) return reactor->Finish(ToGrpcStatus(page.status()));
        for (v1::Suppression& suppression : page->suppressions) {
          *response->add_suppressions() = std::move(suppression);
        }
        response->set_next_page_token(std::move(page->next_cursor));
        reactor->Finish(grpc::Status::OK);
      },
      CallScopeOf(context));
  return reactor;
}

grpc::ServerUnaryReactor* CustomerService::CheckSuppression(
    grpc::CallbackServerContext* context,
    const v1::CheckSuppressionRequest* request,
    v1::CheckSuppressionResponse* response) {
  if (!request->has_identity()) {
    return Finished(context,
                    absl::InvalidArgumentError("identity: must be set"));
  }
  absl::StatusOr<std::string> hash = HashOf(request->identity(), "identity");
  if (!hash.ok()) return Finished(context, hash.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  store_->FindSuppression(
      *std::move(hash),
      [reactor,
       response](absl::StatusOr<std::optional<v1::Suppression>> found) {
        if (!found.ok()) return reactor->Finish(ToGrpcStatus(found.status()));
        response->set_suppressed(found->has_value());
        if (found->has_value()) {
          *response->mutable_suppression() = **std::move(found);
        }
        reactor->Finish(grpc::Status::OK);
      },
      CallScopeOf(context));
  return reactor;
}

grpc::ServerUnaryReactor* CustomerService::LiftSuppression(
    grpc::CallbackServerContext* context,
    const v1::LiftSuppressionRequest* request,
    v1::LiftSuppressionResponse* response) {
  if (absl::Status status = CheckText(request->requested_by(), "requested_by",
                                      limits_.max_source_bytes, true);
      !status.ok()) {
    return Finished(context, status);
  }
  absl::StatusOr<std::string> hash;
  switch (request->target_case()) {
    case v1::LiftSuppressionRequest::kIdentity:
      hash = HashOf(request->identity(), "identity");
      break;
    case v1::LiftSuppressionRequest::kIdentityHash:
      hash = request->identity_hash();
      if (!IsWellFormedIdentityHash(*hash)) {
        hash = absl::InvalidArgumentError(
            "identity_hash: must be 64 lower-case hex digits, as "
            "ListSuppressions shows it");
      }
      break;
    default:
      hash =
          absl::InvalidArgumentError("identity: set identity or identity_hash");
  }
  if (!hash.ok()) return Finished(context, hash.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  store_->LiftSuppression(
      *hash,
      [reactor, response, hash = *hash, caller = AuditedCaller(*context),
       requested_by = request->requested_by()](
          absl::StatusOr<std::optional<v1::Suppression>> lifted) {
        if (!lifted.ok()) return reactor->Finish(ToGrpcStatus(lifted.status()));
        if (!lifted->has_value()) {
          return reactor->Finish(ToGrpcStatus(
              absl::NotFoundError("this identity is not suppressed")));
        }
        log::Info(
            "audit: suppression of identity %s (%s, erased customer %s) "
            "lifted by %s at the request of %s",
            hash, identity::IdentityKindName((*lifted)->kind()),
            (*lifted)->erased_customer_id(), caller, requested_by);
        *response->mutable_suppression() = **std::move(lifted);
        reactor->Finish(grpc::Status::OK);
      },
      CallScopeOf(context));
  return reactor;
}

grpc::ServerUnaryReactor* CustomerService::ExportCustomer(
    grpc::CallbackServerContext* context,
    const v1::ExportCustomerRequest* request,
    v1::ExportCustomerResponse* response) {
  absl::StatusOr<v1::CustomerSelector> selector =
      AuditedSelector(request->customer(), request->requested_by());
  if (!selector.ok()) return Finished(context, selector.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  store_->Export(
      *std::move(selector),
      [reactor, response, requested_by = request->requested_by(),
       caller = AuditedCaller(*context), max_bytes = limits_.max_export_bytes](
          absl::StatusOr<v1::CustomerExport> exported) {
        if (!exported.ok()) {
          return reactor->Finish(ToGrpcStatus(exported.status()));
        }
        google::protobuf::util::JsonPrintOptions options;
        options.preserve_proto_field_names = true;
        std::string json;
        auto printed = google::protobuf::util::MessageToJsonString(
            *exported, &json, options);
        if (!printed.ok()) {
          return reactor->Finish(grpc::Status(
              grpc::StatusCode::INTERNAL,
              absl::StrCat("the export could not be written as JSON: ",
                           printed.ToString())));
        }
        if (json.size() > max_bytes) {
          return reactor->Finish(ToGrpcStatus(absl::ResourceExhaustedError(
              absl::StrCat("the export is ", json.size(),
                           " bytes; --max_export_bytes allows ", max_bytes))));
        }
        log::Info(
            "audit: customer %s exported by %s at the request of %s: %d "
            "event(s)",
            exported->customer().customer_id(), caller, requested_by,
            exported->events_size());
        response->set_customer_id(exported->customer().customer_id());
        response->set_json(std::move(json));
        reactor->Finish(grpc::Status::OK);
      },
      CallScopeOf(context));
  return reactor;
}

}  // namespace omnihub::timeline
