#include "cluster/partition.h"

namespace presenced::cluster {
namespace {

// FNV-1a over the bytes, then a finalizer that spreads every input bit over the whole word
// (FNV alone leaves nearby names with correlated weights).
std::uint64_t mix(std::uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::uint64_t fnv1a(std::uint64_t h, std::string_view bytes) {
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

std::uint64_t rendezvous_weight(std::string_view node, std::string_view key) {
  std::uint64_t h = fnv1a(0xcbf29ce484222325ULL, node);
  h = fnv1a(h, std::string_view("\0", 1));  // so "ab"+"c" and "a"+"bc" differ
  return mix(fnv1a(h, key));
}

std::string owner_of(std::string_view key, const std::vector<std::string>& nodes) {
  const std::string* best = nullptr;
  std::uint64_t best_weight = 0;
  for (const std::string& node : nodes) {
    const std::uint64_t weight = rendezvous_weight(node, key);
    if (best == nullptr || weight > best_weight || (weight == best_weight && node < *best)) {
      best = &node;
      best_weight = weight;
    }
  }
  return best == nullptr ? std::string() : *best;
}

}  // namespace presenced::cluster
