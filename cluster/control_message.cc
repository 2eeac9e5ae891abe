#include "cluster/control_message.h"

#include <fmt/format.h>

#include "common/error.h"
#include "common/wire.h"
#include "guest/abi/page.h"

namespace ssivm::cluster {
namespace {

// The variant's index + 1.
enum class Type : uint8_t {
  kInterruptRequest = 1,
  kIoRequest,
  kIoReply,
  kShutdown,
  kMigrateOut,
  kVcpuStatePart,
  kVcpuMoved,
  kViewApplied,
  kPagesPulled,
  kMoveFailed,
};

struct Encoder {
  wire::Writer& w;
  void operator()(const InterruptRequest& m) {
    w.Put(m.vcpu);
    w.Put(m.vector);
    w.Put(m.hops);
  }
  void operator()(const IoRequest& m) {
    w.Put(m.seq);
    w.Put(m.vcpu);
    w.Put(m.port);
    w.Put(m.size);
    w.Put(static_cast<uint8_t>(m.write ? 1 : 0));
    w.Put(m.data);
  }
  void operator()(const IoReply& m) {
    w.Put(m.seq);
    w.Put(m.data);
  }
  void operator()(const Shutdown& m) {
    w.Put(static_cast<uint32_t>(m.status));
    w.Put(m.origin);
  }
  void operator()(const MigrateOut& m) {
    w.Put(m.id);
    w.Put(m.vcpu);
    w.Put(m.to);
    w.Put(m.epoch);
  }
  void operator()(const VcpuStatePart& m) {
    w.Put(m.id);
    w.Put(m.vcpu);
    w.Put(m.epoch);
    w.Put(m.total);
    w.Put(m.offset);
    w.Put(m.length);
    w.Put(m.paused_at_ns);
    w.Put(m.captured_at_ns);
  }
  void operator()(const VcpuMoved& m) {
    w.Put(m.id);
    w.Put(m.vcpu);
    w.Put(m.from);
    w.Put(m.to);
    w.Put(m.epoch);
    w.Put(m.downtime_ns);
    w.Put(m.state_bytes);
    w.Put(m.capture_ns);
    w.Put(m.transfer_ns);
  }
  void operator()(const ViewApplied& m) {
    w.Put(m.id);
    w.Put(m.epoch);
  }
  void operator()(const PagesPulled& m) {
    w.Put(m.vcpu);
    w.Put(m.from);
    w.Put(m.pages);
  }
  void operator()(const MoveFailed& m) {
    w.Put(m.id);
    w.Put(m.vcpu);
    w.Put(m.why);
  }
};

ControlMessage DecodeFields(Type type, wire::Reader& r) {
  switch (type) {
    case Type::kInterruptRequest: {
      InterruptRequest i{};
      i.vcpu = r.Get<uint32_t>();
      i.vector = r.Get<uint8_t>();
      i.hops = r.Get<uint8_t>();
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
      const auto write = r.Get<uint8_t>();
      if (write > 1) throw Error(fmt::format("bad boolean {}", write));
      io.write = write == 1;
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
    case Type::kMigrateOut: {
      MigrateOut m{};
      m.id = r.Get<uint64_t>();
      m.vcpu = r.Get<uint32_t>();
      m.to = r.Get<uint32_t>();
      m.epoch = r.Get<uint64_t>();
      return m;
    }
    case Type::kVcpuStatePart: {
      VcpuStatePart p{};
      p.id = r.Get<uint64_t>();
      p.vcpu = r.Get<uint32_t>();
      p.epoch = r.Get<uint64_t>();
      p.total = r.Get<uint32_t>();
      p.offset = r.Get<uint32_t>();
      p.length = r.Get<uint32_t>();
      p.paused_at_ns = r.Get<uint64_t>();
      p.captured_at_ns = r.Get<uint64_t>();
      // Without overflow: offset + length <= total.
      if (p.length == 0 || p.length > abi::kPageSize || p.offset > p.total ||
          p.length > p.total - p.offset) {
        throw Error(
            fmt::format("bad vCPU state part: {} bytes at {} of {}", p.length, p.offset, p.total));
      }
      return p;
    }
    case Type::kVcpuMoved: {
      VcpuMoved m{};
      m.id = r.Get<uint64_t>();
      m.vcpu = r.Get<uint32_t>();
      m.from = r.Get<uint32_t>();
      m.to = r.Get<uint32_t>();
      m.epoch = r.Get<uint64_t>();
      m.downtime_ns = r.Get<uint64_t>();
      m.state_bytes = r.Get<uint32_t>();
      m.capture_ns = r.Get<uint64_t>();
      m.transfer_ns = r.Get<uint64_t>();
      return m;
    }
    case Type::kViewApplied: {
      ViewApplied v{};
      v.id = r.Get<uint64_t>();
      v.epoch = r.Get<uint64_t>();
      return v;
    }
    case Type::kPagesPulled: {
      PagesPulled p{};
      p.vcpu = r.Get<uint32_t>();
      p.from = r.Get<uint32_t>();
      p.pages = r.Get<uint64_t>();
      return p;
    }
    case Type::kMoveFailed: {
      MoveFailed f{};
      f.id = r.Get<uint64_t>();
      f.vcpu = r.Get<uint32_t>();
      f.why = r.Get<uint8_t>();
      if (f.why != MoveFailed::kMoveBusy) throw Error(fmt::format("bad move failure {}", f.why));
      return f;
    }
  }
  throw Error(fmt::format("unknown control message type {}", static_cast<int>(type)));
}

}  // namespace

const char* ControlMessageName(const ControlMessage& m) {
  static const char* const kNames[] = {
      "InterruptRequest", "IoRequest", "IoReply",     "Shutdown",    "MigrateOut",
      "VcpuStatePart",    "VcpuMoved", "ViewApplied", "PagesPulled", "MoveFailed"};
  return kNames[m.index()];
}

std::vector<uint8_t> EncodeControl(const ControlMessage& m) {
  std::vector<uint8_t> out;
  wire::Writer w(out);
  w.Put(static_cast<uint8_t>(m.index() + 1));
  std::visit(Encoder{w}, m);
  return out;
}

ControlMessage DecodeControl(std::span<const uint8_t> payload) {
  wire::Reader r(payload);
  const auto type = static_cast<Type>(r.Get<uint8_t>());
  ControlMessage m = DecodeFields(type, r);
  if (r.left() != 0) {
    throw Error(fmt::format("{} message has {} unexpected trailing bytes", ControlMessageName(m),
                            r.left()));
  }
  return m;
}

void SendControl(Transport& transport, NodeId to, const ControlMessage& m, const PageBuffer& page) {
  transport.Send(to, Channel::kControl, EncodeControl(m), page);
}

}  // namespace ssivm::cluster
