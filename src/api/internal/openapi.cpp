#include "api/internal/openapi.h"

namespace presenced::api {

std::string_view openapi_document() {
  return R"({"openapi":"3.0.3","info":{"title":"presenced","version":"0.1.0"},"paths":{}})";
}

}  // namespace presenced::api
