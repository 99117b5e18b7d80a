#pragma once

// The non-INVITE transaction layer (RFC 3261 §17): client transactions (§17.1.2, timers E, F,
// K) and server transactions (§17.2.2, timer J), matched by the top Via's branch, sent-by and the
// method (§17.1.3, §17.2.3). A state machine with no sockets and no clock: the transport feeds it
// events (a request or response read, a transport error, the time), it returns what to do (send
// these bytes there, hand this to the application) and the instant it next wants advance().
//
// Only RFC 3261 branches (starting `z9hG4bK`) are matched; the RFC 2543 fallback of §17.2.3
// (matching on Request-URI, tags, Call-ID, CSeq and Via) is not implemented: such a request is
// answered 400. A presence server has no INVITE transactions: an ACK is dropped, a CANCEL is
// answered 481 (§9.2: nothing to cancel) and an INVITE 501, each in a non-INVITE server
// transaction of its own, so retransmissions get the same answer. docs/sip.md, "Transactions".
//
// A client transaction that has its final response over UDP waits T4 in Completed (timer K) to
// absorb retransmissions of that response; at 50,000 NOTIFY/s that is 250,000 of them. Those are
// kept apart from the live ones (Trying, Proceeding), as a key and a deadline each, in their own
// larger bound. Completed server transactions (§17.2.2, timer J: 64*T1 over UDP) are bounded
// apart from the live ones too: only live ones are refused at their bound, so the rate of
// requests the server takes is not capped at max_server_transactions / 32 s.
//
// Thread-safety: none; one instance per shard, used only on that shard's thread.

#include "sip/internal/message.h"

#include <boost/system/result.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace presenced::sip {

using TimePoint = std::chrono::steady_clock::time_point;

enum class Transport : std::uint8_t { Udp, Tcp, Tls };

// UDP is the only unreliable transport we speak (§17.1.2.2, §17.2.2: retransmissions, E and J).
constexpr bool is_reliable(Transport transport) {
  return transport != Transport::Udp;
}

// Where a message came from or goes to. `connection` is the transport's id for a TCP/TLS
// connection (0 on UDP); a response goes back over the connection its request came on (§18.2.2).
struct Peer {
  Transport transport = Transport::Udp;
  std::string address;  // numeric IPv4 or IPv6, without brackets
  std::uint16_t port = 0;
  std::uint64_t connection = 0;
  friend bool operator==(const Peer&, const Peer&) = default;
};

struct TransactionConfig {
  std::chrono::milliseconds t1{500};    // RTT estimate (§17.1.1.1)
  std::chrono::milliseconds t2{4'000};  // longest interval between request retransmissions
  std::chrono::milliseconds t4{5'000};  // longest time a message stays in the network
  // How long a server transaction waits for the application's final answer. The client gives up
  // at 64*T1 (timer F), so an answer later than that reaches nobody.
  std::chrono::milliseconds answer_timeout{32'000};
  std::size_t max_server_transactions = 65'536;  // live: Trying and Proceeding
  // Completed over UDP, waiting for timer J with their last response. At the bound the oldest is
  // forgotten early; a retransmission of its request after that is taken as a new one.
  std::size_t max_completed_server_transactions = 262'144;
  std::size_t max_client_transactions = 65'536;  // live: Trying and Proceeding
  // Completed over UDP, waiting for timer K: 250,000 at 50,000 NOTIFY/s. At the bound the oldest
  // is forgotten early; a late retransmission of its response is then dropped as stray, which is
  // what timer K would have done a little later.
  std::size_t max_completed_client_transactions = 1'000'000;
  std::uint32_t retry_after_s = 5;  // in the 503 sent when the server table is full
};

struct ServerTransactionId {
  std::uint64_t value = 0;
  friend auto operator<=>(const ServerTransactionId&, const ServerTransactionId&) = default;
};

struct ClientTransactionId {
  std::uint64_t value = 0;
  friend auto operator<=>(const ClientTransactionId&, const ClientTransactionId&) = default;
};

// Send these bytes to that peer. The bytes are shared with the transaction, which may resend them.
struct SendAction {
  Peer to;
  std::shared_ptr<const std::string> bytes;
};

// A new request for the application; it answers with Transactions::respond(id, ...).
struct RequestAction {
  ServerTransactionId id;
  Message request;
  Peer source;
};

// A response to a client transaction (provisional or final; retransmissions are absorbed).
struct ResponseAction {
  ClientTransactionId id;
  Message response;
};

enum class ClientFailure : std::uint8_t {
  Timeout,         // timer F fired: the application treats it as a 408 (§17.1.2.2)
  TransportError,  // the transport could not send: treat as a 503 (§8.1.3.1, §17.1.4)
};

struct ClientFailedAction {
  ClientTransactionId id;
  ClientFailure failure = ClientFailure::Timeout;
};

// The application did not answer a request within answer_timeout; the transaction is gone and
// nothing was sent (the client has given up by then).
struct UnansweredAction {
  ServerTransactionId id;
};

using Action =
    std::variant<SendAction, RequestAction, ResponseAction, ClientFailedAction, UnansweredAction>;

struct Actions {
  std::vector<Action> actions;
  std::optional<TimePoint> next_deadline;  // call advance() then; nullopt: nothing pending
};

// Counts for metrics; tests read them too.
struct TransactionStats {
  std::uint64_t absorbed_requests = 0;   // request retransmissions matched to a transaction
  std::uint64_t absorbed_responses = 0;  // response retransmissions in Completed
  std::uint64_t refused_full = 0;        // requests answered 503 because the table was full
  std::uint64_t refused_branch = 0;      // requests answered 400 for a missing or RFC 2543 branch
  std::uint64_t dropped_acks = 0;
  std::uint64_t stray_responses = 0;  // matching no client transaction
  std::uint64_t late_answers = 0;     // respond() for a transaction that no longer exists
  std::uint64_t forgotten_completed = 0;  // Completed client transactions dropped before timer K
  std::uint64_t forgotten_completed_servers = 0;  // Completed server ones dropped before timer J
  friend bool operator==(const TransactionStats&, const TransactionStats&) = default;
};

enum class RefusalKind : std::uint8_t {
  Full,         // max_client_transactions live transactions
  NoBranch,     // the request's top Via has no z9hG4bK branch
  BranchTooLong,  // more than kMaxClientBranchDigits after the cookie
  BranchInUse,    // a live or Completed client transaction has the same branch and method
  NotRequest,     // or an extension method: client transactions are for methods we know
};

struct TransactionRefusal {
  RefusalKind kind = RefusalKind::Full;
  std::string detail;  // names the field, the value and the limit
};

[[noreturn]] void throw_exception_from_error(const TransactionRefusal& error,
                                             const boost::source_location& location);

struct ClientStart {
  ClientTransactionId id;
  Actions actions;  // the first transmission
};

// The response a UAS builds from a request (§8.2.6): Via, From, To, Call-ID and CSeq copied, the
// To tag added when the request's To has none (except on 100, §8.2.6.2). An empty to_tag draws a
// random one.
Message make_response(const Message& request,
                      int status,
                      std::string reason,
                      std::string_view to_tag = {});

// A client transaction's key (§17.1.3): the top Via's branch after the cookie, held inline so
// that a key costs no allocation, and the CSeq method. make_branch() writes 24 hex digits.
inline constexpr std::size_t kMaxClientBranchDigits = 24;

struct ClientKey {
  std::array<char, kMaxClientBranchDigits> branch{};  // zero after `size` bytes
  std::uint8_t size = 0;
  Method method = Method::Other;
  friend bool operator==(const ClientKey&, const ClientKey&) = default;
};

struct ClientKeyHash {
  std::size_t operator()(const ClientKey& key) const;
};

// Completed client transactions (§17.1.2.2) as their keys and timer K deadlines. K is the same
// for all, so the order of completion is the order of expiry: a ring, oldest first, plus an
// index of ring positions hashed by the key the position holds (8 bytes a slot). About 60 bytes
// per transaction (docs/benchmarks.md, "SIP transactions").
class CompletedClients {
 public:
  explicit CompletedClients(std::size_t capacity);
  // The index's hasher points into this object.
  CompletedClients(const CompletedClients&) = delete;
  CompletedClients& operator=(const CompletedClients&) = delete;

  bool contains(const ClientKey& key) const { return index_.contains(key); }
  // Adds a key not held yet; returns false when the oldest had to be forgotten to make room.
  bool add(const ClientKey& key, TimePoint forget_at);
  // Timer K: forgets every key whose deadline is `now` or earlier.
  void expire(TimePoint now);
  std::optional<TimePoint> next_deadline() const;
  std::size_t size() const { return ring_.size(); }

 private:
  struct Entry {
    ClientKey key;
    TimePoint forget_at;
  };

  // Index slots are positions in the ring, counted from the first key ever added, so they stay
  // valid as the ring drops its front; hash and equality look the key up in the ring.
  struct Lookup {
    const CompletedClients* table;
    using is_transparent = void;
    const ClientKey& key_at(std::uint64_t position) const {
      return table->ring_[position - table->front_position_].key;
    }
  };
  struct PositionHash : Lookup {
    std::size_t operator()(std::uint64_t position) const { return (*this)(key_at(position)); }
    std::size_t operator()(const ClientKey& key) const { return ClientKeyHash{}(key); }
  };
  struct PositionEqual : Lookup {
    bool operator()(std::uint64_t a, std::uint64_t b) const { return a == b; }
    bool operator()(const ClientKey& key, std::uint64_t b) const { return key == key_at(b); }
    bool operator()(std::uint64_t a, const ClientKey& key) const { return key_at(a) == key; }
  };

  void drop_oldest();

  std::size_t capacity_;
  std::deque<Entry> ring_;  // in order of forget_at
  std::uint64_t front_position_ = 0;
  boost::unordered_flat_set<std::uint64_t, PositionHash, PositionEqual> index_;
};

class Transactions {
 public:
  explicit Transactions(TransactionConfig config);

  // Server side. A request read from the network: a new transaction (RequestAction), a
  // retransmission (absorbed; the last response sent again), or a refusal sent statelessly.
  Actions on_request(Message request, Peer source, TimePoint now);
  // The application's answer. A 1xx moves to Proceeding, 2xx-6xx to Completed. An answer for a
  // transaction that is gone, or after the final one, is dropped (§17.2.2).
  Actions respond(ServerTransactionId id, const Message& response, TimePoint now);

  // Client side. The request carries its own top Via with a fresh branch (make_branch()).
  [[nodiscard]] boost::system::result<ClientStart, TransactionRefusal>
  send_request(const Message& request, Peer destination, TimePoint now);
  // The same for a request we wrote ourselves (a NOTIFY from its dialog's header text), given
  // as its bytes, its top Via branch and its method: nothing is parsed or written again.
  [[nodiscard]] boost::system::result<ClientStart, TransactionRefusal>
  send_request(std::string bytes, std::string_view branch, Method method, Peer destination,
               TimePoint now);
  // A response read from the network: handed over, absorbed, or dropped as stray (§18.1.2).
  Actions on_response(Message response, TimePoint now);
  // The transport could not send this transaction's request (§17.1.4).
  Actions on_transport_error(ClientTransactionId id, TimePoint now);

  // Fires every timer due at `now`.
  Actions advance(TimePoint now);
  std::optional<TimePoint> next_deadline() const;

  std::size_t server_count() const { return servers_.size(); }  // live and Completed
  std::size_t live_server_count() const { return servers_.size() - completed_server_count_; }
  std::size_t completed_server_count() const { return completed_server_count_; }
  std::size_t client_count() const { return clients_.size(); }  // live: Trying, Proceeding
  std::size_t completed_client_count() const { return completed_clients_.size(); }
  const TransactionStats& stats() const { return stats_; }

 private:
  enum class State : std::uint8_t { Trying, Proceeding, Completed };

  struct Server {
    State state = State::Trying;
    std::string key;
    Peer source;
    std::shared_ptr<const std::string> last_response;  // null in Trying
    TimePoint deadline;                                // answer timeout, then timer J
  };

  // A live client transaction; in Completed only its key is kept, in completed_clients_.
  struct Client {
    State state = State::Trying;
    ClientKey key;
    Peer destination;
    std::shared_ptr<const std::string> request;
    std::chrono::milliseconds interval{0};  // timer E's current value
    TimePoint retransmit_at;                // timer E; unused on reliable transports
    TimePoint give_up_at;                   // timer F
    TimePoint scheduled;                    // the entry in timers_
  };

  // Why a new client transaction for `branch` and `method` cannot start, if it cannot.
  std::optional<TransactionRefusal> client_refusal(std::optional<std::string_view> branch,
                                                   Method method,
                                                   std::string_view method_name) const;
  ClientStart start_client(std::string_view branch, Method method,
                           std::shared_ptr<const std::string> bytes, Peer destination,
                           TimePoint now);
  void refuse(const Message& request,
              const Peer& source,
              int status,
              std::string reason,
              Actions& out);
  void start_server(Message request, Peer source, TimePoint now, Actions& out);
  void absorb(const Server& server, Actions& out);
  void fire_server(std::uint64_t id, TimePoint now, Actions& out);
  void fire_client(std::uint64_t id, TimePoint now, Actions& out);
  void schedule(std::uint64_t id, TimePoint& slot, TimePoint at);
  void schedule_client(std::uint64_t id, Client& client);
  void complete_server(std::uint64_t id, Server& server, TimePoint now);
  void drop_stale_completed_servers();
  void erase_server(std::uint64_t id);
  void erase_client(std::uint64_t id);
  Actions finish(Actions out) const;

  TransactionConfig config_;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, Server> servers_;
  boost::unordered_flat_map<std::uint64_t, Client> clients_;
  std::unordered_map<std::string, std::uint64_t> server_keys_;
  // Completed server transactions in order of completion, which timer J's constant length makes
  // the order of expiry; ids already erased are popped when they reach the front.
  std::deque<std::uint64_t> completed_servers_;
  std::size_t completed_server_count_ = 0;
  boost::unordered_flat_map<ClientKey, std::uint64_t, ClientKeyHash> client_keys_;
  CompletedClients completed_clients_;
  std::set<std::pair<TimePoint, std::uint64_t>> timers_;  // ids of both kinds: one counter
  TransactionStats stats_;
};

}  // namespace presenced::sip
