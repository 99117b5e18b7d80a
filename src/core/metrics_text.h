#pragma once

// The HELP and TYPE lines that open a metric family in Prometheus' text format, for every
// adapter that adds its figures to GET /metrics (api::MetricsSource). Plain text, no I/O.

#include <string>
#include <string_view>

namespace presenced::core {

inline void metric_family(std::string& out, std::string_view name, std::string_view help,
                          std::string_view type) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

}  // namespace presenced::core
