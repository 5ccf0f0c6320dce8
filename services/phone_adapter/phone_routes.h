// The phone adapter's HTTP routes: each call-center format in, events out.
//
//   POST /v1/calls                JSON call record(s)
//   POST /v1/calls/asterisk-cdr   Asterisk cdr_csv lines
//   POST /v1/calls/twilio         Twilio-style status callback (form)
//
// Each requires one of the intake's API keys (when it has any), except the
// Twilio callback when Twilio's signature is checked instead.
#ifndef OMNIHUB_SERVICES_PHONE_ADAPTER_PHONE_ROUTES_H_
#define OMNIHUB_SERVICES_PHONE_ADAPTER_PHONE_ROUTES_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/http_intake/http_intake.h"
#include "common/identity/identity_normalizer.h"
#include "services/phone_adapter/call_record.h"

namespace omnihub::phone {

struct TwilioVerification {
  std::string auth_token;  // the account's, which Twilio signs with
  // The adapter as Twilio calls it ("https://hub.example.com"), which a
  // proxy in between hides; the request's path and query are appended.
  std::string public_url;
};

// The Twilio check in force, replaced while the adapter runs when the auth
// token file is re-read (SIGHUP): a rotated token needs no restart.
class TwilioVerifier {
 public:
  explicit TwilioVerifier(TwilioVerification verification)
      : verification_(std::move(verification)) {}
  void Replace(TwilioVerification verification) {
    absl::MutexLock lock(&mutex_);
    verification_ = std::move(verification);
  }
  TwilioVerification Current() const {
    absl::MutexLock lock(&mutex_);
    return verification_;
  }

 private:
  mutable absl::Mutex mutex_;
  TwilioVerification verification_ ABSL_GUARDED_BY(mutex_);
};

struct PhoneRouteOptions {
  CallParseOptions parse;
  CallEventOptions events;
  // Set: Twilio callbacks must carry a valid X-Twilio-Signature (403
  // otherwise) rather than an API key.
  std::shared_ptr<const TwilioVerifier> twilio;
};

// `normalizer` must outlive the intake's server.
void RegisterPhoneRoutes(http_intake::HttpIntake& intake,
                         const identity::IdentityNormalizer* normalizer,
                         PhoneRouteOptions options);

}  // namespace omnihub::phone

#endif  // OMNIHUB_SERVICES_PHONE_ADAPTER_PHONE_ROUTES_H_
