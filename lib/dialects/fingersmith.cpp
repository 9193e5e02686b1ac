#include "dialects/fingersmith.hpp"

#include "core/core.hpp"
#include "core/text.hpp"

#include <algorithm>

namespace rendezvous::detail {

std::optional<RouteKind> Fingersmith::match(std::string_view path) const noexcept {
  if (path == "/websocket/" || path == "/websocket") return RouteKind::websocket;
  return std::nullopt;
}

void Fingersmith::upgrade(Connection& conn, const HttpRequest& request, Handshake& hs) {
  QueryParam finger = query_param(request.query(), "finger");
  if (finger.status != DecodeStatus::ok || !finger.present || !valid_identifier(finger.value)) {
    hs.response = refusal(400, "missing or invalid finger\n");
    return;
  }
  auto& holders = holders_[finger.value];
  if (!holders.empty()) {
    switch (core_.options().fingersmith.duplicate_ids) {
      case DuplicatePolicy::reject:
        hs.response = refusal(409, "finger already connected\n");
        return;
      case DuplicatePolicy::replace: {
        // From this moment messages for the id go to the newcomer only (§2.7).
        std::vector<Connection*> old;
        old.swap(holders);
        for (Connection* c : old) core_.close(*c, 4000, "replaced");
        break;
      }
      case DuplicatePolicy::allow:
        break;
    }
  }
  holders.push_back(&conn);
  auto peer = std::make_unique<Peer>();
  peer->finger = std::move(finger.value);
  conn.session = std::move(peer);
}

void Fingersmith::closed(Connection& conn) {
  if (!conn.session) return;
  auto it = holders_.find(conn.session_as<Peer>().finger);
  if (it == holders_.end()) return;
  auto& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), &conn), v.end());
  if (v.empty()) holders_.erase(it);
}

void Fingersmith::drop(DropReason reason) { core_.metrics().dropped(Dialect::fingersmith, reason); }

void Fingersmith::message(Connection& conn, std::string_view data, MessageType type) {
  if (type == MessageType::binary) return drop(DropReason::binary);

  static constexpr std::string_view keys[] = {"to", "from"};
  json::Member members[2];
  json::Kind top;
  if (!core_.scanner().scan(data, top, keys, members, 2)) return drop(DropReason::invalid_json);
  if (top != json::Kind::object) return drop(DropReason::missing_to);
  const json::Member& to = members[0];
  const json::Member& from = members[1];
  if (to.count > 1 || from.count > 1) return drop(DropReason::ambiguous);
  if (to.count == 0 || to.kind != json::Kind::string) return drop(DropReason::missing_to);

  if (core_.options().fingersmith.verify_from) {
    if (from.count == 0 || from.kind != json::Kind::string) return drop(DropReason::from_mismatch);
    std::string_view sender = from.raw;
    if (from.escaped) {
      if (!json::unescape(from.raw, from_)) return drop(DropReason::from_mismatch);
      sender = from_;
    }
    if (sender != conn.session_as<Peer>().finger) return drop(DropReason::from_mismatch);
  }

  if (to.escaped) {
    if (!json::unescape(to.raw, to_)) return drop(DropReason::unknown_to);
  } else {
    to_.assign(to.raw);
  }
  auto it = holders_.find(to_);
  if (it == holders_.end() || it->second.empty()) return drop(DropReason::unknown_to);
  for (Connection* target : it->second) core_.send(*target, data, SendKind::relay, true);
}

}  // namespace rendezvous::detail
