#pragma once

#include <rendezvous/export.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rendezvous {

/// One request header as received. Views are valid only for the call they are passed to.
struct HeaderView {
  std::string_view name;
  std::string_view value;
};

/// An HTTP request (or the request of a WebSocket upgrade) as the host parsed it. Borrowed for
/// the duration of the call only: the Broker copies what it keeps.
struct HttpRequest {
  std::string_view method;       ///< "GET", "POST", ... (case-sensitive, as HTTP says)
  std::string_view target;       ///< request target: path plus optional "?query"
  std::vector<HeaderView> headers;
  std::string_view body;
  /// Size of the request line plus headers in bytes, if the host knows it (0 = unknown).
  std::size_t head_bytes = 0;

  /// First header with this name (ASCII case-insensitive), or nullptr.
  RENDEZVOUS_EXPORT const HeaderView* find(std::string_view name) const noexcept;
  RENDEZVOUS_EXPORT std::string_view path() const noexcept;   ///< target before '?'
  RENDEZVOUS_EXPORT std::string_view query() const noexcept;  ///< target after '?', empty when none
};

/// An HTTP response the Broker asks the host to write. Owned by the Broker; valid for the
/// Transport::respond call only.
struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Close the TCP connection after writing (413 without reading the body, 503 caps).
  bool close_connection = false;

  HttpResponse& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  /// First header with this name (ASCII case-insensitive), or nullptr.
  RENDEZVOUS_EXPORT const std::string* find(std::string_view name) const noexcept;
};

}  // namespace rendezvous
