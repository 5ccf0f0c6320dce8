#include "common/auth/pem_files.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace omnihub::auth {
namespace {

absl::StatusOr<std::string> ReadText(const std::string& flag,
                                     const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": cannot read ", path));
  }
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* certificate) const { X509_free(certificate); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

std::unique_ptr<BIO, BioDeleter> MemoryBio(const std::string& text) {
  return std::unique_ptr<BIO, BioDeleter>(
      BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

}  // namespace

absl::StatusOr<std::string> ReadCertificates(const std::string& flag,
                                             const std::string& path) {
  absl::StatusOr<std::string> text = ReadText(flag, path);
  if (!text.ok()) return text;
  auto bio = MemoryBio(*text);
  std::unique_ptr<X509, X509Deleter> first(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (first == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": ", path, " holds no PEM certificate"));
  }
  return text;
}

absl::StatusOr<std::string> ReadKeyFor(const std::string& flag,
                                       const std::string& path,
                                       const std::string& certificate_pem) {
  absl::StatusOr<std::string> text = ReadText(flag, path);
  if (!text.ok()) return text;
  auto key_bio = MemoryBio(*text);
  std::unique_ptr<EVP_PKEY, KeyDeleter> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  auto certificate_bio = MemoryBio(certificate_pem);
  std::unique_ptr<X509, X509Deleter> certificate(
      PEM_read_bio_X509(certificate_bio.get(), nullptr, nullptr, nullptr));
  const bool matches =
      key != nullptr && certificate != nullptr &&
      X509_check_private_key(certificate.get(), key.get()) == 1;
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, ": ", path, " holds no PEM private key (unencrypted)"));
  }
  if (!matches) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, ": ", path, " is not the key of the certificate"));
  }
  return text;
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& flag,
                                           const std::string& path) {
  absl::StatusOr<std::string> text = ReadText(flag, path);
  if (!text.ok()) return text;
  std::string secret(absl::StripAsciiWhitespace(*text));
  if (secret.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": ", path, " is empty"));
  }
  return secret;
}

}  // namespace omnihub::auth
