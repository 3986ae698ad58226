// File: pvebal/dimensions.h
//
// The resource dimensions, from one table. A row says how a dimension shows in JSON and text,
// which options weigh and limit it, and how a node's capacity and a guest's demand are read
// from the model. The objective, the metrics, the renderers and the option schema loop over
// this table; code that is about one resource by nature (memory is a hard limit, CPU
// overcommit, the migration cost model, Proxmox's own CRS) names it.
//
// `res` holds one value per dimension (a fixed-size array: the planners' inner loops use it).
//
//   pvebal::res d = pvebal::guest_demand(g, opts);
//   double cores = d[pvebal::dimension::cpu];
//   for (const pvebal::dimension_info &row : pvebal::dimension_table) ...
//
// Adding a dimension: docs/development.md ("Adding a resource dimension").
#ifndef PVEBAL_DIMENSIONS_H_
#define PVEBAL_DIMENSIONS_H_

#include "pvebal/model.h"
#include "pvebal/options.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace pvebal {

enum class dimension : std::uint8_t { cpu, memory, disk_io };
inline constexpr std::size_t dimension_count = 3;

// How a dimension's values are written: cores as numbers, bytes and bytes/s as integers.
enum class dimension_unit : std::uint8_t { cores, bytes, bytes_per_second };

// One value per dimension.
template <class T> struct per_dimension {
    std::array<T, dimension_count> v{};

    constexpr T &operator[](dimension d) { return v[static_cast<std::size_t>(d)]; }
    constexpr const T &operator[](dimension d) const { return v[static_cast<std::size_t>(d)]; }
    friend bool operator==(const per_dimension &, const per_dimension &) = default;
};

// A resource vector (CPU in cores, memory in bytes, ...), with element-wise arithmetic.
struct res : per_dimension<double> {
    res &operator+=(const res &o) {
        for (std::size_t i = 0; i < dimension_count; ++i) {
            v[i] += o.v[i];
        }
        return *this;
    }
    res &operator-=(const res &o) {
        for (std::size_t i = 0; i < dimension_count; ++i) {
            v[i] -= o.v[i];
        }
        return *this;
    }
    friend res operator+(res a, const res &b) { return a += b; }
    friend res operator-(res a, const res &b) { return a -= b; }
    friend bool operator==(const res &, const res &) = default;

    // No demand in any dimension (a guest that does not run).
    bool is_zero() const {
        return std::all_of(v.begin(), v.end(), [](double x) { return x == 0; });
    }
};

// CPU and memory only (every other dimension 0): a guest's configured size, a requested one.
inline res res_of(double cpu, double memory) {
    res r;
    r[dimension::cpu] = cpu;
    r[dimension::memory] = memory;
    return r;
}

// The largest share of `total` that `demand` takes in any dimension (0 where total is 0): how
// large a guest is, for orderings.
inline double dominant_share(const res &demand, const res &total) {
    double m = 0;
    for (std::size_t i = 0; i < dimension_count; ++i) {
        m = std::max(m, total.v[i] > 0 ? demand.v[i] / total.v[i] : 0);
    }
    return m;
}

struct dimension_info {
    dimension dim;
    std::string_view key;   // as JSON and text show it: "cpu", "memory"
    std::string_view label; // text table heading
    dimension_unit unit;
    // The objective's weight: option key, default, help text and the `options` member.
    std::string_view weight_key;
    std::string_view weight_default;
    std::string_view weight_help;
    double options::*weight;
    // The limit a move's target may reach (a fraction of capacity); "" / nullptr: none.
    std::string_view limit_key;
    double options::*limit;
    // In use only when its weight is above 0 (an optional row); CPU and memory always are.
    bool optional;
    // A node's capacity.
    double (*capacity)(const node &, const options &);
    // What a running guest demands in the given load mode.
    double (*demand)(const guest &, load_mode);
    // What the node's own usage figure counts of a running guest at the same instant, and that
    // figure; the difference is the node's overhead (`used` mode). nullptr: no node figure.
    double (*measured)(const guest &);
    double (*node_used)(const node &);
};

namespace detail {
// Host-side memory is what the guest costs its node; the guest's own view is a fallback.
inline double guest_memory_now(const guest &g) {
    return static_cast<double>(g.memhost > 0 ? g.memhost : g.mem);
}
} // namespace detail

// clang-format off
inline constexpr std::array<dimension_info, dimension_count> dimension_table = {{
    {dimension::cpu, "cpu", "CPU", dimension_unit::cores,
     "cpu-weight", "1", "Weight of CPU in the objective.", &options::cpu_weight,
     "cpu-limit", &options::cpu_limit, false,
     [](const node &n, const options &) { return n.maxcpu; },
     [](const guest &g, load_mode m) {
         return m == load_mode::assigned ? g.maxcpu
                                         : std::min(g.cpu_avg.value_or(g.cpu), 1.0) * g.maxcpu;
     },
     [](const guest &g) { return std::min(g.cpu, 1.0) * g.maxcpu; },
     [](const node &n) { return n.cpu * n.maxcpu; }},
    {dimension::memory, "memory", "MEMORY", dimension_unit::bytes,
     "memory-weight", "1", "Weight of memory in the objective.", &options::memory_weight,
     "memory-limit", &options::memory_limit, false,
     [](const node &n, const options &) { return static_cast<double>(n.maxmem); },
     [](const guest &g, load_mode m) {
         return m == load_mode::assigned
                    ? static_cast<double>(g.maxmem)
                    : static_cast<double>(g.mem_avg.value_or(g.memhost > 0 ? g.memhost : g.mem));
     },
     [](const guest &g) { return detail::guest_memory_now(g); },
     [](const node &n) { return static_cast<double>(n.mem); }},
    // Optional (issue 17): read + write rate from the RRD averages, in either load mode (there is
    // no configured size of I/O); a node's capacity is an option (nodes report no I/O figure).
    {dimension::disk_io, "disk-io", "DISK-IO", dimension_unit::bytes_per_second,
     "disk-io-weight", "0",
     "Weight of disk I/O (read + write bytes/s) in the objective; 0: not a dimension. Needs "
     "disk-io-capacity.", &options::disk_io_weight,
     "", nullptr, true,
     [](const node &, const options &o) { return o.disk_io_capacity; },
     [](const guest &g, load_mode) { return g.disk_io_avg.value_or(0); },
     nullptr, nullptr},
}};
// clang-format on

// The rows that are always in use come first (CPU, memory); the optional rows follow, so "only
// the always-on dimensions" is a prefix the objective's inner loops can stop at.
inline constexpr std::size_t always_on_dimensions = [] {
    std::size_t n = 0;
    while (n < dimension_count && !dimension_table[n].optional) {
        ++n;
    }
    return n;
}();
static_assert(
    [] {
        for (std::size_t i = always_on_dimensions; i < dimension_count; ++i) {
            if (!dimension_table[i].optional) {
                return false;
            }
        }
        return true;
    }(),
    "dimension_table: the optional rows must come after the always-on rows");

constexpr const dimension_info &dimension_row(dimension d) {
    return dimension_table[static_cast<std::size_t>(d)];
}

// Whether a dimension takes part (in the objective, the metrics and the output).
inline bool dimension_in_use(const dimension_info &row, const options &o) {
    return !row.optional || o.*row.weight > 0;
}

} // namespace pvebal

#endif
