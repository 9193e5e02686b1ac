#include "dialects/rooms.hpp"

#include "core/core.hpp"
#include "core/text.hpp"
#include "dialects/peer_id.hpp"

#include <algorithm>

namespace rendezvous::detail {
namespace {

constexpr std::string_view room_prefix = "/room/";
constexpr std::string_view room_suffix = "/websocket";

// The raw room segment of a `/room/{name}/websocket` path, or nullopt when the path has
// another shape or the name could only decode to something §4.1 answers 404 for (empty, or
// containing '/'). Decoding itself happens in upgrade(), where a bad escape is a 400.
std::optional<std::string_view> room_segment(std::string_view path) noexcept {
  if (path.size() <= room_prefix.size() + room_suffix.size() ||
      path.substr(0, room_prefix.size()) != room_prefix ||
      path.substr(path.size() - room_suffix.size()) != room_suffix)
    return std::nullopt;
  std::string_view segment =
      path.substr(room_prefix.size(), path.size() - room_prefix.size() - room_suffix.size());
  for (std::size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] == '/') return std::nullopt;
    if (segment[i] == '%' && i + 2 < segment.size() && segment[i + 1] == '2' &&
        (segment[i + 2] == 'f' || segment[i + 2] == 'F'))
      return std::nullopt;
  }
  return segment;
}

// The relay (§4.5) splices the sender's members into the output as they were received: the
// Scanner has validated the text, so each member is a well-formed `"name":value` and passes
// on as the same JSON value (§1.2), escapes and number spelling included. Decoding and
// re-encoding every string through a DOM cost about four times the rest of the relay.
// The helpers below walk that validated text only; they rely on its well-formedness.

bool blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t skip_blank(std::string_view s, std::size_t i) noexcept {
  while (blank(s[i])) ++i;
  return i;
}

// From an opening quote to just past the closing one: the first quote not escaped by an odd
// run of backslashes. find() is memchr; a byte-by-byte loop here cost most of the relay.
std::size_t skip_string(std::string_view s, std::size_t i) noexcept {
  while (true) {
    i = s.find('"', i + 1);
    std::size_t backslashes = 0;
    while (s[i - 1 - backslashes] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return i + 1;
  }
}

// From the first character of a member value to just past it (a scalar may keep trailing
// blanks, which JSON allows).
std::size_t skip_value(std::string_view s, std::size_t i) noexcept {
  std::size_t depth = 0;
  while (true) {
    char c = s[i];
    if (c == '"') {
      i = skip_string(s, i);
      if (depth == 0) return i;
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return i;
      if (--depth == 0) return i + 1;
    } else if (c == ',' && depth == 0) {
      return i;
    }
    ++i;
  }
}

}  // namespace

std::optional<RouteKind> Rooms::match(std::string_view path) const noexcept {
  if (room_segment(path)) return RouteKind::websocket;
  return std::nullopt;
}

void Rooms::upgrade(Connection& conn, const HttpRequest& request, Handshake& hs) {
  std::string name;
  auto segment = room_segment(request.path());
  if (!segment || percent_decode(*segment, false, name) != DecodeStatus::ok ||
      !valid_identifier(name)) {
    hs.response = refusal(400, "invalid room name\n");
    return;
  }
  auto it = rooms_.try_emplace(std::move(name)).first;
  ++it->second.connections;
  auto peer = std::make_unique<Peer>();
  peer->room = &it->second;
  peer->room_name = it->first;
  conn.session = std::move(peer);
}

void Rooms::closed(Connection& conn) {
  if (!conn.session) return;
  Peer& peer = conn.session_as<Peer>();
  if (peer.registered()) unregister(conn, peer);
  if (--peer.room->connections == 0) rooms_.erase(std::string(peer.room_name));
  conn.session.reset();
}

void Rooms::gauges(std::vector<std::pair<std::string_view, double>>& out) const {
  out.emplace_back("rendezvous_rooms", static_cast<double>(rooms_.size()));
}

json::Writer& Rooms::begin() {
  buffer_.Clear();
  writer_.Reset(buffer_);
  return writer_;
}

std::string_view Rooms::written() const noexcept {
  return std::string_view(buffer_.GetString(), buffer_.GetSize());
}

void Rooms::write_string(std::string_view s) {
  writer_.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void Rooms::error(Connection& conn, std::string_view text) {
  json::Writer& w = begin();
  w.StartObject();
  w.Key("type");
  w.String("error");
  w.Key("message");
  write_string(text);
  w.EndObject();
  core_.send(conn, written());
}

void Rooms::message(Connection& conn, std::string_view data, MessageType type) {
  Peer& peer = conn.session_as<Peer>();
  if (type == MessageType::binary) {
    error(conn, "Binary frames not supported");
    core_.close(conn, 1003, "binary message");
    return;
  }
  static constexpr std::string_view keys[] = {"type", "to"};
  json::Member members[2];
  json::Kind top;
  if (!core_.scanner().scan(data, top, keys, members, 2)) return error(conn, "Invalid JSON");
  const json::Member& t = members[0];
  // A second `type` is refused: a browser's JSON.parse keeps the last one, so a relayed
  // offer could otherwise pose as a server message (peer-left, welcome) at the receiver.
  if (top != json::Kind::object || t.count != 1 || t.kind != json::Kind::string)
    return error(conn, "Invalid message format");
  std::string_view name = t.raw;
  if (t.escaped) {
    if (!json::unescape(t.raw, scratch_)) return error(conn, "Unknown message type");
    name = scratch_;
  }
  if (name == "register") return register_peer(conn, peer, data);
  if (name == "offer" || name == "answer" || name == "ice-candidate")
    return relay(conn, peer, data, members[1]);
  error(conn, "Unknown message type");
}

void Rooms::register_peer(Connection& conn, Peer& peer, std::string_view data) {
  json::Document doc;
  if (!json::parse(core_.scanner(), data, doc)) return error(conn, "Invalid JSON");
  if (peer.registered()) return error(conn, "Already registered");

  const auto& options = core_.options().rooms;
  auto found = doc.FindMember("publicKey");
  if (found == doc.MemberEnd() || json::count_members(doc, "publicKey") != 1)
    return error(conn, "Invalid public key");
  std::string key = json::to_string(found->value);
  // The key goes to every peer of the room as written here, so it must be UTF-8 (§1.8).
  if (key.size() > options.max_public_key_bytes || !valid_utf8(key))
    return error(conn, "Invalid public key");
  auto id = peer_id(found->value);
  if (!id) return error(conn, "Invalid public key");

  Room& room = *peer.room;
  if (auto dup = room.by_id.find(*id); dup != room.by_id.end()) {
    if (options.duplicate_ids != DuplicatePolicy::replace)
      return error(conn, "Peer ID already in room");
    Connection& old = *dup->second;
    unregister(old, old.session_as<Peer>());
    core_.close(old, 4000, "replaced");
  }
  if (room.peers.size() >= options.max_peers) {
    error(conn, "Room is full");
    core_.close(conn, 1008, "room full");
    return;
  }

  peer.id = std::move(*id);
  peer.key = std::move(key);

  json::Writer& w = begin();
  w.StartObject();
  w.Key("type");
  w.String("welcome");
  w.Key("peerId");
  write_string(peer.id);
  w.Key("peers");
  w.StartArray();
  for (Connection* other : room.peers) {
    const Peer& p = other->session_as<Peer>();
    w.StartObject();
    w.Key("id");
    write_string(p.id);
    w.Key("publicKey");
    w.RawValue(p.key.data(), p.key.size(), rapidjson::kObjectType);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  core_.send(conn, written());

  room.peers.push_back(&conn);
  room.by_id.emplace(peer.id, &conn);

  begin();
  w.StartObject();
  w.Key("type");
  w.String("peer-joined");
  w.Key("peerId");
  write_string(peer.id);
  w.Key("publicKey");
  w.RawValue(peer.key.data(), peer.key.size(), rapidjson::kObjectType);
  w.EndObject();
  for (Connection* other : room.peers)
    if (other != &conn) core_.send(*other, written());
}

void Rooms::relay(Connection& conn, Peer& peer, std::string_view data, const json::Member& to) {
  if (!peer.registered()) return error(conn, "Not registered");
  if (to.count != 1 || to.kind != json::Kind::string) return error(conn, "Missing or invalid to");
  std::string_view target_id = to.raw;
  if (to.escaped) {
    if (!json::unescape(to.raw, scratch_)) scratch_.clear();  // a lone surrogate names nobody
    target_id = scratch_;
  }
  if (target_id == peer.id) return error(conn, "Cannot send to self");
  Room& room = *peer.room;
  auto target = room.by_id.find(target_id);
  if (target == room.by_id.end()) {
    std::string text = "Peer not found: ";
    text.append(target_id);
    return error(conn, text);
  }

  // Every member but `to` and `from`, then our own `from` (§4.5).
  relay_.assign(1, '{');
  std::size_t i = skip_blank(data, 0) + 1;
  while (true) {
    i = skip_blank(data, i);
    if (data[i] == '}') break;
    if (data[i] == ',') {
      ++i;
      continue;
    }
    std::size_t member = i;
    i = skip_string(data, i);
    std::string_view name = data.substr(member + 1, i - member - 2);
    if (name.find('\\') != std::string_view::npos)
      name = json::unescape(name, scratch_) ? std::string_view(scratch_) : std::string_view();
    bool dropped = name == "to" || name == "from";
    i = skip_value(data, skip_blank(data, skip_blank(data, i) + 1));
    if (dropped) continue;
    if (relay_.size() > 1) relay_.push_back(',');
    relay_.append(data, member, i - member);
  }
  if (relay_.size() > 1) relay_.push_back(',');
  relay_.append("\"from\":");
  json::append_quoted(relay_, peer.id);
  relay_.push_back('}');
  core_.send(*target->second, relay_, SendKind::own, true);
}

void Rooms::unregister(Connection& conn, Peer& peer) {
  Room& room = *peer.room;
  room.by_id.erase(peer.id);
  room.peers.erase(std::remove(room.peers.begin(), room.peers.end(), &conn), room.peers.end());
  json::Writer& w = begin();
  w.StartObject();
  w.Key("type");
  w.String("peer-left");
  w.Key("peerId");
  write_string(peer.id);
  w.EndObject();
  for (Connection* other : room.peers) core_.send(*other, written());
  peer.id.clear();
  peer.key.clear();
}

}  // namespace rendezvous::detail
