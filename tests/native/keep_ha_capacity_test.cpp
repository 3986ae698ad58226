// keep-ha-capacity (N+k-safe plans): the option, the balance search and its waves, and place.
// The cluster is the golden scenario tests/scenarios/ha-keep-capacity (its README has the
// numbers): balancing app1 onto pve3 is the best move, but then ha-db1 (60 GiB) could not
// restart anywhere if pve1 failed.
#include "planners/balance.h"
#include "support/plan_generator.h"
#include "test_util.h"

#include "pvebal/deadline.h"
#include "pvebal/io.h"
#include "pvebal/report.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>

using namespace pvebal;
using namespace pvebal::test;

namespace {

// The snapshot's HA part: these guests HA-managed, requested started.
void ha_started(snapshot_builder &b, const std::vector<std::uint32_t> &vmids) {
    Json::Value ha(Json::arrayValue);
    for (std::uint32_t vmid : vmids) {
        Json::Value r(Json::objectValue);
        r["sid"] = "vm:" + std::to_string(vmid);
        r["state"] = "started";
        ha.append(r);
    }
    b.extra()["ha"]["resources"] = ha;
}

snapshot scenario() {
    auto s = read_snapshot(read_text(data_path("scenarios/ha-keep-capacity/snapshot.json")));
    if (!s) {
        throw std::runtime_error(s.error().to_string());
    }
    return *s;
}

bool moves(const snapshot &s, const plan &p, std::uint32_t vmid, const std::string &to) {
    return std::any_of(p.migrations.begin(), p.migrations.end(), [&](const migration &m) {
        return s.c.guests[m.guest].vmid == vmid && s.c.nodes[m.to].name == to;
    });
}

int tolerated_after(const snapshot &s, const plan &p) {
    cluster c = s.c;
    // Node usage follows the guests (the reader derives each node's overhead from it).
    for (const migration &m : p.migrations) {
        guest &g = c.guests[m.guest];
        c.nodes[m.from].mem -= g.mem;
        c.nodes[m.to].mem += g.mem;
        c.nodes[m.from].cpu -= g.cpu * g.maxcpu / c.nodes[m.from].maxcpu;
        c.nodes[m.to].cpu += g.cpu * g.maxcpu / c.nodes[m.to].maxcpu;
        g.node = m.to;
    }
    return plan_capacity(c, s.opts, 1, false, 20000).tolerated;
}

} // namespace

BOOST_AUTO_TEST_SUITE(keep_ha_capacity)

BOOST_AUTO_TEST_CASE(option_parsing) {
    options o;
    BOOST_TEST(!o.keep_ha_capacity.has_value()); // default: capacity-target
    BOOST_TEST(o.capacity_target == 1);
    BOOST_TEST(apply_option(o, "keep-ha-capacity", "2").has_value());
    BOOST_TEST(*o.keep_ha_capacity == 2);
    BOOST_TEST(!apply_option(o, "keep-ha-capacity", "65").has_value());
    // capacity-target stays a balancer.cfg key: not a flag, but read from a JSON layer.
    BOOST_TEST(!apply_option(o, "capacity-target", "2").has_value());
    auto j = apply_options_json(options{}, R"({"capacity-target": 3})", "options");
    BOOST_REQUIRE(j.has_value());
    BOOST_TEST(j->capacity_target == 3);
}

BOOST_AUTO_TEST_CASE(balance_keeps_what_the_cluster_survives) {
    snapshot s = scenario();
    BOOST_TEST(plan_capacity(s.c, s.opts, 1, false, 20000).tolerated == 1);
    const plan kept = plan_balance(s.c, s.opts);
    BOOST_TEST(!kept.migrations.empty());
    BOOST_TEST(!moves(s, kept, 102, "pve3")); // app1 to pve3 would break N+1
    BOOST_TEST(tolerated_after(s, kept) >= 1);
    BOOST_TEST(kept.after.objective < kept.before.objective);
    // Off: the same cluster balances better, and loses N+1.
    s.opts.keep_ha_capacity = 0;
    const plan off = plan_balance(s.c, s.opts);
    BOOST_TEST(moves(s, off, 102, "pve3"));
    BOOST_TEST(tolerated_after(s, off) == 0);
    BOOST_TEST(off.after.objective < kept.after.objective);
}

BOOST_AUTO_TEST_CASE(capacity_target_zero_turns_the_default_off) {
    snapshot s = scenario();
    s.opts.capacity_target = 0;
    const plan p = plan_balance(s.c, s.opts);
    BOOST_TEST(moves(s, p, 102, "pve3"));
}

BOOST_AUTO_TEST_CASE(place_ranks_nodes_that_keep_it_first) {
    const snapshot s = scenario();
    placement_request req;
    req.demand = res{2, static_cast<double>(40 * GiB)};
    auto a = plan_place(s.c, s.opts, req);
    BOOST_REQUIRE(a.has_value());
    BOOST_REQUIRE(a->nodes.size() == 3u);
    // pve3 is the emptiest (best objective) but a 40 GiB guest there leaves no room for
    // ha-db1 if pve1 fails; pve2 keeps N+1.
    BOOST_TEST(s.c.nodes[a->nodes[0].node].name == "pve2");
    BOOST_TEST(!a->nodes[0].lowers_ha_capacity.has_value());
    const auto pve3 = std::find_if(a->nodes.begin(), a->nodes.end(), [&](const ranked_node &n) {
        return s.c.nodes[n.node].name == "pve3";
    });
    BOOST_TEST(pve3->fits);
    BOOST_TEST(pve3->lowers_ha_capacity.has_value());
    BOOST_TEST(pve3->score < a->nodes[0].score);
    BOOST_TEST(pve3->objective_after < a->nodes[0].objective_after);
}

// An evacuation whose only target would leave an HA guest without a restart node: the move is
// dropped with the keep-ha-capacity reason and the guest is listed as unplaced.
BOOST_AUTO_TEST_CASE(evacuate_waves_keep_it) {
    snapshot_builder b;
    b.node("pve1", 32, 128 * GiB, 0.1, 82 * GiB);
    b.node("pve2", 32, 128 * GiB, 0.1, 2 * GiB);
    b.node("pve3", 32, 128 * GiB, 0.1, 82 * GiB);
    b.node("pve4", 32, 128 * GiB, 0.1, 62 * GiB);
    b.guest(101, "pve1", 8, 60 * GiB, 0.2, 60 * GiB);
    b.guest(102, "pve1", 8, 20 * GiB, 0.2, 20 * GiB);
    b.guest(111, "pve3", 8, 60 * GiB, 0.2, 60 * GiB);
    b.guest(112, "pve3", 8, 20 * GiB, 0.2, 20 * GiB);
    b.guest(121, "pve4", 8, 60 * GiB, 0.2, 60 * GiB);
    ha_started(b, {101, 111});
    snapshot s = b.build();
    // Draining pve4: vm 121 (60 GiB) fits only on pve2 (pve1 and pve3 would reach 142 GiB of
    // 115.2 usable), which is where vm 101 or 111 (60 GiB) restarts when pve1 or pve3 fails.
    const plan p = plan_evacuate(s.c, s.opts, {*s.c.find_node("pve4")});
    BOOST_TEST(p.migrations.empty());
    BOOST_REQUIRE(p.dropped.size() == 1u);
    BOOST_TEST(p.dropped[0].reason.find("keep-ha-capacity") != std::string::npos);
    BOOST_REQUIRE(p.unplaced.size() == 1u);
    BOOST_TEST(s.c.guests[p.unplaced[0].guest].vmid == 121u);
    options off = s.opts;
    off.keep_ha_capacity = 0;
    BOOST_TEST(plan_evacuate(s.c, off, {*s.c.find_node("pve4")}).migrations.size() == 1u);
}

// Evacuate chooses a target that keeps the level: vm 121 (50 GiB) fits best on the emptiest
// node, pve2, but then vm 101 (60 GiB, HA) could not restart anywhere if pve1 failed (pve2 is
// its only room: 115.2 GiB usable per node); pve5 keeps N+1.
BOOST_AUTO_TEST_CASE(evacuate_chooses_targets_that_keep_it) {
    snapshot_builder b;
    b.node("pve1", 32, 128 * GiB, 0.1, 62 * GiB);
    b.node("pve2", 32, 128 * GiB, 0.1, 12 * GiB);
    b.node("pve3", 32, 128 * GiB, 0.1, 82 * GiB);
    b.node("pve4", 32, 128 * GiB, 0.1, 52 * GiB);
    b.node("pve5", 32, 128 * GiB, 0.1, 60 * GiB);
    b.guest(101, "pve1", 8, 60 * GiB, 0.2, 60 * GiB);
    b.guest(111, "pve3", 8, 80 * GiB, 0.2, 80 * GiB);
    b.guest(121, "pve4", 8, 50 * GiB, 0.2, 50 * GiB);
    b.guest(131, "pve5", 8, 58 * GiB, 0.2, 58 * GiB);
    b.guest(141, "pve2", 8, 10 * GiB, 0.2, 10 * GiB);
    ha_started(b, {101});
    snapshot s = b.build();
    const node_id pve4 = *s.c.find_node("pve4");
    s.opts.keep_ha_capacity = 0;
    const plan off = plan_evacuate(s.c, s.opts, {pve4});
    BOOST_REQUIRE(off.migrations.size() == 1u);
    BOOST_TEST(s.c.nodes[off.migrations[0].to].name == "pve2");
    s.opts.keep_ha_capacity = 1;
    const plan kept = plan_evacuate(s.c, s.opts, {pve4});
    BOOST_REQUIRE(kept.migrations.size() == 1u);
    BOOST_TEST(s.c.nodes[kept.migrations[0].to].name == "pve5");
    BOOST_TEST(kept.dropped.empty());
    BOOST_TEST(kept.unplaced.empty());
}

// The wave check obeys `deadline`: once it cannot check a wave, the plan ends before that wave
// (every wave in the plan was checked) with a note, and the moves left are dropped with it.
BOOST_AUTO_TEST_CASE(wave_check_stops_at_the_deadline) {
    snapshot_builder b;
    b.node("pve1", 32, 256 * GiB, 0.1, 82 * GiB);
    b.node("pve2", 32, 256 * GiB, 0.1, 42 * GiB);
    b.node("pve3", 32, 256 * GiB, 0.1, 42 * GiB);
    b.node("pve4", 32, 256 * GiB, 0.1, 42 * GiB);
    std::vector<std::uint32_t> managed;
    for (std::uint32_t i = 0; i < 8; ++i) {
        b.guest(101 + i, "pve1", 2, 10 * GiB, 0.2, 10 * GiB);
        b.guest(201 + i, i % 2 ? "pve2" : "pve3", 2, 5 * GiB, 0.2, 5 * GiB);
        managed.insert(managed.end(), {101 + i, 201 + i});
    }
    ha_started(b, managed);
    snapshot s = b.build();
    s.opts.keep_ha_capacity = 1;
    s.opts.max_parallel = 1;
    const node_id drained = *s.c.find_node("pve1");
    const plan full = plan_evacuate(s.c, s.opts, {drained});
    BOOST_REQUIRE(full.migrations.size() == 8u);
    BOOST_TEST(full.dropped.empty());
    // The clock is read when the plan starts, once per guard check and before each failure
    // scenario the guard solves. Count the reads of the whole plan (time frozen), then let time
    // jump past the deadline for the last reads (the last waves' checks).
    int reads = 0;
    {
        scoped_clock frozen([&] {
            ++reads;
            return 0.0;
        });
        s.opts.deadline = 10;
        BOOST_TEST(plan_evacuate(s.c, s.opts, {drained}).migrations.size() == 8u);
    }
    BOOST_REQUIRE(reads > 4);
    int read = 0;
    scoped_clock jumping([&] { return ++read > reads - 3 ? 1000.0 : 0.0; });
    const plan cut = plan_evacuate(s.c, s.opts, {drained});
    BOOST_TEST(!cut.migrations.empty());
    BOOST_TEST(cut.migrations.size() < full.migrations.size());
    BOOST_TEST(cut.migrations.size() + cut.dropped.size() == full.migrations.size());
    const bool noted = std::any_of(cut.notes.begin(), cut.notes.end(), [](const std::string &n) {
        return n.find("stopped early: the deadline (10 s) was reached; keep-ha-capacity could "
                      "not check the next wave") != std::string::npos;
    });
    BOOST_TEST(noted);
    for (const dropped_move &d : cut.dropped) {
        BOOST_TEST(d.reason.find("keep-ha-capacity could not check") != std::string::npos);
    }
    // The waves it holds are the first waves of the full plan.
    for (size_t i = 0; i < cut.migrations.size(); ++i) {
        BOOST_TEST(cut.migrations[i].guest == full.migrations[i].guest);
        BOOST_TEST(cut.migrations[i].to == full.migrations[i].to);
    }
}

// On large clusters balance builds the guard on a second thread while it builds the units
// (balancer's early_guard_from). The plan must be the one a single thread makes: here the
// threshold is lowered so that the small clusters take that path too.
BOOST_AUTO_TEST_CASE(guard_on_a_second_thread_gives_the_same_plan) {
    auto both = [](const snapshot &s) {
        const plan threaded = detail::balancer(s.c, s.opts, 0).run();
        const plan single = detail::balancer(s.c, s.opts, SIZE_MAX).run();
        BOOST_TEST(render_plan(s.c, s.opts, threaded, output_format::json) ==
                   render_plan(s.c, s.opts, single, output_format::json));
        return threaded;
    };
    const snapshot s = scenario();
    const plan p = both(s);
    BOOST_TEST(!p.migrations.empty());
    BOOST_TEST(!moves(s, p, 102, "pve3")); // the guard built on the thread refused it
    size_t guarded = 0, refusals = 0;
    for (std::uint32_t i = 0; i < 200; ++i) {
        const plans::generated g = plans::generate(0x6a4d0000 + i);
        const snapshot gs = plans::load(g.json);
        BOOST_TEST_CONTEXT("seed " << 0x6a4d0000 + i) {
            const plan q = both(gs);
            // The guard checked this plan's states: the HA guests survive a failure before it.
            if (!q.migrations.empty() &&
                plan_capacity(gs.c, gs.opts, 1, false, 20000).tolerated >= 1) {
                ++guarded;
            }
            for (const std::string &note : q.notes) {
                refusals += note.find("candidate move(s) left out") != std::string::npos ? 1 : 0;
            }
        }
    }
    BOOST_TEST_MESSAGE("guard on a thread: " << guarded << " guarded plans, " << refusals
                                             << " with refused candidates");
    BOOST_TEST(guarded > 10u);
}

BOOST_AUTO_TEST_SUITE_END()
