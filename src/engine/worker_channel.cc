// Framing of engine worker messages: length-prefixed CBOR over a stream socket.
#include "engine/worker_channel.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace supertable {

WorkerChannel::~WorkerChannel() {
  if (fd_ >= 0) close(fd_);
}

Status WorkerChannel::Send(const nlohmann::json& message) {
  std::vector<uint8_t> body = nlohmann::json::to_cbor(message);
  if (body.size() > kMaxFrameBytes) {
    return Status::InvalidArgument(fmt::format(
        "an engine message of {} bytes is over the {} byte limit", body.size(), kMaxFrameBytes));
  }
  // Header and body in one buffer: one send per message, not two.
  uint32_t n = static_cast<uint32_t>(body.size());
  body.insert(body.begin(), {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                             static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)});
  std::lock_guard<std::mutex> g(write_mu_);
  size_t done = 0;
  while (done < body.size()) {
    // MSG_NOSIGNAL: a peer that died must be an error here, not a SIGPIPE for the process.
    ssize_t w = ::send(fd_, body.data() + done, body.size() - done, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      return Status::IoError(
          fmt::format("the engine worker channel is closed ({})", std::strerror(errno)));
    }
    done += static_cast<size_t>(w);
  }
  return Status::Ok();
}

Status WorkerChannel::ReadExactly(char* buf, size_t n, const std::atomic<int64_t>* deadline_ns) {
  size_t done = 0;
  while (done < n) {
    int wait_ms = -1;
    if (deadline_ns && deadline_ns->load() > 0) {
      int64_t left = deadline_ns->load() - NowNs();
      if (left <= 0) return Status::Timeout("the engine worker did not answer in time");
      // Wake at least every 100 ms: the deadline may move closer meanwhile.
      wait_ms = static_cast<int>(std::min<int64_t>(left / 1000000 + 1, 100));
    } else if (deadline_ns) {
      wait_ms = 100;
    }
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::IoError(fmt::format("poll: {}", std::strerror(errno)));
    if (r == 0) continue;
    ssize_t got = ::read(fd_, buf + done, n - done);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) return Status::IoError("the engine worker channel closed");
    done += static_cast<size_t>(got);
  }
  return Status::Ok();
}

Result<nlohmann::json> WorkerChannel::Receive(const std::atomic<int64_t>* deadline_ns) {
  uint8_t header[4];
  ST_RETURN_IF_ERROR(ReadExactly(reinterpret_cast<char*>(header), 4, deadline_ns));
  uint32_t n = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
               (uint32_t{header[2]} << 8) | uint32_t{header[3]};
  if (n > kMaxFrameBytes) {
    return Status::IoError(fmt::format(
        "the engine worker sent a message of {} bytes, over the {} byte limit", n, kMaxFrameBytes));
  }
  std::vector<uint8_t> body(n);
  ST_RETURN_IF_ERROR(ReadExactly(reinterpret_cast<char*>(body.data()), n, deadline_ns));
  nlohmann::json j = nlohmann::json::from_cbor(body, true, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::IoError("the engine worker sent a message that is not a CBOR object");
  }
  return j;
}

}  // namespace supertable
