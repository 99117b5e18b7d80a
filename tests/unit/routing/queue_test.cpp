// Queue routing (seed 004: presence state in queues): one row per rule.

#include "routing/routing.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace presenced::routing {
namespace {

using core::Activity;
using core::Availability;

constexpr core::TimePoint kT0{std::chrono::milliseconds(1'790'000'000'000)};

QueueMember member(std::string user, Availability availability, Activity activity,
                   bool on_call = false, std::optional<int> last_call_end_s = std::nullopt) {
  QueueMember m;
  m.user = std::move(user);
  m.presence.availability = availability;
  m.presence.activity = activity;
  m.on_call = on_call;
  if (last_call_end_s) {
    m.last_call_end = kT0 + std::chrono::seconds(*last_call_end_s);
  }
  return m;
}

QueuePolicy policy(QueueStrategy strategy, bool presence_based = true,
                   std::vector<Activity> activities = {}) {
  QueuePolicy p;
  p.strategy = strategy;
  p.presence_based = presence_based;
  p.activities = std::move(activities);
  return p;
}

// A team with one member in each situation the rules tell apart.
const std::vector<QueueMember>& team() {
  static const std::vector<QueueMember> members = {
      member("ann", Availability::Available, Activity::Available, false, 300),
      member("ben", Availability::Busy, Activity::InAMeeting),
      member("cat", Availability::Busy, Activity::InACall, true),
      member("dan", Availability::DoNotDisturb, Activity::DoNotDisturb),
      member("eve", Availability::Offline, Activity::Offline),
      member("fay", Availability::Available, Activity::Available, false, 100),
      member("gus", Availability::BeRightBack, Activity::BeRightBack),
      member("hal", Availability::Available, Activity::Available),
      member("ivy", Availability::Away, Activity::OutOfOffice),
  };
  return members;
}

struct Row {
  const char* rule;
  QueuePolicy policy;
  std::size_t rotation;
  std::vector<std::string> agents;
};

TEST(QueueTest, EveryRuleOfTheTable) {
  const std::vector<Row> rows = {
      {"presence-based routing (default): only Available members, in member order",
       policy(QueueStrategy::RingAll), 0, {"ann", "fay", "hal"}},
      {"the queue may admit more states, e.g. in a meeting",
       policy(QueueStrategy::RingAll, true, {Activity::InAMeeting}), 0,
       {"ann", "ben", "fay", "hal"}},
      {"admitting InACall lets members on a call take queue calls",
       policy(QueueStrategy::RingAll, true, {Activity::InACall}), 0, {"ann", "cat", "fay", "hal"}},
      {"without presence-based routing every state but DND, offline and on a call",
       policy(QueueStrategy::RingAll, false), 0, {"ann", "ben", "fay", "gus", "hal", "ivy"}},
      {"longest idle: never called first, then the earliest last call",
       policy(QueueStrategy::LongestIdle), 0, {"hal", "fay", "ann"}},
      {"round robin starts at the member after the last call's",
       policy(QueueStrategy::RoundRobin), 1, {"fay", "hal", "ann"}},
      {"round robin wraps around", policy(QueueStrategy::RoundRobin), 5, {"hal", "ann", "fay"}},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.rule);
    const QueueDecision d = decide_queue(team(), row.policy, row.rotation);
    EXPECT_EQ(d.agents, row.agents);
    EXPECT_EQ(d.reason, "queue");
  }
}

TEST(QueueTest, NobodyToTakeTheCallSaysSo) {
  const std::vector<QueueMember> members = {
      member("dan", Availability::DoNotDisturb, Activity::DoNotDisturb),
      member("eve", Availability::Offline, Activity::Offline),
      member("cat", Availability::Busy, Activity::InACall, true),
  };
  for (QueueStrategy s :
       {QueueStrategy::RingAll, QueueStrategy::LongestIdle, QueueStrategy::RoundRobin}) {
    const QueueDecision d = decide_queue(members, policy(s, false), 3);
    EXPECT_TRUE(d.agents.empty());
    EXPECT_EQ(d.reason, "queue_no_agent");
  }
  EXPECT_EQ(decide_queue({}, policy(QueueStrategy::RoundRobin), 7).reason, "queue_no_agent");
}

TEST(QueueTest, RingAllOffersEveryAgentsDevicesAtOnceHuntingStepsAgentByAgent) {
  // Seed 004: ring-all alerts all admitted agents; longest idle and round robin offer the call
  // to one agent after another.
  const QueueDecision decision{{"ann", "hal"}, "queue"};
  auto devices_of = [](const std::string& user) {
    return user == "ann" ? std::vector<std::string>{"desk", "soft"}
                         : std::vector<std::string>{"desk"};
  };
  QueuePolicy ring_all = policy(QueueStrategy::RingAll);
  EXPECT_EQ(queue_targets(decision, ring_all, devices_of),
            (std::vector<AgentTarget>{{"ann", {"desk", 0}}, {"ann", {"soft", 0}},
                                      {"hal", {"desk", 0}}}));
  QueuePolicy hunting = policy(QueueStrategy::RoundRobin);
  hunting.agent_ring_s = 12;
  EXPECT_EQ(queue_targets(decision, hunting, devices_of),
            (std::vector<AgentTarget>{{"ann", {"desk", 0}}, {"ann", {"soft", 0}},
                                      {"hal", {"desk", 12}}}));
  EXPECT_TRUE(queue_targets(QueueDecision{{}, "queue_no_agent"}, hunting, devices_of).empty());
}

}  // namespace
}  // namespace presenced::routing

