#pragma once

// PROTOCOLS.md §4.3: which JWK public keys the rooms dialect accepts and how a peer id is
// derived from one. The member order, the hashed text and the hash function live only here,
// so they can be switched if the original server's exact encoding ever becomes known.

#include "json/document.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace rendezvous::detail {

/// The exact text hashed for `jwk`: its essential members in the fixed order of §4.3, written
/// as JavaScript's JSON.stringify would. nullopt when `jwk` is not a valid public JWK (§4.3:
/// object without duplicate names, known kty/crv, base64url members, no private member).
/// The size cap is the caller's, checked on the serialization it keeps.
std::optional<std::string> peer_id_text(const json::Value& jwk);

/// Lowercase hexadecimal SHA-256 of `data` (OpenSSL EVP).
std::string sha256_hex(std::string_view data);

/// The peer id of `jwk` (64 lowercase hex characters), or nullopt for an invalid key.
std::optional<std::string> peer_id(const json::Value& jwk);

}  // namespace rendezvous::detail
