#include "common/redis/redis_script.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace omnihub::redis {
namespace {

std::string Sha1Hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha1(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), size));
}

}  // namespace

RedisScript::RedisScript(std::string source)
    : source_(std::move(source)), sha1_(Sha1Hex(source_)) {}

void RedisScript::Run(RedisClient& client, std::vector<std::string> keys,
                      std::vector<std::string> args, ReplyCallback done) const {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(sha1_);
  argv.push_back(absl::StrCat(keys.size()));
  for (std::string& key : keys) argv.push_back(std::move(key));
  for (std::string& arg : args) argv.push_back(std::move(arg));
  // Kept for the rare NOSCRIPT retry; the common path pays one copy.
  std::vector<std::string> retry = argv;
  client.Execute(std::move(argv),
                 [this, &client, retry = std::move(retry),
                  done = std::move(done)](absl::StatusOr<Reply> reply) mutable {
                   if (reply.ok() && reply->is_error() &&
                       absl::StartsWith(reply->str, "NOSCRIPT")) {
                     retry[0] = "EVAL";
                     retry[1] = source_;
                     client.Execute(std::move(retry), std::move(done));
                     return;
                   }
                   std::move(done)(std::move(reply));
                 });
}

}  // namespace omnihub::redis
