#pragma once

// How the mailbox keeps an inbox password (PROTOCOLS.md §5.2): a 16-byte random salt and
// HMAC-SHA-256(key = salt, message = password). The clear password is never kept.

#include <array>
#include <cstdint>
#include <string_view>

namespace rendezvous::detail {

class PasswordTag {
 public:
  static constexpr std::size_t salt_bytes = 16;
  static constexpr std::size_t tag_bytes = 32;
  using Salt = std::array<std::uint8_t, salt_bytes>;
  using Tag = std::array<std::uint8_t, tag_bytes>;

  PasswordTag() = default;
  /// `salt` must come from a CSPRNG (§1.12).
  PasswordTag(const Salt& salt, std::string_view password);

  /// Recomputes the tag for `password` and compares all 32 bytes in constant time.
  bool matches(std::string_view password) const;

  const Salt& salt() const noexcept { return salt_; }
  const Tag& tag() const noexcept { return tag_; }

 private:
  static void compute(const Salt& salt, std::string_view password, Tag& out);

  Salt salt_{};
  Tag tag_{};
};

}  // namespace rendezvous::detail
