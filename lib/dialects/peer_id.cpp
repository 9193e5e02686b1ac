#include "dialects/peer_id.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <vector>

namespace rendezvous::detail {
namespace {

constexpr std::string_view ec_members[] = {"kty", "crv", "x", "y"};
constexpr std::string_view okp_members[] = {"kty", "crv", "x"};
constexpr std::string_view rsa_members[] = {"kty", "n", "e"};
constexpr std::string_view ec_curves[] = {"P-256", "P-384", "P-521"};
constexpr std::string_view okp_curves[] = {"Ed25519", "X25519", "Ed448", "X448"};

// Members that only a private (or symmetric) key carries: the server would otherwise hand a
// secret to every peer of the room.
constexpr std::string_view private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

struct KeyType {
  std::string_view kty;
  const std::string_view* members;  // essential members in hashing order, kty first
  std::size_t member_count;
  const std::string_view* curves;  // accepted crv values; none when the type has no crv
  std::size_t curve_count;
};

template <std::size_t M, std::size_t C>
constexpr KeyType key_type(std::string_view kty, const std::string_view (&m)[M],
                           const std::string_view (&c)[C]) {
  return {kty, m, M, c, C};
}

template <std::size_t M>
constexpr KeyType key_type(std::string_view kty, const std::string_view (&m)[M]) {
  return {kty, m, M, nullptr, 0};
}

constexpr KeyType key_types[] = {
    key_type("EC", ec_members, ec_curves),
    key_type("OKP", okp_members, okp_curves),
    key_type("RSA", rsa_members),
};

bool base64url(std::string_view s) noexcept {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
  });
}

bool has_duplicate_names(const json::Value& obj) {
  std::vector<std::string_view> names;
  names.reserve(obj.MemberCount());
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) names.push_back(json::view(it->name));
  std::sort(names.begin(), names.end());
  return std::adjacent_find(names.begin(), names.end()) != names.end();
}

// The value of member `name` when it occurs and is a string.
std::optional<std::string_view> string_member(const json::Value& obj, std::string_view name) {
  auto it = obj.FindMember(json::Value(rapidjson::StringRef(name.data(), name.size())));
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return json::view(it->value);
}

}  // namespace

std::optional<std::string> peer_id_text(const json::Value& jwk) {
  if (!jwk.IsObject() || has_duplicate_names(jwk)) return std::nullopt;
  for (std::string_view name : private_members)
    if (jwk.HasMember(json::Value(rapidjson::StringRef(name.data(), name.size()))))
      return std::nullopt;
  auto kty = string_member(jwk, "kty");
  if (!kty) return std::nullopt;
  auto type = std::find_if(std::begin(key_types), std::end(key_types),
                           [&](const KeyType& t) { return t.kty == *kty; });
  if (type == std::end(key_types)) return std::nullopt;

  std::string text = "{";
  for (std::size_t i = 0; i < type->member_count; ++i) {
    std::string_view name = type->members[i];
    auto value = string_member(jwk, name);
    if (!value) return std::nullopt;
    if (name == "crv") {
      if (std::find(type->curves, type->curves + type->curve_count, *value) ==
          type->curves + type->curve_count)
        return std::nullopt;
    } else if (name != "kty" && !base64url(*value)) {
      return std::nullopt;
    }
    if (i) text.push_back(',');
    json::append_quoted(text, name);
    text.push_back(':');
    json::append_quoted(text, *value);
  }
  text.push_back('}');
  return text;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1)
    return {};  // only on allocation failure inside OpenSSL; no key can then match
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * size);
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 15]);
  }
  return out;
}

std::optional<std::string> peer_id(const json::Value& jwk) {
  auto text = peer_id_text(jwk);
  if (!text) return std::nullopt;
  std::string id = sha256_hex(*text);
  if (id.empty()) return std::nullopt;
  return id;
}

}  // namespace rendezvous::detail
