#include "core/metrics.hpp"

namespace rendezvous::detail {

std::string_view to_string(DropReason r) noexcept {
  switch (r) {
    case DropReason::invalid_json: return "invalid_json";
    case DropReason::missing_to: return "missing_to";
    case DropReason::ambiguous: return "ambiguous";
    case DropReason::from_mismatch: return "from_mismatch";
    case DropReason::unknown_to: return "unknown_to";
    case DropReason::binary: return "binary";
    case DropReason::poll_queue_full: return "poll_queue_full";
    case DropReason::send_queue_full: return "send_queue_full";
    case DropReason::count_: break;
  }
  return "unknown";
}

std::string_view to_string(RefuseReason r) noexcept {
  switch (r) {
    case RefuseReason::max_connections: return "max_connections";
    case RefuseReason::max_per_address: return "max_per_address";
    case RefuseReason::head_too_large: return "head_too_large";
    case RefuseReason::not_found: return "not_found";
    case RefuseReason::origin: return "origin";
    case RefuseReason::upgrade_required: return "upgrade_required";
    case RefuseReason::bad_request: return "bad_request";
    case RefuseReason::duplicate_id: return "duplicate_id";
    case RefuseReason::count_: break;
  }
  return "unknown";
}

namespace {

constexpr Dialect all_dialects[] = {Dialect::fingersmith, Dialect::cuttlefish, Dialect::rooms,
                                    Dialect::mailbox};

void family(std::string& out, std::string_view name, std::string_view type,
            std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, double value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ");
  if (value == static_cast<double>(static_cast<std::int64_t>(value)))
    out.append(std::to_string(static_cast<std::int64_t>(value)));
  else
    out.append(std::to_string(value));
  out.append("\n");
}

std::string dialect_label(std::size_t d) {
  return "dialect=\"" + std::string(dialect_name(all_dialects[d])) + "\"";
}

}  // namespace

void Metrics::render(std::string& out,
                     const std::vector<std::pair<std::string_view, double>>& gauges) const {
  family(out, "rendezvous_connections", "gauge", "Open WebSocket connections.");
  for (std::size_t d = 0; d < dialect_count; ++d)
    sample(out, "rendezvous_connections", dialect_label(d),
           static_cast<double>(connections_[d]));

  family(out, "rendezvous_connections_refused_total", "counter",
         "Connections, requests and handshakes refused before any dialect work.");
  for (std::size_t r = 0; r < refused_.size(); ++r)
    sample(out, "rendezvous_connections_refused_total",
           "reason=\"" + std::string(to_string(static_cast<RefuseReason>(r))) + "\"",
           static_cast<double>(refused_[r]));

  family(out, "rendezvous_messages_received_total", "counter",
         "Inbound WebSocket messages and dialect HTTP requests.");
  for (std::size_t d = 0; d < dialect_count; ++d)
    sample(out, "rendezvous_messages_received_total", dialect_label(d),
           static_cast<double>(received_[d]));

  family(out, "rendezvous_messages_relayed_total", "counter",
         "Messages delivered to a recipient, each fan-out copy counted.");
  for (std::size_t d = 0; d < dialect_count; ++d)
    sample(out, "rendezvous_messages_relayed_total", dialect_label(d),
           static_cast<double>(relayed_[d]));

  family(out, "rendezvous_messages_dropped_total", "counter", "Messages dropped, by reason.");
  for (std::size_t d = 0; d < dialect_count; ++d)
    for (std::size_t r = 0; r < dropped_[d].size(); ++r)
      if (dropped_[d][r] != 0)
        sample(out, "rendezvous_messages_dropped_total",
               dialect_label(d) + ",reason=\"" +
                   std::string(to_string(static_cast<DropReason>(r))) + "\"",
               static_cast<double>(dropped_[d][r]));

  family(out, "rendezvous_closes_total", "counter", "WebSocket closes the server started.");
  for (const auto& [key, n] : closes_)
    sample(out, "rendezvous_closes_total",
           dialect_label(key.first) + ",code=\"" + std::to_string(key.second) + "\"",
           static_cast<double>(n));

  family(out, "rendezvous_http_responses_total", "counter", "HTTP answers on dialect paths.");
  for (const auto& [key, n] : http_)
    sample(out, "rendezvous_http_responses_total",
           dialect_label(key.first) + ",status=\"" + std::to_string(key.second) + "\"",
           static_cast<double>(n));

  for (const auto& [name, value] : gauges) {
    family(out, name, "gauge", "Registry size.");
    sample(out, name, "", value);
  }
}

}  // namespace rendezvous::detail
