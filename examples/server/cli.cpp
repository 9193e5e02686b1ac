#include "cli.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <sstream>

namespace rendezvous::server {
namespace {

bool parse_size(const std::string& v, std::size_t& out) {
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size();
}

bool parse_seconds(const std::string& v, Duration& out) {
  try {
    std::size_t used = 0;
    double s = std::stod(v, &used);
    if (used != v.size() || !(s >= 0) || s > 1e9) return false;
    out = Duration(static_cast<Duration::rep>(std::llround(s * 1000)));
    return true;
  } catch (...) {
    return false;
  }
}

bool parse_double(const std::string& v, double& out) {
  try {
    std::size_t used = 0;
    out = std::stod(v, &used);
    return used == v.size() && out >= 0;
  } catch (...) {
    return false;
  }
}

bool parse_bool(const std::string& v, bool& out) {
  if (v == "true" || v == "1" || v == "on" || v == "yes") return out = true, true;
  if (v == "false" || v == "0" || v == "off" || v == "no") return out = false, true;
  return false;
}

bool parse_policy(const std::string& v, DuplicatePolicy& out, bool allow_ok) {
  if (v == "reject") return out = DuplicatePolicy::reject, true;
  if (v == "replace") return out = DuplicatePolicy::replace, true;
  if (v == "allow" && allow_ok) return out = DuplicatePolicy::allow, true;
  return false;
}

struct Flag {
  std::string help;
  std::function<bool(const std::string&, ServerSettings&)> apply;
  bool takes_value = true;
};

const std::map<std::string, Flag>& flags() {
  using S = ServerSettings;
  auto sz = [](std::function<std::size_t&(S&)> member) {
    return [member](const std::string& v, S& s) { return parse_size(v, member(s)); };
  };
  auto secs = [](std::function<Duration&(S&)> member) {
    return [member](const std::string& v, S& s) { return parse_seconds(v, member(s)); };
  };
  auto flag = [](std::function<bool&(S&)> member) {
    return [member](const std::string& v, S& s) { return parse_bool(v, member(s)); };
  };
  static const std::map<std::string, Flag> table = {
      {"--listen", {"ADDR:PORT to listen on (default 127.0.0.1:8080; port 0 picks a free port)",
                    [](const std::string& v, S& s) {
                      auto colon = v.rfind(':');
                      if (colon == std::string::npos) return false;
                      std::size_t port;
                      if (!parse_size(v.substr(colon + 1), port) || port > 65535) return false;
                      s.listen_host = v.substr(0, colon);
                      if (s.listen_host.size() > 1 && s.listen_host.front() == '[')
                        s.listen_host = s.listen_host.substr(1, s.listen_host.size() - 2);
                      s.listen_port = static_cast<unsigned short>(port);
                      return true;
                    }}},
      {"--tls-cert", {"PEM certificate chain: serve wss:// and https:// (needs --tls-key)",
                      [](const std::string& v, S& s) { return s.tls.certificate = v, true; }}},
      {"--tls-key", {"PEM private key for --tls-cert",
                     [](const std::string& v, S& s) { return s.tls.private_key = v, true; }}},
      {"--disable", {"DIALECT: do not serve fingersmith, cuttlefish, rooms or mailbox (repeatable)",
                     [](const std::string& v, S& s) {
                       if (v == "fingersmith") return s.options.fingersmith.enabled = false, true;
                       if (v == "cuttlefish") return s.options.cuttlefish.enabled = false, true;
                       if (v == "rooms") return s.options.rooms.enabled = false, true;
                       if (v == "mailbox") return s.options.mailbox.enabled = false, true;
                       return false;
                     }}},
      {"--index-html", {"FILE served at GET / instead of the built-in demo page",
                        [](const std::string& v, S& s) {
                          FILE* f = std::fopen(v.c_str(), "rb");
                          if (!f) return false;
                          std::string body;
                          char buf[4096];
                          std::size_t n;
                          while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) body.append(buf, n);
                          std::fclose(f);
                          s.options.index_html = std::move(body);
                          return true;
                        }}},
      {"--max-message-bytes", {"N (65536)", sz([](S& s) -> std::size_t& { return s.options.max_message_bytes; })}},
      {"--rate-limit", {"messages per second per connection/address, 0 disables (100)",
                        [](const std::string& v, S& s) { return parse_double(v, s.options.rate_limit.messages_per_second); }}},
      {"--rate-burst", {"token bucket capacity (200)",
                        [](const std::string& v, S& s) { return parse_double(v, s.options.rate_limit.burst); }}},
      {"--max-connections", {"N (100000)", sz([](S& s) -> std::size_t& { return s.options.max_connections; })}},
      {"--max-connections-per-address", {"N (1000)", sz([](S& s) -> std::size_t& { return s.options.max_connections_per_address; })}},
      {"--max-json-depth", {"N (64)", sz([](S& s) -> std::size_t& { return s.options.max_json_depth; })}},
      {"--max-outbound-bytes", {"N, 0 disables (4194304)", sz([](S& s) -> std::size_t& { return s.options.max_outbound_bytes; })}},
      {"--max-request-head-bytes", {"N (16384)", sz([](S& s) -> std::size_t& { return s.options.max_request_head_bytes; })}},
      {"--handshake-timeout", {"SECONDS (10)", secs([](S& s) -> Duration& { return s.options.handshake_timeout; })}},
      {"--ping-interval", {"SECONDS, 0 disables (30)", secs([](S& s) -> Duration& { return s.options.ping_interval; })}},
      {"--idle-timeout", {"SECONDS, 0 disables (60)", secs([](S& s) -> Duration& { return s.options.idle_timeout; })}},
      {"--shutdown-grace", {"SECONDS (5)", secs([](S& s) -> Duration& { return s.options.shutdown_grace; })}},
      {"--allowed-origin", {"ORIGIN allowed to connect (repeatable; none = all)",
                            [](const std::string& v, S& s) { return s.options.allowed_origins.push_back(v), true; }}},
      {"--fingersmith-verify-from", {"true|false (true)", flag([](S& s) -> bool& { return s.options.fingersmith.verify_from; })}},
      {"--fingersmith-duplicate-ids", {"reject|replace|allow (reject)",
                                       [](const std::string& v, S& s) { return parse_policy(v, s.options.fingersmith.duplicate_ids, true); }}},
      {"--fingersmith-max-message-bytes", {"N (max-message-bytes)", sz([](S& s) -> std::size_t& { return s.options.fingersmith.max_message_bytes; })}},
      {"--ice-server", {"URL: add a cuttlefish ICE server (repeatable; several URLs: comma-separated)",
                        [](const std::string& v, S& s) {
                          IceServer server;
                          std::stringstream in(v);
                          std::string url;
                          while (std::getline(in, url, ','))
                            if (!url.empty()) server.urls.push_back(url);
                          if (server.urls.empty()) return false;
                          s.options.cuttlefish.ice_servers.push_back(std::move(server));
                          return true;
                        }}},
      {"--ice-username", {"NAME for the preceding --ice-server",
                          [](const std::string& v, S& s) {
                            if (s.options.cuttlefish.ice_servers.empty()) return false;
                            s.options.cuttlefish.ice_servers.back().username = v;
                            return true;
                          }}},
      {"--ice-credential", {"SECRET for the preceding --ice-server",
                            [](const std::string& v, S& s) {
                              if (s.options.cuttlefish.ice_servers.empty()) return false;
                              s.options.cuttlefish.ice_servers.back().credential = v;
                              return true;
                            }}},
      {"--cuttlefish-client-first", {"true|false (false)", flag([](S& s) -> bool& { return s.options.cuttlefish.client_first; })}},
      {"--cuttlefish-client-first-wait", {"SECONDS (30)", secs([](S& s) -> Duration& { return s.options.cuttlefish.client_first_wait; })}},
      {"--cuttlefish-poll-expiry", {"SECONDS (60)", secs([](S& s) -> Duration& { return s.options.cuttlefish.poll_expiry; })}},
      {"--cuttlefish-poll-queue-max", {"N (1000)", sz([](S& s) -> std::size_t& { return s.options.cuttlefish.poll_queue_max; })}},
      {"--cuttlefish-max-polled-connections", {"N (100000)", sz([](S& s) -> std::size_t& { return s.options.cuttlefish.max_polled_connections; })}},
      {"--cuttlefish-max-message-bytes", {"N (max-message-bytes)", sz([](S& s) -> std::size_t& { return s.options.cuttlefish.max_message_bytes; })}},
      {"--rooms-duplicate-ids", {"reject|replace (reject)",
                                 [](const std::string& v, S& s) { return parse_policy(v, s.options.rooms.duplicate_ids, false); }}},
      {"--rooms-max-peers", {"N (64)", sz([](S& s) -> std::size_t& { return s.options.rooms.max_peers; })}},
      {"--rooms-max-public-key-bytes", {"N (4096)", sz([](S& s) -> std::size_t& { return s.options.rooms.max_public_key_bytes; })}},
      {"--rooms-max-message-bytes", {"N (max-message-bytes)", sz([](S& s) -> std::size_t& { return s.options.rooms.max_message_bytes; })}},
      {"--mailbox-long-polling", {"true|false (true)", flag([](S& s) -> bool& { return s.options.mailbox.long_polling; })}},
      {"--mailbox-long-poll-timeout", {"SECONDS (25)", secs([](S& s) -> Duration& { return s.options.mailbox.long_poll_timeout; })}},
      {"--mailbox-empty-status", {"200|204 (200)",
                                  [](const std::string& v, S& s) {
                                    if (v != "200" && v != "204") return false;
                                    s.options.mailbox.empty_status = std::stoi(v);
                                    return true;
                                  }}},
      {"--mailbox-inbox-capacity", {"N (100)", sz([](S& s) -> std::size_t& { return s.options.mailbox.inbox_capacity; })}},
      {"--mailbox-inbox-timeout", {"SECONDS (60)", secs([](S& s) -> Duration& { return s.options.mailbox.inbox_timeout; })}},
      {"--mailbox-max-inboxes", {"N (100000)", sz([](S& s) -> std::size_t& { return s.options.mailbox.max_inboxes; })}},
      {"--mailbox-cors", {"true|false (false)", flag([](S& s) -> bool& { return s.options.mailbox.cors; })}},
      {"--mailbox-max-message-bytes", {"N (max-message-bytes)", sz([](S& s) -> std::size_t& { return s.options.mailbox.max_message_bytes; })}},
  };
  return table;
}

}  // namespace

bool parse_command_line(const std::vector<std::string>& args, ServerSettings& out,
                        std::string& error) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    if (name == "--help" || name == "-h") {
      out.help = true;
      continue;
    }
    std::string value;
    bool inline_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    auto it = flags().find(name);
    if (it == flags().end()) {
      error = "unknown option " + name;
      return false;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        error = name + " needs a value";
        return false;
      }
      value = args[++i];
    }
    if (!it->second.apply(value, out)) {
      error = "invalid value for " + name + ": " + value;
      return false;
    }
  }
  if (out.tls.certificate.empty() != out.tls.private_key.empty()) {
    error = "--tls-cert and --tls-key go together";
    return false;
  }
  return true;
}

std::string usage() {
  std::string text =
      "Usage: rendezvous-server [OPTION VALUE]...\n"
      "WebRTC signaling server: fingersmith, cuttlefish, rooms and mailbox dialects on one "
      "port,\nplus /healthz and /metrics. Durations are in seconds (fractions allowed).\n\n";
  for (const auto& [name, flag] : flags()) text += "  " + name + " " + flag.help + "\n";
  text += "  --help  this text\n";
  return text;
}

}  // namespace rendezvous::server
