#include "cluster/control_message.h"

#include <fmt/format.h>

#include "common/error.h"
#include "common/wire.h"

namespace ssivm::cluster {
namespace {

// The variant's index + 1.
enum class Type : uint8_t { kInterruptRequest = 1, kIoRequest, kIoReply, kShutdown };

struct Encoder {
  wire::Writer& w;
  void operator()(const InterruptRequest& m) {
    w.Put(m.vcpu);
    w.Put(m.vector);
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
};

ControlMessage DecodeFields(Type type, wire::Reader& r) {
  switch (type) {
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
  }
  throw Error(fmt::format("unknown control message type {}", static_cast<int>(type)));
}

}  // namespace

const char* ControlMessageName(const ControlMessage& m) {
  static const char* const kNames[] = {"InterruptRequest", "IoRequest", "IoReply", "Shutdown"};
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

void SendControl(Transport& transport, NodeId to, const ControlMessage& m) {
  transport.Send(to, Channel::kControl, EncodeControl(m));
}

}  // namespace ssivm::cluster
