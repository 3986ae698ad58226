// PSI (psi.h): the kernel's text format, and when a node reports pressure in trigger and poll
// mode.
#include "psi.h"

#include <boost/test/unit_test.hpp>

using namespace pvebal::balancerd;

namespace {

psi_reading reading(double cpu, double memory = 0, double io = 0) {
    psi_reading r;
    double v[3] = {cpu, memory, io};
    for (auto res : all_psi_resources) {
        psi_sample s;
        s.some.avg10 = v[index_of(res)];
        r[index_of(res)] = s;
    }
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(psi)

BOOST_AUTO_TEST_CASE(parses_the_kernel_format) {
    auto s = parse_psi("some avg10=1.53 avg60=0.87 avg300=0.22 total=58761459\n"
                       "full avg10=0.00 avg60=0.01 avg300=0.00 total=1203\n",
                       "/proc/pressure/memory");
    BOOST_TEST_REQUIRE(s.has_value());
    BOOST_TEST(s->some.avg10 == 1.53);
    BOOST_TEST(s->some.avg60 == 0.87);
    BOOST_TEST(s->some.avg300 == 0.22);
    BOOST_TEST(s->some.total == 58761459u);
    BOOST_TEST_REQUIRE(s->full.has_value());
    BOOST_TEST(s->full->avg60 == 0.01);
    BOOST_TEST(s->full->total == 1203u);
}

BOOST_AUTO_TEST_CASE(cpu_without_full_line_and_unknown_fields) {
    // Kernels before 5.13 have no "full" line for cpu; newer fields are ignored.
    auto s = parse_psi("some avg10=99.00 avg60=50.50 avg300=10.00 total=1 newfield=7\n"
                       "future line\n",
                       "cpu");
    BOOST_TEST_REQUIRE(s.has_value());
    BOOST_TEST(s->some.avg10 == 99.0);
    BOOST_TEST(!s->full.has_value());
}

BOOST_AUTO_TEST_CASE(malformed_text_names_the_field) {
    auto err = [](const std::string &text) {
        auto s = parse_psi(text, "cpu");
        BOOST_TEST_REQUIRE(!s.has_value());
        return s.error().to_string();
    };
    BOOST_TEST(err("") == "cpu: expected a 'some avg10=... avg60=... avg300=... total=...' line");
    BOOST_TEST(err("some avg60=0.00 avg300=0.00 total=0\n") == "cpu.some.avg10: missing");
    BOOST_TEST(err("some avg10=abc avg60=0.00 avg300=0.00 total=0\n") ==
               "cpu.some.avg10: expected a percentage from 0 to 100, got 'abc'");
    BOOST_TEST(err("some avg10=100.01 avg60=0.00 avg300=0.00 total=0\n").find("cpu.some.avg10") ==
               0u);
    BOOST_TEST(err("some avg10=1 avg60=0 avg300=0 total=-1\n") ==
               "cpu.some.total: expected a non-negative integer, got '-1'");
    BOOST_TEST(err("some avg10=1 avg60=0 avg300=0 total=0\nfull avg10\n") ==
               "cpu.full: expected key=value fields, got 'avg10'");
}

BOOST_AUTO_TEST_CASE(poll_mode_threshold_with_hysteresis) {
    pressure_monitor m;
    m.configure({20, 10, 0}, 10, psi_mode::poll);
    auto e = m.on_reading(reading(19.9, 0, 99), 1000);
    BOOST_TEST(!e.changed); // below; io is off
    e = m.on_reading(reading(20.0), 2000);
    BOOST_TEST(e.rose);
    BOOST_TEST(m.state(psi_resource::cpu).high);
    BOOST_TEST(m.state(psi_resource::cpu).since == 2000);
    e = m.on_reading(reading(16.5), 3000); // above 80 % of the threshold: still high
    BOOST_TEST(!e.changed);
    e = m.on_reading(reading(15.9), 4000);
    BOOST_TEST(e.changed);
    BOOST_TEST(!e.rose);
    BOOST_TEST(!m.any_high());
    BOOST_TEST(*m.read_due(4000) == 4000 + pressure_monitor::poll_period);
}

BOOST_AUTO_TEST_CASE(poll_mode_keeps_state_when_a_file_is_unreadable) {
    pressure_monitor m;
    m.configure({20, 10, 30}, 10, psi_mode::poll);
    m.on_reading(reading(50), 1000);
    psi_reading none;
    auto e = m.on_reading(none, 2000);
    BOOST_TEST(!e.changed);
    BOOST_TEST(m.state(psi_resource::cpu).high);
}

BOOST_AUTO_TEST_CASE(trigger_mode_holds_for_two_windows) {
    pressure_monitor m;
    m.configure({20, 10, 30}, 10, psi_mode::trigger);
    BOOST_TEST(!m.read_due(0).has_value()); // no periodic reads
    auto e = m.on_trigger(psi_resource::memory, reading(0, 4.5), 5000);
    BOOST_TEST(e.rose);
    BOOST_TEST(m.state(psi_resource::memory).value == 4.5);
    BOOST_TEST(*m.read_due(5000) == 25000);
    e = m.on_trigger(psi_resource::memory, reading(0, 12), 15000); // fires again a window later
    BOOST_TEST(!e.changed);
    BOOST_TEST(*m.read_due(15000) == 35000);
    e = m.on_reading(reading(0, 12), 34999);
    BOOST_TEST(!e.changed);
    e = m.on_reading(reading(0, 12), 35000); // averages alone do not keep it high
    BOOST_TEST(e.changed);
    BOOST_TEST(!m.any_high());
    BOOST_TEST(!m.read_due(35000).has_value());
}

BOOST_AUTO_TEST_CASE(off_mode_and_disabled_resources_never_report) {
    pressure_monitor m;
    m.configure({20, 10, 30}, 10, psi_mode::off);
    BOOST_TEST(!m.on_reading(reading(100, 100, 100), 1).changed);
    BOOST_TEST(!m.on_trigger(psi_resource::cpu, reading(100), 1).changed);
    BOOST_TEST(!m.read_due(0).has_value());
    m.configure({0, 10, 30}, 10, psi_mode::trigger);
    BOOST_TEST(!m.on_trigger(psi_resource::cpu, reading(100), 1).changed);
}

BOOST_AUTO_TEST_SUITE_END()
