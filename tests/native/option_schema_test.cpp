// The option schema: one table for every key, defaults that are the engine's, strict values,
// and balancer.cfg reading that never fails on content.
#include "pvebal/io.h"
#include "pvebal/option_schema.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>

using namespace pvebal;

BOOST_AUTO_TEST_SUITE(option_schema_suite)

BOOST_AUTO_TEST_CASE(schema_is_sorted_and_complete) {
    const auto &s = option_schema();
    BOOST_TEST(s.size() >= 30u);
    BOOST_TEST(std::is_sorted(s.begin(), s.end(), [](const option_info &a, const option_info &b) {
        return a.key < b.key;
    }));
    for (const option_info &o : s) {
        BOOST_TEST_CONTEXT(o.key) {
            BOOST_TEST(!o.description.empty());
            BOOST_TEST(!o.group.empty());
            BOOST_TEST(find_option(o.key) == &o);
            if (o.type == option_type::choice) {
                BOOST_TEST(!o.choices.empty());
            }
            if (o.type == option_type::integer || o.type == option_type::number ||
                o.type == option_type::size) {
                BOOST_TEST(o.minimum <= o.maximum);
            }
        }
    }
    // Engine keys are exactly the flags the CLI accepts.
    std::vector<std::string> engine;
    for (const option_info &o : s) {
        if (o.scope == option_scope::engine) {
            engine.emplace_back(o.key);
        }
    }
    BOOST_TEST(engine == option_keys(), boost::test_tools::per_element());
    BOOST_TEST(find_option("no-such-key") == nullptr);
}

// The defaults written in the table are the defaults of `options`: applying every default to a
// default-constructed options changes nothing, and each default is a valid value of its option.
BOOST_AUTO_TEST_CASE(defaults_are_the_engines) {
    options o;
    for (const option_info &info : option_schema()) {
        BOOST_TEST_CONTEXT(info.key) {
            if (info.default_text.empty()) {
                continue;
            }
            auto n = normalize_option_value(info, info.default_text);
            BOOST_TEST_REQUIRE(n.has_value());
            BOOST_TEST(*n == std::string(info.default_text));
            if (info.scope == option_scope::engine) {
                BOOST_TEST(apply_option(o, std::string(info.key), std::string(info.default_text))
                               .has_value());
            }
        }
    }
    BOOST_TEST((o == options{}));
    // A changed value is seen (the comparison can fail).
    BOOST_TEST(apply_option(o, "cost-weight", "0.002").has_value());
    BOOST_TEST(!(o == options{}));
}

BOOST_AUTO_TEST_CASE(values_are_strict) {
    auto check = [](const char *key, const char *text) {
        return normalize_option_value(*find_option(key), text);
    };
    BOOST_TEST(*check("max-migrations", "16") == "16");
    for (const char *bad : {"0x10", "5abc", "5,6", "5 // c", "", " 5", "5.5", "1e3x", "-1"}) {
        BOOST_TEST_CONTEXT(bad) {
            BOOST_TEST(!check("max-migrations", bad));
        }
    }
    BOOST_TEST(check("max-migrations", "0x10").error().message ==
               "expected an integer from 0 to 100000, got \"0x10\"");
    BOOST_TEST(*check("cpu-limit", "0.85") == "0.85");
    BOOST_TEST(*check("cpu-limit", ".5") == "0.5");
    BOOST_TEST(!check("cpu-limit", "nan"));
    BOOST_TEST(!check("cpu-limit", "inf"));
    BOOST_TEST(check("cpu-limit", "2").error().message ==
               "expected a fraction from 0.05 to 1, got 2");
    BOOST_TEST(*check("auto", "yes") == "1");
    BOOST_TEST(*check("auto", "OFF") == "0");
    BOOST_TEST(!check("auto", "2"));
    BOOST_TEST(*check("mode", "assigned") == "static");
    BOOST_TEST(check("mode", "fast").error().message ==
               "expected \"used\" or \"static\", got \"fast\"");
    BOOST_TEST(*check("memory-reserve", "2G") == "2G");
    BOOST_TEST(*check("memory-reserve", "1.5KiB") == "1.5KiB");
    BOOST_TEST(!check("memory-reserve", "8X"));
    BOOST_TEST(!check("memory-reserve", "-1G"));
    BOOST_TEST(!check("bandwidth", "0"));
    BOOST_TEST(*check("storage-map", "local-zfs:local-lvm, b:a") == "b:a,local-zfs:local-lvm");
    BOOST_TEST(!check("storage-map", "a:b:c"));
    BOOST_TEST(!check("storage-map", "a:"));
    BOOST_TEST(!check("storage-map", "a:b,a:c"));
    BOOST_TEST(*check("maintenance-nodes", "pve2;pve1,pve2") == "pve1,pve2");
    BOOST_TEST(!check("maintenance-nodes", "pve1,bad/name"));
    BOOST_TEST(*check("maintenance-nodes", "") == "");
    // Separators alone are a mistake, not an empty list (text and JSON strings alike).
    BOOST_TEST(check("maintenance-nodes", " , ").error().message ==
               "expected a list of node names, got \" , \" (no entries; an empty value clears "
               "the list)");
    BOOST_TEST(!check("storage-map", ";"));
    BOOST_TEST(*check("storage-map", "") == "");
    auto json = apply_options_json(options{}, R"({"maintenance-nodes": ","})", "options");
    BOOST_TEST_REQUIRE(!json);
    BOOST_TEST(json.error().path == "options.maintenance-nodes");
}

BOOST_AUTO_TEST_CASE(text_values_are_one_line_of_bounded_length) {
    // the engine only bounds them; PVE::Balancer::Window reads what they mean
    auto check = [](std::string_view key, std::string_view text) {
        return normalize_option_value(*find_option(key), text);
    };
    BOOST_TEST(*check("auto-window", "mon..fri 22:00-06:00") == "mon..fri 22:00-06:00");
    BOOST_TEST(*check("auto-window", "") == "");
    BOOST_TEST(!check("auto-window", "a\tb"));
    BOOST_TEST(!check("auto-blackout", std::string(513, 'x')));
    auto bad = check("auto-blackout", "2025-12-24\x01");
    BOOST_TEST_REQUIRE(!bad);
    BOOST_TEST(bad.error().message.find("time ranges or dates of at most 512 characters") !=
               std::string::npos);
    options o;
    BOOST_TEST(!apply_options_json(o, R"({"auto-window": 5})", "options"));
}

BOOST_AUTO_TEST_CASE(json_values_use_the_same_rules) {
    options o;
    auto r = apply_options_json(o, R"({"max-migrations": "7", "auto": 1, "memory-reserve": 2048})",
                                "options");
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->max_migrations == 7u); // a JSON string is read as text
    BOOST_TEST(r->memory_reserve == 2048u);
    auto bad = apply_options_json(o, R"({"max-migrations": 2.5})", "options");
    BOOST_TEST_REQUIRE(!bad);
    BOOST_TEST(bad.error().to_string() ==
               "options.max-migrations: expected an integer from 0 to 100000, got 2.5");
    auto not_engine = apply_option(o, "interval", "5");
    BOOST_TEST_REQUIRE(!not_engine);
    BOOST_TEST(not_engine.error().path == "--interval");
    BOOST_TEST(!apply_options_json(o, R"({"interval": 0})", "options")); // still range-checked
}

BOOST_AUTO_TEST_CASE(config_file_reading_never_fails) {
    const char *text = "# comment\n"
                       "auto: 1\n"
                       "interval:30\n"
                       "  max-migrations :  5  \n"
                       "\n"
                       "ha-imbalance: normalized\n"
                       "future-key: some value\n"
                       "memory-limit: 1.5\n"
                       "this is not a line\n"
                       "auto: 0\n"
                       "mode: assigned\r\n"
                       "storage-map:\n";
    config_file f = parse_config_text(text);
    BOOST_TEST(f.values.size() == 5u);
    BOOST_TEST(f.values.at("auto") == "1");
    BOOST_TEST(f.values.at("interval") == "30");
    BOOST_TEST(f.values.at("max-migrations") == "5");
    BOOST_TEST(f.values.at("ha-imbalance") == "normalized");
    BOOST_TEST(f.values.at("mode") == "static");
    BOOST_TEST(f.unknown.size() == 1u);
    BOOST_TEST(f.unknown.at("future-key") == "some value");
    BOOST_TEST_REQUIRE(f.errors.size() == 2u);
    BOOST_TEST(f.errors[0].to_string("/etc/pve/balancer.cfg") ==
               "/etc/pve/balancer.cfg line 8: memory-limit: expected a fraction from 0.05 to 1, "
               "got 1.5");
    BOOST_TEST(f.errors[1].line == 9);
    BOOST_TEST(f.errors[1].key.empty());
    BOOST_TEST_REQUIRE(f.duplicates.size() == 1u);
    BOOST_TEST(f.duplicates[0].line == 10);
    BOOST_TEST(parse_config_text("").values.empty());
}

BOOST_AUTO_TEST_SUITE_END()
