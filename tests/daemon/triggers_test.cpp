// The trigger scheduler (triggers.h): interval, debounced level-triggered pressure with
// hold-off, configuration changes, coalescing.
#include "triggers.h"

#include <boost/test/unit_test.hpp>

using namespace pvebal::balancerd;

namespace {

constexpr millis s = one_second;
constexpr millis minute = 60 * s;

trigger_scheduler make(bool on = true) {
    trigger_scheduler t;
    t.configure({.auto_balance = on, .interval_min = 60, .debounce_s = 30, .holdoff_s = 300});
    return t;
}

cycle_record cycle(const std::string &id, millis started, millis finished = 0) {
    cycle_record c;
    c.id = id;
    c.node = "pve1";
    c.started = started;
    c.finished = finished;
    c.result = finished ? cycle_result::ok : cycle_result::none;
    return c;
}

} // namespace

BOOST_AUTO_TEST_SUITE(triggers)

BOOST_AUTO_TEST_CASE(interval_counts_from_becoming_active_without_history) {
    auto t = make();
    t.on_became_active(1000);
    BOOST_TEST(!t.poll(1000 + 60 * minute - 1, true, false).has_value());
    auto d = t.poll(1000 + 60 * minute, true, false);
    BOOST_TEST_REQUIRE(d.has_value());
    BOOST_TEST((d->triggers == trigger_set{trigger_kind::interval}));
    BOOST_TEST(t.next(true, false)->due == 1000 + 60 * minute);
}

BOOST_AUTO_TEST_CASE(interval_counts_from_the_last_cycle_in_the_cluster) {
    auto t = make();
    t.on_cycle(cycle("pve2-1", 10 * minute, 11 * minute)); // ran on the previous active node
    t.on_became_active(20 * minute);
    BOOST_TEST(t.next(true, false)->due == 70 * minute);
    // Overdue on takeover: due at once.
    auto late = make();
    late.on_cycle(cycle("pve2-1", 10 * minute, 11 * minute));
    late.on_became_active(90 * minute);
    BOOST_TEST(late.poll(90 * minute, true, false).has_value());
}

BOOST_AUTO_TEST_CASE(nothing_is_due_when_off_standby_or_busy) {
    auto t = make(false);
    t.on_became_active(0);
    t.on_node_pressure("pve2", true, "cpu 50.0%", 0);
    t.on_config_change(0);
    BOOST_TEST(!t.poll(100 * minute, true, false).has_value());
    auto u = make();
    u.on_became_active(0);
    u.on_config_change(0);
    BOOST_TEST(!u.poll(100 * minute, false, false).has_value());
    BOOST_TEST(!u.poll(100 * minute, true, true).has_value());
    BOOST_TEST(!u.next(true, true).has_value());
    BOOST_TEST(u.poll(100 * minute, true, false).has_value());
}

BOOST_AUTO_TEST_CASE(pressure_must_last_for_the_debounce_time) {
    auto t = make();
    t.on_became_active(0);
    t.on_node_pressure("pve3", true, "cpu 35.2%", 10 * s);
    t.on_node_pressure("pve2", true, "memory 12.0%", 20 * s);
    BOOST_TEST(!t.poll(39 * s, true, false).has_value());
    auto d = t.poll(40 * s, true, false);
    BOOST_TEST_REQUIRE(d.has_value());
    BOOST_TEST((d->triggers == trigger_set{trigger_kind::pressure}));
    BOOST_TEST(d->detail == "pressure on pve2 (memory 12.0%), pve3 (cpu 35.2%)");
}

BOOST_AUTO_TEST_CASE(pressure_that_goes_away_starts_nothing) {
    auto t = make();
    t.on_became_active(0);
    t.on_node_pressure("pve3", true, "cpu 35.2%", 10 * s);
    t.on_node_pressure("pve3", false, "", 25 * s);
    BOOST_TEST(!t.poll(60 * s, true, false).has_value());
    // It comes back: the debounce starts over.
    t.on_node_pressure("pve3", true, "cpu 40.0%", 70 * s);
    BOOST_TEST(!t.poll(99 * s, true, false).has_value());
    BOOST_TEST(t.poll(100 * s, true, false).has_value());
}

BOOST_AUTO_TEST_CASE(pressure_waits_for_the_holdoff_after_a_cycle) {
    auto t = make();
    t.on_became_active(0);
    t.on_cycle(cycle("c1", 100 * s));
    t.on_node_pressure("pve3", true, "cpu 90.0%", 110 * s); // during the cycle
    BOOST_TEST(!t.poll(200 * s, true, true).has_value());
    t.on_cycle(cycle("c1", 100 * s, 150 * s));
    // Still high after the cycle: debounce counts from its end, and the hold-off rules.
    BOOST_TEST(t.next(true, false)->due == 450 * s);
    BOOST_TEST((t.next(true, false)->kind == trigger_kind::pressure));
    BOOST_TEST(!t.poll(449 * s, true, false).has_value());
    BOOST_TEST(t.poll(450 * s, true, false).has_value());
}

BOOST_AUTO_TEST_CASE(a_short_holdoff_still_has_a_floor) {
    trigger_scheduler t;
    t.configure({.auto_balance = true, .interval_min = 60, .debounce_s = 0, .holdoff_s = 0});
    t.on_became_active(0);
    t.on_node_pressure("pve3", true, "cpu 90.0%", 0);
    t.on_cycle(cycle("c1", 10 * s, 10 * s));
    BOOST_TEST(t.next(true, false)->due == 10 * s + trigger_scheduler::min_holdoff);
}

BOOST_AUTO_TEST_CASE(config_change_is_due_at_once_and_satisfied_by_any_cycle) {
    auto t = make();
    t.on_became_active(0);
    t.on_config_change(5 * s);
    auto d = t.poll(5 * s, true, false);
    BOOST_TEST_REQUIRE(d.has_value());
    BOOST_TEST((d->triggers == trigger_set{trigger_kind::config}));
    t.on_cycle(cycle("c1", 5 * s));
    t.on_cycle(cycle("c1", 5 * s, 9 * s));
    BOOST_TEST(!t.poll(10 * s, true, false).has_value());
}

BOOST_AUTO_TEST_CASE(config_change_during_a_cycle_gives_one_follow_up) {
    auto t = make();
    t.on_became_active(0);
    t.on_cycle(cycle("c1", 5 * s));
    t.on_config_change(7 * s);
    t.on_config_change(8 * s); // coalesced
    BOOST_TEST(!t.poll(8 * s, true, true).has_value());
    t.on_cycle(cycle("c1", 5 * s, 20 * s));
    auto d = t.poll(20 * s, true, false);
    BOOST_TEST_REQUIRE(d.has_value());
    BOOST_TEST((d->triggers == trigger_set{trigger_kind::config}));
    t.on_cycle(cycle("c2", 20 * s));
    BOOST_TEST(!t.poll(21 * s, true, true).has_value());
    t.on_cycle(cycle("c2", 20 * s, 22 * s));
    BOOST_TEST(!t.poll(23 * s, true, false).has_value());
}

BOOST_AUTO_TEST_CASE(due_triggers_are_coalesced_into_one_cycle) {
    auto t = make();
    t.on_became_active(0);
    t.on_node_pressure("pve2", true, "io 45.0%", 0);
    t.on_config_change(30 * s);
    auto d = t.poll(61 * minute, true, false);
    BOOST_TEST_REQUIRE(d.has_value());
    BOOST_TEST(d->triggers.to_string() == "interval,pressure,config");
    BOOST_TEST(d->detail ==
               "interval of 60 min; pressure on pve2 (io 45.0%); configuration changed");
}

BOOST_AUTO_TEST_CASE(a_node_that_leaves_takes_its_pressure_along) {
    auto t = make();
    t.on_became_active(0);
    t.on_node_pressure("pve3", true, "cpu 90.0%", 0);
    t.on_node_gone("pve3");
    BOOST_TEST(!t.poll(60 * s, true, false).has_value());
    BOOST_TEST(!t.pressure_high("pve3"));
}

BOOST_AUTO_TEST_CASE(older_cycle_records_do_not_replace_newer_ones) {
    auto t = make();
    t.on_cycle(cycle("new", 100 * s, 110 * s));
    t.on_cycle(cycle("old", 50 * s, 60 * s));
    BOOST_TEST(t.last_cycle()->id == "new");
    t.on_cycle(cycle("new", 100 * s, 120 * s)); // the same cycle, finished later
    BOOST_TEST(t.last_cycle()->finished == 120 * s);
}

BOOST_AUTO_TEST_CASE(trigger_set_text) {
    BOOST_TEST((trigger_set{trigger_kind::config, trigger_kind::interval}.to_string() ==
                "interval,config"));
    BOOST_TEST((*trigger_set::parse("pressure,config") ==
                trigger_set{trigger_kind::pressure, trigger_kind::config}));
    BOOST_TEST(!trigger_set::parse("pressure,bogus").has_value());
    BOOST_TEST(trigger_set::parse("")->empty());
}

BOOST_AUTO_TEST_SUITE_END()
