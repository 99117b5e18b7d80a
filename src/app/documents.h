#pragma once

// Adapters (SIP, XMPP) keep their state as documents in the server's store, each through its
// own record type with the fields kind, id, owner, body and erase. These read and write them.

#include "api/api.h"
#include "store/store.h"

#include <functional>
#include <string_view>
#include <utility>
#include <vector>

namespace presenced::app {

template <typename Record>
std::vector<Record> stored_records(const api::Server& server, std::string_view kind) {
  std::vector<Record> out;
  for (auto& d : server.documents(kind)) {
    out.push_back({std::move(d.kind), std::move(d.id), std::move(d.owner), std::move(d.body)});
  }
  return out;
}

template <typename Record>
void save_records(api::Server& server, std::vector<Record> records,
                  std::function<void(bool)> done) {
  std::vector<store::Mutation> mutations;
  mutations.reserve(records.size());
  for (auto& r : records) {
    if (r.erase) {
      mutations.emplace_back(store::DeleteDocument{std::move(r.kind), std::move(r.id)});
    } else {
      mutations.emplace_back(store::PutDocument{
          {std::move(r.kind), std::move(r.id), std::move(r.owner), std::move(r.body)}});
    }
  }
  server.save_documents(std::move(mutations), std::move(done));
}

}  // namespace presenced::app
