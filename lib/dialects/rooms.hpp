#pragma once

// PROTOCOLS.md §4: named rooms whose peers register a JWK public key and are known by its
// fingerprint (dialects/peer_id.hpp). The server answers every message, announces arrivals
// and departures, and relays offer/answer/ice-candidate to exactly one peer of the same room.

#include "dialects/dialect.hpp"
#include "json/document.hpp"

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rendezvous::detail {

class Rooms final : public DialectHandler {
 public:
  explicit Rooms(Core& core) : DialectHandler(core), writer_(buffer_) {}

  Dialect kind() const noexcept override { return Dialect::rooms; }
  std::optional<RouteKind> match(std::string_view path) const noexcept override;
  void upgrade(Connection& conn, const HttpRequest& request, Handshake& hs) override;
  void message(Connection& conn, std::string_view data, MessageType type) override;
  void closed(Connection& conn) override;
  void gauges(std::vector<std::pair<std::string_view, double>>& out) const override;

 private:
  struct Room {
    std::size_t connections = 0;  ///< registered or not; the room goes with the last one
    std::vector<Connection*> peers;  ///< registered, oldest registration first
    std::unordered_map<std::string_view, Connection*> by_id;  ///< views into Peer::id
  };

  struct Peer final : Session {
    Room* room = nullptr;
    std::string_view room_name;  ///< the key of `room` in rooms_ (node keys never move)
    std::string id;              ///< empty until registered
    std::string key;             ///< the registered publicKey, compact JSON
    bool registered() const noexcept { return !id.empty(); }
  };

  void register_peer(Connection& conn, Peer& peer, std::string_view data);
  void relay(Connection& conn, Peer& peer, std::string_view data, const json::Member& to);
  /// Takes a registered peer out of its room and sends peer-left to the others.
  void unregister(Connection& conn, Peer& peer);
  void error(Connection& conn, std::string_view text);

  /// Starts a server message in buffer_ and returns the writer.
  json::Writer& begin();
  std::string_view written() const noexcept;
  void write_string(std::string_view s);

  std::unordered_map<std::string, Room> rooms_;
  rapidjson::StringBuffer buffer_;  // reused for every message the dialect writes
  json::Writer writer_;
  std::string relay_;    // the relayed message being built, reused
  std::string scratch_;  // decoded `type`, `to` or member name when they carry escapes
};

}  // namespace rendezvous::detail
