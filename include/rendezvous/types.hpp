#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace rendezvous {

/// Monotonic time as the Broker sees it. All deadlines and expiries are expressed in it.
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::milliseconds;

/// Names one transport connection (one TCP connection as the host sees it, later possibly a
/// WebSocket). Issued by Broker::open, unique for the life of the Broker, never reused.
enum class ConnectionId : std::uint64_t {};

/// The four wire protocols of ../shared/PROTOCOLS.md.
enum class Dialect : std::uint8_t { fingersmith, cuttlefish, rooms, mailbox };

/// Lowercase dialect name as used in paths, metric labels and logs.
constexpr std::string_view dialect_name(Dialect d) noexcept {
  switch (d) {
    case Dialect::fingersmith: return "fingersmith";
    case Dialect::cuttlefish: return "cuttlefish";
    case Dialect::rooms: return "rooms";
    case Dialect::mailbox: return "mailbox";
  }
  return "unknown";
}

/// Kind of a WebSocket data message.
enum class MessageType : std::uint8_t { text, binary };

/// What a Transport::send carries. `relay` means the text is exactly the message currently
/// being routed (same pointer and size as the `route` argument), so an adapter may reuse the
/// already framed inbound buffer instead of copying it.
enum class SendKind : std::uint8_t { own, relay };

}  // namespace rendezvous
