#include "services/timeline/customer_service.h"

#include "absl/strings/str_cat.h"
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

grpc::ServerUnaryReactor* CustomerService::ForgetCustomer(
    grpc::CallbackServerContext* context,
    const v1::ForgetCustomerRequest* request,
    v1::ForgetCustomerResponse* response) {
  absl::StatusOr<v1::CustomerSelector> selector =
      AuditedSelector(request->customer(), request->requested_by());
  if (!selector.ok()) return Finished(context, selector.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  store_->Forget(
      *std::move(selector),
      [reactor, response, requested_by = request->requested_by(),
       caller = AuditedCaller(*context)](
          absl::StatusOr<v1::ForgetCustomerResponse> erased) {
        if (!erased.ok()) return reactor->Finish(ToGrpcStatus(erased.status()));
        log::Info(
            "audit: customer %s erased by %s at the request of %s: %d "
            "event(s), %d identity(ies), %d alias(es)",
            erased->customer_id(), caller, requested_by,
            static_cast<int>(erased->events_erased()),
            static_cast<int>(erased->identities_erased()),
            static_cast<int>(erased->aliases_erased()));
        *response = *std::move(erased);
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
