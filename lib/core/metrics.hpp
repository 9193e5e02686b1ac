#pragma once

// The counters of PROTOCOLS.md §6. Label values are drawn from fixed enums and numbers only,
// so no identifier can ever reach a label (§1.13).

#include <rendezvous/types.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rendezvous::detail {

enum class DropReason : std::uint8_t {
  invalid_json,
  missing_to,
  ambiguous,
  from_mismatch,
  unknown_to,
  binary,
  poll_queue_full,
  send_queue_full,
  count_
};

enum class RefuseReason : std::uint8_t {
  max_connections,
  max_per_address,
  head_too_large,
  not_found,
  origin,
  upgrade_required,
  bad_request,
  duplicate_id,
  count_
};

std::string_view to_string(DropReason r) noexcept;
std::string_view to_string(RefuseReason r) noexcept;

constexpr std::size_t dialect_count = 4;

class Metrics {
 public:
  void received(Dialect d) noexcept { ++received_[index(d)]; }
  void relayed(Dialect d) noexcept { ++relayed_[index(d)]; }
  void dropped(Dialect d, DropReason r) noexcept {
    ++dropped_[index(d)][static_cast<std::size_t>(r)];
  }
  void refused(RefuseReason r) noexcept { ++refused_[static_cast<std::size_t>(r)]; }
  void closed(Dialect d, std::uint16_t code) { ++closes_[{index(d), code}]; }
  void http_response(Dialect d, int status) { ++http_[{index(d), status}]; }
  void connection_opened(Dialect d) noexcept { ++connections_[index(d)]; }
  void connection_closed(Dialect d) noexcept { --connections_[index(d)]; }

  std::uint64_t dropped_count(Dialect d, DropReason r) const noexcept {
    return dropped_[index(d)][static_cast<std::size_t>(r)];
  }
  std::uint64_t relayed_count(Dialect d) const noexcept { return relayed_[index(d)]; }

  /// Prometheus text format 0.0.4. `gauges` are the dialects' registry sizes, by metric name.
  void render(std::string& out,
              const std::vector<std::pair<std::string_view, double>>& gauges) const;

 private:
  static std::size_t index(Dialect d) noexcept { return static_cast<std::size_t>(d); }

  std::array<std::uint64_t, dialect_count> received_{};
  std::array<std::uint64_t, dialect_count> relayed_{};
  std::array<std::int64_t, dialect_count> connections_{};
  std::array<std::array<std::uint64_t, static_cast<std::size_t>(DropReason::count_)>,
             dialect_count>
      dropped_{};
  std::array<std::uint64_t, static_cast<std::size_t>(RefuseReason::count_)> refused_{};
  std::map<std::pair<std::size_t, std::uint16_t>, std::uint64_t> closes_;
  std::map<std::pair<std::size_t, int>, std::uint64_t> http_;
};

}  // namespace rendezvous::detail
