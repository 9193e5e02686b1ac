#pragma once

// Byte-level text rules shared by every dialect: UTF-8 validation (§1.8), identifier
// validity (§1.3), ASCII case-insensitive comparison, percent and form decoding (§2.2, §4.1,
// §5.4). Pure functions, no allocation beyond the output strings they are given.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace rendezvous::detail {

/// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) noexcept;

/// §1.3: valid UTF-8, 1 to 256 bytes, no C0/C1 control character and no U+007F.
bool valid_identifier(std::string_view s) noexcept;

bool iequals(std::string_view a, std::string_view b) noexcept;

enum class DecodeStatus { ok, malformed };

/// Decodes %HH escapes once; with `plus_is_space` (application/x-www-form-urlencoded) '+'
/// becomes a space. Returns malformed for a '%' not followed by two hex digits.
DecodeStatus percent_decode(std::string_view in, bool plus_is_space, std::string& out);

/// Result of looking up one parameter in a form-encoded query string.
struct QueryParam {
  DecodeStatus status = DecodeStatus::ok;  ///< malformed if any escape in the query is bad
  bool present = false;
  std::string value;  ///< decoded value of the first occurrence
};

/// Finds the first `name` parameter of `query` (names are decoded before comparison). Every
/// pair is checked for malformed escapes, as §2.2 refuses a bad escape anywhere in the query.
QueryParam query_param(std::string_view query, std::string_view name);

/// True when every %-escape in `query` is well formed.
bool query_well_formed(std::string_view query) noexcept;

}  // namespace rendezvous::detail
