#include "dsm/protocol/message.h"

#include <utility>

#include <fmt/format.h>

#include "common/error.h"
#include "common/wire.h"

namespace ssivm::dsm {
namespace {

// The variant's index + 1.
enum class Type : uint8_t {
  kGetShared = 1,
  kGetModified,
  kInvalidate,
  kInvalidateAck,
  kForward,
  kWriteBack,
  kGrant,
  kPutShared,
  kPutModified,
};

Access ToAccess(uint8_t v) {
  if (v != static_cast<uint8_t>(Access::kRead) && v != static_cast<uint8_t>(Access::kWrite)) {
    throw Error(fmt::format("bad access value {}", v));
  }
  return static_cast<Access>(v);
}

DataKind ToDataKind(uint8_t v) {
  if (v > static_cast<uint8_t>(DataKind::kBytes)) throw Error(fmt::format("bad data kind {}", v));
  return static_cast<DataKind>(v);
}

bool ToBool(uint8_t v) {
  if (v > 1) throw Error(fmt::format("bad boolean {}", v));
  return v == 1;
}

struct Encoder {
  wire::Writer& w;
  void operator()(const GetShared& m) { w.Put(m.page); }
  void operator()(const GetModified& m) { w.Put(m.page); }
  void operator()(const Invalidate& m) { w.Put(m.page); }
  void operator()(const InvalidateAck& m) { w.Put(m.page); }
  void operator()(const Forward& m) {
    w.Put(m.page);
    w.Put(static_cast<uint8_t>(m.want));
  }
  void operator()(const WriteBack& m) {
    w.Put(m.page);
    w.Put(static_cast<uint8_t>(m.kept_read_only ? 1 : 0));
  }
  void operator()(const Grant& m) {
    w.Put(m.page);
    w.Put(static_cast<uint8_t>(m.access));
    w.Put(static_cast<uint8_t>(m.kind));
  }
  void operator()(const PutShared& m) { w.Put(m.page); }
  void operator()(const PutModified& m) { w.Put(m.page); }
};

Message DecodeFields(Type type, wire::Reader& r, PageBuffer& page) {
  switch (type) {
    case Type::kGetShared:
      return GetShared{r.Get<uint64_t>()};
    case Type::kGetModified:
      return GetModified{r.Get<uint64_t>()};
    case Type::kInvalidate:
      return Invalidate{r.Get<uint64_t>()};
    case Type::kInvalidateAck:
      return InvalidateAck{r.Get<uint64_t>()};
    case Type::kForward: {
      Forward f{};
      f.page = r.Get<uint64_t>();
      f.want = ToAccess(r.Get<uint8_t>());
      return f;
    }
    case Type::kWriteBack: {
      WriteBack wb{};
      wb.page = r.Get<uint64_t>();
      wb.kept_read_only = ToBool(r.Get<uint8_t>());
      wb.data = std::move(page);
      return wb;
    }
    case Type::kGrant: {
      Grant g{};
      g.page = r.Get<uint64_t>();
      g.access = ToAccess(r.Get<uint8_t>());
      g.kind = ToDataKind(r.Get<uint8_t>());
      if (g.kind == DataKind::kBytes) g.data = std::move(page);
      return g;
    }
    case Type::kPutShared:
      return PutShared{r.Get<uint64_t>()};
    case Type::kPutModified:
      return PutModified{r.Get<uint64_t>(), std::move(page)};
  }
  throw Error(fmt::format("unknown coherence message type {}", static_cast<int>(type)));
}

}  // namespace

const char* MessageName(const Message& m) {
  static const char* const kNames[] = {"GetShared",     "GetModified", "Invalidate",
                                       "InvalidateAck", "Forward",     "WriteBack",
                                       "Grant",         "PutShared",   "PutModified"};
  return kNames[m.index()];
}

const PageBuffer* DataOf(const Message& m) {
  if (const auto* g = std::get_if<Grant>(&m))
    return g->kind == DataKind::kBytes ? &g->data : nullptr;
  if (const auto* w = std::get_if<WriteBack>(&m)) return &w->data;
  if (const auto* p = std::get_if<PutModified>(&m)) return &p->data;
  return nullptr;
}

PageBuffer* DataOf(Message& m) {
  return const_cast<PageBuffer*>(DataOf(std::as_const(m)));
}

std::vector<uint8_t> EncodePayload(const Message& m) {
  std::vector<uint8_t> out;
  out.reserve(16);
  wire::Writer w(out);
  w.Put(static_cast<uint8_t>(m.index() + 1));
  std::visit(Encoder{w}, m);
  return out;
}

Message Decode(std::span<const uint8_t> payload, PageBuffer page) {
  wire::Reader r(payload);
  const auto type = static_cast<Type>(r.Get<uint8_t>());
  const bool had_page = static_cast<bool>(page);
  Message m = DecodeFields(type, r, page);
  if (r.left() != 0) {
    throw Error(
        fmt::format("{} message has {} unexpected trailing bytes", MessageName(m), r.left()));
  }
  const PageBuffer* carried = DataOf(m);
  if (carried != nullptr && !*carried) {
    throw Error(fmt::format("{} message without its page", MessageName(m)));
  }
  if (had_page && carried == nullptr) {
    throw Error(fmt::format("{} message with a page it cannot carry", MessageName(m)));
  }
  if (const PageNumber p = PageOf(m); p > kMaxPageNumber) {
    throw Error(
        fmt::format("{} message names page {:#x}, beyond any guest address", MessageName(m), p));
  }
  return m;
}

void Send(cluster::Transport& transport, NodeId to, const Message& m) {
  const PageBuffer* page = DataOf(m);
  transport.Send(to, cluster::Channel::kCoherence, EncodePayload(m), page ? *page : PageBuffer());
}

}  // namespace ssivm::dsm
