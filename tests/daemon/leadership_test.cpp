// The leadership decision (leadership.h): lowest node id of a quorate partition, a stale quorum
// notification never makes a node active, and the settle delay before acting.
#include "leadership.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>

using namespace pvebal::balancerd;

namespace {

membership_view view(member_id self, std::vector<member_id> members, std::optional<bool> q = true,
                     std::optional<bool> qnow = true) {
    membership_view v;
    v.connected = true;
    v.self = self;
    v.members = std::move(members);
    v.quorate_notified = q;
    v.quorate_now = qnow;
    return v;
}

} // namespace

BOOST_AUTO_TEST_SUITE(leadership)

BOOST_AUTO_TEST_CASE(lowest_node_id_of_a_quorate_group_is_active) {
    std::vector<member_id> m = {{3, 30}, {1, 10}, {2, 20}};
    BOOST_TEST((decide(view({1, 10}, m)).r == role::active));
    BOOST_TEST((decide(view({2, 20}, m)).r == role::standby));
    BOOST_TEST((decide(view({3, 30}, m)).r == role::standby));
    for (member_id self : m) {
        BOOST_TEST((*decide(view(self, m)).leader == member_id{1, 10}));
    }
}

BOOST_AUTO_TEST_CASE(exactly_one_active_whatever_the_member_order) {
    std::vector<member_id> m = {{5, 1}, {2, 7}, {9, 3}, {4, 4}};
    std::sort(m.begin(), m.end());
    do {
        int active = 0;
        for (member_id self : m) {
            active += decide(view(self, m)).r == role::active ? 1 : 0;
        }
        BOOST_TEST(active == 1);
        BOOST_TEST((decide(view({2, 7}, m)).r == role::active));
    } while (std::next_permutation(m.begin(), m.end()));
}

BOOST_AUTO_TEST_CASE(not_quorate_never_acts) {
    std::vector<member_id> m = {{1, 10}};
    BOOST_TEST((decide(view({1, 10}, m, false, false)).r == role::no_quorum));
    BOOST_TEST((decide(view({1, 10}, m, std::nullopt, true)).r == role::no_quorum));
}

BOOST_AUTO_TEST_CASE(stale_quorum_notification_does_not_make_a_lone_node_active) {
    // On a split the CPG change (members = self) arrives before the quorum notification: the
    // cached value still says quorate, the synchronous query already says no.
    auto d = decide(view({1, 10}, {{1, 10}}, true, false));
    BOOST_TEST((d.r == role::no_quorum));
    // And a failed synchronous query counts as "no".
    BOOST_TEST((decide(view({1, 10}, {{1, 10}}, true, std::nullopt)).r == role::no_quorum));
}

BOOST_AUTO_TEST_CASE(disconnected_or_not_yet_a_member) {
    auto v = view({1, 10}, {{1, 10}, {2, 20}});
    v.connected = false;
    BOOST_TEST((decide(v).r == role::disconnected));
    BOOST_TEST(!decide(v).leader.has_value());
    // Joined, but the configuration change listing us has not arrived yet.
    BOOST_TEST((decide(view({1, 10}, {{2, 20}})).r == role::disconnected));
}

BOOST_AUTO_TEST_CASE(two_daemons_on_one_node_break_the_tie_by_pid) {
    std::vector<member_id> m = {{1, 50}, {1, 40}, {2, 10}};
    BOOST_TEST((decide(view({1, 40}, m)).r == role::active));
    BOOST_TEST((decide(view({1, 50}, m)).r == role::standby));
}

BOOST_AUTO_TEST_CASE(becoming_active_waits_for_the_settle_time) {
    election e(250);
    auto active = decide(view({1, 10}, {{1, 10}, {2, 20}}));
    BOOST_TEST((e.update(active, 1000) == role::standby));
    BOOST_TEST(*e.deadline() == 1250);
    BOOST_TEST((e.update(active, 1249) == role::standby));
    BOOST_TEST((e.update(active, 1250) == role::active));
    BOOST_TEST(e.active_since() == 1250);
    BOOST_TEST(!e.deadline().has_value());
}

BOOST_AUTO_TEST_CASE(an_interruption_restarts_the_settle_time) {
    election e(250);
    auto active = decide(view({1, 10}, {{1, 10}, {2, 20}}));
    auto lost = decide(view({1, 10}, {{1, 10}}, true, false));
    e.update(active, 1000);
    BOOST_TEST((e.update(lost, 1100) == role::no_quorum));
    BOOST_TEST(!e.deadline().has_value());
    e.update(active, 1200);
    BOOST_TEST((e.update(active, 1300) == role::standby));
    BOOST_TEST((e.update(active, 1450) == role::active));
}

BOOST_AUTO_TEST_CASE(losing_leadership_takes_effect_at_once) {
    election e(250);
    auto active = decide(view({2, 20}, {{2, 20}, {3, 30}}));
    e.update(active, 0);
    BOOST_TEST((e.update(active, 300) == role::active));
    // Node 1 joins: it is the lowest now.
    auto standby = decide(view({2, 20}, {{1, 10}, {2, 20}, {3, 30}}));
    BOOST_TEST((e.update(standby, 301) == role::standby));
    BOOST_TEST((*e.leader() == member_id{1, 10}));
}

BOOST_AUTO_TEST_SUITE_END()
