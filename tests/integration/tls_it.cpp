// The example server terminating TLS itself (--tls-cert/--tls-key): a fingersmith relay over
// wss:// and GET /healthz over https:// on the same port, with a throwaway self-signed
// certificate made here with OpenSSL's API (no external tool).

#include "server_process.hpp"
#include "socket_util.hpp"
#include "ws_client.hpp"

#include <doctest/doctest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>
#include <memory>

using namespace rendezvous::testing;
using namespace std::chrono_literals;

namespace {

/// A self-signed P-256 certificate for 127.0.0.1 in a fresh temporary directory, removed
/// again by the destructor.
class ThrowawayCertificate {
 public:
  ThrowawayCertificate() {
    char dir_template[] = "/tmp/rendezvous-tls-XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    dir_ = dir_template;
    cert_path = (dir_ / "cert.pem").string();
    key_path = (dir_ / "key.pem").string();

    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
    REQUIRE(key);
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
    REQUIRE(cert);
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);

    FILE* kf = std::fopen(key_path.c_str(), "w");
    REQUIRE(kf);
    CHECK(PEM_write_PrivateKey(kf, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
    std::fclose(kf);
    FILE* cf = std::fopen(cert_path.c_str(), "w");
    REQUIRE(cf);
    CHECK(PEM_write_X509(cf, cert.get()) == 1);
    std::fclose(cf);
  }
  ~ThrowawayCertificate() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string cert_path, key_path;

 private:
  std::filesystem::path dir_;
};

/// One HTTP/1.1 request over TLS with OpenSSL (certificate not verified: it is self-signed).
/// Returns the raw response, or an empty string when the TLS handshake failed.
std::string https_request(unsigned short port, const std::string& request) {
  Socket sock(port);
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_fd(ssl.get(), sock.fd());
  if (SSL_connect(ssl.get()) != 1) return {};
  SSL_write(ssl.get(), request.data(), static_cast<int>(request.size()));
  std::string out;
  char buf[4096];
  while (true) {
    int n = SSL_read(ssl.get(), buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string fs_msg(const std::string& to, const std::string& from, const std::string& rest = "") {
  return R"({"to":")" + to + R"(","from":")" + from + "\"" + rest + "}";
}

}  // namespace

TEST_CASE("TLS: fingersmith relays over wss:// and /healthz answers over https://") {
  ThrowawayCertificate cert;
  ServerProcess server({"--tls-cert", cert.cert_path, "--tls-key", cert.key_path});
  std::string base = "wss://127.0.0.1:" + std::to_string(server.port());

  WssClient alice, bob;
  REQUIRE(alice.connect(base + "/websocket/?finger=alice") == 101);
  REQUIRE(bob.connect(base + "/websocket?finger=bob") == 101);
  std::string offer = fs_msg("bob", "alice", R"(,"type":"offer","sdp":"v=0\r\n")");
  alice.send(offer);
  CHECK(bob.next_text() == offer);
  std::string answer = fs_msg("alice", "bob", R"(,"type":"answer")");
  bob.send(answer);
  CHECK(alice.next_text() == answer);
  WssClient dup;
  CHECK(dup.connect(base + "/websocket/?finger=alice") == 409);

  std::string health =
      https_request(server.port(), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  CHECK(health.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(health.size() >= 2);
  CHECK(health.substr(health.size() - 2) == "ok");
  std::string missing = https_request(server.port(), "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(missing.rfind("HTTP/1.1 404", 0) == 0);

  // Plain text on the TLS port is not served.
  Socket plain(server.port());
  plain.write_all("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got;
  plain.read_some(got, std::chrono::steady_clock::now() + 2s);
  CHECK(got.find("200") == std::string::npos);

  CHECK(server.stop(8s) == 0);
}

TEST_CASE("TLS: an unreadable certificate is refused at startup") {
  char log_template[] = "/tmp/rendezvous-tls-missing-XXXXXX";
  REQUIRE(mkdtemp(log_template) != nullptr);
  std::string dir = log_template;
  bool started = true;
  try {
    ServerProcess server({"--tls-cert", dir + "/none.pem", "--tls-key", dir + "/none.pem"});
  } catch (const std::runtime_error&) {
    started = false;
  }
  CHECK_FALSE(started);
  std::filesystem::remove_all(dir);
}
