// The phone adapter's HTTP routes: each call-center format in, events out.
//
//   POST /v1/calls                JSON call record(s)
//   POST /v1/calls/asterisk-cdr   Asterisk cdr_csv lines
//   POST /v1/calls/twilio         Twilio-style status callback (form)
#ifndef OMNIHUB_SERVICES_PHONE_ADAPTER_PHONE_ROUTES_H_
#define OMNIHUB_SERVICES_PHONE_ADAPTER_PHONE_ROUTES_H_

#include "common/http_intake/http_intake.h"
#include "common/identity/identity_normalizer.h"
#include "services/phone_adapter/call_record.h"

namespace omnihub::phone {

struct PhoneRouteOptions {
  CallParseOptions parse;
  CallEventOptions events;
};

// `normalizer` must outlive the intake's server.
void RegisterPhoneRoutes(http_intake::HttpIntake& intake,
                         const identity::IdentityNormalizer* normalizer,
                         PhoneRouteOptions options);

}  // namespace omnihub::phone

#endif  // OMNIHUB_SERVICES_PHONE_ADAPTER_PHONE_ROUTES_H_
