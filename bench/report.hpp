#pragma once
// What every workload program of bench/compare shares: the JSON line it
// prints per figure, a stopwatch and the resident set size.
//   {"workload": ..., "value": ..., "unit": ..., "better": "higher"|"lower"}

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

namespace bench {

using clock_type = std::chrono::steady_clock;

inline void emit(const std::string& workload, double value, const char* unit, const char* better) {
  std::printf("{\"workload\": \"%s\", \"value\": %.6g, \"unit\": \"%s\", \"better\": \"%s\"}\n", workload.c_str(), value,
              unit, better);
  std::fflush(stdout);
}

inline double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// Resident set size of this process in bytes (/proc/self/statm).
inline std::size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace bench
