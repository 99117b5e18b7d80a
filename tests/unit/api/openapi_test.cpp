#include "api/internal/openapi.h"

#include "api/internal/service.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The OpenAPI document (src/api/openapi.json) is the reference of every route, field and answer
// (API contract: "Document all of it in the OpenAPI document the server serves"). These tests
// hold it to the route table, so a route cannot be served undescribed nor described unserved.

namespace presenced::api {
namespace {

namespace json = boost::json;

// Answered by Service::handle (/healthz, the login, signed incoming webhook statuses) and by the
// server's WebSocket upgrade before the route table is consulted, so route_patterns() does not
// list them.
const std::set<std::pair<std::string, std::string>> kServedBeforeTheTable = {
    {"get", "/healthz"},
    {"post", "/api/v1/auth/token"},
    {"get", "/api/v1/ws"},
    {"post", "/api/v1/webhooks/{id}/incoming"}};

// The operations of an OpenAPI 3.0 path item; its other fields are not methods.
const std::set<std::string, std::less<>> kMethods = {"get",   "put",  "post",    "delete",
                                                     "patch", "head", "options", "trace"};
const std::set<std::string, std::less<>> kPathItemFields = {"parameters", "summary", "description",
                                                            "servers", "$ref"};

constexpr std::string_view kSchemaPrefix = "#/components/schemas/";

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = std::min(path.find('/', start), path.size());
    out.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool is_template(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// "/api/v1/users/{id}/devices/{device}" and the route "/api/v1/users/{0}/devices/{1}" both
// become "/api/v1/users/{}/devices/{}": a numbered wildcard matches any named parameter.
std::string shape(std::string_view path) {
  std::string out;
  for (const std::string& segment : segments(path)) {
    if (!out.empty() || !segment.empty()) {
      out += '/';
    }
    out += is_template(segment) ? "{}" : segment;
  }
  return out;
}

std::string route_name(std::string_view method, std::string_view path) {
  std::string out(method);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out + " " + std::string(path);
}

struct Operation {
  std::string method;  // lower case, as the document spells it
  std::string path;    // as the document spells it
  const json::object* path_item = nullptr;
  const json::object* operation = nullptr;
};

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    boost::system::error_code ec;
    document_ = json::parse(openapi_document(), ec);
    ASSERT_FALSE(ec) << "src/api/openapi.json does not parse: " << ec.message();
    ASSERT_TRUE(document_.is_object());
    const json::value* paths = document_.as_object().if_contains("paths");
    ASSERT_TRUE(paths != nullptr && paths->is_object()) << "the document has no paths object";
    for (const auto& [path, item] : paths->as_object()) {
      ASSERT_TRUE(item.is_object()) << std::string(path) << ": a path item is an object";
      for (const auto& [key, value] : item.as_object()) {
        if (kMethods.contains(std::string_view(key))) {
          ASSERT_TRUE(value.is_object()) << route_name(key, path) << ": not an object";
          operations_.push_back(
              {std::string(key), std::string(path), &item.as_object(), &value.as_object()});
        } else {
          // Catches "GET" or "Put": a misspelt method would silently describe nothing.
          EXPECT_TRUE(kPathItemFields.contains(std::string_view(key)))
              << std::string(path) << ": " << std::string(key)
              << " is neither a method (lower case) nor a path item field";
        }
      }
    }
    const json::value* schemas = nullptr;
    if (const json::value* components = document_.as_object().if_contains("components")) {
      if (components->is_object()) {
        schemas = components->as_object().if_contains("schemas");
      }
    }
    ASSERT_TRUE(schemas != nullptr && schemas->is_object()) << "no components.schemas";
    schemas_ = &schemas->as_object();
  }

  const Operation* find(std::string_view method, std::string_view path) const {
    const std::string want = shape(path);
    const std::string want_method = lower(method);
    for (const Operation& op : operations_) {
      if (op.method == want_method && shape(op.path) == want) {
        return &op;
      }
    }
    return nullptr;
  }

  json::value document_;
  std::vector<Operation> operations_;
  const json::object* schemas_ = nullptr;
};

TEST_F(OpenApiTest, EveryServedRouteIsDocumentedWithAResponse) {
  const std::vector<RoutePattern> routes = route_patterns();
  ASSERT_FALSE(routes.empty());
  for (const RoutePattern& route : routes) {
    const Operation* op = find(route.method, route.path);
    if (op == nullptr) {
      ADD_FAILURE() << route_name(route.method, route.path)
                    << " is served but missing from src/api/openapi.json";
      continue;
    }
    const json::value* responses = op->operation->if_contains("responses");
    EXPECT_TRUE(responses != nullptr && responses->is_object() && !responses->as_object().empty())
        << route_name(op->method, op->path) << " documents no response";
  }
}

TEST_F(OpenApiTest, EveryDocumentedOperationIsServed) {
  std::set<std::pair<std::string, std::string>> served;
  for (const RoutePattern& route : route_patterns()) {
    served.emplace(lower(route.method), shape(route.path));
  }
  ASSERT_FALSE(operations_.empty());
  for (const Operation& op : operations_) {
    if (kServedBeforeTheTable.contains({op.method, op.path})) {
      continue;
    }
    EXPECT_TRUE(served.contains({op.method, shape(op.path)}))
        << route_name(op.method, op.path) << " is documented but no route serves it";
  }
}

TEST_F(OpenApiTest, NoTwoPathsDifferOnlyInParameterNames) {
  // OpenAPI 3.0 §4.7.8: such paths are identical, and a client could not tell which applies.
  std::map<std::string, std::string> seen;
  for (const Operation& op : operations_) {
    auto [it, added] = seen.emplace(shape(op.path), op.path);
    EXPECT_TRUE(added || it->second == op.path)
        << op.path << " and " << it->second << " are the same path";
  }
}

TEST_F(OpenApiTest, EveryPathParameterIsDeclared) {
  for (const Operation& op : operations_) {
    std::set<std::string> declared;
    for (const json::object* holder : {op.path_item, op.operation}) {
      const json::value* parameters = holder->if_contains("parameters");
      if (parameters == nullptr || !parameters->is_array()) {
        continue;
      }
      for (const json::value& p : parameters->as_array()) {
        const json::object* parameter = p.if_object();
        if (parameter != nullptr && parameter->contains("name") && parameter->contains("in") &&
            parameter->at("in").is_string() && parameter->at("in").as_string() == "path" &&
            parameter->at("name").is_string()) {
          declared.emplace(std::string(parameter->at("name").as_string()));
        }
      }
    }
    for (const std::string& segment : segments(op.path)) {
      if (is_template(segment)) {
        const std::string name = segment.substr(1, segment.size() - 2);
        EXPECT_TRUE(declared.contains(name))
            << route_name(op.method, op.path) << ": path parameter " << name << " is not declared";
      }
    }
  }
}

TEST_F(OpenApiTest, AuthenticatedOperationsDocument401AndErrorsUseTheErrorSchema) {
  const std::string error_ref = std::string(kSchemaPrefix) + "Error";
  for (const Operation& op : operations_) {
    const json::value* responses = op.operation->if_contains("responses");
    if (responses == nullptr || !responses->is_object()) {
      continue;  // reported by EveryServedRouteIsDocumentedWithAResponse
    }
    // Every route but /healthz and the login needs a token (API contract, "HTTP").
    const json::value* security = op.operation->if_contains("security");
    const bool open = security != nullptr && security->is_array() && security->as_array().empty();
    if (!open) {
      EXPECT_TRUE(responses->as_object().contains("401"))
          << route_name(op.method, op.path) << " needs a token but documents no 401";
    }
    for (const auto& [status, response] : responses->as_object()) {
      if (status.empty() || (status[0] != '4' && status[0] != '5')) {
        continue;
      }
      const json::value* ref = nullptr;
      if (const json::object* r = response.if_object()) {
        if (const json::value* content = r->if_contains("content");
            content && content->is_object()) {
          if (const json::value* media = content->as_object().if_contains("application/json");
              media && media->is_object()) {
            if (const json::value* schema = media->as_object().if_contains("schema");
                schema && schema->is_object()) {
              ref = schema->as_object().if_contains("$ref");
            }
          }
        }
      }
      EXPECT_TRUE(ref != nullptr && ref->is_string() && ref->as_string() == error_ref)
          << route_name(op.method, op.path) << " " << std::string(status)
          << ": an error answer is application/json with the Error schema";
    }
  }
}

// Collects every "$ref" value anywhere below `value`, with where it was found.
void collect_refs(const json::value& value, const std::string& where,
                  std::vector<std::pair<std::string, std::string>>& out) {
  if (const json::object* object = value.if_object()) {
    for (const auto& [key, child] : *object) {
      if (key == "$ref" && child.is_string()) {
        out.emplace_back(std::string(child.as_string()), where);
      } else {
        collect_refs(child, where + "/" + std::string(key), out);
      }
    }
  } else if (const json::array* array = value.if_array()) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      collect_refs((*array)[i], where + "/" + std::to_string(i), out);
    }
  }
}

TEST_F(OpenApiTest, EveryRefNamesASchemaInComponents) {
  std::vector<std::pair<std::string, std::string>> refs;
  collect_refs(document_, "#", refs);
  ASSERT_FALSE(refs.empty());
  for (const auto& [ref, where] : refs) {
    const bool local = ref.starts_with(kSchemaPrefix);
    EXPECT_TRUE(local && schemas_->contains(std::string_view(ref).substr(kSchemaPrefix.size())))
        << where << ": $ref " << ref << " names no schema in components.schemas";
  }
}

}  // namespace
}  // namespace presenced::api
