#include "hypervisor/emulated/channel_protocol.h"

#include <fmt/format.h>

#include "common/error.h"

namespace ssivm::emulated {
namespace {

void Put16(std::vector<uint8_t>& o, uint16_t v) {
  o.push_back(v & 0xff);
  o.push_back(v >> 8);
}
void Put32(std::vector<uint8_t>& o, uint32_t v) {
  for (int i = 0; i < 4; ++i) o.push_back((v >> (8 * i)) & 0xff);
}
uint32_t Get(const uint8_t* p, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool KnownType(uint16_t t) {
  switch (static_cast<MsgType>(t)) {
    case MsgType::kReady:
    case MsgType::kStdout:
    case MsgType::kStderr:
    case MsgType::kExit:
    case MsgType::kOpenFailed:
    case MsgType::kAlive:
    case MsgType::kExec:
    case MsgType::kStdin:
    case MsgType::kStdinEof:
    case MsgType::kSignal:
    case MsgType::kWinSize:
    case MsgType::kOpen:
    case MsgType::kData:
    case MsgType::kClose:
      return true;
  }
  return false;
}

}  // namespace

const char* MsgTypeName(MsgType t) {
  switch (t) {
    case MsgType::kReady:
      return "ready";
    case MsgType::kStdout:
      return "stdout";
    case MsgType::kStderr:
      return "stderr";
    case MsgType::kExit:
      return "exit";
    case MsgType::kOpenFailed:
      return "open-failed";
    case MsgType::kAlive:
      return "alive";

    case MsgType::kExec:
      return "exec";
    case MsgType::kStdin:
      return "stdin";
    case MsgType::kStdinEof:
      return "stdin-eof";
    case MsgType::kSignal:
      return "signal";
    case MsgType::kWinSize:
      return "winsize";
    case MsgType::kOpen:
      return "open";
    case MsgType::kData:
      return "data";
    case MsgType::kClose:
      return "close";
  }
  return "unknown";
}

nlohmann::json Frame::Json() const {
  nlohmann::json j = nlohmann::json::parse(payload.begin(), payload.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw Error(
        fmt::format("channel: the {} message's payload is not a JSON object", MsgTypeName(type)));
  }
  return j;
}

std::vector<uint8_t> EncodeFrame(MsgType type, uint32_t stream, std::span<const uint8_t> payload) {
  if (payload.size() > kMaxPayload) {
    throw Error(fmt::format("channel: a {} message of {} bytes is larger than {}",
                            MsgTypeName(type), payload.size(), kMaxPayload));
  }
  std::vector<uint8_t> out;
  out.reserve(kFrameHeaderSize + payload.size());
  Put16(out, static_cast<uint16_t>(type));
  Put16(out, 0);
  Put32(out, stream);
  Put32(out, static_cast<uint32_t>(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::vector<uint8_t> EncodeJsonFrame(MsgType type, uint32_t stream, const nlohmann::json& payload) {
  const std::string s = payload.dump();
  return EncodeFrame(type, stream, std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

void FrameDecoder::Feed(std::span<const uint8_t> bytes) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > (1u << 16) && pos_ * 2 > buf_.size()) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

std::optional<Frame> FrameDecoder::Next() {
  if (buffered() < kFrameHeaderSize) return std::nullopt;
  const uint8_t* h = buf_.data() + pos_;
  const uint32_t type = Get(h, 2);
  const uint32_t reserved = Get(h + 2, 2);
  const uint32_t stream = Get(h + 4, 4);
  const uint32_t length = Get(h + 8, 4);
  if (!KnownType(static_cast<uint16_t>(type))) {
    throw Error(fmt::format("channel: unknown message type {}", type));
  }
  if (reserved != 0) {
    throw Error(fmt::format("channel: {} message with reserved field {:#x} (must be 0)",
                            MsgTypeName(static_cast<MsgType>(type)), reserved));
  }
  if (length > kMaxPayload) {
    throw Error(fmt::format("channel: {} message claims {} bytes (at most {})",
                            MsgTypeName(static_cast<MsgType>(type)), length, kMaxPayload));
  }
  if (buffered() < kFrameHeaderSize + length) return std::nullopt;
  Frame f;
  f.type = static_cast<MsgType>(type);
  f.stream = stream;
  f.payload.assign(h + kFrameHeaderSize, h + kFrameHeaderSize + length);
  pos_ += kFrameHeaderSize + length;
  return f;
}

int64_t JsonInt(const nlohmann::json& j, const char* key, int64_t min, int64_t max) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) {
    throw Error(fmt::format("channel: '{}' is missing or not an integer", key));
  }
  const int64_t v = it->get<int64_t>();
  if (v < min || v > max) {
    throw Error(fmt::format("channel: '{}' = {} is out of range {}..{}", key, v, min, max));
  }
  return v;
}

std::string JsonString(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string()) {
    throw Error(fmt::format("channel: '{}' is missing or not a string", key));
  }
  return it->get<std::string>();
}

nlohmann::json ToJson(const ExecRequest& r) {
  return {{"argv", r.argv}, {"env", r.env},   {"cwd", r.cwd},      {"tty", r.tty},
          {"rows", r.rows}, {"cols", r.cols}, {"linger", r.linger}};
}

namespace {
std::vector<std::string> StringList(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_array()) {
    throw Error(fmt::format("channel: '{}' is missing or not a list", key));
  }
  std::vector<std::string> out;
  for (const auto& e : *it) {
    if (!e.is_string()) throw Error(fmt::format("channel: '{}' holds a non-string", key));
    out.push_back(e.get<std::string>());
  }
  return out;
}
bool Bool(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_boolean()) {
    throw Error(fmt::format("channel: '{}' is missing or not a boolean", key));
  }
  return it->get<bool>();
}
}  // namespace

ExecRequest ExecRequestFromJson(const nlohmann::json& j) {
  ExecRequest r;
  r.argv = StringList(j, "argv");
  if (r.argv.empty()) throw Error("channel: 'argv' is empty");
  r.env = StringList(j, "env");
  for (const std::string& e : r.env) {
    if (e.find('=') == std::string::npos || e.front() == '=') {
      throw Error(fmt::format("channel: environment entry '{}' is not NAME=value", e));
    }
  }
  r.cwd = JsonString(j, "cwd");
  if (r.cwd.empty() || r.cwd.front() != '/') {
    throw Error(fmt::format("channel: 'cwd' = '{}' is not an absolute path", r.cwd));
  }
  r.tty = Bool(j, "tty");
  r.rows = static_cast<uint16_t>(JsonInt(j, "rows", 0, 0xffff));
  r.cols = static_cast<uint16_t>(JsonInt(j, "cols", 0, 0xffff));
  r.linger = Bool(j, "linger");
  return r;
}

}  // namespace ssivm::emulated
