// The drained mark on Asio's reactor and the reads that keep it (see socket_reads.hpp).
#include "proxy/socket_reads.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/version.hpp>

#include <cerrno>
#include <tuple>
#include <type_traits>

namespace doorman::proxy {

using boost::system::error_code;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadLimit = 65536;  // Beast's read_some size: reads look the same either way

#if BOOST_VERSION == 108100 && defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#define DOORMAN_DRAINED_MARKS 1

// The mark is the reactor's own per-socket "try a read at once" flag for reads,
// which it sets again whenever epoll reports the socket. Neither the flag nor the
// socket's reactor state is public, and this code is checked against Asio 1.81 only
// (Debian 12's Boost): any other version compiles the fallback below.
using Reactor = asio::detail::epoll_reactor;
using DescriptorState = Reactor::descriptor_state;
using SpeculativeFlags = bool (DescriptorState::*)[Reactor::max_ops];
static_assert(std::is_same_v<asio::detail::reactor, Reactor>);

SpeculativeFlags try_speculative = nullptr;

// An explicit instantiation may name a private member ([temp.spec.general]); its
// static initializer hands the member pointer out.
template <SpeculativeFlags Member>
struct ExposeSpeculativeFlags {
  static inline const bool exposed = (try_speculative = Member, true);
};
template struct ExposeSpeculativeFlags<&DescriptorState::try_speculative_>;

// The socket's reactor state is a protected member of basic_socket; a member pointer
// formed through a derived class may be applied to any socket.
struct SocketInternals : asio::ip::tcp::socket {
  static DescriptorState* state_of(asio::ip::tcp::socket& socket) {
    return (socket.*&SocketInternals::impl_).get_implementation().reactor_data_;
  }
};

bool marked(asio::ip::tcp::socket& socket) {
  const DescriptorState* state = SocketInternals::state_of(socket);
  return state != nullptr && try_speculative != nullptr && !(state->*try_speculative)[Reactor::read_op];
}

// Only right after a read found the socket empty, before the worker's event loop
// runs again: an event the reactor handles in between would otherwise be lost.
void mark_drained(asio::ip::tcp::socket& socket) {
  DescriptorState* state = SocketInternals::state_of(socket);
  if (state != nullptr && try_speculative != nullptr) (state->*try_speculative)[Reactor::read_op] = false;
}

#else

bool marked(asio::ip::tcp::socket&) { return false; }
void mark_drained(asio::ip::tcp::socket&) {}

#endif

}  // namespace

bool drained_marks_supported() {
#ifdef DOORMAN_DRAINED_MARKS
  return try_speculative != nullptr;
#else
  return false;
#endif
}

bool known_drained(asio::ip::tcp::socket& socket) { return marked(socket); }

std::size_t read_now(asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer, error_code& ec,
                     ShortRead short_read) {
  ec = {};
  if (marked(socket)) return 0;
  const std::size_t size = boost::beast::read_size(buffer, kReadLimit);
  if (size == 0) {
    ec = boost::beast::http::error::buffer_overflow;
    return 0;
  }
  const auto space = buffer.prepare(size);
  for (;;) {
    const auto n = ::recv(socket.native_handle(), space.data(), space.size(), MSG_DONTWAIT);
    if (n > 0) {
      const auto got = static_cast<std::size_t>(n);
      buffer.commit(got);
      if (got < size && short_read == ShortRead::mark_drained) mark_drained(socket);
      return got;
    }
    if (n == 0) {
      ec = asio::error::eof;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      mark_drained(socket);
      return 0;
    }
    ec = error_code(errno, asio::error::get_system_category());
    return 0;
  }
}

bool read_some_now(asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer, ShortRead short_read,
                   ReadSome& result, asio::mutable_buffer& space) {
  result = ReadSome{};
  if (drained_marks_supported()) {
    // Try what Asio would try, but here, so that an empty socket gets marked.
    result.bytes = read_now(socket, buffer, result.ec, short_read);
    if (result.bytes != 0 || result.ec) return true;
  }
  const std::size_t size = boost::beast::read_size(buffer, kReadLimit);
  if (size == 0) {
    result.ec = boost::beast::http::error::buffer_overflow;
    return true;
  }
  space = buffer.prepare(size);
  return false;
}

void read_some_done(asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer, ShortRead short_read,
                    std::size_t asked, const ReadSome& result) {
  buffer.commit(result.bytes);
  // Marked drained, Asio queued the read until epoll reported the socket, and ran
  // its completion straight from that event, before the reactor looked again: a
  // mark set here cannot hide a report that came in between.
  if (!result.ec && result.bytes != 0 && result.bytes < asked && short_read == ShortRead::mark_drained) {
    mark_drained(socket);
  }
}

asio::awaitable<ReadSome> read_some(asio::ip::tcp::socket& socket, boost::beast::flat_buffer& buffer,
                                    ShortRead short_read) {
  ReadSome result;
  asio::mutable_buffer space;
  if (read_some_now(socket, buffer, short_read, result, space)) co_return result;
  std::tie(result.ec, result.bytes) = co_await socket.async_read_some(space, nothrow);
  read_some_done(socket, buffer, short_read, space.size(), result);
  co_return result;
}

}  // namespace doorman::proxy
