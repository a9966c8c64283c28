// Per-connection memory for parsed message headers, and the parser types that
// draw on it. Beast's fields allocate one block per header field plus one for
// the start line; taking those from a buffer that is rewound for each message
// keeps malloc and free off the per-request path. A header larger than the
// buffer spills to the heap, for that message only.
#pragma once

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstddef>
#include <memory_resource>
#include <optional>
#include <tuple>
#include <utility>

namespace doorman::proxy {

using FieldsAllocator = std::pmr::polymorphic_allocator<char>;
using RequestParser = boost::beast::http::request_parser<boost::beast::http::buffer_body, FieldsAllocator>;
using ResponseParser = boost::beast::http::response_parser<boost::beast::http::buffer_body, FieldsAllocator>;

class HeaderArena {
 public:
  // Enough for an ordinary header (a dozen fields and a token) without spilling.
  static constexpr std::size_t kInlineBytes = 2048;

  HeaderArena() : resource_(inline_, sizeof inline_, std::pmr::new_delete_resource()) {}
  HeaderArena(const HeaderArena&) = delete;
  HeaderArena& operator=(const HeaderArena&) = delete;

  // The allocator for the next message. Every parser built on an earlier one
  // must already be destroyed: its memory is reused from here on.
  FieldsAllocator rewind() {
    resource_.release();
    return FieldsAllocator(&resource_);
  }

 private:
  alignas(std::max_align_t) std::byte inline_[kInlineBytes];
  std::pmr::monotonic_buffer_resource resource_;
};

// Replaces `parser` by a fresh one on `arena` (the old one goes first, as rewind() requires).
template <class Parser>
Parser& emplace_parser(std::optional<Parser>& parser, HeaderArena& arena) {
  parser.reset();
  return parser.emplace(std::piecewise_construct, std::make_tuple(), std::make_tuple(arena.rewind()));
}

}  // namespace doorman::proxy
