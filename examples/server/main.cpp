// rendezvous-server: the Broker bound to websocketpp on one port, one I/O thread.
// First stdout line: "listening on ADDR:PORT" (the bound port when --listen asks for 0).

#include "cli.hpp"
#include "ws_adapter.hpp"

#include <asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <system_error>

namespace {

using namespace rendezvous;

/// One stderr line per connect, refusal and disconnect: ids, dialect, outcome. Never a body.
void log_event(const Event& e) {
  const char* kind = e.kind == Event::Kind::connected   ? "connect"
                     : e.kind == Event::Kind::refused   ? "refuse"
                                                        : "disconnect";
  std::string dialect = e.dialect ? std::string(dialect_name(*e.dialect)) : std::string("-");
  std::fprintf(stderr, "%s id=%llu dialect=%s code=%d reason=%.*s remote=%.*s\n", kind,
               static_cast<unsigned long long>(e.id), dialect.c_str(), e.code,
               static_cast<int>(e.reason.size()), e.reason.data(),
               static_cast<int>(e.remote_address.size()), e.remote_address.data());
}

template <typename Config>
int run(server::ServerSettings& settings) {
  asio::io_context io(1);
  settings.options.on_event = log_event;
  server::WsAdapter<Config> adapter(io, settings.options, settings.tls);
  asio::error_code ec;
  auto address = asio::ip::make_address(settings.listen_host, ec);
  if (ec) {
    std::cerr << "invalid listen address " << settings.listen_host << "\n";
    return 2;
  }
  asio::ip::tcp::endpoint bound;
  try {
    bound = adapter.listen({address, settings.listen_port});
  } catch (const std::exception& e) {
    std::cerr << "cannot listen on " << settings.listen_host << ":" << settings.listen_port
              << ": " << e.what() << "\n";
    return 1;
  }
  std::string host = bound.address().to_string();
  if (bound.address().is_v6()) host = "[" + host + "]";
  std::cout << "listening on " << host << ":" << bound.port() << std::endl;

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& err, int) {
    if (err) return;
    std::cerr << "shutting down\n";
    adapter.shutdown([&] { io.stop(); });
  });
  io.run();
  // The signal_set restores the default actions when it goes away; a second SIGTERM sent while
  // the process exits (an impatient operator, a supervisor's retry) must not turn a clean
  // shutdown into death by signal. Block both; pending ones die with the process.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  server::ServerSettings settings;
  std::string error;
  if (!server::parse_command_line({argv + 1, argv + argc}, settings, error)) {
    std::cerr << "rendezvous-server: " << error << "\n" << server::usage();
    return 2;
  }
  if (settings.help) {
    std::cout << server::usage();
    return 0;
  }
  try {
    return settings.tls.certificate.empty() ? run<server::PlainConfig>(settings)
                                            : run<server::TlsConfig>(settings);
  } catch (const std::invalid_argument& e) {
    std::cerr << "rendezvous-server: invalid configuration: " << e.what() << "\n";
    return 2;
  } catch (const std::system_error& e) {  // e.g. unreadable --tls-cert or --tls-key
    std::cerr << "rendezvous-server: " << e.what() << "\n";
    return 2;
  }
}
