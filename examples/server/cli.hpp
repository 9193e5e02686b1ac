#pragma once

// Command-line flags of rendezvous-server: one flag per Broker setting (PROTOCOLS.md
// Appendix A), plus the listen address and TLS files.

#include "ws_adapter.hpp"

#include <rendezvous/options.hpp>

#include <string>
#include <vector>

namespace rendezvous::server {

struct ServerSettings {
  std::string listen_host = "127.0.0.1";
  unsigned short listen_port = 8080;
  TlsFiles tls;
  Options options;
  bool help = false;
};

/// Parses argv. On a bad flag returns false with `error` set.
bool parse_command_line(const std::vector<std::string>& args, ServerSettings& out,
                        std::string& error);

/// The --help text.
std::string usage();

}  // namespace rendezvous::server
