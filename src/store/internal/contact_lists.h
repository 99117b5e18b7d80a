#pragma once

// Builds a snapshot's ContactLists from (owner, contact) id rows as a backend reads them, without
// keeping the ids: each id becomes its position in Snapshot::users through an open-addressing
// table over those users (one probe, usually one cache line, where std::unordered_map would
// chase a bucket, a node and its string). Rows naming an unknown id are skipped.

#include "store/store.h"

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace presenced::store::records {

// User id -> position in a users vector that outlives it.
class UserPositions {
 public:
  explicit UserPositions(const std::vector<UserRecord>& users) : users_(users) {
    std::size_t capacity = 16;
    while (capacity < users.size() * 2) {
      capacity *= 2;
    }
    slots_.assign(capacity, 0);
    mask_ = capacity - 1;
    for (std::size_t p = 0; p < users.size(); ++p) {
      const std::uint64_t h = hash(users[p].id);
      std::size_t i = h & mask_;
      while (slots_[i] != 0) {
        i = (i + 1) & mask_;
      }
      slots_[i] = (h & kTagMask) | (p + 1);
    }
  }

  // The position of `id`, or kAbsent.
  std::uint32_t find(std::string_view id) const {
    const std::uint64_t h = hash(id);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const std::uint64_t slot = slots_[i];
      if (slot == 0) {
        return kAbsent;
      }
      if ((slot & kTagMask) == (h & kTagMask)) {
        const auto p = static_cast<std::uint32_t>((slot & ~kTagMask) - 1);
        if (users_[p].id == id) {
          return p;
        }
      }
    }
  }

  static constexpr std::uint32_t kAbsent = UINT32_MAX;

 private:
  // The slot keeps the position + 1 (0: empty) below bit 32 and the hash's high half above it,
  // so a probe compares ids only when the hashes agree.
  static constexpr std::uint64_t kTagMask = 0xffff'ffff'0000'0000ULL;

  static std::uint64_t hash(std::string_view id) { return std::hash<std::string_view>{}(id); }

  const std::vector<UserRecord>& users_;
  std::vector<std::uint64_t> slots_;
  std::size_t mask_ = 0;
};

class ContactListsBuilder {
 public:
  // `users` must be complete and stay in place until finish().
  explicit ContactListsBuilder(const std::vector<UserRecord>& users)
      : users_(users), positions_(users) {}

  void reserve(std::size_t rows) { entries_.reserve(rows); }

  // Rows grouped by owner cost one owner look-up per group; any order is accepted.
  void add(std::string_view owner, std::string_view contact) {
    if (runs_.empty() || users_[runs_.back().owner].id != owner) {
      const std::uint32_t p = positions_.find(owner);
      if (p == UserPositions::kAbsent) {
        return;
      }
      if (!runs_.empty() && p <= runs_.back().owner) {
        in_order_ = false;
      }
      runs_.push_back({p, static_cast<std::uint32_t>(entries_.size())});
    }
    const std::uint32_t c = positions_.find(contact);
    if (c != UserPositions::kAbsent) {
      entries_.push_back(c);
    }
  }

  ContactLists finish() && {
    ContactLists lists;
    if (entries_.empty()) {
      return lists;
    }
    lists.start.assign(users_.size() + 1, 0);
    for (std::size_t r = 0; r < runs_.size(); ++r) {
      lists.start[runs_[r].owner + 1] += run_end(r) - runs_[r].begin;
    }
    for (std::size_t p = 1; p < lists.start.size(); ++p) {
      lists.start[p] += lists.start[p - 1];
    }
    if (in_order_) {
      lists.entries = std::move(entries_);  // already grouped by owner in users' order
      return lists;
    }
    lists.entries.resize(entries_.size());
    std::vector<std::uint32_t> next(lists.start.begin(), lists.start.end() - 1);
    for (std::size_t r = 0; r < runs_.size(); ++r) {
      for (std::uint32_t e = runs_[r].begin; e < run_end(r); ++e) {
        lists.entries[next[runs_[r].owner]++] = entries_[e];
      }
    }
    return lists;
  }

 private:
  struct Run {
    std::uint32_t owner;  // position in users
    std::uint32_t begin;  // first of its entries
  };

  std::uint32_t run_end(std::size_t r) const {
    return r + 1 < runs_.size() ? runs_[r + 1].begin : static_cast<std::uint32_t>(entries_.size());
  }

  const std::vector<UserRecord>& users_;
  UserPositions positions_;
  std::vector<Run> runs_;
  std::vector<std::uint32_t> entries_;
  bool in_order_ = true;
};

}  // namespace presenced::store::records
