#include "sip/internal/transactions.h"

#include "sip/internal/branch.h"
#include "sip/internal/grammar.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <functional>
#include <iterator>
#include <stdexcept>

namespace presenced::sip {

namespace {

constexpr char kKeySeparator = '\x1f';  // cannot occur in a token, host or method

bool has_cookie(std::optional<std::string_view> branch) {
  return branch && branch->size() > kBranchCookie.size() && branch->starts_with(kBranchCookie);
}

// §18.2.1/§19.1.2: a sent-by without a port means the transport's default one.
std::uint16_t sent_by_port(const Via& via) {
  if (via.port) {
    return *via.port;
  }
  return grammar::iequals(via.transport, "TLS") ? 5061 : 5060;
}

// §17.2.3: branch (compared as written), sent-by (host case-insensitive, port with its default)
// and method.
std::string server_key(const Message& request) {
  const Via& top = request.vias.front();
  std::string key(*top.branch());
  key += kKeySeparator;
  for (const char c : top.host) {
    key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  key += fmt::format(":{}", sent_by_port(top));
  key += kKeySeparator;
  key += request.method_name();
  return key;
}

// §17.1.3: the branch of the top Via and the CSeq method; nullopt for a key no client
// transaction can have.
std::optional<ClientKey> client_key(std::optional<std::string_view> branch, Method method) {
  if (!has_cookie(branch) || method == Method::Other) {
    return std::nullopt;
  }
  const std::string_view digits = branch->substr(kBranchCookie.size());
  if (digits.size() > kMaxClientBranchDigits) {
    return std::nullopt;
  }
  ClientKey key;
  std::ranges::copy(digits, key.branch.begin());
  key.size = static_cast<std::uint8_t>(digits.size());
  key.method = method;
  return key;
}

std::shared_ptr<const std::string> bytes_of(const Message& message) {
  return std::make_shared<const std::string>(serialize(message));
}

}  // namespace

std::size_t ClientKeyHash::operator()(const ClientKey& key) const {
  const std::size_t digits = std::hash<std::string_view>{}({key.branch.data(), key.size});
  return digits ^ (static_cast<std::size_t>(key.method) * 0x9e3779b97f4a7c15ULL);
}

// ---- completed client transactions ----

CompletedClients::CompletedClients(std::size_t capacity)
    : capacity_(capacity), index_(0, PositionHash{{this}}, PositionEqual{{this}}) {}

// forget_at never decreases (T4 is constant, the transport's clock steady), so the ring stays in
// deadline order and expire() looks only at its front.
bool CompletedClients::add(const ClientKey& key, TimePoint forget_at) {
  assert(!contains(key));
  if (capacity_ == 0) {
    return false;
  }
  bool kept_all = true;
  if (ring_.size() >= capacity_) {
    drop_oldest();
    kept_all = false;
  }
  ring_.push_back(Entry{key, forget_at});
  index_.insert(front_position_ + ring_.size() - 1);
  return kept_all;
}

void CompletedClients::expire(TimePoint now) {
  while (!ring_.empty() && ring_.front().forget_at <= now) {
    drop_oldest();
  }
}

std::optional<TimePoint> CompletedClients::next_deadline() const {
  if (ring_.empty()) {
    return std::nullopt;
  }
  return ring_.front().forget_at;
}

// The index entry first: erasing it hashes the key, which is read from the ring.
void CompletedClients::drop_oldest() {
  index_.erase(front_position_);
  ring_.pop_front();
  ++front_position_;
}

void throw_exception_from_error(const TransactionRefusal& error, const boost::source_location&) {
  throw std::runtime_error(error.detail);
}

Message make_response(const Message& request,
                      int status,
                      std::string reason,
                      std::string_view to_tag) {
  Message response;
  response.status = status;
  response.reason = std::move(reason);
  response.vias = request.vias;
  response.from = request.from;
  response.to = request.to;
  response.call_id = request.call_id;
  response.cseq = request.cseq;
  if (status != 100 && !response.to.tag()) {
    response.to.params.push_back(Param{"tag", to_tag.empty() ? make_tag() : std::string(to_tag)});
  }
  return response;
}

Transactions::Transactions(TransactionConfig config)
    : config_(config), completed_clients_(config.max_completed_client_transactions) {}

std::optional<TimePoint> Transactions::next_deadline() const {
  std::optional<TimePoint> next = completed_clients_.next_deadline();
  if (!timers_.empty() && (!next || timers_.begin()->first < *next)) {
    next = timers_.begin()->first;
  }
  return next;
}

Actions Transactions::finish(Actions out) const {
  out.next_deadline = next_deadline();
  return out;
}

void Transactions::schedule(std::uint64_t id, TimePoint& slot, TimePoint at) {
  timers_.erase({slot, id});
  slot = at;
  timers_.emplace(at, id);
}

// ---- server (§17.2.2) ----

// Sent outside any transaction: nothing is kept, so a flood cannot grow the tables.
void Transactions::refuse(const Message& request,
                          const Peer& source,
                          int status,
                          std::string reason,
                          Actions& out) {
  Message response = make_response(request, status, std::move(reason));
  if (status == 503) {
    response.other_headers.push_back(Header{"Retry-After", std::to_string(config_.retry_after_s)});
  }
  out.actions.emplace_back(SendAction{source, bytes_of(response)});
}

Actions Transactions::on_request(Message request, Peer source, TimePoint now) {
  Actions out;
  if (!request.is_request() || request.vias.empty()) {
    return finish(std::move(out));  // the parser guarantees both; nothing to answer to
  }
  if (request.method == Method::Ack) {
    // An ACK belongs to an INVITE transaction (§17.2.1) or is end to end for a 2xx (§13.2.2.4);
    // we hold neither.
    ++stats_.dropped_acks;
    return finish(std::move(out));
  }
  if (!has_cookie(request.vias.front().branch())) {
    ++stats_.refused_branch;
    refuse(request, source, 400, "Missing Via Branch", out);
    return finish(std::move(out));
  }
  const auto found = server_keys_.find(server_key(request));
  if (found != server_keys_.end()) {
    ++stats_.absorbed_requests;
    absorb(servers_.at(found->second), out);
    return finish(std::move(out));
  }
  if (live_server_count() >= config_.max_server_transactions) {
    ++stats_.refused_full;
    refuse(request, source, 503, "Service Unavailable", out);
    return finish(std::move(out));
  }
  start_server(std::move(request), std::move(source), now, out);
  return finish(std::move(out));
}

// §17.2.2: a retransmission in Trying is discarded; in Proceeding and Completed the last
// response is sent again.
void Transactions::absorb(const Server& server, Actions& out) {
  if (server.last_response) {
    out.actions.emplace_back(SendAction{server.source, server.last_response});
  }
}

void Transactions::start_server(Message request, Peer source, TimePoint now, Actions& out) {
  const std::uint64_t id = next_id_++;
  Server& server = servers_[id];
  server.key = server_key(request);
  server.source = source;
  server_keys_.emplace(server.key, id);
  server.deadline = now + config_.answer_timeout;
  timers_.emplace(server.deadline, id);
  const ServerTransactionId sid{id};
  if (request.method == Method::Cancel) {
    // §9.2: no INVITE transaction here for the CANCEL to match.
    Actions answer =
        respond(sid, make_response(request, 481, "Call/Transaction Does Not Exist"), now);
    std::ranges::move(answer.actions, std::back_inserter(out.actions));
  } else if (request.method == Method::Invite) {
    Actions answer = respond(sid, make_response(request, 501, "Not Implemented"), now);
    std::ranges::move(answer.actions, std::back_inserter(out.actions));
  } else {
    out.actions.emplace_back(RequestAction{sid, std::move(request), std::move(source)});
  }
}

Actions Transactions::respond(ServerTransactionId sid, const Message& response, TimePoint now) {
  Actions out;
  const auto found = servers_.find(sid.value);
  if (found == servers_.end() || found->second.state == State::Completed) {
    ++stats_.late_answers;
    return finish(std::move(out));
  }
  assert(!response.is_request());
  Server& server = found->second;
  server.last_response = bytes_of(response);
  out.actions.emplace_back(SendAction{server.source, server.last_response});
  if (response.status < 200) {
    server.state = State::Proceeding;
  } else if (is_reliable(server.source.transport)) {
    erase_server(sid.value);  // timer J is zero on a reliable transport
  } else {
    complete_server(sid.value, server, now);
  }
  return finish(std::move(out));
}

void Transactions::complete_server(std::uint64_t id, Server& server, TimePoint now) {
  server.state = State::Completed;
  schedule(id, server.deadline, now + 64 * config_.t1);  // timer J
  ++completed_server_count_;
  completed_servers_.push_back(id);
  drop_stale_completed_servers();
  while (completed_server_count_ > config_.max_completed_server_transactions) {
    const std::uint64_t oldest = completed_servers_.front();
    completed_servers_.pop_front();
    erase_server(oldest);
    ++stats_.forgotten_completed_servers;
    drop_stale_completed_servers();
  }
}

void Transactions::drop_stale_completed_servers() {
  while (!completed_servers_.empty()) {
    const auto found = servers_.find(completed_servers_.front());
    if (found != servers_.end() && found->second.state == State::Completed) {
      return;
    }
    completed_servers_.pop_front();
  }
}

void Transactions::fire_server(std::uint64_t id, TimePoint, Actions& out) {
  const Server& server = servers_.at(id);
  if (server.state != State::Completed) {
    out.actions.emplace_back(UnansweredAction{ServerTransactionId{id}});
  }
  erase_server(id);  // timer J, or the answer timeout
}

void Transactions::erase_server(std::uint64_t id) {
  const auto found = servers_.find(id);
  if (found->second.state == State::Completed) {
    --completed_server_count_;  // its entry in completed_servers_ goes when it reaches the front
  }
  timers_.erase({found->second.deadline, id});
  server_keys_.erase(found->second.key);
  servers_.erase(found);
}

// ---- client (§17.1.2) ----

boost::system::result<ClientStart, TransactionRefusal>
Transactions::send_request(const Message& request, Peer destination, TimePoint now) {
  if (!request.is_request() || request.vias.empty()) {
    return TransactionRefusal{RefusalKind::NotRequest, "send_request: not a request with a Via"};
  }
  const auto branch = request.vias.front().branch();
  if (auto refusal = client_refusal(branch, request.method, request.method_name())) {
    return std::move(*refusal);
  }
  return start_client(*branch, request.method, bytes_of(request), std::move(destination), now);
}

boost::system::result<ClientStart, TransactionRefusal>
Transactions::send_request(std::string bytes, std::string_view branch, Method method,
                           Peer destination, TimePoint now) {
  if (auto refusal = client_refusal(branch, method, to_string(method))) {
    return std::move(*refusal);
  }
  return start_client(branch, method, std::make_shared<const std::string>(std::move(bytes)),
                      std::move(destination), now);
}

std::optional<TransactionRefusal> Transactions::client_refusal(
    std::optional<std::string_view> branch, Method method, std::string_view method_name) const {
  if (!has_cookie(branch)) {
    return TransactionRefusal{
        RefusalKind::NoBranch,
        fmt::format("Via branch: '{}' does not start with {}", branch.value_or(""), kBranchCookie)};
  }
  if (branch->size() - kBranchCookie.size() > kMaxClientBranchDigits) {
    return TransactionRefusal{
        RefusalKind::BranchTooLong,
        fmt::format("Via branch: '{}' has {} characters after {}, limit {}", *branch,
                    branch->size() - kBranchCookie.size(), kBranchCookie, kMaxClientBranchDigits)};
  }
  if (method == Method::Other) {
    return TransactionRefusal{
        RefusalKind::NotRequest,
        fmt::format("send_request: extension method '{}' not supported", method_name)};
  }
  if (clients_.size() >= config_.max_client_transactions) {
    return TransactionRefusal{RefusalKind::Full,
                              fmt::format("client transactions: {} live, limit {}", clients_.size(),
                                          config_.max_client_transactions)};
  }
  // The request's own method: §8.1.1.5 makes the CSeq method equal to it.
  const ClientKey key = *client_key(branch, method);
  if (client_keys_.contains(key) || completed_clients_.contains(key)) {
    return TransactionRefusal{RefusalKind::BranchInUse,
                              fmt::format("Via branch: '{}' already in use", *branch)};
  }
  return std::nullopt;
}

ClientStart Transactions::start_client(std::string_view branch, Method method,
                                       std::shared_ptr<const std::string> bytes,
                                       Peer destination, TimePoint now) {
  const std::uint64_t id = next_id_++;
  Client& client = clients_[id];
  client.key = *client_key(branch, method);
  client.destination = std::move(destination);
  client.request = std::move(bytes);
  client.interval = config_.t1;
  client.retransmit_at = now + config_.t1;  // timer E, unreliable only
  client.give_up_at = now + 64 * config_.t1;
  client_keys_.emplace(client.key, id);
  schedule_client(id, client);
  ClientStart start{ClientTransactionId{id}, Actions{}};
  start.actions.actions.emplace_back(SendAction{client.destination, client.request});
  start.actions = finish(std::move(start.actions));
  return start;
}

// Keeps the one timers_ entry of a live client at its earliest timer.
void Transactions::schedule_client(std::uint64_t id, Client& client) {
  TimePoint at = client.give_up_at;
  if (!is_reliable(client.destination.transport)) {
    at = std::min(at, client.retransmit_at);
  }
  schedule(id, client.scheduled, at);
}

Actions Transactions::on_response(Message response, TimePoint now) {
  Actions out;
  const auto key = response.is_request() || response.vias.empty()
                       ? std::nullopt
                       : client_key(response.vias.front().branch(), response.cseq.method);
  const auto found = key ? client_keys_.find(*key) : client_keys_.end();
  if (found == client_keys_.end()) {
    if (key && completed_clients_.contains(*key)) {
      ++stats_.absorbed_responses;
    } else {
      ++stats_.stray_responses;  // §18.1.2: silently discarded
    }
    return finish(std::move(out));
  }
  const std::uint64_t id = found->second;
  Client& client = clients_.at(id);
  const int status = response.status;
  out.actions.emplace_back(ResponseAction{ClientTransactionId{id}, std::move(response)});
  if (status < 200) {
    client.state = State::Proceeding;
    return finish(std::move(out));
  }
  const bool reliable = is_reliable(client.destination.transport);
  erase_client(id);  // on a reliable transport timer K is zero
  if (!reliable && !completed_clients_.add(*key, now + config_.t4)) {  // timer K
    ++stats_.forgotten_completed;
  }
  return finish(std::move(out));
}

Actions Transactions::on_transport_error(ClientTransactionId cid, TimePoint) {
  Actions out;
  const auto found = clients_.find(cid.value);
  if (found != clients_.end()) {
    erase_client(cid.value);
    out.actions.emplace_back(ClientFailedAction{cid, ClientFailure::TransportError});
  }
  return finish(std::move(out));
}

void Transactions::fire_client(std::uint64_t id, TimePoint now, Actions& out) {
  Client& client = clients_.at(id);
  if (now >= client.give_up_at) {
    out.actions.emplace_back(ClientFailedAction{ClientTransactionId{id}, ClientFailure::Timeout});
    erase_client(id);  // timer F
    return;
  }
  // Timer E: resend; in Trying the interval doubles up to T2, in Proceeding it is T2.
  out.actions.emplace_back(SendAction{client.destination, client.request});
  client.interval =
      client.state == State::Trying ? std::min(2 * client.interval, config_.t2) : config_.t2;
  client.retransmit_at = now + client.interval;
  schedule_client(id, client);
}

void Transactions::erase_client(std::uint64_t id) {
  const auto found = clients_.find(id);
  timers_.erase({found->second.scheduled, id});
  client_keys_.erase(found->second.key);
  clients_.erase(found);
}

Actions Transactions::advance(TimePoint now) {
  Actions out;
  completed_clients_.expire(now);  // timer K: nothing to tell anyone
  while (!timers_.empty() && timers_.begin()->first <= now) {
    const std::uint64_t id = timers_.begin()->second;
    if (servers_.contains(id)) {
      fire_server(id, now, out);
    } else {
      fire_client(id, now, out);
    }
  }
  drop_stale_completed_servers();
  return finish(std::move(out));
}

}  // namespace presenced::sip
