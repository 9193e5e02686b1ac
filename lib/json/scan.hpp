#pragma once

// A strict RFC 8259 validator that also reports chosen top-level members of an object. It
// copies nothing and never recurses, so it is the gate every inbound JSON text passes
// (depth limit, §1.2) and, for fingersmith, the whole parse: routing needs only `to` and
// `from` (DESIGN.md §6: a DOM per message costs about 10 000 instructions).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rendezvous::detail::json {

enum class Kind : std::uint8_t { none, string, number, object, array, boolean, null };

/// What the scanner saw of one requested top-level member.
struct Member {
  unsigned count = 0;        ///< how many times the name occurred
  Kind kind = Kind::none;    ///< kind of the first occurrence's value
  std::string_view raw;      ///< string content between the quotes (strings only), escapes kept
  bool escaped = false;      ///< raw contains backslash escapes
};

class Scanner {
 public:
  explicit Scanner(std::size_t max_depth) : max_depth_(max_depth) { stack_.reserve(64); }

  /// Validates `text` as exactly one JSON value nested at most max_depth deep (the outermost
  /// container is level 1). When the value is an object, fills members[i] for keys[i].
  /// Returns false for invalid JSON; `top` is then unspecified.
  bool scan(std::string_view text, Kind& top, const std::string_view* keys, Member* members,
            std::size_t key_count);

  bool valid(std::string_view text) {
    Kind top;
    return scan(text, top, nullptr, nullptr, 0);
  }

 private:
  std::size_t max_depth_;
  std::vector<std::uint8_t> stack_;  // 1 = object, 0 = array
};

/// Decodes the content of a JSON string (between the quotes, already validated) into UTF-8.
/// Returns false for an escape that cannot be UTF-8 (a lone surrogate).
bool unescape(std::string_view raw, std::string& out);

/// True when every \\u escape of the valid JSON text `text` that encodes a UTF-16 surrogate is
/// part of a high-low pair. RFC 8259 lets lone surrogates through its grammar, but they cannot
/// become UTF-8: dialects that decode and re-serialize (RapidJSON) must refuse them or they
/// would write text that is not UTF-8.
bool surrogates_paired(std::string_view text) noexcept;

/// Writes `s` as a JSON string literal (with quotes) to `out`, escaping '"', '\\' and every
/// byte below 0x20 (§1.2). Used where output is assembled around verbatim JSON values.
void append_quoted(std::string& out, std::string_view s);

}  // namespace rendezvous::detail::json
