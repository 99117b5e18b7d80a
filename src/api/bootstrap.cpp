// First-start data: the admin account from PRESENCED_ADMIN_PASSWORD, and the demo directory.

#include "api/api.h"

#include <algorithm>
#include <future>

namespace presenced::api {

namespace {

core::Result<void> submit_and_wait(store::Store& store, std::vector<store::Mutation> mutations) {
  std::promise<core::Result<void>> done;
  auto future = done.get_future();
  store.submit(std::move(mutations), [&done](core::Result<void> r) { done.set_value(r); });
  return future.get();
}

struct DemoUser {
  const char* id;
  const char* name;
  const char* group;
  const char* device;
};

// Documented in the README; the password of every demo user is "demo".
constexpr DemoUser kDemoUsers[] = {
    {"alice", "Alice Example", "sales", "desk-alice"},
    {"bob", "Bob Example", "sales", "desk-bob"},
    {"carol", "Carol Example", "support", "desk-carol"},
    {"dave", "Dave Example", "support", "desk-dave"},
    {"erin", "Erin Example", "support", "desk-erin"},
};

}  // namespace

core::Result<bool> bootstrap_admin(store::Store& store, const store::Snapshot& snapshot,
                                   const std::string& password) {
  if (!snapshot.users.empty() || password.empty()) {
    return false;
  }
  auto hash = hash_password(password);
  if (!hash) {
    return hash.error();
  }
  store::UserRecord admin;
  admin.id = "admin";
  admin.display_name = "Administrator";
  admin.role = store::Role::Admin;
  admin.password_hash = std::move(*hash);
  auto stored = submit_and_wait(store, {store::PutUser{admin}});
  if (!stored) {
    return stored.error();
  }
  return true;
}

core::Result<void> load_demo(store::Store& store, const store::Snapshot& snapshot) {
  auto exists = [&](const std::string& id) {
    return std::any_of(snapshot.users.begin(), snapshot.users.end(),
                       [&](const store::UserRecord& u) { return u.id == id; });
  };
  auto hash = hash_password("demo");
  if (!hash) {
    return hash.error();
  }
  std::vector<store::Mutation> mutations;
  mutations.push_back(store::PutGroup{{"sales", "Sales"}});
  mutations.push_back(store::PutGroup{{"support", "Support"}});
  std::vector<std::string> ids;
  for (const DemoUser& d : kDemoUsers) {
    if (exists(d.id)) {
      continue;
    }
    store::UserRecord user;
    user.id = d.id;
    user.display_name = d.name;
    user.password_hash = *hash;
    user.groups = {d.group};
    mutations.push_back(store::PutUser{user});
    mutations.push_back(store::PutDevice{{d.id, d.device, "Desk phone", ""}});
    ids.push_back(d.id);
  }
  // Everybody's favourites are the other demo users.
  for (const std::string& owner : ids) {
    for (const DemoUser& d : kDemoUsers) {
      if (owner != d.id) {
        mutations.push_back(store::PutContact{{owner, d.id}});
      }
    }
  }
  if (!exists("pbx")) {
    store::UserRecord pbx;
    pbx.id = "pbx";
    pbx.display_name = "Phone system";
    pbx.role = store::Role::System;
    pbx.password_hash = *hash;
    mutations.push_back(store::PutUser{pbx});
  }
  core::StateDefinition lunch = core::definition_for_type(core::StateType::Away);
  lunch.id = "lunch";
  lunch.message = "At lunch";
  lunch.order = 1;
  mutations.push_back(store::PutState{lunch});
  core::StateDefinition vacation = core::definition_for_type(core::StateType::ExtendedAway);
  vacation.id = "vacation";
  vacation.message = "On vacation";
  vacation.order = 2;
  mutations.push_back(store::PutState{vacation});
  return submit_and_wait(store, std::move(mutations));
}

}  // namespace presenced::api
