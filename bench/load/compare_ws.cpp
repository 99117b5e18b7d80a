// compare-ws: the side-by-side generator for presenced over its WebSocket API
// (bench/compare/README.md, "Generator line protocol"). Every account is one WebSocket that
// subscribes to the users it watches; a publish is the user's own
// `PUT /api/v1/users/{id}/presence/manual` over a pool of keep-alive HTTP connections, the stamp
// in the note. Endpoint: {"http": "127.0.0.1:PORT", "tokens": FILE}, FILE a JSON object of
// account -> API key (the harness makes one per account, so logging in checks a key and does
// not hash a password).

#include "compare_gen.h"
#include "http_client.h"

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <deque>
#include <fstream>
#include <memory>
#include <sstream>

namespace presenced::load::compare {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
namespace websocket = beast::websocket;
using http_verb = beast::http::verb;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kHttpConnections = 32;
constexpr std::size_t kSubscribeChunk = 2000;
constexpr std::size_t kSources = 8;  // 127.0.0.2 .. 127.0.0.9: past 28k ports of one address

// The data set's states as presenced's manual states; the stamp in the note tells them apart.
std::string_view manual_state(std::string_view state) {
  if (state == "available") return "Available";
  if (state == "dnd") return "DoNotDisturb";
  if (state == "away") return "Away";
  return "Busy";  // busy, on-the-phone
}

std::string_view string_field(std::string_view text, std::string_view key) {
  const std::size_t at = text.find(key);
  if (at == std::string_view::npos) return {};
  const std::size_t start = at + key.size();
  const std::size_t end = text.find('"', start);
  return end == std::string_view::npos ? std::string_view{} : text.substr(start, end - start);
}

struct Job {
  std::uint32_t user;
  std::string state;
  Stamp stamp;
};

class WsProtocol final : public Protocol {
 public:
  WsProtocol(asio::io_context& ioc, Driver& driver, tcp::endpoint server,
             std::vector<std::string> tokens)
      : ioc_(ioc), driver_(driver), server_(server), tokens_(std::move(tokens)),
        accounts_(driver.dataset().accounts.size()), wake_(ioc, asio::steady_timer::time_point::max()) {
    const Dataset& d = driver.dataset();
    for (std::uint32_t a = 0; a < accounts_.size(); ++a) {
      for (const std::uint32_t pair : d.watching[a]) {
        accounts_[a].pair_of.emplace(d.pairs[pair].presentity, pair);
      }
    }
    for (std::size_t c = 0; c < kHttpConnections; ++c) {
      asio::co_spawn(ioc_, publisher(), asio::detached);
    }
  }

  void login(std::uint32_t a) override { asio::co_spawn(ioc_, connect(a), asio::detached); }

  void publish(std::uint32_t u, std::string_view state, Stamp stamp) override {
    jobs_.push_back(Job{u, std::string(state), stamp});
    wake_.cancel_one();
  }

  bool refresh(std::uint32_t pair) override {
    const Pair& p = driver_.dataset().pairs[pair];
    send(p.watcher, fmt::format(R"({{"op":"subscribe","users":["{}"]}})",
                                driver_.dataset().accounts[p.presentity]));
    return true;
  }

  bool reconnect(std::uint32_t a) override {
    Account& account = accounts_[a];
    ++account.generation;
    if (account.ws) {
      beast::error_code ec;
      beast::get_lowest_layer(*account.ws).socket().close(ec);
    }
    login(a);
    return true;
  }

  bool set_reading(std::uint32_t a, bool reading) override {
    Account& account = accounts_[a];
    account.reading = reading;
    if (reading && account.resume) {
      account.resume->cancel();
    }
    return true;
  }

  void close() override {
    closing_ = true;
    for (Account& account : accounts_) {
      if (account.ws) {
        beast::error_code ec;
        beast::get_lowest_layer(*account.ws).socket().close(ec);
      }
    }
    wake_.cancel();
  }

 private:
  using Stream = websocket::stream<beast::tcp_stream>;
  struct Account {
    std::unique_ptr<Stream> ws;
    std::unique_ptr<asio::steady_timer> resume;
    std::unordered_map<std::uint32_t, std::uint32_t> pair_of;  // presentity -> pair
    std::deque<std::string> outbox;
    bool writing = false;
    bool reading = true;
    std::uint64_t generation = 0;
  };

  asio::awaitable<void> connect(std::uint32_t a) {
    Account& account = accounts_[a];
    const std::uint64_t generation = account.generation;
    account.ws = std::make_unique<Stream>(ioc_);
    account.outbox.clear();
    account.writing = false;
    auto& stream = beast::get_lowest_layer(*account.ws);
    const asio::ip::address_v4 source((127u << 24) | static_cast<std::uint32_t>(2 + a % kSources));
    beast::error_code ec;
    stream.socket().open(tcp::v4(), ec);
    if (!ec) stream.socket().bind(tcp::endpoint(source, 0), ec);
    if (ec) {
      driver_.failure(fmt::format("bind {}: {}", source.to_string(), ec.message()));
      driver_.logged_in(a, false, 0);
      co_return;
    }
    stream.expires_after(std::chrono::seconds(30));
    auto [connect_error] = co_await stream.async_connect(server_, kAsTuple);
    if (!connect_error) {
      stream.expires_never();
      account.ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
      auto [handshake_error] = co_await account.ws->async_handshake(
          fmt::format("{}:{}", server_.address().to_string(), server_.port()),
          "/api/v1/ws?access_token=" + tokens_[a], kAsTuple);
      connect_error = handshake_error;
    }
    if (connect_error) {
      driver_.failure(fmt::format("login {}: {}", driver_.dataset().accounts[a],
                                  connect_error.message()));
      driver_.logged_in(a, false, 0);
      co_return;
    }
    // In messages of at most kSubscribeChunk users: presenced takes 10,000 ids per message.
    const Dataset& d = driver_.dataset();
    const auto& pairs = d.watching[a];
    for (std::size_t first = 0; first < pairs.size(); first += kSubscribeChunk) {
      std::string subscribe = R"({"op":"subscribe","users":[)";
      for (std::size_t k = first; k < std::min(pairs.size(), first + kSubscribeChunk); ++k) {
        subscribe += k == first ? "\"" : ",\"";
        subscribe += d.accounts[d.pairs[pairs[k]].presentity];
        subscribe += '"';
      }
      subscribe += "]}";
      send(a, std::move(subscribe));
    }
    driver_.logged_in(a, true, d.watching[a].size());
    co_await read(a, generation);
  }

  asio::awaitable<void> read(std::uint32_t a, std::uint64_t generation) {
    Account& account = accounts_[a];
    Stream* ws = account.ws.get();
    beast::flat_buffer buffer;
    for (;;) {
      while (!account.reading && !closing_) {
        if (!account.resume) {
          account.resume =
              std::make_unique<asio::steady_timer>(ioc_, asio::steady_timer::time_point::max());
        }
        co_await account.resume->async_wait(kAsTuple);
      }
      auto [error, n] = co_await ws->async_read(buffer, kAsTuple);
      if (error) {
        if (!closing_ && generation == account.generation) {
          driver_.failure(fmt::format("{} disconnected: {}", driver_.dataset().accounts[a],
                                      error.message()));
        }
        co_return;
      }
      const auto data = buffer.cdata();
      on_message(account, std::string_view(static_cast<const char*>(data.data()), data.size()),
                 monotonic_ns());
      buffer.consume(buffer.size());
    }
  }

  void on_message(const Account& account, std::string_view text, std::uint64_t now) {
    if (text.substr(0, 40).find(R"("type":"presence")") == std::string_view::npos) {
      if (text.find(R"("type":"error")") != std::string_view::npos) {
        driver_.failure(fmt::format("server: {}", text.substr(0, 200)));
      }
      return;
    }
    const auto user = driver_.dataset().index.find(std::string(string_field(text, R"("user":")")));
    if (user == driver_.dataset().index.end()) return;
    const auto pair = account.pair_of.find(user->second);
    if (pair == account.pair_of.end()) return;
    driver_.received(pair->second, read_stamp(string_field(text, R"("note":")")), now);
  }

  void send(std::uint32_t a, std::string message) {
    Account& account = accounts_[a];
    if (!account.ws) return;
    account.outbox.push_back(std::move(message));
    if (!account.writing) {
      account.writing = true;
      asio::co_spawn(ioc_, write(a, account.generation), asio::detached);
    }
  }

  asio::awaitable<void> write(std::uint32_t a, std::uint64_t generation) {
    Account& account = accounts_[a];
    Stream* ws = account.ws.get();
    while (!account.outbox.empty() && generation == account.generation) {
      const std::string message = std::move(account.outbox.front());
      account.outbox.pop_front();
      auto [error, n] = co_await ws->async_write(asio::buffer(message), kAsTuple);
      if (error) break;
    }
    if (generation == account.generation) account.writing = false;
  }

  asio::awaitable<void> publisher() {
    HttpClient client(ioc_.get_executor(), server_);
    const Dataset& d = driver_.dataset();
    while (!closing_) {
      if (jobs_.empty()) {
        co_await wake_.async_wait(kAsTuple);
        continue;
      }
      Job job = std::move(jobs_.front());
      jobs_.pop_front();
      const std::string& user = d.accounts[job.user];
      json::object body{{"state", manual_state(job.state)}, {"note", stamp_text(job.state, job.stamp)}};
      HttpAnswer answer = co_await client.request(
          http_verb::put, "/api/v1/users/" + user + "/presence/manual", tokens_[job.user],
          json::serialize(body));
      driver_.answered(job.stamp.serial, answer.status == 200,
                       fmt::format("HTTP {} {}", answer.status,
                                   std::string_view(answer.body).substr(0, 120)));
    }
  }

  asio::io_context& ioc_;
  Driver& driver_;
  tcp::endpoint server_;
  std::vector<std::string> tokens_;  // by account
  std::vector<Account> accounts_;
  std::deque<Job> jobs_;
  asio::steady_timer wake_;
  bool closing_ = false;
};

std::unique_ptr<Protocol> make(asio::io_context& ioc, Driver& driver, const json::object& endpoint) {
  const auto http = endpoint_address(endpoint, "http");
  boost::system::error_code ec;
  const auto address = http ? asio::ip::make_address(http->host, ec) : asio::ip::address();
  if (!http || ec) {
    return nullptr;
  }
  std::ifstream in(json::value_to<std::string>(endpoint.at("tokens")));
  std::stringstream text;
  text << in.rdbuf();
  const json::value tokens = json::parse(text.str(), ec);
  if (ec || !tokens.is_object()) {
    fmt::print(stderr, "endpoint tokens: not a JSON object\n");
    return nullptr;
  }
  const Dataset& d = driver.dataset();
  std::vector<std::string> by_account;
  for (const std::string& name : d.accounts) {
    const json::value* token = tokens.as_object().if_contains(name);
    if (token == nullptr) {
      fmt::print(stderr, "endpoint tokens: none for {}\n", name);
      return nullptr;
    }
    by_account.push_back(json::value_to<std::string>(*token));
  }
  return std::make_unique<WsProtocol>(ioc, driver, tcp::endpoint(address, http->port),
                                      std::move(by_account));
}

}  // namespace
}  // namespace presenced::load::compare

int main(int argc, char** argv) {
  return presenced::load::compare::generator_main(argc, argv, presenced::load::compare::make);
}
