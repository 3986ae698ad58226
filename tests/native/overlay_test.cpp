// The overlay: placements as values, loads and the objective changed together, trials that put
// every value back exactly, an unplaced guest that loads nothing.
#include "test_util.h"

#include "pvebal/overlay.h"

#include <boost/test/unit_test.hpp>

#include <cstring>

using namespace pvebal;
using namespace pvebal::test;

namespace {

struct fixture {
    snapshot s;
    affinity_groups a;
    explicit fixture(const snapshot_builder &b) : s(b.build()), a(compile_affinity(s.c, s.opts)) {}
    node_id node(const std::string &name) const { return s.c.find_node(name).value(); }
    guest_id guest(std::uint32_t vmid) const { return s.c.find_guest(vmid).value(); }
};

snapshot_builder three_nodes() {
    snapshot_builder b;
    b.node("a", 16, 100 * GiB, 0.5, 60 * GiB)
        .node("b", 8, 64 * GiB, 0.1, 10 * GiB)
        .node("c", 32, 128 * GiB, 0.2, 30 * GiB);
    b.guest(100, "a", 4, 16 * GiB, 0.7, 13 * GiB)["tags"] = "plb_anti_affinity_web";
    b.guest(101, "a", 2, 8 * GiB, 0.3, 7 * GiB);
    b.guest(102, "c", 3, 12 * GiB, 0.9, 11 * GiB)["tags"] = "plb_anti_affinity_web";
    return b;
}

bool same_bits(double x, double y) {
    return std::memcmp(&x, &y, sizeof x) == 0;
}

// Everything the overlay owns, bit for bit.
void expect_same(const overlay &x, const overlay &y, std::size_t groups) {
    const load_view &u = x.load(), &v = y.load();
    for (node_id n = 0; n < u.used.size(); ++n) {
        BOOST_TEST(same_bits(u.used[n][dimension::cpu], v.used[n][dimension::cpu]));
        BOOST_TEST(same_bits(u.used[n][dimension::memory], v.used[n][dimension::memory]));
        BOOST_TEST((x.assigned(n) == y.assigned(n)));
        for (std::size_t k = 0; k < groups; ++k) {
            BOOST_TEST(x.apart_count(static_cast<int>(k), n) ==
                       y.apart_count(static_cast<int>(k), n));
        }
        if (x.scores()) {
            BOOST_TEST(same_bits(x.objective().util(n, dimension::cpu),
                                 y.objective().util(n, dimension::cpu)));
            BOOST_TEST(same_bits(x.objective().util(n, dimension::memory),
                                 y.objective().util(n, dimension::memory)));
        }
    }
    for (guest_id g = 0; g < u.placement.size(); ++g) {
        BOOST_TEST((x.where(g) == y.where(g)));
        BOOST_TEST((u.demand[g] == v.demand[g]));
    }
    if (x.scores()) {
        BOOST_TEST(same_bits(x.objective().j(), y.objective().j()));
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(overlay_state)

BOOST_AUTO_TEST_CASE(a_placement_is_unplaced_on_a_node_or_moving) {
    fixture f(three_nodes());
    overlay ov(f.s.c, f.s.opts, f.a);
    const guest_id g = f.guest(101);
    BOOST_TEST(ov.where(g).placed());
    BOOST_TEST(!ov.where(g).moving());
    ov.begin(g, f.node("b"));
    BOOST_TEST(ov.where(g).moving());
    BOOST_TEST((ov.where(g) == placement{f.node("a"), f.node("b")}));
    ov.finish(g);
    BOOST_TEST((ov.where(g) == placement{f.node("b"), no_node}));
    const res before = ov.load().used[f.node("b")];
    ov.unplace(g);
    BOOST_TEST(!ov.where(g).placed());
    BOOST_TEST(ov.load().used[f.node("b")][dimension::memory] ==
               before[dimension::memory] - ov.load().demand[g][dimension::memory]);
    BOOST_TEST(ov.assigned(f.node("b"))[dimension::cpu] == 0.0);
}

BOOST_AUTO_TEST_CASE(the_objective_follows_every_move) {
    fixture f(three_nodes());
    overlay ov(f.s.c, f.s.opts, f.a, active_nodes(f.s.c));
    const guest_id g = f.guest(100);
    const double predicted = ov.objective().j_after(f.node("a"), f.node("b"), ov.load().demand[g]);
    ov.move(g, f.node("b"));
    BOOST_TEST(same_bits(ov.objective().j(), predicted));
    // A fresh objective over the new loads agrees (up to rounding).
    objective_state fresh(active_nodes(f.s.c), ov.load(), f.s.opts);
    BOOST_TEST(ov.objective().j() == fresh.j(), boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(a_trial_puts_every_value_back_exactly) {
    fixture f(three_nodes());
    overlay ov(f.s.c, f.s.opts, f.a, active_nodes(f.s.c));
    overlay untouched(f.s.c, f.s.opts, f.a, active_nodes(f.s.c));
    const std::size_t groups = f.a.apart_names.size();
    BOOST_TEST(groups == 1u);
    {
        auto t = ov.begin_trial();
        ov.move(std::vector<guest_id>{f.guest(100), f.guest(101)}, f.node("b"));
        ov.set_demand(f.guest(102), res_of(1.5, 3.0 * GiB));
        ov.begin(f.guest(102), f.node("a"));
        BOOST_TEST(ov.apart_count(0, f.node("b")) == 1);
        BOOST_TEST(ov.objective().j() != untouched.objective().j());
    }
    expect_same(ov, untouched, groups);
}

BOOST_AUTO_TEST_CASE(nested_trials_commit_into_the_enclosing_one) {
    fixture f(three_nodes());
    overlay ov(f.s.c, f.s.opts, f.a, active_nodes(f.s.c));
    overlay untouched(f.s.c, f.s.opts, f.a, active_nodes(f.s.c));
    overlay expected(f.s.c, f.s.opts, f.a, active_nodes(f.s.c));
    expected.move(f.guest(101), f.node("c"));
    {
        auto outer = ov.begin_trial();
        {
            auto inner = ov.begin_trial();
            ov.move(f.guest(101), f.node("c"));
            inner.commit();
        }
        expect_same(ov, expected, 1); // the committed inner change stands ...
    }
    expect_same(ov, untouched, 1); // ... until the outer trial ends
    {
        auto kept = ov.begin_trial();
        ov.move(f.guest(101), f.node("c"));
        kept.commit(); // outermost: nothing is left to undo it
    }
    expect_same(ov, expected, 1);
}

BOOST_AUTO_TEST_CASE(an_undone_trial_is_not_undone_twice) {
    fixture f(three_nodes());
    overlay ov(f.s.c, f.s.opts, f.a);
    auto t = ov.begin_trial();
    ov.move(f.guest(101), f.node("b"));
    t.undo();
    BOOST_TEST(ov.node_of(f.guest(101)) == f.node("a"));
    ov.move(f.guest(101), f.node("c")); // outside any trial now
    t.undo();
    BOOST_TEST(ov.node_of(f.guest(101)) == f.node("c"));
}

BOOST_AUTO_TEST_SUITE_END()
