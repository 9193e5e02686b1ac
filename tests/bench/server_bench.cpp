// End-to-end benchmark: the real rendezvous-server on loopback. Prints relayed messages/s,
// server CPU per relayed message (from /proc/<pid>/stat) and server memory per idle
// WebSocket connection (VmRSS growth over many idle connections). Not a test: the figures
// vary by machine; the README quotes a run of this program.
//
//   build/tests/bench/server-bench [--pairs 100] [--messages 1000] [--size 600] [--idle 5000]

#include "raw_ws.hpp"
#include "server_process.hpp"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include <sys/resource.h>

using namespace rendezvous::testing;

namespace {

double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string f;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoul(f);
    if (i == 15) stime = std::stoul(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

std::size_t arg(int argc, char** argv, const char* name, std::size_t fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::strtoull(argv[i + 1], nullptr, 10);
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t pairs = arg(argc, argv, "--pairs", 100);
  std::size_t messages = arg(argc, argv, "--messages", 1000);
  std::size_t size = arg(argc, argv, "--size", 600);
  std::size_t idle = arg(argc, argv, "--idle", 5000);

  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < idle + 2 * pairs + 64) {
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, idle + 2 * pairs + 64);
    setrlimit(RLIMIT_NOFILE, &lim);
    idle = std::min<std::size_t>(idle, lim.rlim_cur > 2 * pairs + 64 ? lim.rlim_cur - 2 * pairs - 64 : 0);
  }

  ServerProcess server({"--rate-limit", "0", "--max-connections-per-address", "100000"});

  std::vector<std::unique_ptr<RawWs>> senders, receivers;
  std::vector<std::string> payloads;
  for (std::size_t i = 0; i < pairs; ++i) {
    std::string a = "a" + std::to_string(i), b = "b" + std::to_string(i);
    senders.push_back(std::make_unique<RawWs>());
    receivers.push_back(std::make_unique<RawWs>());
    if (senders.back()->open(server.port(), "/websocket/?finger=" + a) != 101 ||
        receivers.back()->open(server.port(), "/websocket/?finger=" + b) != 101) {
      std::fprintf(stderr, "handshake failed\n");
      return 1;
    }
    std::string head = R"({"to":")" + b + R"(","from":")" + a + R"(","type":"candidate","sdp":")";
    payloads.push_back(head + std::string(size > head.size() + 2 ? size - head.size() - 2 : 0, 'x') + "\"}");
  }

  double cpu0 = cpu_seconds(server.pid());
  auto t0 = std::chrono::steady_clock::now();
  std::size_t received = 0;
  const std::size_t batch = 50;
  for (std::size_t sent = 0; sent < messages; sent += batch) {
    std::size_t n = std::min(batch, messages - sent);
    for (std::size_t i = 0; i < pairs; ++i)
      for (std::size_t k = 0; k < n; ++k) senders[i]->send_text(payloads[i]);
    for (std::size_t i = 0; i < pairs; ++i)
      for (std::size_t k = 0; k < n; ++k) {
        Frame f = receivers[i]->next(std::chrono::seconds(10));
        if (f.opcode != 1 || f.payload != payloads[i]) {
          std::fprintf(stderr, "lost or changed message (opcode %d)\n", f.opcode);
          return 1;
        }
        ++received;
      }
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = cpu_seconds(server.pid()) - cpu0;
  std::printf("server relay: %zu pairs, %zu messages of %zu bytes: %.0f messages/s, "
              "%.2f us server CPU per message\n",
              pairs, received, payloads[0].size(), received / wall, cpu * 1e6 / received);

  long rss0 = rss_kib(server.pid());
  std::vector<std::unique_ptr<RawWs>> idlers;
  for (std::size_t i = 0; i < idle; ++i) {
    idlers.push_back(std::make_unique<RawWs>());
    if (idlers.back()->open(server.port(), "/websocket/?finger=idle" + std::to_string(i)) != 101) {
      idlers.pop_back();
      break;
    }
  }
  long rss1 = rss_kib(server.pid());
  if (!idlers.empty())
    std::printf("server memory: %zu idle WebSockets add %.1f KiB each (VmRSS %ld -> %ld KiB)\n",
                idlers.size(), static_cast<double>(rss1 - rss0) / idlers.size(), rss0, rss1);
  return 0;
}
