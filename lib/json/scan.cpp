#include "json/scan.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace rendezvous::detail::json {
namespace {

inline bool is_ws(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

inline int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Scans a string starting after its opening quote. Leaves p after the closing quote.
inline bool scan_string(const char*& p, const char* end, bool& escaped) noexcept {
  escaped = false;
  while (true) {
#if defined(__SSE2__)
    // String bodies are most of a signalling message (SDP): find the next '"', '\\' or
    // control byte sixteen bytes at a time.
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i control_max = _mm_set1_epi8(0x1F);
    while (end - p >= 16) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash));
      hit = _mm_or_si128(hit, _mm_cmpeq_epi8(_mm_max_epu8(v, control_max), control_max));
      int mask = _mm_movemask_epi8(hit);
      if (mask != 0) {
        p += __builtin_ctz(static_cast<unsigned>(mask));
        break;
      }
      p += 16;
    }
#endif
    while (p < end) {
      auto c = static_cast<unsigned char>(*p);
      if (c == '"' || c == '\\' || c < 0x20) break;
      ++p;
    }
    if (p >= end) return false;
    char c = *p;
    if (c == '"') {
      ++p;
      return true;
    }
    if (c != '\\') return false;  // raw control character
    escaped = true;
    if (++p >= end) return false;
    switch (*p) {
      case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        ++p;
        break;
      case 'u':
        if (end - p < 5) return false;
        for (int i = 1; i <= 4; ++i)
          if (hex_value(p[i]) < 0) return false;
        p += 5;
        break;
      default:
        return false;
    }
  }
}

inline bool scan_number(const char*& p, const char* end) noexcept {
  if (p < end && *p == '-') ++p;
  if (p >= end) return false;
  if (*p == '0') {
    ++p;
  } else if (*p >= '1' && *p <= '9') {
    while (p < end && is_digit(*p)) ++p;
  } else {
    return false;
  }
  if (p < end && *p == '.') {
    ++p;
    if (p >= end || !is_digit(*p)) return false;
    while (p < end && is_digit(*p)) ++p;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (p >= end || !is_digit(*p)) return false;
    while (p < end && is_digit(*p)) ++p;
  }
  return true;
}

inline bool scan_literal(const char*& p, const char* end, std::string_view word) noexcept {
  if (static_cast<std::size_t>(end - p) < word.size()) return false;
  if (std::string_view(p, word.size()) != word) return false;
  p += word.size();
  return true;
}

}  // namespace

bool Scanner::scan(std::string_view text, Kind& top, const std::string_view* keys,
                   Member* members, std::size_t key_count) {
  const char* p = text.data();
  const char* const end = p + text.size();
  stack_.clear();
  for (std::size_t i = 0; i < key_count; ++i) members[i] = Member{};
  Member* current = nullptr;  // member whose value comes next (top-level object only)
  std::string scratch;
  bool first = true;

  enum class State { value, key, after_value } state = State::value;
  while (true) {
    while (p < end && is_ws(*p)) ++p;
    switch (state) {
      case State::value: {
        if (p >= end) return false;
        Kind kind;
        const char* start = p;
        bool escaped = false;
        switch (*p) {
          case '{':
          case '[': {
            if (stack_.size() >= max_depth_) return false;
            bool object = *p == '{';
            stack_.push_back(object ? 1 : 0);
            kind = object ? Kind::object : Kind::array;
            ++p;
            while (p < end && is_ws(*p)) ++p;
            if (p < end && *p == (object ? '}' : ']')) {
              ++p;
              stack_.pop_back();
              state = State::after_value;
            } else {
              state = object ? State::key : State::value;
            }
            break;
          }
          case '"':
            ++p;
            if (!scan_string(p, end, escaped)) return false;
            kind = Kind::string;
            state = State::after_value;
            break;
          case 't':
            if (!scan_literal(p, end, "true")) return false;
            kind = Kind::boolean;
            state = State::after_value;
            break;
          case 'f':
            if (!scan_literal(p, end, "false")) return false;
            kind = Kind::boolean;
            state = State::after_value;
            break;
          case 'n':
            if (!scan_literal(p, end, "null")) return false;
            kind = Kind::null;
            state = State::after_value;
            break;
          default:
            if (!scan_number(p, end)) return false;
            kind = Kind::number;
            state = State::after_value;
            break;
        }
        if (first) {
          top = kind;
          first = false;
        }
        if (current) {
          if (current->count == 1) {
            current->kind = kind;
            current->escaped = escaped;
            if (kind == Kind::string) current->raw = std::string_view(start + 1, p - start - 2);
          }
          current = nullptr;
        }
        break;
      }
      case State::key: {
        if (p >= end || *p != '"') return false;
        const char* start = ++p;
        bool escaped;
        if (!scan_string(p, end, escaped)) return false;
        if (stack_.size() == 1 && key_count) {
          std::string_view name(start, p - start - 1);
          if (escaped) {
            if (!unescape(name, scratch)) scratch.clear();
            name = scratch;
          }
          for (std::size_t i = 0; i < key_count; ++i) {
            if (keys[i] == name) {
              current = &members[i];
              ++current->count;
              break;
            }
          }
        }
        while (p < end && is_ws(*p)) ++p;
        if (p >= end || *p != ':') return false;
        ++p;
        state = State::value;
        break;
      }
      case State::after_value: {
        if (stack_.empty()) return p == end;
        if (p >= end) return false;
        bool object = stack_.back() == 1;
        if (*p == ',') {
          ++p;
          state = object ? State::key : State::value;
        } else if (*p == (object ? '}' : ']')) {
          ++p;
          stack_.pop_back();
        } else {
          return false;
        }
        break;
      }
    }
  }
}

namespace {
void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::uint32_t hex4(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = v * 16 + static_cast<std::uint32_t>(hex_value(p[i]));
  return v;
}
}  // namespace

bool unescape(std::string_view raw, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    char e = raw[++i];
    switch (e) {
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        std::uint32_t cp = hex4(raw.data() + i + 1);
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (i + 6 >= raw.size()) return false;
          if (raw[i + 1] != '\\' || raw[i + 2] != 'u') return false;
          std::uint32_t lo = hex4(raw.data() + i + 3);
          if (lo < 0xDC00 || lo > 0xDFFF) return false;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return false;
        }
        append_utf8(out, cp);
        break;
      }
      default: out.push_back(e); break;  // '"', '\\', '/'
    }
  }
  return true;
}

bool surrogates_paired(std::string_view text) noexcept {
  for (std::size_t i = text.find('\\'); i != std::string_view::npos; i = text.find('\\', i)) {
    if (i + 1 >= text.size()) return true;
    if (text[i + 1] != 'u' || i + 5 >= text.size()) {
      i += 2;  // a two-character escape such as \\ or \"
      continue;
    }
    std::uint32_t unit = hex4(text.data() + i + 2);
    i += 6;
    if (unit >= 0xDC00 && unit <= 0xDFFF) return false;
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      if (i + 5 >= text.size() || text[i] != '\\' || text[i + 1] != 'u') return false;
      std::uint32_t low = hex4(text.data() + i + 2);
      if (low < 0xDC00 || low > 0xDFFF) return false;
      i += 6;
    }
  }
  return true;
}

void append_quoted(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out.push_back(hex[u >> 4]);
          out.push_back(hex[u & 15]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

}  // namespace rendezvous::detail::json
