#pragma once

// A real WebSocket client (websocketpp's asio client) with a blocking, test-friendly face.
// All clients of a test process share one I/O thread; every call is posted to it.

#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE
#endif

#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>
#include <websocketpp/config/asio_client.hpp>

#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace rendezvous::testing {

struct WsMessage {
  std::string text;
  bool binary = false;
};

struct WsClose {
  int code = 0;
  std::string reason;
};

template <typename Config>
class ClientLoop {
 public:
  using Endpoint = websocketpp::client<Config>;

  static ClientLoop& get() {
    static ClientLoop loop;
    return loop;
  }

  Endpoint& endpoint() { return client_; }

  template <typename F>
  auto run(F&& f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::forward<F>(f));
    auto fut = task.get_future();
    asio::post(io_, [&task] { task(); });
    return fut.get();
  }

  template <typename F>
  void post(F&& f) {
    asio::post(io_, std::forward<F>(f));
  }

 private:
  ClientLoop() : work_(asio::make_work_guard(io_)) {
    client_.clear_access_channels(websocketpp::log::alevel::all);
    client_.clear_error_channels(websocketpp::log::elevel::all);
    client_.init_asio(&io_);
    if constexpr (std::is_same_v<Config, websocketpp::config::asio_tls_client>) {
      client_.set_tls_init_handler([](websocketpp::connection_hdl) {
        auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
        ctx->set_verify_mode(asio::ssl::verify_none);  // throwaway self-signed test certificates
        return ctx;
      });
    }
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ClientLoop() {
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  Endpoint client_;
  std::thread thread_;
};

struct WsOptions {
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> subprotocols;
  bool answer_pings = true;
};

template <typename Config>
class BasicWsClient {
 public:
  using Loop = ClientLoop<Config>;
  using ConnPtr = typename websocketpp::client<Config>::connection_ptr;

  BasicWsClient() : state_(std::make_shared<State>()) {}
  ~BasicWsClient() { abandon(); }
  BasicWsClient(const BasicWsClient&) = delete;
  BasicWsClient& operator=(const BasicWsClient&) = delete;

  /// Opens the connection. Returns 101 on success, the server's HTTP status on a refused
  /// handshake, 0 when no HTTP answer came.
  int connect(const std::string& url, const WsOptions& options = {},
              std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto state = state_;
    state->answer_pings = options.answer_pings;
    Loop::get().run([&] {
      auto& ep = Loop::get().endpoint();
      websocketpp::lib::error_code ec;
      ConnPtr con = ep.get_connection(url, ec);
      if (ec) {
        state->finish_handshake(0);
        return 0;
      }
      for (const auto& [n, v] : options.headers) con->append_header(n, v);
      for (const auto& p : options.subprotocols) con->add_subprotocol(p);
      con->set_open_handler([state](websocketpp::connection_hdl h) {
        auto c = Loop::get().endpoint().get_con_from_hdl(h);
        // A websocketpp client never fills get_subprotocol(): read what the server selected.
        state->subprotocol = c->get_response_header("Sec-WebSocket-Protocol");
        state->finish_handshake(101);
      });
      con->set_fail_handler([state](websocketpp::connection_hdl h) {
        auto c = Loop::get().endpoint().get_con_from_hdl(h);
        state->response_body = c->get_response().get_body();
        state->finish_handshake(c->get_response_code());
        state->finish_close(WsClose{-1, "failed"});
      });
      con->set_message_handler([state](websocketpp::connection_hdl,
                                       typename Config::message_type::ptr msg) {
        std::lock_guard<std::mutex> lock(state->mutex);
        state->messages.push_back(
            {msg->get_payload(), msg->get_opcode() == websocketpp::frame::opcode::binary});
        state->cv.notify_all();
      });
      con->set_close_handler([state](websocketpp::connection_hdl h) {
        auto c = Loop::get().endpoint().get_con_from_hdl(h);
        state->finish_close(WsClose{c->get_remote_close_code(), c->get_remote_close_reason()});
      });
      con->set_ping_handler([state](websocketpp::connection_hdl, std::string) {
        std::lock_guard<std::mutex> lock(state->mutex);
        ++state->pings;
        return state->answer_pings;
      });
      state->hdl = con->get_handle();
      ep.connect(con);
      return 0;
    });
    std::unique_lock<std::mutex> lock(state->mutex);
    state->cv.wait_for(lock, limit, [&] { return state->handshake_done; });
    return state->status;
  }

  void send(const std::string& text) { send_op(text, websocketpp::frame::opcode::text); }
  void send_binary(const std::string& data) { send_op(data, websocketpp::frame::opcode::binary); }

  /// Next data message, or nullopt after `limit`.
  std::optional<WsMessage> next(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock(state_->mutex);
    if (!state_->cv.wait_for(lock, limit, [&] { return !state_->messages.empty(); }))
      return std::nullopt;
    WsMessage m = std::move(state_->messages.front());
    state_->messages.pop_front();
    return m;
  }

  /// Next text message (empty string when none arrived within `limit`).
  std::string next_text(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    auto m = next(limit);
    return m ? m->text : std::string();
  }

  /// True when no data message arrives within `limit`.
  bool silent_for(std::chrono::milliseconds limit) { return !next(limit).has_value(); }

  /// The close the server sent, once the connection ended within `limit`.
  std::optional<WsClose> wait_close(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock(state_->mutex);
    if (!state_->cv.wait_for(lock, limit, [&] { return state_->closed; })) return std::nullopt;
    return state_->close;
  }

  bool is_closed() {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->closed;
  }

  int pings() {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->pings;
  }

  std::string subprotocol() {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->subprotocol;
  }

  void close(int code = 1000) {
    auto state = state_;
    Loop::get().run([state, code] {
      websocketpp::lib::error_code ec;
      auto c = Loop::get().endpoint().get_con_from_hdl(state->hdl, ec);
      if (!ec) c->close(static_cast<websocketpp::close::status::value>(code), "", ec);
      return 0;
    });
  }

  /// Drops the TCP connection without a Close frame.
  void abandon() {
    auto state = state_;
    Loop::get().run([state] {
      websocketpp::lib::error_code ec;
      auto c = Loop::get().endpoint().get_con_from_hdl(state->hdl, ec);
      if (!ec && c->get_state() != websocketpp::session::state::closed) {
        asio::error_code aec;
        c->get_raw_socket().lowest_layer().close(aec);
      }
      return 0;
    });
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    websocketpp::connection_hdl hdl;
    bool handshake_done = false;
    int status = 0;
    std::string subprotocol;
    std::string response_body;
    std::deque<WsMessage> messages;
    bool closed = false;
    WsClose close;
    int pings = 0;
    bool answer_pings = true;

    void finish_handshake(int s) {
      std::lock_guard<std::mutex> lock(mutex);
      if (handshake_done) return;
      handshake_done = true;
      status = s;
      cv.notify_all();
    }
    void finish_close(WsClose c) {
      std::lock_guard<std::mutex> lock(mutex);
      if (closed) return;
      closed = true;
      close = std::move(c);
      cv.notify_all();
    }
  };

  void send_op(const std::string& data, websocketpp::frame::opcode::value op) {
    auto state = state_;
    Loop::get().run([state, data, op] {
      websocketpp::lib::error_code ec;
      auto c = Loop::get().endpoint().get_con_from_hdl(state->hdl, ec);
      if (!ec) c->send(data, op);
      return 0;
    });
  }

  std::shared_ptr<State> state_;
};

using WsClient = BasicWsClient<websocketpp::config::asio_client>;
using WssClient = BasicWsClient<websocketpp::config::asio_tls_client>;

}  // namespace rendezvous::testing
