// The cycle child's state machine (supervisor.h) against a fake process table and clock.
#include "fake_env.h"
#include "supervisor.h"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <sys/wait.h>

using namespace pvebal::balancerd;
using pvebal::balancerd::test::fake_env;

namespace {

constexpr millis s = one_second;

int exited(int code) {
    return (code & 0xff) << 8;
} // waitpid status of exit(code)
int killed_by(int sig) {
    return sig & 0x7f;
} // waitpid status of death by `sig`

cycle_record request() {
    cycle_record r;
    r.id = "pve1-100-1";
    r.node = "pve1";
    r.triggers.add(trigger_kind::pressure);
    r.detail = "pressure on pve3 (cpu 35.0%)";
    return r;
}

struct fixture {
    fake_env env;
    supervisor sup{env};
    fixture() { sup.configure({.timeout = 600 * s, .grace = 30 * s}); }
    pid_t start(millis now = 100 * s) {
        auto rec = sup.start(request(), {{"/bin/cycle"}, {{"K", "V"}}}, now);
        BOOST_TEST_REQUIRE((rec.result == cycle_result::none));
        return sup.pid();
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(supervisor_states)

BOOST_FIXTURE_TEST_CASE(a_cycle_that_exits_0_is_ok, fixture) {
    pid_t pid = start();
    BOOST_TEST((sup.state() == child_state::running));
    BOOST_TEST(*sup.deadline() == 700 * s);
    BOOST_TEST(env.spawned.size() == 1u);
    BOOST_TEST(env.spawned[0].argv.at(0) == "/bin/cycle");
    auto rec = sup.on_exit(pid, exited(0), 130 * s);
    BOOST_TEST_REQUIRE(rec.has_value());
    BOOST_TEST((rec->result == cycle_result::ok));
    BOOST_TEST(rec->exit_code == 0);
    BOOST_TEST(rec->started == 100 * s);
    BOOST_TEST(rec->finished == 130 * s);
    BOOST_TEST((sup.state() == child_state::idle));
    BOOST_TEST(!sup.deadline().has_value());
    BOOST_TEST(env.signals.empty());
}

BOOST_FIXTURE_TEST_CASE(exit_codes_map_to_results, fixture) {
    pid_t pid = start();
    BOOST_TEST((sup.on_exit(pid, exited(75), 101 * s)->result == cycle_result::skipped));
    pid = start();
    BOOST_TEST((sup.on_exit(pid, exited(1), 101 * s)->result == cycle_result::failed));
    pid = start();
    auto rec = sup.on_exit(pid, killed_by(SIGSEGV), 101 * s);
    BOOST_TEST((rec->result == cycle_result::crashed));
    BOOST_TEST(rec->signal == SIGSEGV);
    BOOST_TEST(rec->exit_code == -1);
}

BOOST_FIXTURE_TEST_CASE(stop_sends_sigterm_then_sigkill_after_the_grace, fixture) {
    pid_t pid = start();
    sup.stop(stop_reason::leadership_lost, 200 * s);
    BOOST_TEST((sup.state() == child_state::stopping));
    BOOST_TEST_REQUIRE(env.signals.size() == 1u);
    BOOST_TEST(env.signals[0].pid == pid);
    BOOST_TEST(env.signals[0].sig == SIGTERM);
    BOOST_TEST(!env.signals[0].group);           // the child only: its migration tasks finish
    sup.stop(stop_reason::quorum_lost, 201 * s); // already stopping: nothing more
    BOOST_TEST(env.signals.size() == 1u);
    BOOST_TEST(*sup.deadline() == 230 * s);
    sup.tick(229 * s);
    BOOST_TEST(env.signals.size() == 1u);
    sup.tick(230 * s);
    BOOST_TEST((sup.state() == child_state::killing));
    BOOST_TEST_REQUIRE(env.signals.size() == 2u);
    BOOST_TEST(env.signals[1].sig == SIGKILL);
    BOOST_TEST(env.signals[1].group);
    BOOST_TEST(!sup.deadline().has_value());
    auto rec = sup.on_exit(pid, killed_by(SIGKILL), 231 * s);
    BOOST_TEST((rec->result == cycle_result::killed));
    BOOST_TEST((rec->stopped == stop_reason::leadership_lost));
}

BOOST_FIXTURE_TEST_CASE(a_cycle_that_obeys_sigterm_is_cancelled, fixture) {
    pid_t pid = start();
    sup.stop(stop_reason::quorum_lost, 200 * s);
    auto rec = sup.on_exit(pid, exited(0), 205 * s);
    BOOST_TEST((rec->result == cycle_result::cancelled));
    BOOST_TEST((rec->stopped == stop_reason::quorum_lost));
}

BOOST_FIXTURE_TEST_CASE(a_hung_cycle_is_stopped_after_the_timeout, fixture) {
    pid_t pid = start(100 * s);
    sup.tick(699 * s);
    BOOST_TEST((sup.state() == child_state::running));
    BOOST_TEST(*sup.kill_deadline() == 730 * s);
    sup.tick(700 * s);
    BOOST_TEST((sup.state() == child_state::stopping));
    BOOST_TEST(env.signals.back().sig == SIGTERM);
    auto rec = sup.on_exit(pid, killed_by(SIGTERM), 701 * s);
    BOOST_TEST((rec->result == cycle_result::timed_out));
    BOOST_TEST((rec->stopped == stop_reason::timeout));
}

BOOST_FIXTURE_TEST_CASE(a_command_that_cannot_start_is_a_finished_record, fixture) {
    env.spawn_fails = true;
    auto rec = sup.start(request(), {{"/nonexistent"}, {}}, 100 * s);
    BOOST_TEST((rec.result == cycle_result::spawn_failed));
    BOOST_TEST(rec.finished == 100 * s);
    BOOST_TEST(rec.detail.find("cannot execute /nonexistent") != std::string::npos);
    BOOST_TEST((sup.state() == child_state::idle));
}

BOOST_FIXTURE_TEST_CASE(at_most_one_child, fixture) {
    start();
    auto second = sup.start(request(), {{"/bin/cycle"}, {}}, 101 * s);
    BOOST_TEST((second.result == cycle_result::spawn_failed));
    BOOST_TEST(env.spawned.size() == 1u);
    BOOST_TEST((sup.state() == child_state::running));
}

BOOST_FIXTURE_TEST_CASE(exits_of_other_processes_are_not_ours, fixture) {
    pid_t pid = start();
    BOOST_TEST(!sup.on_exit(pid + 1, exited(0), 101 * s).has_value());
    BOOST_TEST((sup.state() == child_state::running));
    sup.on_exit(pid, exited(0), 102 * s);
    BOOST_TEST(!sup.on_exit(pid, exited(0), 103 * s).has_value());
}

BOOST_FIXTURE_TEST_CASE(stop_when_idle_does_nothing, fixture) {
    sup.stop(stop_reason::shutdown, 1);
    sup.tick(1000 * s);
    BOOST_TEST(env.signals.empty());
    BOOST_TEST((sup.state() == child_state::idle));
}

BOOST_AUTO_TEST_SUITE_END()
