#pragma once

// Starts the real rendezvous-server on 127.0.0.1 port 0 and reads the bound port from its
// first stdout line. The destructor stops it (SIGTERM, then SIGKILL) and reaps it: tests only
// end processes they started, by PID.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef RENDEZVOUS_SERVER_PATH
#error "RENDEZVOUS_SERVER_PATH must name the rendezvous-server binary"
#endif

namespace rendezvous::testing {

class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> args = {}) {
    char log_template[] = "/tmp/rendezvous-test-XXXXXX";
    int log_fd = mkstemp(log_template);
    if (log_fd < 0) throw std::runtime_error("mkstemp failed");
    log_path_ = log_template;
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe failed");
    bool has_listen = false;
    for (const auto& a : args) has_listen = has_listen || a == "--listen";
    if (!has_listen) {
      args.insert(args.begin(), "127.0.0.1:0");
      args.insert(args.begin(), "--listen");
    }
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(log_fd, 2);
      close(out[0]);
      close(out[1]);
      std::vector<char*> argv;
      std::string path = RENDEZVOUS_SERVER_PATH;
      argv.push_back(path.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(path.c_str(), argv.data());
      _exit(127);
    }
    close(out[1]);
    close(log_fd);
    stdout_fd_ = out[0];
    std::string line = read_line(std::chrono::seconds(10));
    auto colon = line.rfind(':');
    if (line.rfind("listening on ", 0) != 0 || colon == std::string::npos)
      throw std::runtime_error("server did not start: '" + line + "' " + log());
    port_ = static_cast<unsigned short>(std::stoi(line.substr(colon + 1)));
  }

  ~ServerProcess() {
    if (pid_ > 0) stop(std::chrono::seconds(8));
    if (stdout_fd_ >= 0) close(stdout_fd_);
    std::remove(log_path_.c_str());
  }

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  unsigned short port() const { return port_; }
  std::string ws_url(const std::string& target) const {
    return "ws://127.0.0.1:" + std::to_string(port_) + target;
  }

  /// Sends SIGTERM; returns the exit status once the process ended (SIGKILL after `limit`).
  int stop(std::chrono::milliseconds limit) {
    if (pid_ <= 0) return exit_status_;
    kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (true) {
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        status = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    exit_status_ = status == -1 ? -1 : (WIFEXITED(status) ? WEXITSTATUS(status) : -2);
    return exit_status_;
  }

  /// The server's stderr so far (its connect/refuse/disconnect log lines).
  std::string log() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  pid_t pid() const { return pid_; }

 private:
  std::string read_line(std::chrono::milliseconds limit) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{stdout_fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char c;
      if (read(stdout_fd_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line.push_back(c);
    }
    return line;
  }

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  unsigned short port_ = 0;
  int exit_status_ = 0;
  std::string log_path_;
};

}  // namespace rendezvous::testing
