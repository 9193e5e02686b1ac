#include "dialects/password_tag.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace rendezvous::detail {

PasswordTag::PasswordTag(const Salt& salt, std::string_view password) : salt_(salt) {
  compute(salt_, password, tag_);
}

void PasswordTag::compute(const Salt& salt, std::string_view password, Tag& out) {
  unsigned int length = 0;
  // A fast keyed hash on purpose: every poll checks the password (§5.2).
  if (!HMAC(EVP_sha256(), salt.data(), static_cast<int>(salt.size()),
            reinterpret_cast<const unsigned char*>(password.data()), password.size(), out.data(),
            &length) ||
      length != out.size())
    throw std::runtime_error("HMAC-SHA-256 failed");  // OpenSSL broken: nothing safe to do
}

bool PasswordTag::matches(std::string_view password) const {
  Tag candidate;
  compute(salt_, password, candidate);
  bool same = CRYPTO_memcmp(candidate.data(), tag_.data(), tag_.size()) == 0;
  OPENSSL_cleanse(candidate.data(), candidate.size());
  return same;
}

}  // namespace rendezvous::detail
