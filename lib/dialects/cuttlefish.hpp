#pragma once

// PROTOCOLS.md §3: the Android Cuttlefish operator. Devices register over /register_device,
// browsers reach them over /connect_client or by HTTP polling; the server relays opaque
// payloads and numbers each device's clients 1, 2, ... (never reused, never wrapping).

#include "dialects/cuttlefish_polled.hpp"
#include "dialects/dialect.hpp"
#include "json/document.hpp"

#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <unordered_map>

namespace rendezvous::detail {

class Cuttlefish final : public DialectHandler {
 public:
  /// Throws std::invalid_argument for an ice_servers entry without a URL (§3.4).
  explicit Cuttlefish(Core& core);

  Dialect kind() const noexcept override { return Dialect::cuttlefish; }
  std::optional<RouteKind> match(std::string_view path) const noexcept override;
  void upgrade(Connection& conn, const HttpRequest& request, Handshake& hs) override;
  void message(Connection& conn, std::string_view data, MessageType type) override;
  void closed(Connection& conn) override;
  void http(Connection& conn, const HttpRequest& request) override;
  HttpResponse refusal(int status, std::string_view text) const override;
  void on_timer(TimePoint now) override;
  std::optional<TimePoint> next_deadline() const override;
  void gauges(std::vector<std::pair<std::string_view, double>>& out) const override;

 private:
  struct Peer : Session {
    explicit Peer(bool is_device) : device(is_device) {}
    const bool device;  ///< /register_device (else /connect_client)
  };

  /// One of a device's clients: a WebSocket client or a polled connection.
  struct Client {
    Connection* ws = nullptr;
    PolledConnection* polled = nullptr;
  };

  struct DeviceSession final : Peer {
    explicit DeviceSession(Connection& c) : Peer(true), conn(c) {}
    Connection& conn;
    bool registered = false;
    std::string id;
    std::string info = "null";  ///< device_info, serialized compactly
    std::int32_t last_client_id = 0;                   ///< highest id issued (§3.7)
    std::unordered_map<std::int32_t, Client> clients;  ///< clients still there
  };

  struct ClientSession final : Peer {
    enum class State : std::uint8_t { idle, waiting, attached, detached };
    ClientSession() : Peer(false) {}
    State state = State::idle;
    DeviceSession* device = nullptr;  ///< attached only
    std::int32_t client_id = 0;
    // waiting only (§3.8)
    std::string waiting_for;
    TimePoint wait_deadline{};
    std::list<Connection*>::iterator in_wait_order;
    std::list<Connection*>::iterator in_waiters;
  };

  // WebSocket messages.
  void device_message(Connection& conn, std::string_view type, const json::Value& msg);
  void client_message(Connection& conn, std::string_view type, const json::Value& msg);
  void register_device(DeviceSession& d, const json::Value& msg);
  void device_forward(DeviceSession& d, const json::Value& msg);
  void connect_client(Connection& conn, ClientSession& c, const json::Value& msg);
  void client_forward(Connection& conn, ClientSession& c, const json::Value& msg);
  void device_left(DeviceSession& d);

  // Registry operations.
  DeviceSession* registered(std::string_view id) const;
  /// The device's next client id, or 0 once 2147483647 has been issued (§3.7).
  std::int32_t next_client_id(DeviceSession& d) const;
  /// Attaches a WebSocket client with the device's next id and sends device_info; false
  /// when the device has no id left.
  bool attach(Connection& conn, ClientSession& c, DeviceSession& d);
  void stop_waiting(ClientSession& c);

  // HTTP polling.
  void poll_connect(Connection& conn, const json::Value& body);
  void poll_forward(Connection& conn, PolledConnection* pc, const json::Value& body);
  void poll_messages(Connection& conn, PolledConnection* pc);
  void answer(Connection& conn, int status, std::string_view body = {});
  void answer_error(Connection& conn, int status, std::string_view text);
  /// 200 with the queued payloads of `pc` as a JSON array; empties the queue, renews `pc`.
  void answer_queue(Connection& conn, PolledConnection& pc);

  // Output; every text is built by writer_.
  json::Writer& start();
  std::string_view finish() const;
  void send_error(Connection& to, std::string_view text);
  /// The error message, then close 1000 (1003 after a binary message).
  void fail(Connection& conn, std::string_view text, std::uint16_t code = 1000);
  void send_client_msg(DeviceSession& d, std::int32_t client_id, const json::Value& payload);
  void send_client_disconnected(DeviceSession& d, std::int32_t client_id);
  void send_device_info(Connection& to, const DeviceSession& d);

  std::string config_;  // the config message (§3.4), built once
  std::map<std::string, DeviceSession*, std::less<>> devices_;  // byte order, for GET /devices
  PolledConnections polled_;
  std::unordered_map<std::string, std::list<Connection*>> waiters_;  // client-first, per id
  std::list<Connection*> wait_order_;                                // all waiters, by deadline

  // Scratch space reused across messages so that parsing small messages does not allocate.
  char parse_buffer_[8192];
  rapidjson::MemoryPoolAllocator<> pool_{parse_buffer_, sizeof parse_buffer_};
  rapidjson::StringBuffer out_;
  json::Writer writer_{out_};
  std::string text_;
};

}  // namespace rendezvous::detail
