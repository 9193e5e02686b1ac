#include "dialects/basic_auth.hpp"

#include "core/text.hpp"

#include <openssl/crypto.h>

namespace rendezvous::detail {
namespace {

int base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

bool base64_decode_strict(std::string_view in, std::string& out) {
  if (in.size() % 4 != 0) return false;
  out.reserve(out.size() + in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    bool last = i + 4 == in.size();
    std::size_t pad = 0;
    if (last) pad = in[i + 3] != '=' ? 0 : in[i + 2] != '=' ? 1 : 2;
    unsigned v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      int d = k < 4 - pad ? base64_value(in[i + k]) : 0;
      if (d < 0) return false;
      v = (v << 6) | static_cast<unsigned>(d);
    }
    // A padded group must not carry bits that no output byte uses.
    if ((pad == 1 && (v & 0xFF) != 0) || (pad == 2 && (v & 0xFFFF) != 0)) return false;
    out.push_back(static_cast<char>(v >> 16));
    if (pad < 2) out.push_back(static_cast<char>((v >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(v & 0xFF));
  }
  return true;
}

BasicCredentials::~BasicCredentials() { wipe(); }

void BasicCredentials::wipe() noexcept {
  if (!decoded_.empty()) OPENSSL_cleanse(decoded_.data(), decoded_.size());
  decoded_.clear();
  colon_ = 0;
}

bool BasicCredentials::parse(std::string_view value) {
  wipe();
  constexpr std::string_view scheme = "basic";
  if (value.size() <= scheme.size() || !iequals(value.substr(0, scheme.size()), scheme) ||
      (value[scheme.size()] != ' ' && value[scheme.size()] != '\t'))
    return false;
  std::string_view token = value.substr(scheme.size());
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  // Decode into a buffer sized up front: growing it would leave copies of the password in
  // freed memory that nothing wipes.
  decoded_.reserve(token.size() / 4 * 3);
  if (!base64_decode_strict(token, decoded_)) {
    wipe();
    return false;
  }
  std::size_t colon = decoded_.find(':');
  if (colon == std::string::npos) {
    wipe();
    return false;
  }
  colon_ = colon;
  return true;
}

}  // namespace rendezvous::detail
