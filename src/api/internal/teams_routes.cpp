// Teams user mappings: which Microsoft 365 user (UPN or e-mail, in which tenant) a presenced
// user is, and whether their manual DND goes to Teams. Kept as documents the Teams connector
// watches (docs/teams.md).

#include "api/internal/service.h"

#include <boost/json.hpp>

#include <algorithm>

namespace presenced::api {

namespace json = boost::json;
using core::Error;
using core::Result;

namespace {

constexpr std::size_t kUpnLimit = 256;     // Entra ID: userPrincipalName is at most 113 + '@' +
                                           // domain; 256 leaves room for mail addresses
constexpr std::size_t kTenantLimit = 128;  // a tenant id (GUID) or a domain name

Result<std::string> checked_text(const json::object& body, std::string_view key,
                                 std::size_t limit) {
  const json::value* value = body.if_contains(key);
  if (value == nullptr || !value->is_string()) {
    return Error::invalid_argument(std::string(key) + ": a string is required");
  }
  const json::string& text = value->get_string();
  if (text.empty() || text.size() > limit) {
    return Error::invalid_argument(std::string(key) + ": " + std::to_string(text.size()) +
                                   " bytes, 1 to " + std::to_string(limit) + " allowed");
  }
  for (const char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '\'' || c == '"' || c == '/') {
      return Error::invalid_argument(std::string(key) + ": space, quote or slash not allowed");
    }
  }
  return std::string(text);
}

// {"upn", "tenant", "mirror_dnd"?}: returns the body as stored.
Result<std::string> decode_teams_user(std::string_view text) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(text, ec);
  if (ec || !parsed.is_object()) {
    return Error::invalid_argument("body: a JSON object is required");
  }
  const json::object& body = parsed.get_object();
  for (const auto& member : body) {
    if (member.key() != "upn" && member.key() != "tenant" && member.key() != "mirror_dnd") {
      return Error::invalid_argument("body: unknown member " + std::string(member.key()));
    }
  }
  auto upn = checked_text(body, "upn", kUpnLimit);
  if (!upn) {
    return upn.error();
  }
  if (upn->find('@') == std::string::npos) {
    return Error::invalid_argument("upn: " + *upn + " is not user@domain");
  }
  auto tenant = checked_text(body, "tenant", kTenantLimit);
  if (!tenant) {
    return tenant.error();
  }
  const json::value* mirror = body.if_contains("mirror_dnd");
  if (mirror != nullptr && !mirror->is_bool()) {
    return Error::invalid_argument("mirror_dnd: true or false");
  }
  return json::serialize(json::object{{"upn", *upn},
                                      {"tenant", *tenant},
                                      {"mirror_dnd", mirror != nullptr && mirror->get_bool()}});
}

json::value mapping_json(const store::DocumentRecord& d) {
  json::value body = json::parse(d.body);
  body.as_object().emplace("user", d.id);
  return body;
}

}  // namespace

void Service::watch_documents(std::string kind, DocumentWatch watch) {
  for (const store::DocumentRecord& d : foreign_documents_) {
    if (d.kind == kind) {
      watch(d, false);
    }
  }
  document_watches_.emplace(std::move(kind), std::move(watch));
}

void Service::tell_watchers(const store::DocumentRecord& document, bool removed) {
  const auto [first, last] = document_watches_.equal_range(document.kind);
  for (auto it = first; it != last; ++it) {
    it->second(document, removed);
  }
}

void Service::list_teams_users(const Principal&, const Params&, HttpRequest&, Respond& respond) {
  json::array out;
  for (const store::DocumentRecord& d : foreign_documents_) {
    if (d.kind == kTeamsUserKind) {
      out.push_back(mapping_json(d));
    }
  }
  respond(json_response(200, json::object{{"users", std::move(out)}}));
}

void Service::get_teams_user(const Principal&, const Params& params, HttpRequest&,
                             Respond& respond) {
  const auto found = std::find_if(foreign_documents_.begin(), foreign_documents_.end(),
                                  [&](const store::DocumentRecord& d) {
                                    return d.kind == kTeamsUserKind && d.id == params[0];
                                  });
  if (found == foreign_documents_.end()) {
    respond(error_response(Error::not_found("user " + params[0] + ": no Teams mapping")));
    return;
  }
  respond(json_response(200, mapping_json(*found)));
}

void Service::put_teams_user(const Principal&, const Params& params, HttpRequest& request,
                             Respond& respond) {
  const std::string id = params[0];
  auto user = target_user(id);
  auto body = decode_teams_user(request.body);
  if (!user || !body) {
    respond(error_response(!user ? user.error() : body.error()));
    return;
  }
  store::DocumentRecord document{std::string(kTeamsUserKind), id, id, *body};
  commit({store::PutDocument{document}}, std::move(respond), [this, document] {
    if (!engine_.find(document.id)) {
      return error_response(Error::not_found("the user was deleted meanwhile"));
    }
    std::erase_if(foreign_documents_, [&](const store::DocumentRecord& d) {
      return d.kind == document.kind && d.id == document.id;
    });
    foreign_documents_.push_back(document);
    tell_watchers(document, false);
    return json_response(200, mapping_json(document));
  });
}

void Service::delete_teams_user(const Principal&, const Params& params, HttpRequest&,
                                Respond& respond) {
  store::DocumentRecord document{std::string(kTeamsUserKind), params[0], params[0], ""};
  commit({store::DeleteDocument{document.kind, document.id}}, std::move(respond),
         [this, document] {
           const auto removed = std::erase_if(foreign_documents_, [&](const auto& d) {
             return d.kind == document.kind && d.id == document.id;
           });
           if (removed > 0) {
             tell_watchers(document, true);
           }
           return HttpResponse{204, ""};
         });
}

}  // namespace presenced::api
