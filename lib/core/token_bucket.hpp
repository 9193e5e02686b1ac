#pragma once

#include <rendezvous/types.hpp>

#include <algorithm>
#include <chrono>

namespace rendezvous::detail {

/// §1.5: capacity `burst`, refilled continuously at `rate` tokens per second, starting full.
class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(double burst, TimePoint now) : tokens_(burst), stamp_(now) {}

  /// Takes one token if there is one. `rate` 0 means unlimited.
  bool take(double rate, double burst, TimePoint now) noexcept {
    if (rate <= 0) return true;
    refill(rate, burst, now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

  /// True when the bucket would be full at `now` (an idle per-address bucket can be forgotten).
  bool full(double rate, double burst, TimePoint now) noexcept {
    refill(rate, burst, now);
    return tokens_ >= burst;
  }

 private:
  void refill(double rate, double burst, TimePoint now) noexcept {
    if (now > stamp_) {
      double elapsed = std::chrono::duration<double>(now - stamp_).count();
      tokens_ = std::min(burst, tokens_ + elapsed * rate);
      stamp_ = now;
    }
  }

  double tokens_ = 0;
  TimePoint stamp_{};
};

}  // namespace rendezvous::detail
