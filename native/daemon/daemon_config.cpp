#include "daemon_config.h"

#include "pvebal/io.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <set>

namespace pvebal::balancerd {

namespace {

using setter = std::function<void(daemon_config &, long)>;

struct row {
    key_spec spec;
    setter set;
    std::function<long(const daemon_config &)> get;
};

#define FIELD(f)                                                                                   \
    [](daemon_config &c, long v) { c.f = static_cast<decltype(c.f)>(v); },                         \
        [](const daemon_config &c) { return static_cast<long>(c.f); }
#define PSI(r)                                                                                     \
    [](daemon_config &c, long v) { c.psi_threshold[index_of(r)] = static_cast<unsigned>(v); },     \
        [](const daemon_config &c) { return static_cast<long>(c.psi_threshold[index_of(r)]); }

const std::vector<row> &rows() {
    static const std::vector<row> table = {
        {{"auto", key_type::boolean, 0, 1, 0, "integration",
          "Automatic balancing by pve-balancerd."},
         FIELD(auto_balance)},
        {{"cycle-grace", key_type::integer, 1, 3600, 300, "daemon",
          "Seconds a cycle told to stop (SIGTERM) may take to finish its running migrations"
          " before it is killed (SIGKILL)."},
         FIELD(cycle_grace)},
        {{"cycle-timeout", key_type::integer, 10, 604800, 21600, "daemon",
          "Seconds one balancing cycle may run before pve-balancerd stops it."},
         FIELD(cycle_timeout)},
        {{"interval", key_type::integer, 1, 10080, 60, "integration",
          "Minutes between two automatic balancing runs."},
         FIELD(interval)},
        {{"psi-cpu", key_type::integer, 0, 100, 20, "daemon",
          "Percent of psi-window in which some tasks waited for CPU (/proc/pressure/cpu) above"
          " which a node reports pressure; 0: off."},
         PSI(psi_resource::cpu)},
        {{"psi-debounce", key_type::integer, 0, 3600, 30, "daemon",
          "Seconds node pressure must last before the active node starts a cycle for it."},
         FIELD(psi_debounce)},
        {{"psi-holdoff", key_type::integer, 0, 86400, 300, "daemon",
          "Seconds after a cycle during which node pressure does not start another one."},
         FIELD(psi_holdoff)},
        {{"psi-io", key_type::integer, 0, 100, 30, "daemon",
          "Percent of psi-window in which some tasks waited for I/O (/proc/pressure/io) above"
          " which a node reports pressure; 0: off."},
         PSI(psi_resource::io)},
        {{"psi-memory", key_type::integer, 0, 100, 10, "daemon",
          "Percent of psi-window in which some tasks waited for memory (/proc/pressure/memory)"
          " above which a node reports pressure; 0: off."},
         PSI(psi_resource::memory)},
        {{"psi-window", key_type::integer, 1, 10, 10, "daemon",
          "Seconds over which node pressure is measured (the kernel's PSI trigger window)."},
         FIELD(psi_window)},
    };
    return table;
}

#undef FIELD
#undef PSI

const row *find_row(std::string_view key) {
    for (const auto &r : rows()) {
        if (key == r.spec.key) {
            return &r;
        }
    }
    return nullptr;
}

std::string_view trim(std::string_view s) {
    auto not_space = [](char c) { return c != ' ' && c != '\t' && c != '\r'; };
    while (!s.empty() && !not_space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && !not_space(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

// ADAPTER: the keys of balancer.cfg the daemon does not read but knows to be valid (the engine's
// options and the integration keys of PVE::Balancer::Config). Any other key gets a warning.
bool known_other_key(std::string_view k) {
    static const std::set<std::string, std::less<>> integration = {
        "ha-guests",         "ha-scheduler", "history",   "max-replans",
        "migration-timeout", "on-failure",   "rrd-window"};
    const auto &engine = option_keys();
    return integration.contains(k) || std::binary_search(engine.begin(), engine.end(), k);
}

bool valid_key(std::string_view k) {
    if (k.empty() || k[0] < 'a' || k[0] > 'z') {
        return false;
    }
    return std::all_of(k.begin(), k.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

// The value of `spec` in `text`, or what was expected. Booleans are 0 or 1 and integers plain
// decimal, as PVE::JSONSchema validates them in the API.
std::optional<long> parse_value(const key_spec &spec, std::string_view text) {
    long v = 0;
    if (text.empty() || (text.size() > 1 && text[0] == '0')) {
        return std::nullopt;
    }
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    if (v < spec.min || v > spec.max) {
        return std::nullopt;
    }
    return v;
}

std::string expected(const key_spec &spec) {
    if (spec.type == key_type::boolean) {
        return "expected 0 or 1";
    }
    return "expected an integer from " + std::to_string(spec.min) + " to " +
           std::to_string(spec.max);
}

} // namespace

const std::vector<key_spec> &daemon_keys() {
    static const std::vector<key_spec> specs = [] {
        std::vector<key_spec> out;
        for (const auto &r : rows()) {
            out.push_back(r.spec);
        }
        return out;
    }();
    return specs;
}

result<config_load> parse_config_text(std::string_view text, const std::string &file) {
    config_load out;
    std::set<std::string, std::less<>> seen;
    unsigned lineno = 0;
    while (!text.empty()) {
        auto nl = text.find('\n');
        auto raw = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ++lineno;
        auto where = file + " line " + std::to_string(lineno);
        auto line = trim(raw);
        if (line.empty() || line[0] == '#') {
            continue;
        }
        auto colon = line.find(':');
        if (colon == std::string_view::npos || !valid_key(trim(line.substr(0, colon)))) {
            return fail(where, "unable to parse '" + std::string(raw) + "': expected 'key: value'");
        }
        std::string key(trim(line.substr(0, colon)));
        auto value = trim(line.substr(colon + 1));
        if (!seen.insert(key).second) {
            return fail(where, "duplicate key '" + key + "'");
        }
        if (const row *r = find_row(key)) {
            auto v = parse_value(r->spec, value);
            if (!v) {
                return fail(where,
                            key + ": " + expected(r->spec) + ", got '" + std::string(value) + "'");
            }
            r->set(out.config, *v);
        } else {
            if (!known_other_key(key)) {
                out.warnings.push_back(where + ": unknown key '" + key + "' (ignored)");
            }
            out.config.others.emplace(key, std::string(value));
        }
    }
    return out;
}

bool is_bookkeeping_key(const std::string &key) {
    // How runs are recorded and executed, or how HA places guests: none changes what a balance
    // plan would be, so a change of them waits for the next cycle.
    static const std::set<std::string, std::less<>> keys = {
        "ha-scheduler", "history", "max-replans", "migration-timeout", "on-failure"};
    return keys.contains(key);
}

config_change compare(const daemon_config &before, const daemon_config &after) {
    config_change c;
    c.auto_on = !before.auto_balance && after.auto_balance;
    c.auto_off = before.auto_balance && !after.auto_balance;
    c.schedule = before.interval != after.interval;
    c.pressure =
        before.psi_threshold != after.psi_threshold || before.psi_window != after.psi_window;
    c.supervision =
        before.cycle_timeout != after.cycle_timeout || before.cycle_grace != after.cycle_grace;
    std::set<std::string> keys;
    for (const auto &[k, v] : before.others) {
        keys.insert(k);
    }
    for (const auto &[k, v] : after.others) {
        keys.insert(k);
    }
    for (const auto &k : keys) {
        if (is_bookkeeping_key(k)) {
            continue;
        }
        auto a = before.others.find(k);
        auto b = after.others.find(k);
        bool had = a != before.others.end();
        bool has = b != after.others.end();
        if (had != has || (had && a->second != b->second)) {
            c.plan_inputs = true;
        }
    }
    return c;
}

} // namespace pvebal::balancerd
