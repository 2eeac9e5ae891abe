// The DSM's coherence messages between node processes, and their defensive
// codec. They travel on the transport's coherence channel: the payload is
// u8 type + the type's fields (little-endian, one exact size per type); the
// page of a Grant with data or of a WriteBack travels beside the payload as
// the frame's page (a PageBuffer handle, never bytes inside the message).
#ifndef SSIVM_DSM_PROTOCOL_MESSAGE_H_
#define SSIVM_DSM_PROTOCOL_MESSAGE_H_

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "cluster/transport/transport.h"
#include "common/page_buffer.h"

namespace ssivm::dsm {

using NodeId = cluster::NodeId;
using PageNumber = uint64_t;  // guest-physical address >> 12
// The highest page number whose address fits 64 bits: a larger one would
// wrap to (alias) a real page once multiplied by the page size.
inline constexpr PageNumber kMaxPageNumber = UINT64_MAX / abi::kPageSize;

enum class Access : uint8_t { kRead = 1, kWrite = 2 };
enum class DataKind : uint8_t { kNone = 0, kZero = 1, kBytes = 2 };

// Requester -> home.
struct GetShared {
  PageNumber page;
};
struct GetModified {
  PageNumber page;
};
// Home -> sharer, and its answer.
struct Invalidate {
  PageNumber page;
};
struct InvalidateAck {
  PageNumber page;
};
// Home -> exclusive owner: give the data back (keep a read-only copy or not).
struct Forward {
  PageNumber page;
  Access want;
};
// Owner -> home, with the page's contents.
struct WriteBack {
  PageNumber page;
  bool kept_read_only;
  PageBuffer data;
};
// Home -> requester: the access is granted, with or without data.
struct Grant {
  PageNumber page;
  Access access;
  DataKind kind;
  PageBuffer data;  // kBytes only
};

// Holder -> home, unasked: the holder gave its copy up to stay within its
// memory budget (eviction). A read-only copy is just dropped; an owned page
// goes back to its home with its contents.
struct PutShared {
  PageNumber page;
};
struct PutModified {
  PageNumber page;
  PageBuffer data;
};

using Message = std::variant<GetShared, GetModified, Invalidate, InvalidateAck, Forward, WriteBack,
                             Grant, PutShared, PutModified>;

const char* MessageName(const Message& m);

// The page number every coherence message names.
inline PageNumber PageOf(const Message& m) {
  return std::visit([](const auto& x) { return x.page; }, m);
}

// The page a message carries (Grant with data, WriteBack, PutModified), or
// nullptr.
const PageBuffer* DataOf(const Message& m);
PageBuffer* DataOf(Message& m);

// The payload of `m` (its page not included).
std::vector<uint8_t> EncodePayload(const Message& m);

// Decodes one coherence message from a frame's payload and page. Throws
// Error naming the problem (bad type, size, field value, a page missing or
// unexpected); never reads out of bounds.
Message Decode(std::span<const uint8_t> payload, PageBuffer page);

// Sends `m` to `to` on the coherence channel, its page beside it.
void Send(cluster::Transport& transport, NodeId to, const Message& m);

}  // namespace ssivm::dsm

#endif  // SSIVM_DSM_PROTOCOL_MESSAGE_H_
