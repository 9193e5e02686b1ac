#include "dialects/cuttlefish_polled.hpp"

#include "core/core.hpp"

namespace rendezvous::detail {

namespace {

constexpr std::string_view alphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::size_t id_length = 64;
// Bytes at or above 248 (= 4 * 62) are discarded, so every character is equally likely.
constexpr unsigned accept_below = 256 / alphabet.size() * alphabet.size();

}  // namespace

std::string PolledConnections::random_id() {
  std::string id;
  id.reserve(id_length);
  unsigned char bytes[id_length + 16];
  while (id.size() < id_length) {
    core_.random_bytes(bytes, sizeof bytes);
    for (unsigned char b : bytes) {
      if (b >= accept_below) continue;
      id.push_back(alphabet[b % alphabet.size()]);
      if (id.size() == id_length) break;
    }
  }
  return id;
}

PolledConnection& PolledConnections::create(Connection& device, std::int32_t client_id,
                                            TimePoint deadline) {
  std::string id = random_id();
  while (by_id_.count(id)) id = random_id();  // 62^64 ids: practically never loops
  order_.push_back(PolledConnection{std::move(id), &device, client_id, {}, deadline});
  auto it = std::prev(order_.end());
  by_id_.emplace(it->id, it);
  return *it;
}

PolledConnection* PolledConnections::find(std::string_view id) noexcept {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &*it->second;
}

void PolledConnections::renew(PolledConnection& pc, TimePoint deadline) {
  pc.deadline = deadline;
  order_.splice(order_.end(), order_, by_id_.at(pc.id));
}

void PolledConnections::orphan(PolledConnection& pc, TimePoint deadline) {
  pc.device = nullptr;
  std::vector<std::string>().swap(pc.queue);
  renew(pc, deadline);
}

std::optional<TimePoint> PolledConnections::next_deadline() const {
  if (order_.empty()) return std::nullopt;
  return order_.front().deadline;
}

}  // namespace rendezvous::detail
