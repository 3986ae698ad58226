// The resource-dimension table (pvebal/dimensions.h): CPU and memory as its first rows, disk I/O
// as an optional third row that changes nothing while its weight is 0.
#include "test_util.h"

#include "pvebal/dimensions.h"
#include "pvebal/io.h"
#include "pvebal/option_schema.h"
#include "pvebal/report.h"
#include "pvebal/scoring.h"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <set>
#include <string>

using namespace pvebal;
using namespace pvebal::test;
namespace tt = boost::test_tools;

namespace {

constexpr double MBs = 1000.0 * 1000.0;

// Three equal nodes, CPU and memory exactly balanced; the guests on n1 do heavy disk I/O.
snapshot io_cluster() {
    snapshot_builder b;
    for (const char *n : {"n1", "n2", "n3"}) {
        b.node(n, 32, 128 * GiB, 6.0 / 32, 24 * GiB);
    }
    Json::Value &guests = b.extra()["guests"];
    std::uint32_t vmid = 100;
    for (const char *n : {"n1", "n2", "n3"}) {
        for (int i = 0; i < 3; ++i, ++vmid) {
            b.guest(vmid, n, 4, 8 * GiB, 0.5, 8 * GiB);
            const double io = std::string(n) == "n1" ? 150 * MBs : 5 * MBs;
            Json::Value &rrd = guests[std::to_string(vmid)]["rrd"];
            rrd["diskread"] = io * 2 / 3;
            rrd["diskwrite"] = io / 3;
        }
    }
    return b.build();
}

} // namespace

BOOST_AUTO_TEST_SUITE(dimensions)

BOOST_AUTO_TEST_CASE(table_rows_are_in_enum_order_with_unique_keys) {
    std::set<std::string_view> keys, weights;
    for (std::size_t i = 0; i < dimension_count; ++i) {
        const dimension_info &row = dimension_table[i];
        BOOST_TEST(static_cast<std::size_t>(row.dim) == i);
        BOOST_TEST(keys.insert(row.key).second);
        BOOST_TEST(weights.insert(row.weight_key).second);
        BOOST_TEST(row.weight != nullptr);
        BOOST_TEST(row.capacity != nullptr);
        BOOST_TEST(row.demand != nullptr);
        // Every weight is an option of the one schema, with the table's default.
        const option_info *o = find_option(row.weight_key);
        BOOST_REQUIRE(o != nullptr);
        BOOST_TEST(o->default_text == row.weight_default);
    }
    BOOST_TEST(dimension_row(dimension::cpu).key == "cpu");
    BOOST_TEST(dimension_row(dimension::memory).key == "memory");
    BOOST_TEST(dimension_row(dimension::disk_io).key == "disk-io");
    BOOST_TEST(!dimension_row(dimension::cpu).optional);
    BOOST_TEST(!dimension_row(dimension::memory).optional);
    BOOST_TEST(dimension_row(dimension::disk_io).optional);
}

BOOST_AUTO_TEST_CASE(res_arithmetic_is_per_dimension) {
    res a = res_of(2, 4 * GiB);
    a[dimension::disk_io] = 10;
    res b = res_of(1, 1 * GiB);
    b[dimension::disk_io] = 3;
    const res s = a + b;
    BOOST_TEST(s[dimension::cpu] == 3.0);
    BOOST_TEST(s[dimension::memory] == double(5 * GiB));
    BOOST_TEST(s[dimension::disk_io] == 13.0);
    const res d = s - b;
    BOOST_TEST((d == a));
    BOOST_TEST(res{}.is_zero());
    BOOST_TEST(!a.is_zero());
    res total = res_of(10, 100 * GiB);
    BOOST_TEST(dominant_share(res_of(1, 50 * GiB), total) == 0.5);
    BOOST_TEST(dominant_share(b, total) == 0.1); // disk_io has no total: not counted
}

BOOST_AUTO_TEST_CASE(rrd_disk_rates_are_read_as_demand) {
    snapshot s = io_cluster();
    const guest &g = s.c.guests[0];
    BOOST_REQUIRE(g.disk_io_avg.has_value());
    BOOST_TEST(*g.disk_io_avg == 150 * MBs, tt::tolerance(1e-9));
    options o;
    // Off by default: no demand, no capacity.
    BOOST_TEST(guest_demand(g, o)[dimension::disk_io] == 0.0);
    BOOST_TEST(make_load_view(s.c, o).capacity[0][dimension::disk_io] == 0.0);
    o.disk_io_weight = 1;
    o.disk_io_capacity = 1000 * MBs;
    BOOST_TEST(guest_demand(g, o)[dimension::disk_io] == 150 * MBs, tt::tolerance(1e-9));
    const load_view v = make_load_view(s.c, o);
    BOOST_TEST(v.capacity[0][dimension::disk_io] == 1000 * MBs);
    BOOST_TEST(v.base[0][dimension::disk_io] == 0.0); // nodes report no I/O: no overhead
    BOOST_TEST(v.util(0, dimension::disk_io) == 0.45, tt::tolerance(1e-9));
    // In static mode too (there is no configured size of I/O).
    o.mode = load_mode::assigned;
    BOOST_TEST(guest_demand(g, o)[dimension::disk_io] == 150 * MBs, tt::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(rrddata_points_average_read_and_write_separately) {
    snapshot_builder b;
    b.node("n1", 8, 32 * GiB);
    b.guest(100, "n1", 2, 4 * GiB, 0.1, 2 * GiB);
    Json::Value &pts = b.extra()["guests"]["100"]["rrd"];
    Json::Value p(Json::objectValue);
    p["diskread"] = 100.0;
    p["diskwrite"] = 10.0;
    pts.append(p);
    p = Json::Value(Json::objectValue);
    p["diskread"] = 300.0; // a point without diskwrite does not count for it
    pts.append(p);
    snapshot s = b.build();
    BOOST_REQUIRE(s.c.guests[0].disk_io_avg.has_value());
    BOOST_TEST(*s.c.guests[0].disk_io_avg == 200.0 + 10.0);
}

BOOST_AUTO_TEST_CASE(bad_rrd_disk_rate_names_the_field) {
    snapshot_builder b;
    b.node("n1", 8, 32 * GiB);
    b.guest(100, "n1", 2, 4 * GiB, 0.1, 2 * GiB);
    b.extra()["guests"]["100"]["rrd"]["diskread"] = -1;
    auto r = read_snapshot(b.json());
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().to_string().find("guests.100.rrd.diskread") != std::string::npos,
               r.error().to_string());
}

BOOST_AUTO_TEST_CASE(weight_without_capacity_is_refused) {
    snapshot s = io_cluster();
    options o;
    o.disk_io_weight = 1;
    auto r = bind_options(s.c, o);
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().to_string().find("disk-io-capacity") == 0, r.error().to_string());
    o.disk_io_capacity = 1;
    BOOST_TEST(static_cast<bool>(bind_options(s.c, o)));
}

BOOST_AUTO_TEST_CASE(weight_zero_changes_nothing) {
    // The same cluster with and without I/O data plans the same, bit for bit, while off.
    snapshot with_io = io_cluster();
    snapshot without = with_io;
    for (guest &g : without.c.guests) {
        g.disk_io_avg.reset();
    }
    options o;
    o.disk_io_capacity = 1000 * MBs; // a capacity alone does not turn it on
    const plan a = plan_balance(with_io.c, o);
    const plan b = plan_balance(without.c, options{});
    BOOST_TEST(a.migrations.size() == b.migrations.size());
    BOOST_TEST(a.before.objective == b.before.objective); // exact
    BOOST_TEST(a.migrations.empty());                     // CPU and memory are balanced
    BOOST_TEST(!a.before.in_use[dimension::disk_io]);
    BOOST_TEST(a.before.stats[dimension::disk_io].max == 0.0);
}

BOOST_AUTO_TEST_CASE(disk_io_in_the_objective_spreads_the_heavy_guests) {
    snapshot s = io_cluster();
    options o;
    o.disk_io_weight = 1;
    o.disk_io_capacity = 1000 * MBs;
    const load_view v = make_load_view(s.c, o);
    const metrics m = compute_metrics(s.c, v, o);
    BOOST_TEST(m.in_use[dimension::disk_io]);
    BOOST_TEST(m.stats[dimension::disk_io].max == 0.45, tt::tolerance(1e-9));
    // Only disk I/O deviates: J = Var(0.45, 0.015, 0.015) / 3 (CPU and memory weigh 1 each).
    const double mean = (0.45 + 0.015 + 0.015) / 3;
    const double var = ((0.45 - mean) * (0.45 - mean) + 2 * (0.015 - mean) * (0.015 - mean)) / 3;
    BOOST_TEST(m.objective == std::sqrt(var / 3), tt::tolerance(1e-9));

    const plan p = plan_balance(s.c, o);
    BOOST_REQUIRE(!p.migrations.empty());
    // The first move takes a heavy guest off n1 (vmids 100-102 are n1's).
    BOOST_TEST(s.c.nodes[p.migrations.front().from].name == "n1");
    BOOST_TEST(s.c.guests[p.migrations.front().guest].vmid <= 102u);
    BOOST_TEST(p.after.stats[dimension::disk_io].max < 0.45);
    BOOST_TEST(p.after.objective < p.before.objective);
}

BOOST_AUTO_TEST_SUITE_END()
