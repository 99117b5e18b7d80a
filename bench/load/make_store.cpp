// make-store: writes a large data set straight into a presenced data directory through the
// store interface, for start-up measurements: an admin, N users in teams and each user's team
// as contacts. Every user shares one Argon2id hash computed once; creating them over the API
// would hash each password (tens of ms apiece).
//
// Run it on a stopped server's data directory only.

#include "store/store.h"

#include <fmt/format.h>
#include <sodium.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

namespace {

using namespace presenced;

struct Options {
  std::string data_dir;
  std::string admin_password;
  std::string user_prefix = "load";
  std::string sip_password;  // every user's, for SIP digest; empty: no SIP
  std::string ids_file;      // user ids, one a line, in place of PREFIX00000...
  std::size_t users = 100000;
  std::size_t contacts = 20;  // per user: the own team
  std::size_t batch = 10000;  // mutations per submit
};

std::optional<std::string> argon2id(const std::string& password) {
  if (sodium_init() < 0) {
    return std::nullopt;
  }
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return std::nullopt;
  }
  return std::string(out);
}

// Submits in batches and waits for every completion; false on the first failed commit.
class Writer {
 public:
  Writer(store::Store& store, std::size_t batch) : store_(store), batch_(batch) {}

  void add(store::Mutation mutation) {
    pending_.push_back(std::move(mutation));
    if (pending_.size() >= batch_) {
      submit();
    }
  }

  bool finish() {
    submit();
    store_.flush();
    while (done_ < submitted_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return failed_ == 0;
  }

 private:
  void submit() {
    if (pending_.empty()) {
      return;
    }
    ++submitted_;
    store_.submit(std::move(pending_), [this](core::Result<void> result) {
      if (!result) {
        fmt::print(stderr, "commit: {}\n", result.error().message);
        ++failed_;
      }
      ++done_;
    });
    pending_.clear();
  }

  store::Store& store_;
  std::size_t batch_;
  std::vector<store::Mutation> pending_;
  std::uint64_t submitted_ = 0;
  std::atomic<std::uint64_t> done_{0};
  std::atomic<std::uint64_t> failed_{0};
};

int make_store(const Options& options) {
  const auto hash = argon2id(options.admin_password);
  if (!hash) {
    fmt::print(stderr, "libsodium: cannot hash the password\n");
    return 1;
  }
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  store::SqliteConfig config;
  config.path = (std::filesystem::path(options.data_dir) / "presenced.db").string();
  config.synchronous_full = false;
  auto opened = store::open_sqlite(config);
  if (!opened) {
    fmt::print(stderr, "store: {}\n", opened.error().message);
    return 1;
  }
  store::Store& db = **opened;
  if (auto loaded = db.load(); !loaded) {
    fmt::print(stderr, "store: {}\n", loaded.error().message);
    return 1;
  }
  const auto started = std::chrono::steady_clock::now();
  Writer writer(db, options.batch);
  writer.add(store::PutUser{{"admin", "Administrator", store::Role::Admin, *hash, "", {}, {}}});
  std::vector<std::string> ids;
  if (!options.ids_file.empty()) {
    std::ifstream in(options.ids_file);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) ids.push_back(line);
    }
  }
  const std::size_t users = ids.empty() ? options.users : ids.size();
  auto id = [&](std::size_t i) {
    return ids.empty() ? fmt::format("{}{:05}", options.user_prefix, i) : ids[i];
  };
  for (std::size_t i = 0; i < users; ++i) {
    writer.add(store::PutUser{
        {id(i), fmt::format("Load user {}", i), store::Role::User, *hash, options.sip_password,
         {}, {}}});
  }
  std::size_t relations = 0;
  for (std::size_t i = 0; i < users; ++i) {
    const std::size_t team = i / options.contacts * options.contacts;
    for (std::size_t k = team; k < team + options.contacts && k < users; ++k) {
      writer.add(store::PutContact{{id(i), id(k)}});
      ++relations;
    }
  }
  if (!writer.finish()) {
    return 1;
  }
  fmt::print("{}: {} users and admin, {} contacts, written in {:.1f} s\n", config.path,
             users, relations,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"make-store: a large presenced data set for start-up measurements"};
  app.add_option("--data-dir", options.data_dir, "Data directory of a stopped presenced")
      ->required();
  app.add_option("--admin-password", options.admin_password,
                 "Password of admin; every user gets it too")
      ->required();
  app.add_option("--user-prefix", options.user_prefix, "Ids: PREFIX00000...")
      ->capture_default_str();
  app.add_option("--sip-password", options.sip_password,
                 "Every user's sip_password (SIP digest); empty: none");
  app.add_option("--ids", options.ids_file,
                 "File of user ids, one a line, written in place of --users PREFIX00000...");
  app.add_option("--users", options.users, "Users to write")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))
      ->capture_default_str();
  app.add_option("--contacts", options.contacts, "Contacts per user (its team)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000}))
      ->capture_default_str();
  app.add_option("--batch", options.batch, "Mutations per commit")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return make_store(options);
}
