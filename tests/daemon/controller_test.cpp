// The daemon's logic (controller.h) against a fake environment: membership and quorum as
// corosync reports them, messages of other members, a fake process table and fake time.
#include "controller.h"
#include "fake_env.h"

#include <boost/test/unit_test.hpp>

#include <csignal>

using namespace pvebal::balancerd;
using pvebal::balancerd::test::fake_env;

namespace {

constexpr millis s = one_second;
constexpr millis t0 = 1700000000000;

int exited(int code) {
    return (code & 0xff) << 8;
}

struct node {
    member_id id;
    std::string name;
};
const node n1{{1, 100}, "pve1"};
const node n2{{2, 200}, "pve2"};
const node n3{{3, 300}, "pve3"};

struct cluster_fixture {
    fake_env env;
    std::unique_ptr<controller> c;
    node self = n1;
    std::size_t delivered = 0;
    millis now = t0;

    void boot(const node &me, const std::string &config) {
        self = me;
        env.set_config(config);
        c = std::make_unique<controller>(
            env,
            controller_settings{.node = me.name,
                                .pid = me.id.pid,
                                .version = "0.1.0",
                                .cycle_command = {"/bin/cycle"},
                                .config_file = "/etc/pve/balancer.cfg"},
            now);
        c->start(now);
    }
    // corosync tells us: joined, these members, quorate.
    void join(const std::vector<node> &members, bool quorate = true) {
        std::vector<member_id> ids;
        for (const auto &m : members) {
            ids.push_back(m.id);
        }
        env.quorate = quorate;
        c->on_cpg_joined(self.id, now);
        c->on_cpg_members(ids, ids, {}, now);
        c->on_quorum(quorate, now);
        pump();
    }
    void members(const std::vector<node> &members, const std::vector<node> &joined,
                 const std::vector<node> &left) {
        auto ids = [](const std::vector<node> &v) {
            std::vector<member_id> out;
            for (const auto &m : v) {
                out.push_back(m.id);
            }
            return out;
        };
        c->on_cpg_members(ids(members), ids(joined), ids(left), now);
        pump();
    }
    // CPG delivers what we sent back to us, in order.
    void pump() {
        while (delivered < env.sent.size()) {
            auto bytes = env.sent[delivered++];
            c->on_deliver(self.id, bytes, now);
        }
    }
    // Advance the clock to `t`, firing the controller's timer on the way.
    void run_until(millis t) {
        for (int guard = 0; guard < 100000; ++guard) {
            auto d = c->next_deadline();
            if (!d || *d > t) {
                break;
            }
            now = std::max(now, *d);
            c->on_timer(now);
            pump();
        }
        now = t;
        c->on_timer(now);
        pump();
    }
    void from(const node &m, const message &msg) {
        c->on_deliver(m.id, encode(msg), now);
        pump();
    }
    state_message state_of(const node &m, bool high = false) {
        state_message st;
        st.node = m.name;
        st.version = "0.1.0";
        st.r = role::standby;
        st.quorate = true;
        st.auto_balance = true;
        st.started = t0;
        st.pressure.mode = psi_mode::trigger;
        st.pressure.high[0] = high;
        st.pressure.value[0] = high ? 35.0 : 0;
        return st;
    }
    void pressure_from(const node &m) {
        pressure_message p;
        p.node = m.name;
        p.resources[0] = 35.0;
        from(m, p);
        from(m, state_of(m, true));
    }
    std::string local() const { return env.local_writes.empty() ? "" : env.local_writes.back(); }
};

const std::string auto_on = "auto: 1\npsi-debounce: 2\npsi-holdoff: 60\ncycle-grace: 20\n";

} // namespace

BOOST_FIXTURE_TEST_SUITE(controller_logic, cluster_fixture)

BOOST_AUTO_TEST_CASE(becomes_active_after_the_settle_time) {
    boot(n1, auto_on);
    join({n1, n2, n3});
    BOOST_TEST((c->current_role() == role::standby));
    BOOST_TEST(local().find("\"role\" : \"standby\"") != std::string::npos);
    BOOST_TEST(env.cluster_writes.empty());
    run_until(now + 250);
    BOOST_TEST((c->current_role() == role::active));
    BOOST_TEST(local().find("\"role\" : \"active\"") != std::string::npos);
    BOOST_TEST(env.cluster_writes.size() == 1u);
    BOOST_TEST(env.logged("role: standby -> active"));
}

BOOST_AUTO_TEST_CASE(status_files_are_written_only_on_change) {
    boot(n1, auto_on);
    join({n1, n2});
    run_until(now + 1 * s);
    auto local_writes = env.local_writes.size();
    auto cluster_writes = env.cluster_writes.size();
    auto sent = env.sent.size();
    run_until(now + 30 * s); // timers fire (config polls), nothing changes
    BOOST_TEST(env.local_writes.size() == local_writes);
    BOOST_TEST(env.cluster_writes.size() == cluster_writes);
    BOOST_TEST(env.sent.size() == sent);
}

BOOST_AUTO_TEST_CASE(a_standby_never_starts_a_cycle) {
    boot(n2, auto_on);
    join({n1, n2, n3});
    pressure_from(n3);
    env.set_config(auto_on + "threshold: 0.1\n");
    run_until(now + 120 * 60 * s);
    BOOST_TEST((c->current_role() == role::standby));
    BOOST_TEST(env.spawned.empty());
    BOOST_TEST(env.cluster_writes.empty());
}

BOOST_AUTO_TEST_CASE(pressure_on_another_node_starts_exactly_one_cycle) {
    boot(n1, auto_on);
    join({n1, n2, n3});
    run_until(now + 1 * s);
    pressure_from(n3);
    run_until(now + 1 * s);
    BOOST_TEST(env.spawned.empty()); // debouncing
    pressure_from(n2);               // more pressure in the window: same cycle
    run_until(now + 2 * s);
    BOOST_TEST_REQUIRE(env.spawned.size() == 1u);
    BOOST_TEST(env.env_of(0, "PVE_BALANCER_TRIGGER") == "pressure");
    BOOST_TEST(env.env_of(0, "PVE_BALANCER_TRIGGER_DETAIL") ==
               "pressure on pve2 (cpu 35.0%), pve3 (cpu 35.0%)");
    BOOST_TEST(env.env_of(0, "PVE_BALANCER_NODE") == "pve1");
    BOOST_TEST(env.env_of(0, "PVE_BALANCER_NODEID") == "1");
    BOOST_TEST(env.env_of(0, "PVE_BALANCER_CONFIG") == "/etc/pve/balancer.cfg");
    BOOST_TEST(env.env_of(0, "PVE_BALANCER_CYCLE_ID").rfind("pve1-", 0) == 0u);
    BOOST_TEST(!env.env_of(0, "PVE_BALANCER_DEADLINE").empty());
    // Pressure during the cycle: the cycle's business.
    pressure_from(n3);
    run_until(now + 10 * s);
    BOOST_TEST(env.spawned.size() == 1u);
    c->on_child_exit(1000, exited(0), now);
    pump();
    // The nodes calm down before the hold-off ends: nothing more.
    from(n2, state_of(n2, false));
    from(n3, state_of(n3, false));
    run_until(now + 600 * s);
    BOOST_TEST(env.spawned.size() == 1u);
    BOOST_TEST(
        env.logged("finished after 11 s (ok, exit code 0)")); // started at +3 s, ended at +14 s
}

BOOST_AUTO_TEST_CASE(lasting_pressure_runs_again_after_the_holdoff) {
    boot(n1, auto_on);
    join({n1, n2});
    run_until(now + 1 * s);
    pressure_from(n2);
    run_until(now + 3 * s);
    BOOST_TEST_REQUIRE(env.spawned.size() == 1u);
    c->on_child_exit(1000, exited(0), now);
    pump();
    millis ended = now;
    run_until(ended + 59 * s);
    BOOST_TEST(env.spawned.size() == 1u);
    run_until(ended + 60 * s);
    BOOST_TEST(env.spawned.size() == 2u);
}

BOOST_AUTO_TEST_CASE(losing_quorum_mid_cycle_stops_the_child) {
    boot(n1, auto_on);
    join({n1, n2, n3});
    run_until(now + 1 * s);
    env.set_config(auto_on + "threshold: 0.1\n"); // a change that matters
    run_until(now + 6 * s);
    BOOST_TEST_REQUIRE(env.spawned.size() == 1u);
    BOOST_TEST(env.env_of(0, "PVE_BALANCER_TRIGGER") == "config");
    BOOST_TEST(env.signals.empty());
    // Partition: CPG first (members = self), quorum callback a moment later.
    env.quorate = false;
    members({n1}, {}, {n2, n3});
    BOOST_TEST((c->current_role() == role::no_quorum));
    BOOST_TEST_REQUIRE(env.signals.size() == 1u);
    BOOST_TEST(env.signals[0].sig == SIGTERM);
    BOOST_TEST(env.signals[0].pid == 1000);
    c->on_quorum(false, now);
    BOOST_TEST(env.signals.size() == 1u);
    // It does not exit within cycle-grace (20 s): SIGKILL to its group.
    run_until(now + 20 * s);
    BOOST_TEST_REQUIRE(env.signals.size() == 2u);
    BOOST_TEST(env.signals[1].sig == SIGKILL);
    BOOST_TEST(env.signals[1].group);
    c->on_child_exit(1000, SIGKILL, now);
    BOOST_TEST(env.logged("(killed, signal 9, stopped: quorum-lost)"));
    // And it never starts another one while not quorate.
    pressure_from(n1);
    run_until(now + 3600 * s);
    BOOST_TEST(env.spawned.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_lone_node_with_a_stale_quorum_notification_never_acts) {
    boot(n3, auto_on);
    join({n1, n2, n3});
    BOOST_TEST((c->current_role() == role::standby));
    // Cut off: CPG says members = {3}; the last quorum notification still says quorate,
    // the synchronous query already says no.
    env.quorate = false;
    members({n3}, {}, {n1, n2});
    run_until(now + 1 * s);
    BOOST_TEST((c->current_role() == role::no_quorum));
    run_until(now + 2 * 3600 * s);
    BOOST_TEST(env.spawned.empty());
    BOOST_TEST(env.cluster_writes.empty());
}

BOOST_AUTO_TEST_CASE(leadership_lost_to_a_lower_node_stops_the_cycle) {
    boot(n2, auto_on);
    join({n2, n3});
    run_until(now + 1 * s);
    BOOST_TEST((c->current_role() == role::active));
    pressure_from(n3);
    run_until(now + 3 * s);
    BOOST_TEST_REQUIRE(env.spawned.size() == 1u);
    members({n1, n2, n3}, {n1}, {}); // node 1 comes back
    BOOST_TEST((c->current_role() == role::standby));
    BOOST_TEST_REQUIRE(env.signals.size() == 1u);
    BOOST_TEST(env.signals[0].sig == SIGTERM);
    c->on_child_exit(1000, exited(0), now);
    BOOST_TEST(env.logged("(cancelled, exit code 0, stopped: leadership-lost)"));
}

BOOST_AUTO_TEST_CASE(a_new_active_node_waits_for_the_old_ones_cycle) {
    boot(n2, auto_on);
    join({n1, n2, n3});
    // Node 1 is running a cycle (its state says so) and then loses leadership to nobody: it
    // leaves the group -> we become active but wait while it still reports a running cycle.
    auto st = state_of(n1);
    st.r = role::active;
    cycle_record rec;
    rec.id = "pve1-1-1";
    rec.node = "pve1";
    rec.triggers = {trigger_kind::interval};
    rec.started = now - 3700 * s;
    st.cycle = rec;
    from(n1, st);
    env.set_config(auto_on + "threshold: 0.3\n");
    run_until(now + 10 * s);
    BOOST_TEST(env.spawned.empty()); // standby
    members({n2, n3}, {}, {n1});
    run_until(now + 10 * s);
    BOOST_TEST((c->current_role() == role::active));
    // Node 1 left: its cycle is none of our business (the cluster lease guards the rest), and
    // the interval since its start has passed: due now.
    BOOST_TEST(env.spawned.size() == 1u);
    BOOST_TEST(env.env_of(0, "PVE_BALANCER_TRIGGER") == "interval");
}

BOOST_AUTO_TEST_CASE(busy_member_blocks_new_cycles) {
    boot(n1, auto_on);
    join({n1, n2});
    run_until(now + 1 * s);
    auto st = state_of(n2);
    cycle_record rec;
    rec.id = "pve2-1-1";
    rec.node = "pve2";
    rec.triggers = {trigger_kind::pressure};
    rec.started = now;
    st.cycle = rec; // still finishing after it lost leadership to us
    from(n2, st);
    env.set_config(auto_on + "threshold: 0.3\n");
    run_until(now + 10 * s);
    BOOST_TEST(env.spawned.empty());
    st.cycle.reset();
    rec.finished = now;
    rec.result = cycle_result::cancelled;
    st.last_cycle = rec;
    from(n2, st);
    run_until(now + 1 * s);
    BOOST_TEST(env.spawned.size() == 1u);
    BOOST_TEST(env.env_of(0, "PVE_BALANCER_TRIGGER") == "config");
}

BOOST_AUTO_TEST_CASE(invalid_config_keeps_the_last_good_one) {
    boot(n1, auto_on);
    join({n1, n2});
    run_until(now + 1 * s);
    env.set_config("auto: maybe\n");
    run_until(now + 6 * s);
    BOOST_TEST(c->config().auto_balance);
    BOOST_TEST(env.count_logged("invalid configuration, keeping the last good one: "
                                "/etc/pve/balancer.cfg line 1: auto: expected a boolean") == 1);
    BOOST_TEST(local().find("line 1: auto: expected a boolean") != std::string::npos);
    env.set_config("auto: maybe\n# touched\n"); // the same error again: logged once
    run_until(now + 6 * s);
    BOOST_TEST(env.count_logged("invalid configuration") == 1);
    BOOST_TEST(env.spawned.empty()); // an invalid file is no "change that matters"
    env.set_config(auto_on);
    run_until(now + 6 * s);
    BOOST_TEST(env.logged("configuration is valid again"));
    BOOST_TEST(local().find("\"error\" : null") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_vanished_config_file_keeps_the_last_good_one) {
    boot(n1, auto_on);
    join({n1, n2});
    run_until(now + 1 * s);
    env.config_text.reset();
    run_until(now + 6 * s);
    BOOST_TEST(c->config().auto_balance);
    BOOST_TEST(env.logged("keeping the last good one: /etc/pve/balancer.cfg: missing"));
    env.set_config(auto_on);
    run_until(now + 6 * s);
    BOOST_TEST(env.logged("configuration is valid again"));
    BOOST_TEST(env.spawned.empty());
}

BOOST_AUTO_TEST_CASE(no_config_file_at_start_means_defaults) {
    env.config_text.reset();
    env.config_mtime = 0;
    c = std::make_unique<controller>(env,
                                     controller_settings{.node = "pve1",
                                                         .pid = 100,
                                                         .version = "0.1.0",
                                                         .cycle_command = {"/bin/cycle"},
                                                         .config_file = "/etc/pve/balancer.cfg"},
                                     now);
    c->start(now);
    BOOST_TEST(!c->config().auto_balance);
    BOOST_TEST(!env.logged("invalid configuration"));
    BOOST_TEST(local().find("\"read\" : false") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(invalid_config_at_start_means_defaults) {
    boot(n1, "auto: 1\ninterval: 0\n");
    join({n1});
    run_until(now + 3600 * s);
    BOOST_TEST(!c->config().auto_balance);
    BOOST_TEST(env.logged("invalid configuration, using the defaults (auto off)"));
    BOOST_TEST(env.spawned.empty());
}

BOOST_AUTO_TEST_CASE(only_changes_that_matter_start_a_cycle) {
    boot(n1, auto_on + "history: 20\n");
    join({n1, n2});
    run_until(now + 1 * s);
    env.set_config(auto_on + "history: 30\n");
    run_until(now + 6 * s);
    env.set_config(auto_on + "history: 30\ninterval: 30\n");
    run_until(now + 6 * s);
    BOOST_TEST(env.spawned.empty());
    env.set_config(auto_on + "history: 30\ninterval: 30\nmax-migrations: 3\n");
    run_until(now + 6 * s);
    BOOST_TEST(env.spawned.size() == 1u);
}

BOOST_AUTO_TEST_CASE(switching_auto_on_starts_a_cycle_and_off_stops_it) {
    boot(n1, "auto: 0\n");
    join({n1, n2});
    run_until(now + 1 * s);
    env.set_config(auto_on);
    run_until(now + 6 * s);
    BOOST_TEST_REQUIRE(env.spawned.size() == 1u);
    env.set_config("auto: 0\n");
    run_until(now + 6 * s);
    BOOST_TEST_REQUIRE(env.signals.size() == 1u);
    BOOST_TEST(env.signals[0].sig == SIGTERM);
    c->on_child_exit(1000, exited(0), now);
    BOOST_TEST(env.logged("stopped: auto-off"));
}

BOOST_AUTO_TEST_CASE(interval_trigger_and_next_cycle_in_the_status) {
    boot(n1, "auto: 1\ninterval: 10\n");
    join({n1, n2});
    run_until(now + 1 * s);
    BOOST_TEST(local().find("\"trigger\" : \"interval\"") != std::string::npos);
    run_until(now + 10 * 60 * s);
    BOOST_TEST_REQUIRE(env.spawned.size() == 1u);
    BOOST_TEST(env.env_of(0, "PVE_BALANCER_TRIGGER") == "interval");
    c->on_child_exit(1000, exited(1), now + 5 * s);
    BOOST_TEST(env.logged("(failed, exit code 1)"));
    run_until(now + 10 * 60 * s);
    BOOST_TEST(env.spawned.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_cycle_that_cannot_start_backs_off) {
    boot(n1, "auto: 1\npsi-debounce: 2\npsi-holdoff: 10\n");
    join({n1, n2});
    run_until(now + 1 * s);
    env.spawn_fails = true;
    millis failed = now + 2 * s; // psi-debounce after the pressure
    pressure_from(n2);           // stays high
    run_until(failed);
    BOOST_TEST(env.spawned.size() == 1u);
    BOOST_TEST(env.logged("cannot start cycle"));
    run_until(failed + 59 * s); // past the hold-off (10 s), not past the back-off (60 s)
    BOOST_TEST(env.spawned.size() == 1u);
    run_until(failed + 60 * s);
    BOOST_TEST(env.spawned.size() == 2u);
}

BOOST_AUTO_TEST_CASE(own_pressure_is_reported_to_the_group_once_per_rise) {
    boot(n2, auto_on);
    join({n1, n2});
    env.set_pressure(psi_resource::cpu, 50);
    c->on_pressure_poke(now);
    pump();
    int events = 0;
    for (const auto &m : env.sent_messages()) {
        if (const auto *p = std::get_if<pressure_message>(&m)) {
            ++events;
            BOOST_TEST(p->node == "pve2");
            BOOST_TEST(*p->resources[0] == 50.0);
        }
    }
    BOOST_TEST(events == 1);
    run_until(now + 30 * s); // still high: poll mode reads, no new event
    events = 0;
    for (const auto &m : env.sent_messages()) {
        events += std::holds_alternative<pressure_message>(m) ? 1 : 0;
    }
    BOOST_TEST(events == 1);
    auto last_state = std::get<state_message>(env.sent_messages().back());
    BOOST_TEST(last_state.pressure.high[0]);
    BOOST_TEST(env.spawned.empty()); // we are not the active node
}

BOOST_AUTO_TEST_CASE(no_pressure_watching_while_auto_is_off) {
    env.pressure_mode = psi_mode::trigger;
    boot(n2, "auto: 0\n");
    BOOST_TEST(env.arms == 0);
    env.set_config(auto_on);
    c->on_reload(now);
    BOOST_TEST(env.arms == 1);
    BOOST_TEST(local().find("\"mode\" : \"trigger\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(cluster_status_needs_quorum_and_tolerates_write_errors) {
    env.cluster_write_fails = true;
    boot(n1, auto_on);
    join({n1, n2});
    run_until(now + 1 * s);
    BOOST_TEST(env.count_logged("cannot write the cluster status") == 1);
    run_until(now + 30 * s);
    BOOST_TEST(env.count_logged("cannot write the cluster status") == 1);
    env.cluster_write_fails = false;
    pressure_from(n2); // a change
    run_until(now + 61 * s);
    BOOST_TEST(env.cluster_writes.size() >= 1u);
    BOOST_TEST(env.cluster_file->find("\"active\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(continues_the_interval_from_the_cluster_summary) {
    env.cluster_file = R"({"format":1,"last-cycle":{"id":"pve2-1-1","node":"pve2",)"
                       R"("trigger":"interval","detail":"","started":)" +
                       std::to_string((t0 - 50 * 60 * s) / 1000) + R"(,"finished":)" +
                       std::to_string((t0 - 49 * 60 * s) / 1000) +
                       R"(,"result":"ok","exit-code":0}})";
    boot(n1, auto_on);
    join({n1, n2});
    run_until(now + 1 * s);
    BOOST_TEST(env.logged("last cycle in the cluster: pve2-1-1"));
    run_until(t0 + 9 * 60 * s);
    BOOST_TEST(env.spawned.empty());
    run_until(t0 + 10 * 60 * s + 1 * s);
    BOOST_TEST(env.spawned.size() == 1u);
}

BOOST_AUTO_TEST_CASE(shutdown_stops_the_cycle_and_starts_nothing) {
    boot(n1, auto_on);
    join({n1, n2});
    run_until(now + 1 * s);
    pressure_from(n2);
    run_until(now + 3 * s);
    BOOST_TEST_REQUIRE(env.spawned.size() == 1u);
    c->begin_shutdown(now);
    BOOST_TEST(env.signals.size() == 1u);
    BOOST_TEST(!c->child_idle());
    c->on_child_exit(1000, exited(0), now + 1 * s);
    BOOST_TEST(c->child_idle());
    BOOST_TEST(env.logged("stopped: shutdown"));
    run_until(now + 3600 * s);
    BOOST_TEST(env.spawned.size() == 1u);
}

BOOST_AUTO_TEST_CASE(malformed_messages_are_logged_once_per_member) {
    boot(n1, auto_on);
    join({n1, n2});
    c->on_deliver(n2.id, "{broken", now);
    c->on_deliver(n2.id, "{broken again", now);
    BOOST_TEST(env.count_logged("ignoring a malformed message from node id 2") == 1);
    BOOST_TEST((c->current_role() != role::disconnected));
}

BOOST_AUTO_TEST_CASE(losing_corosync_means_disconnected_and_stops_the_cycle) {
    boot(n1, auto_on);
    join({n1, n2});
    run_until(now + 1 * s);
    pressure_from(n2);
    run_until(now + 3 * s);
    BOOST_TEST_REQUIRE(env.spawned.size() == 1u);
    env.joined = false;
    c->on_cpg_lost(now);
    c->on_quorum_lost(now);
    BOOST_TEST((c->current_role() == role::disconnected));
    BOOST_TEST_REQUIRE(env.signals.size() == 1u);
    c->on_child_exit(1000, exited(0), now);
    BOOST_TEST(env.logged("stopped: disconnected"));
    BOOST_TEST(local().find("\"cpg\" : false") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
