#pragma once

// The connector's thread: all Graph traffic, level-triggered. It keeps what each mapped user
// wants in Teams and what Teams shows, and every pass does what is still missing (resolve, read,
// set or clear the session, mirror DND, subscribe, renew) as far as the tenant's limits allow.
// A request Graph refuses for now is simply done again on a later pass.
//
// Thread-safety: push() from any thread; everything else on the worker's own thread.

#include "connectors/teams/internal/graph.h"
#include "connectors/teams/teams.h"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

namespace presenced::connectors::teams {

// What our side wants Teams to show for a user (seed 001: calls; DND only when mirrored).
struct Want {
  bool in_call = false;
  bool dnd = false;
  friend bool operator==(const Want&, const Want&) = default;
};

struct TeamsCounters {
  GraphCounters graph;
  std::atomic<std::uint64_t> notifications_accepted{0};
  std::atomic<std::uint64_t> notifications_forged{0};
  std::atomic<std::uint64_t> notifications_malformed{0};
  std::atomic<std::uint64_t> validations{0};
  std::atomic<std::uint64_t> presence_updates{0};
  std::atomic<std::uint64_t> sessions_set{0};
  std::atomic<std::uint64_t> sessions_cleared{0};
  std::atomic<std::uint64_t> preferred_set{0};
  std::atomic<std::uint64_t> unknown_users{0};
  std::atomic<std::uint64_t> subscriptions{0};
  std::atomic<std::uint64_t> subscription_renewals{0};
};

namespace command {
struct Map { UserMapping mapping; };
struct Unmap { std::string user; };
struct Changed { std::vector<std::string> graph_ids; };
struct Desire { std::string user; Want want; };
}  // namespace command
using Command = std::variant<command::Map, command::Unmap, command::Changed, command::Desire>;

// Teams' presence of one user, for the server's thread to put into the engine.
using Apply = std::function<void(std::string user, core::TeamsLayer layer)>;

class Worker {
 public:
  Worker(TeamsConfig config, TeamsCounters& counters, Apply apply);
  ~Worker();
  void start();
  void stop();
  void push(Command command);

 private:
  struct User;
  struct Subscription;
  struct Tenant;

  void run();
  void handle(Command command);
  void work(Tenant& tenant, Steady::time_point& wake);
  bool resolve(Tenant& tenant);
  bool read(Tenant& tenant);
  bool sessions(Tenant& tenant);
  bool preferred(Tenant& tenant);
  bool subscribe(Tenant& tenant);
  bool renew(Tenant& tenant);
  bool create_subscriptions(Tenant& tenant);
  void show(User& user, core::Availability availability, core::Activity activity);

  TeamsConfig config_;
  TeamsCounters& counters_;
  Apply apply_;
  HttpClient http_;
  std::map<std::string, std::unique_ptr<Tenant>> tenants_;  // by name
  std::map<std::string, std::unique_ptr<User>> users_;       // by our user id
  std::unordered_map<std::string, User*> by_graph_id_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Command> commands_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace presenced::connectors::teams
