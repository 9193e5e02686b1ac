#pragma once

// A WebSocket client written against RFC 6455 directly, for what polite clients cannot do:
// fragments, invalid UTF-8, never answering pings, never reading, half-open handshakes.

#include "http_client.hpp"
#include "socket_util.hpp"

#include <optional>
#include <random>
#include <string>

namespace rendezvous::testing {

struct Frame {
  int opcode = -1;  // -1: none (timeout), -2: connection ended
  bool fin = true;
  std::string payload;
  int close_code() const {
    return payload.size() >= 2 ? (static_cast<unsigned char>(payload[0]) << 8) |
                                     static_cast<unsigned char>(payload[1])
                               : 0;
  }
  std::string close_reason() const { return payload.size() > 2 ? payload.substr(2) : ""; }
};

class RawWs {
 public:
  /// Performs the opening handshake. Returns the HTTP status (101 on success, 0 on failure).
  int open(unsigned short port, const std::string& target,
           const std::vector<std::pair<std::string, std::string>>& headers = {},
           const std::string& local = "127.0.0.1") {
    try {
      sock_ = Socket(port, local);
    } catch (...) {
      return 0;
    }
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n";
    for (const auto& [n, v] : headers) req += n + ": " + v + "\r\n";
    req += "\r\n";
    sock_.write_all(req);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool eof = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!sock_.read_some(buf_, deadline)) eof = true;
      std::size_t used = parse_http_response(buf_, response, eof);
      if (used) {
        buf_.erase(0, used);
        return response.status;
      }
      if (eof) return 0;
    }
    return 0;
  }

  bool send_frame(int opcode, const std::string& payload, bool fin = true) {
    std::string f;
    f.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
    std::size_t n = payload.size();
    if (n < 126) {
      f.push_back(static_cast<char>(0x80 | n));
    } else if (n < 65536) {
      f.push_back(static_cast<char>(0x80 | 126));
      f.push_back(static_cast<char>(n >> 8));
      f.push_back(static_cast<char>(n & 0xFF));
    } else {
      f.push_back(static_cast<char>(0x80 | 127));
      for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
    }
    unsigned char mask[4];
    for (auto& m : mask) m = static_cast<unsigned char>(rng_());
    f.append(reinterpret_cast<char*>(mask), 4);
    for (std::size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    return sock_.write_all(f);
  }

  bool send_text(const std::string& t) { return send_frame(0x1, t); }
  bool send_binary(const std::string& b) { return send_frame(0x2, b); }

  /// Next frame of any kind, or opcode -1 on timeout / -2 when the connection ended.
  Frame next_frame(std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      Frame f;
      if (std::size_t used = parse(f)) {
        buf_.erase(0, used);
        return f;
      }
      if (std::chrono::steady_clock::now() >= deadline) return Frame{};
      if (!sock_.read_some(buf_, deadline)) {
        Frame end;
        end.opcode = -2;
        if (std::size_t used = parse(end)) {
          buf_.erase(0, used);
          return end;
        }
        end.opcode = -2;
        return end;
      }
    }
  }

  /// Next data message or close frame, answering pings when `answer_pings`.
  Frame next(std::chrono::milliseconds limit = std::chrono::milliseconds(3000),
             bool answer_pings = true) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Frame{};
      Frame f = next_frame(left);
      if (f.opcode == 0x9) {
        ++pings;
        if (answer_pings) send_frame(0xA, f.payload);
        continue;
      }
      if (f.opcode == 0xA) continue;
      return f;
    }
  }

  Socket& socket() { return sock_; }
  HttpResult response;
  int pings = 0;

 private:
  std::size_t parse(Frame& f) {
    if (buf_.size() < 2) return 0;
    auto b0 = static_cast<unsigned char>(buf_[0]);
    auto b1 = static_cast<unsigned char>(buf_[1]);
    std::size_t len = b1 & 0x7F, pos = 2;
    if (len == 126) {
      if (buf_.size() < 4) return 0;
      len = (static_cast<unsigned char>(buf_[2]) << 8) | static_cast<unsigned char>(buf_[3]);
      pos = 4;
    } else if (len == 127) {
      if (buf_.size() < 10) return 0;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<unsigned char>(buf_[2 + i]);
      pos = 10;
    }
    if (buf_.size() < pos + len) return 0;
    f.fin = b0 & 0x80;
    f.opcode = b0 & 0x0F;
    f.payload = buf_.substr(pos, len);
    return pos + len;
  }

  Socket sock_;
  std::string buf_;
  std::mt19937 rng_{12345};
};

}  // namespace rendezvous::testing
