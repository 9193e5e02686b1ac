#pragma once

// A small blocking HTTP/1.1 client: one request per TCP connection, as browsers' fetch does
// against the example server (which answers one request per connection).

#include "socket_util.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rendezvous::testing {

struct HttpResult {
  int status = 0;  // 0: no response (connection dropped or timed out)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  double seconds = 0;  // time until the response was complete

  /// First header with this name (case-insensitive), or nullopt.
  std::optional<std::string> header(const std::string& name) const {
    for (const auto& [n, v] : headers)
      if (strcasecmp(n.c_str(), name.c_str()) == 0) return v;
    return std::nullopt;
  }
  std::size_t header_count(const std::string& name) const {
    std::size_t c = 0;
    for (const auto& [n, v] : headers) c += strcasecmp(n.c_str(), name.c_str()) == 0;
    return c;
  }
};

struct HttpCall {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string local_address = "127.0.0.1";
  std::chrono::milliseconds timeout{10000};
};

inline std::string basic_auth(const std::string& user_pass) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < user_pass.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(user_pass[i]) << 16) |
                 (static_cast<unsigned char>(user_pass[i + 1]) << 8) |
                 static_cast<unsigned char>(user_pass[i + 2]);
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += table[v & 63];
  }
  if (i + 1 == user_pass.size()) {
    unsigned v = static_cast<unsigned char>(user_pass[i]) << 16;
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == user_pass.size()) {
    unsigned v = (static_cast<unsigned char>(user_pass[i]) << 16) |
                 (static_cast<unsigned char>(user_pass[i + 1]) << 8);
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += '=';
  }
  return "Basic " + out;
}

/// Parses one complete response from `raw` if present. Returns the bytes consumed, or 0.
inline std::size_t parse_http_response(const std::string& raw, HttpResult& r, bool eof) {
  auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return 0;
  std::string head = raw.substr(0, head_end);
  std::size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  auto sp = status_line.find(' ');
  if (sp == std::string::npos) return 0;
  r.status = std::stoi(status_line.substr(sp + 1, 3));
  r.headers.clear();
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto e = head.find("\r\n", pos);
    if (e == std::string::npos) e = head.size();
    std::string line = head.substr(pos, e - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers.emplace_back(line.substr(0, colon), value);
    }
    pos = e + 2;
  }
  std::size_t body_start = head_end + 4;
  if (auto cl = r.header("Content-Length")) {
    std::size_t n = std::stoul(*cl);
    if (raw.size() < body_start + n) return 0;
    r.body = raw.substr(body_start, n);
    return body_start + n;
  }
  if (r.status == 204 || r.status == 304 || r.status / 100 == 1) {
    r.body.clear();
    return body_start;
  }
  if (!eof) return 0;
  r.body = raw.substr(body_start);
  return raw.size();
}

inline HttpResult http_request(unsigned short port, const HttpCall& call) {
  HttpResult r;
  auto start = std::chrono::steady_clock::now();
  Socket s;
  try {
    s = Socket(port, call.local_address);
  } catch (...) {
    return r;
  }
  std::string req = call.method + " " + call.target + " HTTP/1.1\r\nHost: 127.0.0.1:" +
                    std::to_string(port) + "\r\n";
  bool has_length = false;
  for (const auto& [n, v] : call.headers) {
    req += n + ": " + v + "\r\n";
    has_length = has_length || strcasecmp(n.c_str(), "Content-Length") == 0;
  }
  if (!has_length && (!call.body.empty() || call.method == "POST" || call.method == "PUT"))
    req += "Content-Length: " + std::to_string(call.body.size()) + "\r\n";
  req += "\r\n" + call.body;
  s.write_all(req);
  std::string raw;
  auto deadline = start + call.timeout;
  bool eof = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!s.read_some(raw, deadline)) eof = true;
    if (parse_http_response(raw, r, eof) != 0) break;
    if (eof) {
      r.status = 0;
      break;
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

inline HttpResult http_get(unsigned short port, const std::string& target,
                           std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpCall c;
  c.target = target;
  c.headers = std::move(headers);
  return http_request(port, c);
}

inline HttpResult http_post(unsigned short port, const std::string& target, std::string body,
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpCall c;
  c.method = "POST";
  c.target = target;
  c.body = std::move(body);
  c.headers = std::move(headers);
  return http_request(port, c);
}

}  // namespace rendezvous::testing
