// Test support for the proxy's socket tests: two connected loopback TCP sockets on
// one io_context, so reads and writes go through the real kernel and reactor.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

struct LoopbackPair {
  boost::asio::io_context context;
  boost::asio::ip::tcp::socket connected{context};  // the side that connected
  boost::asio::ip::tcp::socket accepted{context};   // the side that accepted
  LoopbackPair() {
    boost::asio::ip::tcp::acceptor acceptor(
        context, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    connected.connect(acceptor.local_endpoint());
    acceptor.accept(accepted);
  }
};
