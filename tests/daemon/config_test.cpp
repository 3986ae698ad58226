// The daemon's configuration (daemon_config.h): balancer.cfg text read with the engine's option
// schema -> daemon_config, errors that name the file, line and key, warnings for unknown keys
// and duplicates, and what a change means.
#include "daemon_config.h"

#include "pvebal/option_schema.h"

#include <boost/test/unit_test.hpp>

#include <charconv>

using namespace pvebal::balancerd;

namespace {

daemon_config parse_ok(const std::string &text) {
    auto r = read_daemon_config(text, "/etc/pve/balancer.cfg");
    BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().to_string()));
    return r->config;
}

std::string parse_err(const std::string &text) {
    auto r = read_daemon_config(text, "/etc/pve/balancer.cfg");
    BOOST_TEST_REQUIRE(!r.has_value());
    return r.error().to_string();
}

} // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(struct_defaults_are_the_schema_defaults) {
    daemon_config d;
    BOOST_TEST((parse_ok("") == d));
    // Every daemon key is a row of the engine's schema, and its default is what an absent key
    // means.
    for (auto key : daemon_keys()) {
        const pvebal::option_info *o = pvebal::find_option(key);
        BOOST_TEST_REQUIRE(o != nullptr, key);
        BOOST_TEST((o->scope == pvebal::option_scope::integration), key);
        BOOST_TEST(o->description.size() > 10u, key);
        auto with = parse_ok(std::string(key) + ": " + std::string(o->default_text) + "\n");
        BOOST_TEST((with == d), key);
        auto empty = parse_ok(std::string(key) + ":\n"); // "key:" is the default too
        BOOST_TEST((empty == d), key);
    }
}

BOOST_AUTO_TEST_CASE(every_automation_key_of_the_schema_is_read) {
    std::vector<std::string_view> schema;
    for (const auto &o : pvebal::option_schema()) {
        if (o.group == "automation") {
            schema.push_back(o.key);
        }
    }
    BOOST_TEST(schema == daemon_keys(), boost::test_tools::per_element());
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
    BOOST_TEST(parse_err("auto: maybe\n").find("/etc/pve/balancer.cfg line 1: auto: expected") ==
               0u);
    BOOST_TEST(parse_err("# c\ninterval: 0\n").find("/etc/pve/balancer.cfg line 2: interval:") ==
               0u);
    BOOST_TEST(parse_err("psi-cpu: 101\n").find("psi-cpu: expected") != std::string::npos);
    BOOST_TEST(parse_err("psi-window: 2.5\n").find("psi-window: expected") != std::string::npos);
    BOOST_TEST(parse_err("interval: -5\n").find("interval: expected") != std::string::npos);
    BOOST_TEST(parse_err("psi-cpu: 101\npsi-io: x\n").find("(and 1 more)") != std::string::npos);
    // The engine's options are checked as well: a bad one invalidates the file.
    BOOST_TEST(parse_err("auto: 1\nthreshold: lots\n").find("line 2: threshold:") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(booleans_as_the_engine_reads_them) {
    BOOST_TEST(parse_ok("auto: yes\n").auto_balance);
    BOOST_TEST(!parse_ok("auto: off\n").auto_balance);
}

BOOST_AUTO_TEST_CASE(malformed_lines_and_duplicates) {
    BOOST_TEST(parse_err("auto 1\n").find("/etc/pve/balancer.cfg line 1: expected 'key: value'") ==
               0u);
    auto r = read_daemon_config("auto: 1\nauto: 0\n", "balancer.cfg");
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->config.auto_balance); // the first value counts
    BOOST_TEST(r->warnings.size() == 1u);
    BOOST_TEST(r->warnings[0].find("balancer.cfg line 2: auto: set again") == 0u);
}

BOOST_AUTO_TEST_CASE(unknown_keys_warn_known_ones_do_not) {
    auto r = read_daemon_config("auto: 1\nfrobnicate: 3\nthreshold: 0.1\nha-guests: skip\n",
                                "balancer.cfg");
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->warnings.size() == 1u);
    BOOST_TEST(r->warnings[0] ==
               "balancer.cfg: unknown key 'frobnicate' (ignored by this version)");
    BOOST_TEST(r->config.auto_balance);
    // An unknown key (a newer Manager setting) still counts as a plan input.
    BOOST_TEST(r->config.others.at("frobnicate") == "3");
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
    // the Manager's notification keys change no plan; its rules against thrashing do
    auto notify =
        parse_ok("auto: 1\nthreshold: 0.1\nhistory: 20\nnotify: none\ncapacity-target: 2\n");
    BOOST_TEST(!compare(b, notify).warrants_cycle());
    auto cooldown = parse_ok("auto: 1\nthreshold: 0.1\nhistory: 20\ncooldown: 10\n");
    BOOST_TEST(compare(b, cooldown).plan_inputs);

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
