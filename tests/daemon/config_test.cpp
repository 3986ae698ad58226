// The configuration adapter (daemon_config.h): balancer.cfg text -> daemon_config, errors that
// name the file, line and key, warnings for unknown keys, and what a change means.
#include "daemon_config.h"

#include <boost/test/unit_test.hpp>

using namespace pvebal::balancerd;

namespace {

daemon_config parse_ok(const std::string &text) {
    auto r = parse_config_text(text, "/etc/pve/balancer.cfg");
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().to_string()));
    return r->config;
}

std::string parse_err(const std::string &text) {
    auto r = parse_config_text(text, "/etc/pve/balancer.cfg");
    BOOST_TEST_REQUIRE(!r.has_value());
    return r.error().to_string();
}

} // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(struct_defaults_are_the_schema_defaults) {
    daemon_config d;
    auto parsed = parse_ok("");
    BOOST_TEST((parsed == d));
    // Every row's default is what an absent key means.
    for (const auto &k : daemon_keys()) {
        auto with = parse_ok(std::string(k.key) + ": " + std::to_string(k.default_value) + "\n");
        BOOST_TEST((with == d), k.key);
    }
}

BOOST_AUTO_TEST_CASE(schema_rows_are_sorted_and_complete) {
    const auto &keys = daemon_keys();
    for (std::size_t i = 1; i < keys.size(); ++i) {
        BOOST_TEST((std::string(keys[i - 1].key) < std::string(keys[i].key)), keys[i].key);
    }
    for (const auto &k : keys) {
        BOOST_TEST(k.min <= k.default_value);
        BOOST_TEST(k.default_value <= k.max);
        BOOST_TEST(std::string(k.description).size() > 10);
        BOOST_TEST((std::string(k.scope) == "daemon" || std::string(k.scope) == "integration"));
    }
}

BOOST_AUTO_TEST_CASE(reads_the_daemon_keys_and_keeps_the_others) {
    auto c = parse_ok("# pve-balancer cluster configuration\n"
                      "auto: 1\n"
                      "interval: 30\n"
                      "  psi-cpu : 35  \n"
                      "psi-io: 0\n"
                      "psi-window: 5\n"
                      "psi-debounce: 2\n"
                      "psi-holdoff: 60\n"
                      "cycle-timeout: 600\n"
                      "cycle-grace: 20\n"
                      "\n"
                      "threshold: 0.05\n"
                      "max-migrations: 4\n");
    BOOST_TEST(c.auto_balance);
    BOOST_TEST(c.interval == 30u);
    BOOST_TEST(c.threshold(psi_resource::cpu) == 35u);
    BOOST_TEST(c.threshold(psi_resource::memory) == 10u);
    BOOST_TEST(c.threshold(psi_resource::io) == 0u);
    BOOST_TEST(c.psi_window == 5u);
    BOOST_TEST(c.psi_debounce == 2u);
    BOOST_TEST(c.psi_holdoff == 60u);
    BOOST_TEST(c.cycle_timeout == 600u);
    BOOST_TEST(c.cycle_grace == 20u);
    BOOST_TEST(c.others.at("threshold") == "0.05");
    BOOST_TEST(c.others.at("max-migrations") == "4");
}

BOOST_AUTO_TEST_CASE(bad_values_name_line_and_key) {
    BOOST_TEST(parse_err("auto: yes\n") ==
               "/etc/pve/balancer.cfg line 1: auto: expected 0 or 1, got 'yes'");
    BOOST_TEST(parse_err("# c\ninterval: 0\n") ==
               "/etc/pve/balancer.cfg line 2: interval: expected an integer from 1 to 10080, "
               "got '0'");
    BOOST_TEST(parse_err("psi-cpu: 101\n").find("psi-cpu: expected an integer from 0 to 100") !=
               std::string::npos);
    BOOST_TEST(parse_err("psi-window: 2.5\n").find("got '2.5'") != std::string::npos);
    BOOST_TEST(parse_err("psi-window: 05\n").find("got '05'") != std::string::npos);
    BOOST_TEST(parse_err("interval: -5\n").find("interval: expected") != std::string::npos);
    BOOST_TEST(parse_err("cycle-timeout:\n").find("got ''") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(malformed_lines_and_duplicates) {
    BOOST_TEST(parse_err("auto 1\n") ==
               "/etc/pve/balancer.cfg line 1: unable to parse 'auto 1': expected 'key: value'");
    BOOST_TEST(parse_err("Auto: 1\n").find("unable to parse") != std::string::npos);
    BOOST_TEST(parse_err("auto: 1\nauto: 0\n") ==
               "/etc/pve/balancer.cfg line 2: duplicate key 'auto'");
}

BOOST_AUTO_TEST_CASE(unknown_keys_warn_known_ones_do_not) {
    auto r = parse_config_text("auto: 1\nfrobnicate: 3\nthreshold: 0.1\nha-guests: skip\n",
                               "balancer.cfg");
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->warnings.size() == 1u);
    BOOST_TEST(r->warnings[0] == "balancer.cfg line 2: unknown key 'frobnicate' (ignored)");
    BOOST_TEST(r->config.auto_balance);
}

BOOST_AUTO_TEST_CASE(what_a_change_means) {
    auto a = parse_ok("auto: 0\nthreshold: 0.1\nhistory: 20\n");
    auto b = parse_ok("auto: 1\nthreshold: 0.1\nhistory: 20\n");
    auto c = compare(a, b);
    BOOST_TEST(c.auto_on);
    BOOST_TEST(c.warrants_cycle());
    BOOST_TEST(compare(b, a).auto_off);
    BOOST_TEST(!compare(b, a).warrants_cycle());

    auto engine = parse_ok("auto: 1\nthreshold: 0.2\nhistory: 20\n");
    BOOST_TEST(compare(b, engine).plan_inputs);
    auto removed = parse_ok("auto: 1\nhistory: 20\n");
    BOOST_TEST(compare(b, removed).plan_inputs);

    auto bookkeeping = parse_ok("auto: 1\nthreshold: 0.1\nhistory: 50\n");
    BOOST_TEST(!compare(b, bookkeeping).warrants_cycle());

    auto interval = parse_ok("auto: 1\nthreshold: 0.1\nhistory: 20\ninterval: 5\n");
    auto ci = compare(b, interval);
    BOOST_TEST(ci.schedule);
    BOOST_TEST(!ci.warrants_cycle());

    auto psi = parse_ok("auto: 1\nthreshold: 0.1\nhistory: 20\npsi-cpu: 50\n");
    BOOST_TEST(compare(b, psi).pressure);
    BOOST_TEST(!compare(b, psi).warrants_cycle());
    BOOST_TEST(!compare(b, b).warrants_cycle());
}

BOOST_AUTO_TEST_SUITE_END()
