#include "dsm/protocol/message.h"

#include <cstring>

#include <fmt/format.h>

#include "common/error.h"
#include "guest/abi/page.h"

namespace ssivm::dsm {
namespace {

enum class Type : uint8_t {
  kHello = 1,
  kGetShared,
  kGetModified,
  kInvalidate,
  kInvalidateAck,
  kForward,
  kWriteBack,
  kGrant,
  kInterruptRequest,
  kIoRequest,
  kIoReply,
  kShutdown,
};

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) : out_(out) {}
  template <class T>
  void Put(T v) {
    for (size_t i = 0; i < sizeof(T); ++i)
      out_.push_back(static_cast<uint8_t>(uint64_t{v} >> (8 * i)));
  }
  void Bytes(const PageData& d) { out_.insert(out_.end(), d.begin(), d.end()); }

 private:
  std::vector<uint8_t>& out_;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  template <class T>
  T Get() {
    if (in_.size() - pos_ < sizeof(T)) throw Error("truncated message");
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= uint64_t{in_[pos_ + i]} << (8 * i);
    pos_ += sizeof(T);
    return static_cast<T>(v);
  }
  void Bytes(PageData& d) {
    if (in_.size() - pos_ < d.size()) throw Error("truncated page data");
    std::memcpy(d.data(), in_.data() + pos_, d.size());
    pos_ += d.size();
  }
  size_t left() const { return in_.size() - pos_; }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
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
  Writer& w;
  Type operator()(const Hello& m) {
    w.Put(m.cluster_id);
    w.Put(m.protocol_version);
    w.Put(m.node_id);
    w.Put(m.epoch);
    return Type::kHello;
  }
  Type operator()(const GetShared& m) {
    w.Put(m.page);
    return Type::kGetShared;
  }
  Type operator()(const GetModified& m) {
    w.Put(m.page);
    return Type::kGetModified;
  }
  Type operator()(const Invalidate& m) {
    w.Put(m.page);
    return Type::kInvalidate;
  }
  Type operator()(const InvalidateAck& m) {
    w.Put(m.page);
    return Type::kInvalidateAck;
  }
  Type operator()(const Forward& m) {
    w.Put(m.page);
    w.Put(static_cast<uint8_t>(m.want));
    return Type::kForward;
  }
  Type operator()(const WriteBack& m) {
    w.Put(m.page);
    w.Put(static_cast<uint8_t>(m.kept_read_only ? 1 : 0));
    w.Bytes(m.data);
    return Type::kWriteBack;
  }
  Type operator()(const InterruptRequest& m) {
    w.Put(m.vcpu);
    w.Put(m.vector);
    return Type::kInterruptRequest;
  }
  Type operator()(const IoRequest& m) {
    w.Put(m.seq);
    w.Put(m.vcpu);
    w.Put(m.port);
    w.Put(m.size);
    w.Put(static_cast<uint8_t>(m.write ? 1 : 0));
    w.Put(m.data);
    return Type::kIoRequest;
  }
  Type operator()(const IoReply& m) {
    w.Put(m.seq);
    w.Put(m.data);
    return Type::kIoReply;
  }
  Type operator()(const Shutdown& m) {
    w.Put(static_cast<uint32_t>(m.status));
    w.Put(m.origin);
    return Type::kShutdown;
  }
  Type operator()(const Grant& m) {
    w.Put(m.page);
    w.Put(static_cast<uint8_t>(m.access));
    w.Put(static_cast<uint8_t>(m.kind));
    if (m.kind == DataKind::kBytes) w.Bytes(m.data);
    return Type::kGrant;
  }
};

Message DecodePayload(Type type, Reader& r) {
  switch (type) {
    case Type::kHello: {
      Hello h{};
      h.cluster_id = r.Get<uint64_t>();
      h.protocol_version = r.Get<uint32_t>();
      h.node_id = r.Get<uint32_t>();
      h.epoch = r.Get<uint64_t>();
      return h;
    }
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
      r.Bytes(wb.data);
      return wb;
    }
    case Type::kGrant: {
      Grant g{};
      g.page = r.Get<uint64_t>();
      g.access = ToAccess(r.Get<uint8_t>());
      g.kind = ToDataKind(r.Get<uint8_t>());
      if (g.kind == DataKind::kBytes) r.Bytes(g.data);
      return g;
    }
    case Type::kInterruptRequest: {
      InterruptRequest i{};
      i.vcpu = r.Get<uint32_t>();
      i.vector = r.Get<uint8_t>();
      return i;
    }
    case Type::kIoRequest: {
      IoRequest io{};
      io.seq = r.Get<uint64_t>();
      io.vcpu = r.Get<uint32_t>();
      io.port = r.Get<uint16_t>();
      io.size = r.Get<uint8_t>();
      if (io.size != 1 && io.size != 2 && io.size != 4) {
        throw Error(fmt::format("bad I/O size {}", io.size));
      }
      io.write = ToBool(r.Get<uint8_t>());
      io.data = r.Get<uint32_t>();
      return io;
    }
    case Type::kIoReply: {
      IoReply rep{};
      rep.seq = r.Get<uint64_t>();
      rep.data = r.Get<uint32_t>();
      return rep;
    }
    case Type::kShutdown: {
      Shutdown s{};
      s.status = static_cast<int32_t>(r.Get<uint32_t>());
      s.origin = r.Get<uint32_t>();
      return s;
    }
  }
  throw Error(fmt::format("unknown message type {}", static_cast<int>(type)));
}

}  // namespace

const char* MessageName(const Message& m) {
  static const char* const kNames[] = {
      "Hello",     "GetShared", "GetModified",      "Invalidate", "InvalidateAck", "Forward",
      "WriteBack", "Grant",     "InterruptRequest", "IoRequest",  "IoReply",       "Shutdown"};
  return kNames[m.index()];
}

void Encode(NodeId sender, const Message& m, std::vector<uint8_t>& out) {
  const size_t start = out.size();
  out.resize(start + kHeaderSize);
  Writer w(out);
  const Type type = std::visit(Encoder{w}, m);
  const uint32_t payload = static_cast<uint32_t>(out.size() - start - kHeaderSize);
  std::vector<uint8_t> header;
  Writer h(header);
  h.Put(kMagic);
  h.Put(kProtocolVersion);
  h.Put(static_cast<uint8_t>(type));
  h.Put(uint16_t{0});
  h.Put(payload);
  h.Put(sender);
  std::memcpy(out.data() + start, header.data(), kHeaderSize);
}

uint32_t PayloadSize(std::span<const uint8_t, kHeaderSize> header) {
  Reader r(header);
  const uint32_t magic = r.Get<uint32_t>();
  if (magic != kMagic) throw Error(fmt::format("bad magic {:#010x}", magic));
  const uint8_t version = r.Get<uint8_t>();
  if (version != kProtocolVersion) {
    throw Error(
        fmt::format("protocol version {} (this node speaks {})", version, kProtocolVersion));
  }
  r.Get<uint8_t>();
  const uint16_t flags = r.Get<uint16_t>();
  if (flags != 0) throw Error(fmt::format("unknown flags {:#x}", flags));
  const uint32_t payload = r.Get<uint32_t>();
  if (payload > kMaxPayload) throw Error(fmt::format("payload of {} bytes is too large", payload));
  return payload;
}

Frame Decode(std::span<const uint8_t> frame) {
  if (frame.size() < kHeaderSize) {
    throw Error(
        fmt::format("truncated frame: {} bytes, the header needs {}", frame.size(), kHeaderSize));
  }
  const uint32_t payload = PayloadSize(frame.first<kHeaderSize>());
  if (frame.size() != kHeaderSize + payload) {
    throw Error(
        fmt::format("frame of {} bytes announces a {}-byte payload", frame.size(), payload));
  }
  const auto type = static_cast<Type>(frame[5]);
  Reader header(frame.first(kHeaderSize));
  header.Get<uint64_t>();
  header.Get<uint32_t>();
  const NodeId sender = header.Get<uint32_t>();
  Reader r(frame.subspan(kHeaderSize));
  Message m = DecodePayload(type, r);
  if (r.left() != 0) {
    throw Error(
        fmt::format("{} message has {} unexpected trailing bytes", MessageName(m), r.left()));
  }
  return {sender, std::move(m)};
}

}  // namespace ssivm::dsm
