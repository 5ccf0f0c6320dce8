// Twilio's request signature, which tells a callback Twilio sent from one
// anybody could: X-Twilio-Signature is the base64 of an HMAC-SHA1, keyed with
// the account's auth token, over the URL Twilio called (with its query)
// followed by every POST parameter's name and value, sorted by name.
//
//   if (!TwilioSignatureMatches(token, "https://hub.example.com/v1/calls/"
//                               "twilio", form, header)) { ... 403 ... }
#ifndef OMNIHUB_SERVICES_PHONE_ADAPTER_TWILIO_SIGNATURE_H_
#define OMNIHUB_SERVICES_PHONE_ADAPTER_TWILIO_SIGNATURE_H_

#include <map>
#include <string>

#include "absl/strings/string_view.h"

namespace omnihub::phone {

// The signature Twilio sends for this URL and these (decoded) POST
// parameters.
std::string TwilioSignature(
    absl::string_view auth_token, absl::string_view url,
    const std::multimap<std::string, std::string>& post_parameters);

// Whether `presented` is that signature, compared in constant time.
bool TwilioSignatureMatches(
    absl::string_view auth_token, absl::string_view url,
    const std::multimap<std::string, std::string>& post_parameters,
    absl::string_view presented);

}  // namespace omnihub::phone

#endif  // OMNIHUB_SERVICES_PHONE_ADAPTER_TWILIO_SIGNATURE_H_
