#include "sip/internal/branch.h"

#include <sodium.h>

#include <array>
#include <cassert>
#include <cstddef>
#include <cstring>

namespace presenced::sip {

namespace {

// The kernel's CSPRNG through libsodium. sodium_init() is idempotent and thread-safe;
// randombytes needs it only for its one-time setup, so the first caller runs it. Called on a
// pool refill or a large draw, not on every identifier.
void random_bytes(unsigned char* out, std::size_t size) {
  [[maybe_unused]] static const bool ready = sodium_init() >= 0;
  assert(ready);
  randombytes_buf(out, size);
}

template <std::size_t Bytes>
void append_random_hex(std::string& out) {
  std::array<unsigned char, Bytes> raw{};
  fill_random(raw.data(), raw.size());
  std::array<char, Bytes * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), raw.data(), raw.size());
  out.append(hex.data(), Bytes * 2);
}

}  // namespace

void fill_random(unsigned char* out, std::size_t size) {
  constexpr std::size_t kPool = 4096;
  if (size > kPool / 4) {
    random_bytes(out, size);
    return;
  }
  thread_local std::array<unsigned char, kPool> pool{};
  thread_local std::size_t used = kPool;
  if (kPool - used < size) {
    random_bytes(pool.data(), pool.size());
    used = 0;
  }
  std::memcpy(out, pool.data() + used, size);
  used += size;
}

std::string make_branch() {
  std::string out(kBranchCookie);
  append_random_hex<12>(out);
  return out;
}

std::string make_tag() {
  std::string out;
  append_random_hex<8>(out);
  return out;
}

std::string make_call_id(std::string_view host) {
  std::string out;
  append_random_hex<16>(out);
  if (!host.empty()) {
    out += '@';
    out += host;
  }
  return out;
}

}  // namespace presenced::sip
