#pragma once

// libFuzzer driver shared by the per-dialect targets: the fuzz input is a script of host
// events (open/upgrade, text and binary messages, HTTP requests, disconnects, pings, clock
// advances, shutdown) played into a Broker with a fake clock and a checking transport.
// Each target supplies a Profile: its paths and the message shapes of its conformance cases,
// which the script picks, splices or replaces with raw bytes. tests/fuzz/make_corpus.py writes
// the seed corpus in the same format; keep the two in step.
//
// Script format (all integers are single bytes unless said otherwise):
//   options: 2 bytes (bits select small limits, duplicate policies, origins, ...)
//   then ops, each `op` byte: kind = op % 10, remote = 127.0.0.(1 + op / 10 % 2)
//     0 upgrade   path-index, query:spec, n-headers (%4) x {name-index, value:spec}
//     1 text      conn, data:spec
//     2 binary    conn, data:spec
//     3 http      method-index, path-index, query:spec, n-headers (%4) x {...}, body:spec
//     4 disconnect conn
//     5 advance   t: t < 200 ? t*50 ms : (t-200)*10 s, firing timers like a host
//     6 traffic   conn (a ping or pong arrived)
//     7 shutdown
//     8 toggle "peers stop reading" (buffered bytes grow with every send)
//     9 render /metrics
//   spec: mode (%4) then 0: template index | 1: raw (len, bytes) |
//         2: template index, position, raw (len, bytes) spliced in |
//         3: template index, 2-byte pad length: that many 'x' inserted in the middle
//   Templates may contain @0@, @1@ ...: replaced by the latest value the server wrote after
//   Profile::captures[i] (a connection_id, a peer id), so scripts can follow server state.
//
// Oracles (a violation traps): every message the Broker writes is valid JSON; after
// Transport::close or drop of an id the Broker never names it again; once every opened id
// is disconnected the Broker holds no connection.

#include <rendezvous/rendezvous.hpp>

#include "json/scan.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

namespace rendezvous::fuzz {

struct Profile {
  std::vector<std::string> ws_paths;
  std::vector<std::string> http_paths;
  std::vector<std::string> queries;
  std::vector<std::string> messages;  ///< WebSocket texts and HTTP bodies
  std::vector<std::string> header_names;
  std::vector<std::string> header_values;
  std::vector<std::string> captures;  ///< JSON member names whose string values @i@ reuses
};

#define RENDEZVOUS_FUZZ_CHECK(cond) \
  do {                              \
    if (!(cond)) __builtin_trap();  \
  } while (0)

/// Reads the script; past its end every read yields 0 and done() is true.
class Script {
 public:
  Script(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::string raw() {
    std::size_t n = byte();
    n = std::min(n, size_ - std::min(pos_, size_));
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[byte() % v.size()];
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

class CheckingTransport final : public Transport {
 public:
  explicit CheckingTransport(const std::vector<std::string>& captures) : captures_(captures) {
    latest.resize(captures.size());
  }

  void send(ConnectionId id, std::string_view text, SendKind) override {
    alive(id);
    RENDEZVOUS_FUZZ_CHECK(json_.valid(text));
    capture(text);
    if (grow) buffered_ += text.size();
  }
  void close(ConnectionId id, std::uint16_t code, std::string_view) override {
    alive(id);
    RENDEZVOUS_FUZZ_CHECK(code >= 1000 && code < 5000);
    gone_.insert(static_cast<std::uint64_t>(id));
  }
  void respond(ConnectionId id, const HttpResponse& r) override {
    alive(id);
    RENDEZVOUS_FUZZ_CHECK(r.status >= 100 && r.status < 600);
    capture(r.body);
  }
  void ping(ConnectionId id) override { alive(id); }
  void drop(ConnectionId id) override {
    alive(id);
    gone_.insert(static_cast<std::uint64_t>(id));
  }
  std::size_t buffered_bytes(ConnectionId) const override { return buffered_; }

  bool grow = false;
  std::vector<std::string> latest;  ///< latest captured value per Profile::captures

 private:
  void alive(ConnectionId id) const {
    RENDEZVOUS_FUZZ_CHECK(gone_.count(static_cast<std::uint64_t>(id)) == 0);
  }
  void capture(std::string_view text) {
    for (std::size_t i = 0; i < captures_.size(); ++i) {
      std::string key = "\"" + captures_[i] + "\":\"";
      auto at = text.find(key);
      if (at == std::string_view::npos) continue;
      auto start = at + key.size();
      auto end = text.find('"', start);
      if (end != std::string_view::npos) latest[i].assign(text.substr(start, end - start));
    }
  }

  const std::vector<std::string>& captures_;
  detail::json::Scanner json_{1u << 20};  // the nesting limit applies to input, not to this check
  std::unordered_set<std::uint64_t> gone_;
  std::size_t buffered_ = 0;
};

inline Options options_from(std::uint8_t a, std::uint8_t b, TimePoint* now) {
  Options o;
  o.clock = [now] { return *now; };
  if (a & 0x01) o.rate_limit = {10, 5};
  if (a & 0x02) o.rate_limit.messages_per_second = 0;
  if (a & 0x04) o.max_outbound_bytes = 4096;
  o.fingersmith.duplicate_ids = static_cast<DuplicatePolicy>((a >> 3) % 3);
  o.rooms.duplicate_ids = (a & 0x20) ? DuplicatePolicy::replace : DuplicatePolicy::reject;
  if (a & 0x40) o.fingersmith.verify_from = false;
  if (a & 0x80) o.allowed_origins = {"https://a.example", "null"};
  if (b & 0x01) o.cuttlefish.client_first = true;
  if (b & 0x02) o.mailbox.long_polling = false;
  if (b & 0x04) o.mailbox.cors = true;
  if (b & 0x08) o.mailbox.empty_status = 204;
  if (b & 0x10) {
    o.max_connections = 6;
    o.max_connections_per_address = 4;
    o.cuttlefish.max_polled_connections = 2;
    o.mailbox.max_inboxes = 2;
    o.rooms.max_peers = 2;
  }
  if (b & 0x20) {
    o.max_message_bytes = 512;
    o.max_json_depth = 4;
    o.cuttlefish.poll_queue_max = 2;
    o.mailbox.inbox_capacity = 2;
    o.rooms.max_public_key_bytes = 128;
  }
  if (b & 0x40) o.cuttlefish.ice_servers = {IceServer{{"stun:stun.example:3478"}, "u", "p"}};
  if (b & 0x80) o.max_request_head_bytes = 64;
  return o;
}

/// Plays one script. Strings handed to the Broker are kept alive until the end.
inline int run(const Profile& profile, const std::uint8_t* data, std::size_t size) {
  Script in(data, size);
  TimePoint now = TimePoint{} + std::chrono::hours(1);
  std::uint8_t a = in.byte(), b = in.byte();
  CheckingTransport transport(profile.captures);
  Broker broker(transport, options_from(a, b, &now));
  std::vector<ConnectionId> conns;            // every id opened, in order
  std::vector<std::unique_ptr<std::string>> keep;  // backing store of request views

  auto text_of = [&](const std::vector<std::string>& templates) -> std::string {
    std::uint8_t mode = in.byte() % 4;
    if (mode == 1) return in.raw();
    std::string t = in.pick(templates);
    for (std::size_t i = 0; i < transport.latest.size(); ++i) {
      std::string mark = "@" + std::to_string(i) + "@";
      for (auto at = t.find(mark); at != std::string::npos; at = t.find(mark))
        t.replace(at, mark.size(), transport.latest[i]);
    }
    if (mode == 2) {
      std::size_t at = t.empty() ? 0 : in.byte() % (t.size() + 1);
      t.insert(at, in.raw());
    } else if (mode == 3) {
      std::size_t pad = (std::size_t{in.byte()} << 8) | in.byte();
      t.insert(t.size() / 2, pad * 2, 'x');  // up to 128 KiB: past every message limit
    }
    return t;
  };
  auto keep_str = [&](std::string s) -> std::string_view {
    keep.push_back(std::make_unique<std::string>(std::move(s)));
    return *keep.back();
  };
  auto request = [&](std::string_view method, const std::string& path) {
    HttpRequest r;
    r.method = method;
    std::string target = path + text_of(profile.queries);
    r.target = keep_str(std::move(target));
    std::size_t head = r.method.size() + r.target.size() + 14;
    for (int n = in.byte() % 4; n > 0; --n) {
      std::string_view name = in.pick(profile.header_names);
      std::string_view value = keep_str(text_of(profile.header_values));
      r.headers.push_back({name, value});
      head += name.size() + value.size() + 4;
    }
    r.head_bytes = head + 2;
    return r;
  };
  auto conn = [&]() -> ConnectionId {
    return conns.empty() ? ConnectionId{0} : conns[in.byte() % conns.size()];
  };
  auto run_until = [&](TimePoint end) {
    for (int guard = 0; guard < 100000; ++guard) {
      auto next = broker.next_deadline();
      if (!next || *next > end) break;
      if (*next > now) now = *next;
      broker.on_timer();
    }
    now = end;
    broker.on_timer();
  };
  static const std::vector<std::string> methods = {"GET", "POST", "OPTIONS", "HEAD",
                                                   "PUT", "DELETE", "get", ""};

  while (!in.done() && conns.size() < 256) {
    std::uint8_t op = in.byte();
    std::string remote = (op / 10) % 2 ? "127.0.0.2" : "127.0.0.1";
    switch (op % 10) {
      case 0: {
        ConnectionId id = broker.open(remote);
        conns.push_back(id);
        HttpRequest r = request("GET", in.pick(profile.ws_paths));
        broker.connect(id, r);
        break;
      }
      case 1: {
        ConnectionId id = conn();
        broker.route(id, keep_str(text_of(profile.messages)), MessageType::text);
        break;
      }
      case 2: {
        ConnectionId id = conn();
        broker.route(id, keep_str(text_of(profile.messages)), MessageType::binary);
        break;
      }
      case 3: {
        ConnectionId id = broker.open(remote);
        conns.push_back(id);
        std::string_view method = in.pick(methods);
        HttpRequest r = request(method, in.pick(profile.http_paths));
        r.body = keep_str(text_of(profile.messages));
        broker.handle_http(id, r);
        break;
      }
      case 4:
        broker.disconnect(conn());
        break;
      case 5: {
        std::uint8_t t = in.byte();
        run_until(now + (t < 200 ? std::chrono::milliseconds(50) * t
                                 : std::chrono::milliseconds(10000) * (t - 200)));
        break;
      }
      case 6:
        broker.traffic(conn());
        break;
      case 7:
        broker.shutdown();
        break;
      case 8:
        transport.grow = !transport.grow;
        break;
      case 9:
        RENDEZVOUS_FUZZ_CHECK(!broker.metrics_text().empty());
        break;
    }
  }
  // Let every timer run out, then report every connection gone: nothing may be left.
  run_until(now + std::chrono::seconds(120));
  for (ConnectionId id : conns) broker.disconnect(id);
  RENDEZVOUS_FUZZ_CHECK(broker.connection_count() == 0);
  broker.shutdown();
  run_until(now + std::chrono::seconds(10));
  RENDEZVOUS_FUZZ_CHECK(broker.finished());
  return 0;
}

}  // namespace rendezvous::fuzz
