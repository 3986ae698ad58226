// The group's wire format (messages.h): round trips, forward compatibility, malformed input.
#include "messages.h"

#include <boost/test/unit_test.hpp>

using namespace pvebal::balancerd;

namespace {

state_message sample_state() {
    state_message s;
    s.node = "pve2";
    s.version = "0.1.0";
    s.r = role::active;
    s.quorate = true;
    s.auto_balance = true;
    s.started = 1700000000123;
    s.active_since = 1700000005000;
    s.pressure.mode = psi_mode::trigger;
    s.pressure.high = {true, false, false};
    s.pressure.value = {35.25, 1.5, 0};
    s.pressure.changed = 1700000006000;
    cycle_record c;
    c.id = "pve2-1700000007-1";
    c.node = "pve2";
    c.triggers = {trigger_kind::pressure, trigger_kind::config};
    c.detail = "pressure on pve3 (cpu 35.2%); configuration changed";
    c.started = 1700000007000;
    s.cycle = c;
    c.id = "pve2-1700000001-0";
    c.started = 1700000001000;
    c.finished = 1700000002000;
    c.result = cycle_result::cancelled;
    c.exit_code = 0;
    c.stopped = stop_reason::quorum_lost;
    s.last_cycle = c;
    return s;
}

std::string decode_error(const std::string &bytes) {
    auto m = decode(bytes);
    BOOST_TEST_REQUIRE(!m.has_value());
    return m.error().to_string();
}

} // namespace

BOOST_AUTO_TEST_SUITE(messages)

BOOST_AUTO_TEST_CASE(state_round_trip) {
    auto s = sample_state();
    auto bytes = encode(s);
    BOOST_TEST(bytes.size() < 1024u);
    auto m = decode(bytes);
    BOOST_TEST_REQUIRE(m.has_value());
    BOOST_TEST_REQUIRE(m->has_value());
    BOOST_TEST((std::get<state_message>(**m) == s));
}

BOOST_AUTO_TEST_CASE(pressure_round_trip) {
    pressure_message p;
    p.node = "pve3";
    p.resources[index_of(psi_resource::io)] = 41.5;
    auto bytes = encode(p);
    BOOST_TEST(bytes == R"({"format":1,"node":"pve3","resources":{"io":41.5},"type":"pressure"})");
    auto m = decode(bytes);
    BOOST_TEST_REQUIRE((m && *m));
    BOOST_TEST((std::get<pressure_message>(**m) == p));
}

BOOST_AUTO_TEST_CASE(newer_messages_are_skipped_not_errors) {
    auto unknown = decode(R"({"format":1,"type":"hello","node":"pve9"})");
    BOOST_TEST_REQUIRE(unknown.has_value());
    BOOST_TEST(!unknown->has_value());
    auto newer = decode(R"({"format":2,"type":"state","node":"pve9"})");
    BOOST_TEST_REQUIRE(newer.has_value());
    BOOST_TEST(!newer->has_value());
}

BOOST_AUTO_TEST_CASE(malformed_messages_name_the_field) {
    BOOST_TEST(decode_error("not json").find("not a JSON object") == 0u);
    BOOST_TEST(decode_error("[1,2]") == "expected a JSON object");
    BOOST_TEST(decode_error(R"({"format":1})") == "type: missing");
    BOOST_TEST(decode_error(R"({"format":1,"type":"pressure","node":""})") ==
               "node: expected a node name");
    BOOST_TEST(decode_error(R"({"format":1,"type":"pressure","node":"a","resources":{"gpu":3}})") ==
               "resources.gpu: expected cpu, memory or io");
    BOOST_TEST(
        decode_error(R"({"format":1,"type":"pressure","node":"a","resources":{"cpu":300}})") ==
        "resources.cpu: expected a percentage from 0 to 100");
    BOOST_TEST(
        decode_error(R"({"format":1,"type":"pressure","node":"a","node":"b","resources":{}})")
            .find("not a JSON object") == 0u);

    auto s = encode(sample_state());
    auto broken = s;
    broken.replace(broken.find("\"role\":\"active\""), 15, "\"role\":\"king\"");
    BOOST_TEST(decode_error(broken) == "role: expected disconnected, no-quorum, standby or active");
    broken = s;
    broken.replace(broken.find("\"trigger\":\"pressure,config\""), 27, "\"trigger\":\"sometimes\"");
    BOOST_TEST(decode_error(broken) ==
               "cycle.trigger: expected a comma-separated list of interval, pressure, config");
}

BOOST_AUTO_TEST_CASE(cycle_records_in_seconds_for_status_files) {
    auto s = sample_state();
    auto v = to_json(*s.last_cycle, time_unit::seconds);
    BOOST_TEST(v["started"].asInt64() == 1700000001);
    BOOST_TEST(v["finished"].asInt64() == 1700000002);
    BOOST_TEST(v["result"].asString() == "cancelled");
    BOOST_TEST(v["stopped"].asString() == "quorum-lost");
    BOOST_TEST(v["trigger"].asString() == "pressure,config");
    auto back = cycle_from_json(v, "last-cycle", time_unit::seconds);
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST(back->started == 1700000001000);
    auto running = to_json(*s.cycle, time_unit::seconds);
    BOOST_TEST(!running.isMember("finished"));
    BOOST_TEST(running["result"].asString() == "running");
}

BOOST_AUTO_TEST_CASE(describe_pressure_lists_high_resources) {
    pressure_info p;
    p.high = {true, false, true};
    p.value = {35.25, 50, 12};
    BOOST_TEST(describe_pressure(p) == "cpu 35.2%, io 12.0%");
    BOOST_TEST(describe_pressure(pressure_info{}) == "");
}

BOOST_AUTO_TEST_SUITE_END()
