#pragma once

// websocketpp configurations for the example server, tuned as ../shared/DESIGN.md §6 measured:
// no per-connection strands (one I/O thread), no logging machinery, a 2 KiB read buffer
// (8.7 KiB per idle connection), and a connection base that carries the Broker's id.

#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE
#endif

#include <websocketpp/config/asio.hpp>
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/concurrency/none.hpp>
#include <websocketpp/logger/stub.hpp>
#include <websocketpp/server.hpp>

#include <cstdint>

namespace rendezvous::server {

/// Per-connection data the adapter keeps inside websocketpp's own connection object, so a
/// connection handle leads to its Broker id without a map lookup.
struct ConnectionData {
  std::uint64_t rdv_id = 0;
};

template <typename Base>
struct TunedConfig : public Base {
  typedef TunedConfig type;
  typedef Base base;

  typedef websocketpp::concurrency::none concurrency_type;
  typedef websocketpp::log::stub alog_type;
  typedef websocketpp::log::stub elog_type;

  typedef typename base::request_type request_type;
  typedef typename base::response_type response_type;
  typedef websocketpp::message_buffer::message<websocketpp::message_buffer::alloc::con_msg_manager>
      message_type;
  typedef websocketpp::message_buffer::alloc::con_msg_manager<message_type> con_msg_manager_type;
  typedef websocketpp::message_buffer::alloc::endpoint_msg_manager<con_msg_manager_type>
      endpoint_msg_manager_type;
  typedef typename base::rng_type rng_type;

  typedef ConnectionData connection_base;

  static const std::size_t connection_read_buffer_size = 2048;

  struct transport_config : public base::transport_config {
    typedef typename type::concurrency_type concurrency_type;
    typedef typename type::alog_type alog_type;
    typedef typename type::elog_type elog_type;
    typedef typename type::request_type request_type;
    typedef typename type::response_type response_type;
    typedef typename base::transport_config::socket_type socket_type;
    // The transport reads this flag, not the top-level one: no strands with one I/O thread.
    static const bool enable_multithreading = false;
  };

  typedef websocketpp::transport::asio::endpoint<transport_config> transport_type;
};

using PlainConfig = TunedConfig<websocketpp::config::asio>;
using TlsConfig = TunedConfig<websocketpp::config::asio_tls>;

}  // namespace rendezvous::server
