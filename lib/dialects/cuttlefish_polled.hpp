#pragma once

// The polled connections of the cuttlefish dialect (PROTOCOLS.md §3.9.4, §3.9.7, §3.10):
// browsers that talk to a device through /connect, /forward and /poll_messages instead of a
// WebSocket. Each has a secret connection_id, a queue of device payloads and a deadline.

#include "core/connection.hpp"

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rendezvous::detail {

class Core;

struct PolledConnection {
  std::string id;                  ///< 64 characters of [0-9A-Za-z]; a secret (§1.12)
  Connection* device = nullptr;    ///< the device's WebSocket; nullptr once orphaned
  std::int32_t client_id = 0;
  std::vector<std::string> queue;  ///< serialized device payloads, oldest first
  TimePoint deadline{};            ///< expiry (live) or forgetting (orphaned)
};

/// Live and orphaned polled connections, by id and by deadline. Every deadline is "the last
/// event + poll_expiry" with events arriving in time order, so keeping the list in event order
/// keeps it sorted by deadline: touching a connection moves it to the back in O(1).
class PolledConnections {
 public:
  explicit PolledConnections(Core& core) : core_(core) {}

  /// A new live connection with a fresh unique id.
  PolledConnection& create(Connection& device, std::int32_t client_id, TimePoint deadline);
  PolledConnection* find(std::string_view id) noexcept;
  /// Sets the deadline of `pc` to `deadline`, which must be the latest of all.
  void renew(PolledConnection& pc, TimePoint deadline);
  /// The device left: the queue is discarded and the id is remembered until `deadline`.
  void orphan(PolledConnection& pc, TimePoint deadline);

  std::optional<TimePoint> next_deadline() const;
  /// Removes every connection whose deadline has come, oldest first, after calling
  /// `on_expired(pc)` for each.
  template <typename F>
  void expire(TimePoint now, F&& on_expired) {
    while (!order_.empty() && order_.front().deadline <= now) {
      on_expired(order_.front());
      by_id_.erase(order_.front().id);
      order_.pop_front();
    }
  }
  std::size_t size() const noexcept { return by_id_.size(); }

 private:
  std::string random_id();

  Core& core_;
  std::list<PolledConnection> order_;  // by deadline; nodes never move, so pointers stay valid
  std::unordered_map<std::string_view, std::list<PolledConnection>::iterator> by_id_;  // views into order_
};

}  // namespace rendezvous::detail
