#pragma once

// HTTP Basic credentials (RFC 7617) as the mailbox dialect reads them (PROTOCOLS.md §5.2):
// scheme matched case-insensitively, strict base64, split at the first ':'.

#include <string>
#include <string_view>

namespace rendezvous::detail {

/// The decoded `user:password` of one request. The buffer is wiped when the object goes away,
/// so the clear password does not outlive the request (§1.12, §5.2).
class BasicCredentials {
 public:
  BasicCredentials() = default;
  ~BasicCredentials();
  BasicCredentials(const BasicCredentials&) = delete;
  BasicCredentials& operator=(const BasicCredentials&) = delete;

  /// Parses an `Authorization` header value. False for another scheme, invalid base64 or a
  /// decoded text without ':' (all answered 401).
  bool parse(std::string_view header_value);

  /// Views into the decoded buffer, valid while this object lives and is not parsed again.
  std::string_view user() const noexcept { return std::string_view(decoded_).substr(0, colon_); }
  std::string_view password() const noexcept {
    return std::string_view(decoded_).substr(colon_ + 1);
  }

 private:
  void wipe() noexcept;

  std::string decoded_;
  std::size_t colon_ = 0;
};

/// RFC 4648 base64 with the standard alphabet and padding, canonical form only: the length is
/// a multiple of 4, '=' only as the last one or two characters, and unused bits are zero.
/// Appends to `out`; false (with `out` partly written) on any deviation.
bool base64_decode_strict(std::string_view in, std::string& out);

}  // namespace rendezvous::detail
