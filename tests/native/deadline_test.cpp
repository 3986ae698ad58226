// The engine deadline (option `deadline`): with an injected clock, no timing. Each search stops
// when the clock says the time is up and returns its best so far with a note; while the time is
// not up, the answer is the one without a deadline.
#include "test_util.h"

#include "pvebal/deadline.h"
#include "pvebal/io.h"
#include "pvebal/report.h"

#include <boost/test/unit_test.hpp>

using namespace pvebal;
using namespace pvebal::test;

namespace {

snapshot bound(const snapshot_builder &b, double deadline_s) {
    snapshot s = b.build();
    s.opts.deadline = deadline_s;
    if (auto r = bind_options(s.c, s.opts); !r) {
        throw std::runtime_error(r.error().to_string());
    }
    return s;
}

// A clock that advances one second each time it is read.
struct ticking {
    double t = 0;
    double operator()() { return t += 1; }
};

bool has_note(const plan &p, const std::string &part) {
    for (const std::string &n : p.notes) {
        if (n.find(part) != std::string::npos) {
            return true;
        }
    }
    return false;
}

// One hot node with 16 small guests, three idle ones: balance plans many moves.
snapshot_builder hot_cluster() {
    snapshot_builder b;
    b.node("hot", 16, 128 * GiB, 0.9, 100 * GiB);
    for (const char *n : {"cold1", "cold2", "cold3"}) {
        b.node(n, 16, 128 * GiB, 0.05, 8 * GiB);
    }
    for (std::uint32_t v = 100; v < 116; ++v) {
        b.guest(v, "hot", 2, 6 * GiB, 0.45, 5 * GiB);
    }
    return b;
}

std::string migrations_text(const cluster &c, const plan &p) {
    std::string s;
    for (const migration &m : p.migrations) {
        s += std::to_string(c.guests[m.guest].vmid) + ">" + c.nodes[m.to].name + " ";
    }
    return s;
}

} // namespace

BOOST_AUTO_TEST_SUITE(engine_deadline)

BOOST_AUTO_TEST_CASE(no_deadline_never_reads_the_clock) {
    int reads = 0;
    scoped_clock fake([&] { return static_cast<double>(++reads); });
    deadline none(0);
    BOOST_TEST(!none.expired());
    BOOST_TEST(reads == 0);
    deadline five(5);
    BOOST_TEST(reads == 1);
    BOOST_TEST(!five.expired()); // 2 < 6
    for (int i = 0; i < 3; ++i) {
        five.expired();
    }
    BOOST_TEST(five.expired()); // 6 >= 6
    BOOST_TEST(five.hit());
    BOOST_TEST(five.note("x") == "stopped early: the deadline (5 s) was reached; x");
}

BOOST_AUTO_TEST_CASE(balance_stops_at_the_deadline_with_the_moves_found_so_far) {
    const snapshot unlimited = bound(hot_cluster(), 0);
    const plan full = plan_balance(unlimited.c, unlimited.opts);
    BOOST_REQUIRE(full.migrations.size() >= 4u);
    BOOST_TEST(!has_note(full, "stopped early"));

    const snapshot s = bound(hot_cluster(), 3.5);
    scoped_clock fake{ticking{}};
    const plan p = plan_balance(s.c, s.opts);
    BOOST_TEST(has_note(p, "stopped early: the deadline (3.5 s) was reached"));
    BOOST_TEST(!p.migrations.empty());
    BOOST_TEST(p.migrations.size() < full.migrations.size());
    BOOST_TEST(p.after.objective < p.before.objective);
}

BOOST_AUTO_TEST_CASE(a_deadline_not_reached_changes_nothing) {
    const snapshot unlimited = bound(hot_cluster(), 0);
    const plan full = plan_balance(unlimited.c, unlimited.opts);
    const snapshot s = bound(hot_cluster(), 10);
    scoped_clock frozen([] { return 42.0; }); // time never passes
    const plan p = plan_balance(s.c, s.opts);
    BOOST_TEST(migrations_text(s.c, p) == migrations_text(s.c, full));
    BOOST_TEST(p.notes == full.notes);
    BOOST_TEST(p.after.objective == full.after.objective);
}

BOOST_AUTO_TEST_CASE(evacuate_skips_making_room_after_the_deadline) {
    // x (20 GiB) fits nowhere as the cluster stands; moving y (5 GiB) from bravo to charlie
    // makes room for it on bravo (usable: 90 GiB of 100).
    snapshot_builder b;
    b.node("alpha", 16, 100 * GiB, 0.1, 30 * GiB);
    b.node("bravo", 16, 100 * GiB, 0.1, 75 * GiB);
    b.node("charlie", 16, 100 * GiB, 0.1, 80 * GiB);
    b.guest(100, "alpha", 2, 24 * GiB, 0.2, 20 * GiB);
    b.guest(200, "bravo", 1, 8 * GiB, 0.1, 5 * GiB);
    const snapshot unlimited = bound(b, 0);
    const node_id alpha = unlimited.c.find_node("alpha").value();
    const plan full = plan_evacuate(unlimited.c, unlimited.opts, {alpha});
    BOOST_REQUIRE_EQUAL(full.migrations.size(), 2u);
    BOOST_TEST(full.unplaced.empty());

    const snapshot s = bound(b, 1);
    scoped_clock fake{ticking{}}; // up at the first look after the start
    const plan p = plan_evacuate(s.c, s.opts, {alpha});
    BOOST_TEST(p.migrations.empty());
    BOOST_REQUIRE_EQUAL(p.unplaced.size(), 1u);
    BOOST_TEST(s.c.guests[p.unplaced[0].guest].vmid == 100u);
    BOOST_TEST(has_note(p, "stopped early"));
    BOOST_TEST(has_note(p, "no room was made for 1 guest unit(s)"));
}

BOOST_AUTO_TEST_CASE(capacity_reports_a_range_when_the_deadline_cuts_the_scenarios) {
    snapshot_builder b;
    for (int i = 1; i <= 4; ++i) {
        const std::string n = "n" + std::to_string(i);
        b.node(n, 16, 64 * GiB, 0.125, 16 * GiB);
        b.guest(static_cast<std::uint32_t>(100 + i), n, 2, 16 * GiB, 0.5, 16 * GiB);
        Json::Value r(Json::objectValue);
        r["sid"] = "vm:" + std::to_string(100 + i);
        r["state"] = "started";
        b.extra()["ha"]["resources"].append(r);
    }
    const snapshot unlimited = bound(b, 0);
    const capacity_report full = plan_capacity(unlimited.c, unlimited.opts, 1, false, 100000);
    BOOST_TEST(full.tolerated >= 1);
    BOOST_TEST(full.method.find("stopped early") == std::string::npos);

    const snapshot s = bound(b, 2.5);
    scoped_clock fake{ticking{}};
    const capacity_report r = plan_capacity(s.c, s.opts, 1, false, 100000);
    BOOST_TEST(r.scenarios_checked == 2); // two looks at the clock, then the time is up
    BOOST_TEST(r.tolerated == 0);
    BOOST_TEST(!r.exact);
    BOOST_TEST(r.method.find("stopped early: the deadline (2.5 s) was reached") == 0u, r.method);
}

BOOST_AUTO_TEST_CASE(failover_search_stops_at_the_deadline_unproven) {
    // 23 HA guests of 2 GiB from n1 onto two survivors with 23 GiB free each: in total they fit,
    // per node they do not, and the exhaustive search cannot prove it quickly.
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.0, 46 * GiB);
    b.node("n2", 16, 64 * GiB, 0.0, static_cast<std::uint64_t>(34.6 * GiB));
    b.node("n3", 16, 64 * GiB, 0.0, static_cast<std::uint64_t>(34.6 * GiB));
    for (std::uint32_t v = 100; v < 123; ++v) {
        b.guest(v, "n1", 1, 2 * GiB, 0, 2 * GiB);
        Json::Value r(Json::objectValue);
        r["sid"] = "vm:" + std::to_string(v);
        r["state"] = "started";
        b.extra()["ha"]["resources"].append(r);
    }
    const snapshot s = bound(b, 3);
    scoped_clock fake{ticking{}};
    const plan p = plan_failover(s.c, s.opts, {s.c.find_node("n1").value()}, false);
    BOOST_TEST(has_note(p, "stopped early: the deadline (3 s) was reached; the search"));
    BOOST_TEST(!p.unplaced.empty());
    BOOST_TEST(p.migrations.size() + p.unplaced.size() == 23u);
}

BOOST_AUTO_TEST_SUITE_END()
