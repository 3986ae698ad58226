#include "daemon_config.h"

#include "pvebal/option_schema.h"

#include <charconv>
#include <set>

namespace pvebal::balancerd {

namespace {

// The daemon's fields, by key. Values come canonical from the engine's reader (booleans "0" or
// "1", integers in range), or as the schema's default text.
struct field {
    std::string_view key;
    void (*set)(daemon_config &, unsigned);
};

const std::vector<field> &fields() {
    static const std::vector<field> f = {
        {"auto", [](daemon_config &c, unsigned v) { c.auto_balance = v != 0; }},
        {"cycle-grace", [](daemon_config &c, unsigned v) { c.cycle_grace = v; }},
        {"cycle-timeout", [](daemon_config &c, unsigned v) { c.cycle_timeout = v; }},
        {"interval", [](daemon_config &c, unsigned v) { c.interval = v; }},
        {"psi-cpu",
         [](daemon_config &c, unsigned v) { c.psi_threshold[index_of(psi_resource::cpu)] = v; }},
        {"psi-debounce", [](daemon_config &c, unsigned v) { c.psi_debounce = v; }},
        {"psi-holdoff", [](daemon_config &c, unsigned v) { c.psi_holdoff = v; }},
        {"psi-io",
         [](daemon_config &c, unsigned v) { c.psi_threshold[index_of(psi_resource::io)] = v; }},
        {"psi-memory",
         [](daemon_config &c, unsigned v) { c.psi_threshold[index_of(psi_resource::memory)] = v; }},
        {"psi-window", [](daemon_config &c, unsigned v) { c.psi_window = v; }},
    };
    return f;
}

std::optional<unsigned> to_unsigned(std::string_view s) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

} // namespace

const std::vector<std::string_view> &daemon_keys() {
    static const std::vector<std::string_view> keys = [] {
        std::vector<std::string_view> k;
        for (const auto &f : fields()) {
            k.push_back(f.key);
        }
        return k;
    }();
    return keys;
}

result<config_load> read_daemon_config(std::string_view text, const std::string &file) {
    config_file f = parse_config_text(text);
    if (!f.errors.empty()) {
        // The first problem names the line; the count says whether there are more.
        std::string msg = f.errors.front().to_string(file);
        if (f.errors.size() > 1) {
            msg += " (and " + std::to_string(f.errors.size() - 1) + " more)";
        }
        return fail("", msg);
    }
    config_load out;
    for (const auto &d : f.duplicates) {
        out.warnings.push_back(d.to_string(file));
    }
    for (const auto &[key, value] : f.unknown) {
        out.warnings.push_back(file + ": unknown key '" + key + "' (ignored by this version)");
    }
    std::set<std::string_view> mine;
    for (const auto &fl : fields()) {
        mine.insert(fl.key);
        const option_info *o = find_option(fl.key);
        if (!o) {
            return fail("", "internal: option '" + std::string(fl.key) +
                                "' is missing from the engine's option schema");
        }
        auto it = f.values.find(std::string(fl.key));
        std::string_view text_value =
            it != f.values.end() ? std::string_view(it->second) : o->default_text;
        auto v = to_unsigned(text_value);
        if (!v) {
            return fail("", "internal: option '" + std::string(fl.key) + "' has value '" +
                                std::string(text_value) + "'");
        }
        fl.set(out.config, *v);
    }
    for (const auto &[key, value] : f.values) {
        if (!mine.contains(key)) {
            out.config.others.emplace(key, value);
        }
    }
    for (const auto &[key, value] : f.unknown) {
        out.config.others.emplace(key, value);
    }
    return out;
}

bool is_bookkeeping_key(const std::string &key) {
    // How runs are recorded and executed, or how HA places guests, or what is notified: none
    // changes what a balance plan would be, so a change of them waits for the next cycle.
    static const std::set<std::string, std::less<>> keys = {
        "capacity-target", "ha-imbalance",      "ha-scheduler", "history",
        "max-replans",     "migration-timeout", "notify",       "on-failure"};
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
