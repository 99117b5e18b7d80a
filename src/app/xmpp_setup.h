#pragma once

// The --xmpp-* flags and the XMPP component's wiring to the API server (docs/xmpp.md).

#include "api/api.h"
#include "xmpp/xmpp.h"

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

namespace presenced::app {

struct XmppOptions {
  std::string component;  // HOST:PORT of the XMPP server's component port; empty: no XMPP
  std::string domain;     // default: --domain
  std::string secret;
  std::string secret_file;
  std::vector<std::string> domain_levels;  // DOMAIN=level
  std::string default_level = "blocked";
  std::size_t subscribe_burst = 50;
  std::size_t max_subscriptions = 100'000;
};

void add_xmpp_options(CLI::App& app, XmppOptions& options);

// The running component with the directory it reads and its remote contacts' adapter; empty
// when --xmpp-component is not given.
struct XmppSide {
  std::unique_ptr<xmpp::Directory> directory;
  std::unique_ptr<xmpp::Component> component;
  std::unique_ptr<api::RemoteWatcher> remote_contacts;
  // Closes the link; the adapter then refuses and ignores. Before the server's loop goes.
  void stop();
};

// Checks the flags (exits with status 2 naming the flag), creates and starts the component on
// the server's loop and adds its metrics.
XmppSide start_xmpp(const XmppOptions& options, const std::string& presence_domain,
                    api::Server& server);

}  // namespace presenced::app
