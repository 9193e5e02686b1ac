#pragma once

// The websocketpp binding of rendezvous::Broker: one listening port, all dialects, one I/O
// thread. This is the piece an embedder lifts into their own server: it turns websocketpp's
// handlers into Broker entry points and implements rendezvous::Transport on top of
// websocketpp connections. Everything runs on the io_context's single thread.

#include "ws_close_reasons.hpp"
#include "ws_config.hpp"

#include <rendezvous/rendezvous.hpp>

#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <sys/socket.h>

namespace rendezvous::server {

/// Paths to a PEM certificate chain and private key; both set enables TLS.
struct TlsFiles {
  std::string certificate;
  std::string private_key;
};

template <typename Config>
class WsAdapter final : public Transport {
 public:
  using Server = websocketpp::server<Config>;
  using ConnPtr = typename Server::connection_ptr;
  using MessagePtr = typename Server::message_ptr;

  /// `io` must outlive the adapter and be run by one thread. `tls` only for TlsConfig.
  WsAdapter(asio::io_context& io, Options options, TlsFiles tls = {})
      : io_(io), timer_(io), broker_(*this, std::move(options)), tls_(std::move(tls)) {
    server_.init_asio(&io_);
    server_.set_user_agent("");  // §6: no Server header
    server_.set_reuse_addr(true);
    server_.set_listen_backlog(4096);
    const Options& o = broker_.options();
    server_.set_open_handshake_timeout(o.handshake_timeout.count());
    server_.set_close_handshake_timeout(5000);
    // Bodies a little over the dialect limit reach the Broker, which answers 413 in each
    // dialect's own order of checks; websocketpp refuses anything larger by itself.
    std::size_t largest = std::max({o.message_limit(Dialect::fingersmith),
                                    o.message_limit(Dialect::cuttlefish),
                                    o.message_limit(Dialect::rooms),
                                    o.message_limit(Dialect::mailbox)});
    server_.set_max_http_body_size(2 * largest + 1);
    server_.set_max_message_size(largest);

    using websocketpp::lib::placeholders::_1;
    using websocketpp::lib::placeholders::_2;
    server_.set_tcp_post_init_handler([this](auto hdl) { on_tcp_init(hdl); });
    server_.set_validate_handler([this](auto hdl) { return on_validate(hdl); });
    server_.set_open_handler([this](auto hdl) { on_open(hdl); });
    server_.set_message_handler([this](auto hdl, MessagePtr msg) { on_message(hdl, msg); });
    server_.set_http_handler([this](auto hdl) { on_http(hdl); });
    server_.set_ping_handler([this](auto hdl, std::string) {
      touch(hdl);
      return true;  // websocketpp answers with a Pong carrying the same payload
    });
    server_.set_pong_handler([this](auto hdl, std::string) { touch(hdl); });
    if constexpr (std::is_same_v<Config, TlsConfig>) {
      // Loaded once, here: a bad certificate fails at startup, not on every connection.
      tls_context_ = make_tls_context();
      server_.set_tls_init_handler([this](auto) { return tls_context_; });
    }
  }

  ~WsAdapter() override = default;

  /// Binds and starts accepting. Returns the bound endpoint (port 0 picks a free port).
  asio::ip::tcp::endpoint listen(const asio::ip::tcp::endpoint& endpoint) {
    server_.listen(endpoint);
    server_.start_accept();
    asio::error_code ec;
    return server_.get_local_endpoint(ec);
  }

  /// Graceful shutdown (§1.11): stop accepting, let the Broker close everything, then stop
  /// the io_context once every connection is gone or shutdown_grace (+0.5 s) has passed.
  void shutdown(std::function<void()> done) {
    if (stopping_) return;
    stopping_ = true;
    done_ = std::move(done);
    asio::error_code ec;
    server_.stop_listening(ec);
    broker_.shutdown();
    hard_deadline_ = Clock::now() + broker_.options().shutdown_grace + std::chrono::milliseconds(500);
    arm_timer();
  }

  Broker& broker() noexcept { return broker_; }

  // ---- rendezvous::Transport --------------------------------------------------------------
  void send(ConnectionId id, std::string_view text, SendKind kind) override {
    Entry* e = entry(id);
    if (!e) return;
    if (!e->open) {
      e->pending.emplace_back(text);
      return;
    }
    if (kind == SendKind::relay && routing_ && text.data() == routing_->get_payload().data() &&
        text.size() == routing_->get_payload().size()) {
      // Forward the received buffer itself: framed once, shared by every recipient, written
      // with writev. websocketpp would otherwise copy and re-validate the payload per send.
      if (!routing_->get_prepared()) {
        routing_->set_header(frame_header(text.size()));
        routing_->set_prepared(true);
      }
      e->con->send(routing_);
      return;
    }
    e->con->send(text.data(), text.size(), websocketpp::frame::opcode::text);
  }

  void close(ConnectionId id, std::uint16_t code, std::string_view reason) override {
    Entry* e = entry(id);
    if (!e) return;
    if (!e->open) {
      e->close_code = code;
      e->close_reason.assign(reason);
      return;
    }
    websocketpp::lib::error_code ec;
    e->con->close(code, std::string(reason), ec);
  }

  void respond(ConnectionId id, const HttpResponse& r) override {
    Entry* e = entry(id);
    if (!e) return;
    ConnPtr con = e->con;
    con->set_status(static_cast<websocketpp::http::status_code::value>(r.status));
    for (const auto& [name, value] : r.headers) con->append_header(name, value);
    con->set_body(r.body);
    // websocketpp drops Content-Length for an empty body; §5.3 wants it on an empty message.
    if (r.body.empty() && r.status >= 200 && r.status != 204 && r.status != 304)
      con->replace_header("Content-Length", "0");
    if (r.close_connection) con->replace_header("Connection", "close");
    if (e->deferred) {
      websocketpp::lib::error_code ec;
      con->send_http_response(ec);
    }
    e->responded = true;
  }

  void ping(ConnectionId id) override {
    Entry* e = entry(id);
    if (!e || !e->open) return;
    websocketpp::lib::error_code ec;
    e->con->ping("", ec);
  }

  void drop(ConnectionId id) override {
    Entry* e = entry(id);
    if (!e) return;
    asio::error_code ec;
    e->con->get_raw_socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  }

  std::size_t buffered_bytes(ConnectionId id) const override {
    auto it = conns_.find(static_cast<std::uint64_t>(id));
    if (it == conns_.end() || !it->second.open) return 0;
    return it->second.con->get_buffered_amount();
  }

 private:
  struct Entry {
    ConnPtr con;
    bool open = false;       // WebSocket handshake completed: sends go straight out
    bool deferred = false;   // HTTP response deferred (long poll)
    bool responded = false;
    std::vector<std::string> pending;  // Broker sends before the handshake completed
    std::uint16_t close_code = 0;      // a close the Broker asked for before open
    std::string close_reason;
  };

  Entry* entry(ConnectionId id) {
    auto it = conns_.find(static_cast<std::uint64_t>(id));
    return it == conns_.end() ? nullptr : &it->second;
  }

  static ConnectionId id_of(const ConnPtr& con) { return ConnectionId{con->rdv_id}; }

  std::shared_ptr<asio::ssl::context> make_tls_context() {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    ctx->use_certificate_chain_file(tls_.certificate);
    ctx->use_private_key_file(tls_.private_key, asio::ssl::context::pem);
    return ctx;
  }

  void on_tcp_init(websocketpp::connection_hdl hdl) {
    ConnPtr con = server_.get_con_from_hdl(hdl);
    asio::error_code ec;
    auto ep = con->get_raw_socket().remote_endpoint(ec);
    std::string address = ec ? std::string("unknown") : ep.address().to_string();
    if (ep.address().is_v6() && ep.address().to_v6().is_v4_mapped())
      address = ep.address().to_v6().to_v4().to_string();
    ConnectionId id = broker_.open(address);
    con->rdv_id = static_cast<std::uint64_t>(id);
    conns_[con->rdv_id].con = con;
    // The one callback websocketpp makes for every ending: its close and fail handlers skip
    // plain HTTP connections, which would otherwise stay counted against the caps forever.
    con->set_termination_handler([this](ConnPtr ended) { on_end(ended); });
    arm_timer();
  }

  /// Builds the Broker's view of a websocketpp request. The views point into `con`.
  static HttpRequest request_of(const ConnPtr& con) {
    const auto& req = con->get_request();
    HttpRequest r;
    r.method = req.get_method();
    r.target = req.get_uri();
    r.body = req.get_body();
    std::size_t head = r.method.size() + r.target.size() + req.get_version().size() + 4;
    for (const auto& [name, value] : req.get_headers()) {
      r.headers.push_back(HeaderView{name, value});
      head += name.size() + value.size() + 4;
    }
    r.head_bytes = head + 2;
    return r;
  }

  bool on_validate(websocketpp::connection_hdl hdl) {
    ConnPtr con = server_.get_con_from_hdl(hdl);
    Handshake hs = broker_.connect(id_of(con), request_of(con));
    arm_timer();
    if (hs.accepted()) {
      if (!hs.subprotocol.empty()) con->select_subprotocol(hs.subprotocol);
      con->set_max_message_size(hs.max_message_bytes);
      return true;
    }
    con->set_status(static_cast<websocketpp::http::status_code::value>(hs.response.status));
    for (const auto& [name, value] : hs.response.headers) con->append_header(name, value);
    con->set_body(hs.response.body);
    return false;
  }

  void on_open(websocketpp::connection_hdl hdl) {
    ConnPtr con = server_.get_con_from_hdl(hdl);
    Entry* e = entry(id_of(con));
    if (!e) return;
    e->open = true;
    websocketpp::lib::error_code ec;
    for (const std::string& text : e->pending)
      con->send(text.data(), text.size(), websocketpp::frame::opcode::text);
    e->pending.clear();
    e->pending.shrink_to_fit();
    if (e->close_code != 0) con->close(e->close_code, e->close_reason, ec);
  }

  void on_message(websocketpp::connection_hdl hdl, MessagePtr msg) {
    ConnPtr con = server_.get_con_from_hdl(hdl);
    auto type = msg->get_opcode() == websocketpp::frame::opcode::binary ? MessageType::binary
                                                                         : MessageType::text;
    routing_ = msg;
    broker_.route(id_of(con), msg->get_payload(), type);
    routing_.reset();
    arm_timer();
  }

  /// RFC 6455 header of an unmasked, final text frame from the server.
  static std::string frame_header(std::size_t n) {
    std::string h(1, static_cast<char>(0x81));
    if (n < 126) {
      h.push_back(static_cast<char>(n));
    } else if (n < 65536) {
      h.push_back(static_cast<char>(126));
      h.push_back(static_cast<char>(n >> 8));
      h.push_back(static_cast<char>(n & 0xFF));
    } else {
      h.push_back(static_cast<char>(127));
      for (int i = 7; i >= 0; --i) h.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
    }
    return h;
  }

  void touch(websocketpp::connection_hdl hdl) {
    ConnPtr con = server_.get_con_from_hdl(hdl);
    broker_.traffic(id_of(con));
  }

  void on_http(websocketpp::connection_hdl hdl) {
    ConnPtr con = server_.get_con_from_hdl(hdl);
    ConnectionId id = id_of(con);
    broker_.handle_http(id, request_of(con));
    if (Entry* e = entry(id); e && !e->responded) {
      e->deferred = true;
      con->defer_http_response();
      watch_departure(con);
    }
    arm_timer();
  }

  /// While a response is deferred (a long poll) websocketpp reads nothing, so it would not
  /// notice the client leaving. Wait for the socket to turn readable: end of stream means the
  /// client is gone, and the Broker must hear it before it hands the poll a message (§5.5).
  void watch_departure(const ConnPtr& con) {
    std::weak_ptr<typename ConnPtr::element_type> weak = con;
    auto on_readable = [this, weak](const asio::error_code& ec) {
      ConnPtr c = weak.lock();
      if (!c || ec) return;
      Entry* e = entry(id_of(c));
      if (!e || e->responded) return;
      char byte;
      if (::recv(c->get_raw_socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
        return;  // more bytes from a live client (pipelining, TLS): its answer still comes
      broker_.disconnect(id_of(c));
      conns_.erase(c->rdv_id);
      asio::error_code ignored;
      c->get_raw_socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      websocketpp::lib::error_code wec;
      c->send_http_response(wec);  // fails on the closed socket: websocketpp cleans up
      arm_timer();
      if (stopping_ && conns_.empty()) finish();
    };
    con->get_raw_socket().async_wait(asio::socket_base::wait_read, on_readable);
  }

  void on_end(const ConnPtr& con) {
    // websocketpp itself closes 1009 (message over the size limit, even mid-fragments) and
    // 1007 (invalid UTF-8) before the Broker sees the message; report those so they count.
    auto sent = con->get_local_close_code();
    if (sent == websocketpp::close::status::message_too_big ||
        sent == websocketpp::close::status::invalid_payload)
      broker_.disconnect(id_of(con), static_cast<std::uint16_t>(sent));
    else
      broker_.disconnect(id_of(con));
    conns_.erase(con->rdv_id);
    arm_timer();
    if (stopping_ && conns_.empty()) finish();
  }

  /// Keeps one timer armed for the Broker's next deadline. Re-arming costs a timer-queue
  /// operation, so it happens only when the deadline moves earlier (or after firing).
  void arm_timer() {
    std::optional<TimePoint> next = broker_.next_deadline();
    if (stopping_) {
      TimePoint poll = Clock::now() + std::chrono::milliseconds(50);
      if (!next || poll < *next) next = poll;
    }
    if (!next) return;
    if (armed_ && *next >= armed_at_) return;
    armed_ = true;
    armed_at_ = *next;
    timer_.expires_at(*next);
    timer_.async_wait([this](const asio::error_code& ec) {
      if (ec == asio::error::operation_aborted) return;
      armed_ = false;
      broker_.on_timer();
      if (stopping_ && (conns_.empty() || Clock::now() >= hard_deadline_)) return finish();
      arm_timer();
    });
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    if (done_) done_();
  }

  asio::io_context& io_;
  Server server_;
  asio::steady_timer timer_;
  Broker broker_;
  TlsFiles tls_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::unordered_map<std::uint64_t, Entry> conns_;
  MessagePtr routing_;  // the inbound message during broker_.route (for SendKind::relay)
  bool armed_ = false;
  TimePoint armed_at_{};
  bool stopping_ = false;
  bool finished_ = false;
  TimePoint hard_deadline_{};
  std::function<void()> done_;
};

}  // namespace rendezvous::server
