#pragma once

#include <string_view>

namespace presenced::api {

// The OpenAPI 3.0 document of every route, served at GET /api/v1/openapi.json.
std::string_view openapi_document();

}  // namespace presenced::api
