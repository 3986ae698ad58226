// Repair first, violations in `score`, relief moves above cpu-limit and the stop note of every
// plan (docs/constraints.md, "Relief moves" and "Broken rules and limits: repair first").
#include "test_util.h"

#include "pvebal/api.h"
#include "pvebal/report.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>

using namespace pvebal;
using namespace pvebal::test;

namespace {

snapshot bound(const snapshot_builder &b) {
    snapshot s = b.build();
    if (auto r = bind_options(s.c, s.opts); !r) {
        throw std::runtime_error(r.error().to_string());
    }
    return s;
}

// Three equal nodes (32 threads, 128 GiB), node usage = guests + 0.5 core + 2 GiB.
struct cluster_of_three {
    snapshot_builder b;
    std::map<std::string, std::pair<double, double>> load; // cores, bytes

    cluster_of_three() {
        for (const char *n : {"pve1", "pve2", "pve3"}) {
            load[n] = {0.5, 2.0 * GiB};
        }
    }
    Json::Value &vm(std::uint32_t vmid, const std::string &node, double vcpus, double busy,
                    std::uint64_t mem_gib, const std::string &tags = "") {
        load[node].first += vcpus * busy;
        load[node].second += static_cast<double>(mem_gib * GiB);
        Json::Value &g = b.guest(vmid, node, vcpus, (mem_gib + 2) * GiB, busy, mem_gib * GiB);
        if (!tags.empty()) {
            g["tags"] = tags;
        }
        return g;
    }
    // Four equal guests per node: the objective is 0.
    void even(std::uint32_t first) {
        for (const char *n : {"pve1", "pve2", "pve3"}) {
            for (int k = 0; k < 4; ++k) {
                vm(first++, n, 4, 0.5, 6);
            }
        }
    }
    snapshot build() {
        for (const auto &[n, l] : load) {
            b.node(n, 32, 128 * GiB, l.first / 32, static_cast<std::uint64_t>(l.second));
        }
        return bound(b);
    }
};

bool has_note(const plan &p, const std::string &part) {
    return std::any_of(p.notes.begin(), p.notes.end(),
                       [&](const std::string &n) { return n.find(part) != std::string::npos; });
}

std::string notes_of(const plan &p) {
    std::string out;
    for (const std::string &n : p.notes) {
        out += "[" + n + "] ";
    }
    return out;
}

const migration *move_of(const snapshot &s, const plan &p, std::uint32_t vmid) {
    for (const migration &m : p.migrations) {
        if (s.c.guests[m.guest].vmid == vmid) {
            return &m;
        }
    }
    return nullptr;
}

std::vector<std::string> warning_kinds(const score_report &r) {
    std::vector<std::string> out;
    for (const warning &w : r.warnings) {
        out.push_back(w.kind);
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(repair)

BOOST_AUTO_TEST_CASE(score_reports_every_kind_of_violation) {
    cluster_of_three t;
    t.vm(101, "pve1", 4, 0.5, 6, "pvebal-pin-pve2");
    t.vm(102, "pve1", 4, 0.5, 6);
    t.vm(103, "pve1", 2, 0.5, 3, "plb_affinity_shop");
    t.vm(104, "pve2", 2, 0.5, 3, "plb_affinity_shop");
    t.vm(105, "pve2", 4, 0.5, 6, "plb_anti_affinity_db");
    t.vm(106, "pve2", 4, 0.5, 6, "plb_anti_affinity_db");
    t.vm(111, "pve3", 28, 1.0, 60);
    t.vm(112, "pve3", 12, 0.2, 58);
    Json::Value &ha = t.b.extra()["ha"];
    ha["resources"][0]["sid"] = "vm:102";
    ha["resources"][0]["state"] = "started";
    ha["rules"][0]["rule"] = "lic";
    ha["rules"][0]["type"] = "node-affinity";
    ha["rules"][0]["resources"] = "vm:102";
    ha["rules"][0]["nodes"] = "pve2,pve3";
    ha["rules"][0]["strict"] = 1;
    snapshot s = t.build();
    s.opts.max_vcpu_ratio = 1.2;
    s.opts.max_memory_ratio = 0.9;
    const score_report r = make_score_report(s.c, s.opts);
    const std::vector<std::string> kinds = warning_kinds(r);
    for (const char *k : {"pin", "ha-node-affinity", "affinity", "anti-affinity", "memory",
                          "memory-ratio", "vcpu-ratio", "cpu"}) {
        BOOST_TEST(std::count(kinds.begin(), kinds.end(), k) == 1, k);
    }
    for (const warning &w : r.warnings) {
        if (w.kind == "pin") {
            BOOST_TEST(w.message == "vm 101: pinned by tag to pve2, not pve1");
            BOOST_TEST(s.c.guests[*w.guest].vmid == 101u);
        } else if (w.kind == "ha-node-affinity") {
            BOOST_TEST(w.message == "vm 102: HA node affinity rule 'lic' does not allow pve1");
        } else if (w.kind == "memory") {
            BOOST_TEST(s.c.nodes[*w.node].name == "pve3");
            BOOST_TEST(w.message == "pve3 uses 120.0 GiB of memory, above its usable 115.2 GiB "
                                    "(memory-limit, memory-reserve)");
        } else if (w.kind == "cpu") {
            BOOST_TEST(w.message == "pve3 CPU at 96.6%, above cpu-limit 90.0%");
        } else if (w.kind == "vcpu-ratio") {
            BOOST_TEST(w.message == "pve3 has 40 vCPUs assigned to running guests, above "
                                    "max-vcpu-ratio 1.2 x 32 threads");
        } else if (w.kind == "anti-affinity") {
            BOOST_TEST(s.c.nodes[*w.node].name == "pve2");
        }
    }
}

BOOST_AUTO_TEST_CASE(a_node_exactly_at_its_limit_is_not_a_violation) {
    cluster_of_three t;
    t.even(201);
    snapshot s = t.build();
    s.opts.max_vcpu_ratio = 0.5; // 4 x 4 vCPUs = 16 = 0.5 x 32: at the limit, not above
    const score_report r = make_score_report(s.c, s.opts);
    BOOST_TEST(r.warnings.empty(), r.warnings.size()
                                       << " warning(s), first: "
                                       << (r.warnings.empty() ? "" : r.warnings.front().message));
}

BOOST_AUTO_TEST_CASE(a_pin_is_repaired_although_the_cluster_is_balanced) {
    cluster_of_three t;
    t.even(201);
    t.vm(101, "pve1", 4, 0.5, 6, "pvebal-pin-pve2");
    t.vm(102, "pve2", 4, 0.5, 6);
    t.vm(103, "pve3", 4, 0.5, 6);
    const snapshot s = t.build();
    const plan p = plan_balance(s.c, s.opts);
    const migration *m = move_of(s, p, 101);
    BOOST_TEST_REQUIRE(m != nullptr, notes_of(p));
    BOOST_TEST(s.c.nodes[m->to].name == "pve2");
    BOOST_TEST(m->repair.has_value());
    BOOST_TEST(*m->repair == "pin");
    BOOST_TEST(m->reason == "repairs pin: vm 101: pinned by tag to pve2, not pve1");
    BOOST_TEST(has_note(p, "repairs first: 1 migration(s) restore broken rules or limits"));
    // The repaired guest does not move again; every other move is a balance move.
    for (const migration &x : p.migrations) {
        BOOST_TEST((x.guest == m->guest) == x.repair.has_value());
    }
}

BOOST_AUTO_TEST_CASE(repair_can_be_turned_off_per_kind) {
    cluster_of_three t;
    t.even(201);
    t.vm(101, "pve1", 4, 0.5, 6, "pvebal-pin-pve2");
    t.vm(102, "pve2", 4, 0.5, 6);
    t.vm(103, "pve3", 4, 0.5, 6);
    snapshot s = t.build();
    s.opts.repair.pin = false;
    const plan p = plan_balance(s.c, s.opts);
    BOOST_TEST(p.migrations.empty(), notes_of(p));
    BOOST_TEST(has_note(p, "already balanced"));
    // The option row reaches the same flag.
    request rq{"plan", t.b.json(), {}, {{"repair-pin", "0"}}};
    auto out = execute(rq);
    BOOST_TEST_REQUIRE(out.has_value());
    BOOST_TEST(out->find("\"repair\"") == std::string::npos);
    rq.args.clear();
    out = execute(rq);
    BOOST_TEST_REQUIRE(out.has_value());
    BOOST_TEST(out->find("\"repair\": \"pin\"") != std::string::npos, *out);
}

BOOST_AUTO_TEST_CASE(a_split_group_gathers_on_its_home) {
    cluster_of_three t;
    t.even(201);
    t.vm(101, "pve1", 2, 0.5, 3, "plb_affinity_shop");
    t.vm(102, "pve1", 2, 0.5, 3, "plb_affinity_shop");
    t.vm(103, "pve2", 2, 0.5, 3, "plb_affinity_shop");
    const snapshot s = t.build();
    const plan p = plan_balance(s.c, s.opts);
    const migration *m = move_of(s, p, 103);
    BOOST_TEST_REQUIRE(m != nullptr, notes_of(p));
    BOOST_TEST(s.c.nodes[m->to].name == "pve1");
    BOOST_TEST(*m->repair == "affinity");
    // The gathered group stays together.
    BOOST_TEST(move_of(s, p, 101) == nullptr);
    BOOST_TEST(move_of(s, p, 102) == nullptr);
}

BOOST_AUTO_TEST_CASE(keep_apart_guests_are_separated_where_no_partner_is) {
    cluster_of_three t;
    t.even(201);
    t.vm(101, "pve1", 4, 0.5, 6, "plb_anti_affinity_db");
    t.vm(102, "pve1", 4, 0.5, 6, "plb_anti_affinity_db");
    t.vm(103, "pve3", 4, 0.5, 6, "plb_anti_affinity_db");
    const snapshot s = t.build();
    const plan p = plan_balance(s.c, s.opts);
    size_t repairs = 0;
    for (const migration &m : p.migrations) {
        if (m.repair) {
            ++repairs;
            BOOST_TEST(*m.repair == "anti-affinity");
            BOOST_TEST(s.c.nodes[m.to].name == "pve2");
        }
    }
    BOOST_TEST(repairs == 1u, notes_of(p));
}

BOOST_AUTO_TEST_CASE(memory_repair_prefers_a_move_that_ends_the_excess) {
    cluster_of_three t;
    for (std::uint32_t v = 101; v <= 104; ++v) {
        t.vm(v, "pve1", 4, 0.3, 28);
    }
    t.vm(105, "pve1", 2, 0.3, 8);
    t.vm(111, "pve2", 4, 0.3, 20);
    t.vm(121, "pve3", 4, 0.3, 20);
    snapshot s = t.build();
    s.opts.max_migrations = 1;
    const plan p = plan_balance(s.c, s.opts);
    BOOST_TEST_REQUIRE(p.migrations.size() == 1u, notes_of(p));
    const migration &m = p.migrations[0];
    BOOST_TEST(*m.repair == "memory");
    BOOST_TEST(s.c.guests[m.guest].vmid != 105u); // 8 GiB ends the excess too, 28 balances better
    BOOST_TEST(has_note(p, "stopped at max-migrations (1)"), notes_of(p));
}

BOOST_AUTO_TEST_CASE(repairs_count_against_max_migrations) {
    cluster_of_three t;
    t.even(201);
    t.vm(101, "pve1", 4, 0.5, 6, "pvebal-pin-pve2");
    t.vm(102, "pve1", 4, 0.5, 6, "pvebal-pin-pve3");
    snapshot s = t.build();
    s.opts.max_migrations = 1;
    const plan p = plan_balance(s.c, s.opts);
    BOOST_TEST(p.migrations.size() == 1u);
    BOOST_TEST(has_note(p, "not repaired (max-migrations reached): pin: vm 102"), notes_of(p));
}

BOOST_AUTO_TEST_CASE(what_cannot_be_repaired_is_said) {
    cluster_of_three t;
    t.even(201);
    t.vm(101, "pve1", 4, 0.5, 6, "plb_anti_affinity_db")["lock"] = "backup";
    t.vm(102, "pve1", 4, 0.5, 6, "plb_anti_affinity_db;pvebal-pin-pve1");
    const snapshot s = t.build();
    const plan p = plan_balance(s.c, s.opts);
    for (const migration &m : p.migrations) {
        BOOST_TEST(!m.repair.has_value());
    }
    BOOST_TEST(has_note(p, "cannot repair anti-affinity: tag plb_anti_affinity_db keeps vm 101, "
                           "vm 102 apart, all on pve1: vm 101 cannot move"),
               notes_of(p));
}

BOOST_AUTO_TEST_CASE(a_repair_never_goes_above_a_limit_elsewhere) {
    // pve1 is above cpu-limit; pve2 and pve3 have no room below it: no repair (relief is off for
    // repairs), and the note says why.
    cluster_of_three t;
    for (std::uint32_t v = 101; v <= 104; ++v) {
        t.vm(v, "pve1", 8, 0.95, 6);
    }
    for (std::uint32_t v = 111; v <= 113; ++v) {
        t.vm(v, "pve2", 9, 1.0, 6);
        t.vm(v + 10, "pve3", 9, 1.0, 6);
    }
    snapshot s = t.build();
    s.opts.threshold = 10;
    s.opts.repair.cpu = true; // off by default
    const plan p = plan_balance(s.c, s.opts);
    BOOST_TEST(p.migrations.empty(), notes_of(p));
    BOOST_TEST(has_note(p, "cannot repair cpu: pve1 CPU at"), notes_of(p));
}

BOOST_AUTO_TEST_CASE(relief_moves_lower_the_hotter_node) {
    // Every node above cpu-limit 0.9: pve1 34.5 cores, pve2 29.5, pve3 29.4 of 32.
    cluster_of_three t;
    for (std::uint32_t v = 101; v <= 104; ++v) {
        t.vm(v, "pve1", 8, 1.0, 6);
    }
    t.vm(105, "pve1", 2, 1.0, 2);
    for (std::uint32_t v = 111; v <= 113; ++v) {
        t.vm(v, "pve2", 8, 1.0, 6);
        t.vm(v + 10, "pve3", 8, 1.0, 6);
    }
    t.vm(114, "pve2", 5, 1.0, 6);
    t.vm(124, "pve3", 7, 0.7, 6);
    snapshot s = t.build();
    s.opts.repair.cpu = false;
    const plan p = plan_balance(s.c, s.opts);
    BOOST_TEST_REQUIRE(!p.migrations.empty(), notes_of(p));
    BOOST_TEST(p.after.stats[dimension::cpu].max < p.before.stats[dimension::cpu].max);

    // The relief rule itself: to pve3, the 2-core guest lowers max(pve1, pve3); a move from
    // pve3 to pve2 would raise pve2 above pve3's level: refused.
    const affinity_groups a = compile_affinity(s.c, s.opts);
    detail::decision_context ctx(s.c, s.opts, a);
    const overlay st(s.c, s.opts, a);
    const node_id pve2 = *s.c.find_node("pve2"), pve3 = *s.c.find_node("pve3");
    BOOST_TEST(!detail::check_state(ctx, st, {*s.c.find_guest(105)}, pve3));
    auto why = detail::check_state(ctx, st, {*s.c.find_guest(124)}, pve2);
    BOOST_TEST_REQUIRE(why.has_value());
    BOOST_TEST(why->kind == "cpu");
    ctx.cpu_relief = false;
    BOOST_TEST(detail::check_state(ctx, st, {*s.c.find_guest(105)}, pve3).has_value());
}

BOOST_AUTO_TEST_CASE(memory_has_no_relief) {
    cluster_of_three t;
    for (std::uint32_t v = 101; v <= 104; ++v) {
        t.vm(v, "pve1", 2, 0.1, 29);
    }
    t.vm(111, "pve2", 2, 0.1, 112);
    t.vm(121, "pve3", 2, 0.1, 40);
    snapshot s = t.build();
    s.opts.repair.memory = false;
    const affinity_groups a = compile_affinity(s.c, s.opts);
    const detail::decision_context ctx(s.c, s.opts, a);
    const overlay st(s.c, s.opts, a);
    // pve1 at 118 GiB is above usable 115.2; pve2 at 114 would go above it: refused although
    // pve1 is the fuller one.
    auto why = detail::check_state(ctx, st, {*s.c.find_guest(101)}, *s.c.find_node("pve2"));
    BOOST_TEST_REQUIRE(why.has_value());
    BOOST_TEST(why->kind == "memory");
}

BOOST_AUTO_TEST_CASE(evacuate_is_not_stopped_by_a_violation_elsewhere) {
    cluster_of_three t;
    t.vm(101, "pve1", 4, 0.3, 6);
    t.vm(102, "pve1", 4, 0.3, 6);
    t.vm(111, "pve2", 4, 0.3, 6, "plb_anti_affinity_db");
    t.vm(112, "pve2", 4, 0.3, 6, "plb_anti_affinity_db");
    t.vm(121, "pve3", 4, 0.3, 60);
    t.vm(122, "pve3", 4, 0.3, 56);
    const snapshot s = t.build();
    const plan p = plan_evacuate(s.c, s.opts, {*s.c.find_node("pve1")});
    BOOST_TEST(p.unplaced.empty(), notes_of(p));
    BOOST_TEST(p.migrations.size() == 2u);
    for (const migration &m : p.migrations) {
        BOOST_TEST(s.c.nodes[m.to].name == "pve2"); // pve3 is above its usable memory
        BOOST_TEST(!m.repair.has_value());
    }
    BOOST_TEST(p.notes.back() == "done: every guest leaves pve1");
}

BOOST_AUTO_TEST_CASE(every_plan_ends_with_a_note_saying_why_it_stopped) {
    cluster_of_three t;
    t.even(201);
    t.vm(101, "pve1", 8, 0.9, 20);
    t.vm(102, "pve1", 8, 0.9, 20);
    snapshot s = t.build();
    plan p = plan_balance(s.c, s.opts);
    BOOST_TEST_REQUIRE(!p.notes.empty());
    BOOST_TEST((p.notes.back().rfind("stopped", 0) == 0 ||
                p.notes.back().rfind("no move improves", 0) == 0),
               notes_of(p));
    s.opts.threshold = 10;
    p = plan_balance(s.c, s.opts);
    BOOST_TEST(p.notes.back().rfind("already balanced: objective", 0) == 0, notes_of(p));
    s.opts.threshold = 0;
    s.opts.max_migrations = 1;
    p = plan_balance(s.c, s.opts);
    BOOST_TEST(p.notes.back() == "stopped at max-migrations (1)", notes_of(p));
    s.opts.max_migrations = 0;
    p = plan_balance(s.c, s.opts);
    BOOST_TEST(p.notes.back() == "max-migrations is 0: nothing planned", notes_of(p));

    const plan e = plan_evacuate(s.c, s.opts, {*s.c.find_node("pve3")});
    BOOST_TEST(e.notes.back() == "done: every guest leaves pve3", notes_of(e));
    const plan f = plan_failover(s.c, s.opts, {*s.c.find_node("pve3")}, true);
    BOOST_TEST(f.notes.back() == "done: every guest restarts on a surviving node", notes_of(f));
}

BOOST_AUTO_TEST_CASE(nothing_movable_is_said) {
    cluster_of_three t;
    t.vm(101, "pve1", 8, 0.9, 20, "pvebal-ignore");
    t.vm(102, "pve1", 8, 0.9, 20, "pvebal-ignore");
    t.vm(103, "pve2", 1, 0.1, 1, "pvebal-ignore");
    const snapshot s = t.build();
    const plan p = plan_balance(s.c, s.opts);
    BOOST_TEST(p.migrations.empty());
    BOOST_TEST(p.notes.back() == "nothing movable: no running guest may move to another node",
               notes_of(p));
}

BOOST_AUTO_TEST_SUITE_END()
