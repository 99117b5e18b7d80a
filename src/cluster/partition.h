#pragma once

// Which live node does a piece of work that one node of the cluster should do (a user's calendar
// sync): rendezvous (highest-random-weight) hashing. Every node that sees the same live set picks
// the same owner, and a node joining or leaving moves only the keys it wins or held, about 1/n
// of them. Pure: no I/O, no clock; the hash is fixed here so nodes of different builds agree.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::cluster {

// The weight of `node` for `key`: a 64-bit hash of both, the same on every host.
std::uint64_t rendezvous_weight(std::string_view node, std::string_view key);

// The node of `nodes` with the highest weight for `key` (ties, which need a 64-bit collision,
// go to the smaller name); empty when `nodes` is empty.
std::string owner_of(std::string_view key, const std::vector<std::string>& nodes);

}  // namespace presenced::cluster
