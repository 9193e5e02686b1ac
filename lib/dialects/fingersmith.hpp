#pragma once

// PROTOCOLS.md §2: an id-addressed relay. The server never writes a data message of its own;
// each text message goes, byte for byte, to the holders of its `to`.

#include "core/metrics.hpp"
#include "dialects/dialect.hpp"

#include <string>
#include <unordered_map>
#include <vector>

namespace rendezvous::detail {

class Fingersmith final : public DialectHandler {
 public:
  explicit Fingersmith(Core& core) : DialectHandler(core) {}

  Dialect kind() const noexcept override { return Dialect::fingersmith; }
  std::optional<RouteKind> match(std::string_view path) const noexcept override;
  void upgrade(Connection& conn, const HttpRequest& request, Handshake& hs) override;
  void message(Connection& conn, std::string_view data, MessageType type) override;
  void closed(Connection& conn) override;

 private:
  struct Peer final : Session {
    std::string finger;
  };

  void drop(DropReason reason);

  // finger -> open connections holding it (more than one only in `allow` mode).
  std::unordered_map<std::string, std::vector<Connection*>> holders_;
  std::string to_;    // decoded `to`, reused so routing does not allocate
  std::string from_;  // decoded `from` when it carries escapes
};

}  // namespace rendezvous::detail
