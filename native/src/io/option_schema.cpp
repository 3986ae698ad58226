// The option table: every key pve-balancer knows, with its type, range, default and description,
// and for engine options the one line that stores a checked value in `options`. Values arrive
// as text (flags, balancer.cfg, API parameters) or as JSON (a snapshot's "options", a --config
// file); both are checked by the same per-type rules here and nowhere else.
#include "io/option_values.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <regex>

namespace pvebal {

namespace detail {
namespace {

using t = option_type;
constexpr option_scope eng = option_scope::engine;
constexpr option_scope integ = option_scope::integration;
constexpr double size_max = 1152921504606846976.0; // 2^60 bytes

// clang-format off
const std::vector<option_row> &rows() {
    static const std::vector<option_row> table = [] {
        std::vector<option_row> r = {
        // --- scoring ---------------------------------------------------------------------
        {{"mode", t::choice, eng, "scoring", 0, 0, "", {"used", "static"}, "used",
          "Load model: 'used' counts each guest's measured CPU and memory (RRD averages when "
          "known); 'static' its vCPUs and configured memory while it runs (Proxmox CRS static)."},
         {{"assigned", "static"}},
         [](options &o, const option_value &v) {
             o.mode = v.text == "used" ? load_mode::used : load_mode::assigned;
         }},
        {{"cpu-weight", t::number, eng, "scoring", 0, 100, "", {}, "1",
          "Weight of CPU in the objective."},
         {}, [](options &o, const option_value &v) { o.cpu_weight = v.number; }},
        {{"memory-weight", t::number, eng, "scoring", 0, 100, "", {}, "1",
          "Weight of memory in the objective."},
         {}, [](options &o, const option_value &v) { o.memory_weight = v.number; }},
        {{"pressure-threshold", t::number, eng, "scoring", 0, 1, "a fraction", {}, "0.8",
          "Utilisation above which a node adds a quadratic penalty to the objective."},
         {}, [](options &o, const option_value &v) { o.pressure_threshold = v.number; }},
        {{"pressure-weight", t::number, eng, "scoring", 0, 1000, "", {}, "10",
          "Weight of the pressure penalty."},
         {}, [](options &o, const option_value &v) { o.pressure_weight = v.number; }},
        // --- hard limits -----------------------------------------------------------------
        {{"cpu-limit", t::number, eng, "limits", 0.05, 1, "a fraction", {}, "0.9",
          "A move may not bring a node's CPU above this fraction of its threads."},
         {}, [](options &o, const option_value &v) { o.cpu_limit = v.number; }},
        {{"memory-limit", t::number, eng, "limits", 0.05, 1, "a fraction", {}, "0.9",
          "A move may not bring a node's memory above this fraction."},
         {}, [](options &o, const option_value &v) { o.memory_limit = v.number; }},
        {{"memory-reserve", t::size, eng, "limits", 0, size_max, "", {}, "1G",
          "Memory that stays free on every target: usable memory is min(memory-limit x "
          "maxmem, maxmem - memory-reserve)."},
         {}, [](options &o, const option_value &v) {
             o.memory_reserve = static_cast<std::uint64_t>(v.number);
         }},
        {{"max-vcpu-ratio", t::number, eng, "limits", 0.1, 100, "a ratio", {}, "",
          "Cap on assigned vCPUs of running guests / node threads (overcommit); off when unset."},
         {}, [](options &o, const option_value &v) { o.max_vcpu_ratio = v.number; }},
        {{"max-memory-ratio", t::number, eng, "limits", 0.1, 100, "a ratio", {}, "",
          "Cap on assigned memory of running guests / node memory; off when unset."},
         {}, [](options &o, const option_value &v) { o.max_memory_ratio = v.number; }},
        {{"allow-container-restart", t::boolean, eng, "limits", 0, 0, "", {}, "0",
          "Allow restart migration of running containers (they stop for the move); when off "
          "running containers do not move."},
         {}, [](options &o, const option_value &v) { o.allow_container_restart = v.flag; }},
        {{"honor-proxlb-tags", t::boolean, eng, "limits", 0, 0, "", {}, "1",
          "Honour ProxLB's plb_ignore_*, plb_pin_<node>, plb_affinity_<g> and "
          "plb_anti_affinity_<g> tags."},
         {}, [](options &o, const option_value &v) { o.honor_proxlb_tags = v.flag; }},
        {{"maintenance-nodes", t::node_list, eng, "limits", 0, 0, "", {}, "",
          "Nodes treated as in maintenance: never a target, drained by evacuate."},
         {}, [](options &o, const option_value &v) { o.maintenance_nodes = v.names; }},
        {{"storage-map", t::storage_map, eng, "limits", 0, 0, "", {}, "",
          "Allowed mapping of local storage on the source to storage on the target, "
          "'source:target,...'."},
         {}, [](options &o, const option_value &v) { o.storage_map = v.pairs; }},
        // --- balance ---------------------------------------------------------------------
        {{"max-migrations", t::integer, eng, "balance", 0, 100000, "", {}, "10",
          "The largest number of migrations in one balance plan."},
         {}, [](options &o, const option_value &v) {
             o.max_migrations = static_cast<unsigned>(v.number);
         }},
        {{"threshold", t::number, eng, "balance", 0, 10, "", {}, "0.02",
          "If the objective is at or below this value, nothing is planned."},
         {}, [](options &o, const option_value &v) { o.threshold = v.number; }},
        {{"min-improvement", t::number, eng, "balance", 0, 1, "", {}, "0.02",
          "Every move must lower the objective by at least this share of it, divided by the "
          "number of active nodes."},
         {}, [](options &o, const option_value &v) { o.min_improvement = v.number; }},
        {{"cost-weight", t::number, eng, "balance", 0, 1, "", {}, "0.04",
          "A move is ranked by its gain minus this share of the objective, divided by the "
          "active nodes, per minute of estimated migration time."},
         {}, [](options &o, const option_value &v) { o.cost_weight = v.number; }},
        // --- migration cost model --------------------------------------------------------
        {{"bandwidth", t::size, eng, "cost", 1, size_max, "bytes per second", {}, "1G",
          "Bytes per second available to one migration."},
         {}, [](options &o, const option_value &v) { o.bandwidth = v.number; }},
        {{"max-downtime", t::number, eng, "cost", 0.001, 3600, "seconds", {}, "0.1",
          "Downtime limit of a live migration (QEMU's default)."},
         {}, [](options &o, const option_value &v) { o.max_downtime = v.number; }},
        {{"restart-downtime", t::number, eng, "cost", 0, 86400, "seconds", {}, "30",
          "Shutdown plus start time of a restart-migrated container."},
         {}, [](options &o, const option_value &v) { o.restart_downtime = v.number; }},
        {{"dirty-rate-per-cpu", t::size, eng, "cost", 0, size_max, "bytes per second", {},
          "64M", "Memory dirtied per second per busy vCPU (pre-copy model)."},
         {}, [](options &o, const option_value &v) { o.dirty_rate_per_cpu = v.number; }},
        // --- ordering --------------------------------------------------------------------
        {{"max-parallel", t::integer, eng, "ordering", 1, 1000, "", {}, "4",
          "Migrations running at the same time in the whole cluster."},
         {}, [](options &o, const option_value &v) {
             o.max_parallel = static_cast<unsigned>(v.number);
         }},
        {{"max-parallel-per-node", t::integer, eng, "ordering", 1, 100, "", {}, "2",
          "Migrations running at the same time that touch one node, as source or target."},
         {}, [](options &o, const option_value &v) {
             o.max_parallel_per_node = static_cast<unsigned>(v.number);
         }},
        // --- HA --------------------------------------------------------------------------
        {{"default-priority", t::integer, eng, "ha", 0, 1000, "", {}, "0",
          "HA restart priority of guests without a pvebal-priority-N tag."},
         {}, [](options &o, const option_value &v) {
             o.default_priority = static_cast<int>(v.number);
         }},
        {{"keep-ha-capacity", t::integer, eng, "ha", 0, 64, "failures", {}, "",
          "Node failures the HA guests must still survive after every wave of a balance or "
          "evacuate plan; a move that would lower it is left out with the reason, and place "
          "ranks nodes that keep it first. Unset: as many as they survive before the plan, at "
          "most capacity-target; 0: off."},
         {}, [](options &o, const option_value &v) {
             o.keep_ha_capacity = static_cast<int>(v.number);
         }},
        // --- time bound ------------------------------------------------------------------
        {{"deadline", t::number, eng, "limits", 0, 86400, "seconds", {}, "10",
          "Seconds a command may search (balance, evacuate, failover, capacity) before it "
          "returns its best result so far with a note saying it stopped early; 0: no limit."},
         {}, [](options &o, const option_value &v) { o.deadline = v.number; }},
        // --- Proxmox integration (validated here, used by Perl, HA and the daemon) --------
        {{"auto", t::boolean, integ, "automation", 0, 0, "", {}, "0",
          "Automatic balancing by pve-balancerd."},
         {}, nullptr},
        {{"interval", t::integer, integ, "automation", 1, 10080, "minutes", {}, "60",
          "Minutes between two automatic balancing runs."},
         {}, nullptr},
        // pve-balancerd (docs/daemon.md): node pressure and the cycle child.
        {{"psi-cpu", t::integer, integ, "automation", 0, 100, "a percentage", {}, "20",
          "Percent of psi-window in which some tasks waited for CPU (/proc/pressure/cpu) "
          "above which a node reports pressure; 0: off."},
         {}, nullptr},
        {{"psi-memory", t::integer, integ, "automation", 0, 100, "a percentage", {}, "10",
          "Percent of psi-window in which some tasks waited for memory "
          "(/proc/pressure/memory) above which a node reports pressure; 0: off."},
         {}, nullptr},
        {{"psi-io", t::integer, integ, "automation", 0, 100, "a percentage", {}, "30",
          "Percent of psi-window in which some tasks waited for I/O (/proc/pressure/io) "
          "above which a node reports pressure; 0: off."},
         {}, nullptr},
        {{"psi-window", t::integer, integ, "automation", 1, 10, "seconds", {}, "10",
          "Seconds over which node pressure is measured (the kernel's PSI trigger window)."},
         {}, nullptr},
        {{"psi-debounce", t::integer, integ, "automation", 0, 3600, "seconds", {}, "30",
          "Seconds node pressure must last before the active node starts a cycle for it."},
         {}, nullptr},
        {{"psi-holdoff", t::integer, integ, "automation", 0, 86400, "seconds", {}, "300",
          "Seconds after a cycle during which node pressure does not start another one."},
         {}, nullptr},
        {{"cycle-timeout", t::integer, integ, "automation", 10, 604800, "seconds", {}, "21600",
          "Seconds one automatic balancing cycle may run before pve-balancerd stops it."},
         {}, nullptr},
        {{"cycle-grace", t::integer, integ, "automation", 1, 3600, "seconds", {}, "300",
          "Seconds a cycle told to stop (SIGTERM) may take to finish its running migrations "
          "before it is killed (SIGKILL)."},
         {}, nullptr},
        {{"ha-scheduler", t::choice, integ, "ha-scheduler", 0, 0, "",
          {"compatible", "capacity-aware"}, "compatible",
          "How the HA manager places recovered and starting guests when the pve-balancer HA "
          "scheduler is installed: exactly as Proxmox does, or capacity-aware."},
         {}, nullptr},
        {{"ha-imbalance", t::choice, integ, "ha-scheduler", 0, 0, "",
          {"auto", "normalized", "raw"}, "auto",
          "For experts: 'auto' takes the imbalance of the installed libpve-rs-perl from the "
          "verified versions; 'normalized' (proxmox-resource-scheduling 2.1 and later) or 'raw' "
          "(2.0) states it and runs the pve-balancer HA scheduler even on versions not verified "
          "(docs/ha.md)."},
         {}, nullptr},
        {{"ha-guests", t::choice, integ, "executor", 0, 0, "", {"auto", "move", "skip"}, "auto",
          "Whether balancing moves HA-managed guests (through the HA manager); 'auto' leaves "
          "those that Proxmox's CRS auto-rebalance balances to it. Evacuation always moves "
          "them."},
         {}, nullptr},
        {{"on-failure", t::choice, integ, "executor", 0, 0, "", {"stop", "replan"}, "stop",
          "What a run does when a migration fails: stop after the running migrations, or "
          "compute a new plan from the current state and go on."},
         {}, nullptr},
        {{"max-replans", t::integer, integ, "executor", 0, 10, "", {}, "2",
          "How often one run may re-plan (on-failure replan)."},
         {}, nullptr},
        {{"migration-timeout", t::integer, integ, "executor", 60, 86400, "seconds", {}, "3600",
          "Seconds one migration may take before it is aborted and counted failed."},
         {}, nullptr},
        {{"rrd-window", t::integer, integ, "executor", 0, 60, "minutes", {}, "10",
          "Minutes of RRD history averaged for CPU and memory demand (0: the current sample "
          "only)."},
         {}, nullptr},
        {{"history", t::integer, integ, "executor", 1, 200, "", {}, "20",
          "How many past runs are kept in /etc/pve/balancer/runs.json."},
         {}, nullptr},
        // Automatic balancing: when a cycle of pve-balancerd may act (group "cycle": read by
        // PVE::Balancer::Manager, not by the daemon; docs/daemon.md). The windows are checked by
        // PVE::Balancer::Window.
        {{"hold-rounds", t::integer, integ, "cycle", 1, 100, "", {}, "2",
          "Consecutive automatic cycles that must find the cluster out of balance before one "
          "migrates (1: the first one does)."},
         {}, nullptr},
        {{"stable-period", t::integer, integ, "cycle", 0, 10080, "minutes", {}, "0",
          "Minutes a new balance is expected to last: automatic moves must pay for their "
          "migration within it (cost-weight counts for 60 minutes and is scaled by 60 / "
          "stable-period). 0: as long as the imbalance has lasted, at least interval, at most "
          "a day."},
         {}, nullptr},
        {{"cooldown", t::integer, integ, "cycle", 0, 10080, "minutes", {}, "60",
          "Minutes after an automatic migration in which automatic balancing leaves the guest "
          "alone and, for twice as long, never moves it back to the node it left; a guest moved "
          "again within that time gets twice the cooldown next time (0: off)."},
         {}, nullptr},
        {{"cooldown-max", t::integer, integ, "cycle", 1, 43200, "minutes", {}, "1440",
          "The longest cooldown the back-off reaches."},
         {}, nullptr},
        {{"max-migrations-per-hour", t::integer, integ, "cycle", 1, 10000, "", {}, "20",
          "Automatic migrations started in any 60 minutes, at most."},
         {}, nullptr},
        {{"auto-window", t::text, integ, "cycle", 0, 512, "time ranges", {}, "",
          "When automatic balancing may migrate, in local time: daily ranges '[days] "
          "HH:MM-HH:MM', comma-separated, e.g. 'mon..fri 22:00-06:00, sat,sun 0-24'; empty: "
          "any time."},
         {}, nullptr},
        {{"auto-blackout", t::text, integ, "cycle", 0, 512, "time ranges or dates", {}, "",
          "When automatic balancing must not migrate: daily ranges as in auto-window, or "
          "dates and date ranges 'YYYY-MM-DD[..YYYY-MM-DD]', comma-separated."},
         {}, nullptr},
        {{"backup-guard", t::integer, integ, "cycle", 0, 1440, "minutes", {}, "30",
          "Minutes before a scheduled backup (vzdump jobs in /etc/pve/jobs.cfg) in which "
          "automatic balancing does not move the guests it includes (0: backups are not looked "
          "at)."},
         {}, nullptr},
        {{"backup-duration", t::integer, integ, "cycle", 1, 1440, "minutes", {}, "180",
          "Minutes after a scheduled backup starts in which its guests count as being backed "
          "up and are not moved by automatic balancing."},
         {}, nullptr},
        {{"notify", t::choice, integ, "cycle", 0, 0, "", {"all", "problems", "none"},
          "all",
          "What pve-balancer reports through Proxmox's notification system (Datacenter -> "
          "Notifications): 'all' (runs that migrated, failed migrations, HA capacity), "
          "'problems' (failed migrations, HA capacity below capacity-target), or 'none'."},
         {}, nullptr},
        {{"capacity-target", t::integer, integ, "cycle", 0, 64, "", {}, "1",
          "Node failures the HA guests should survive (N+k); a cycle that finds fewer sends a "
          "notification (0: not checked). Also caps the default of keep-ha-capacity."},
         {}, [](options &o, const option_value &v) {
             o.capacity_target = static_cast<int>(v.number); // read from JSON layers only
         }},
        };
        std::sort(r.begin(), r.end(), [](const option_row &a, const option_row &b) {
            return a.info.key < b.info.key;
        });
        return r;
    }();
    return table;
}
// clang-format on

std::string format_number(double d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.15g", d);
    return buf;
}

std::string quote(std::string_view text) {
    std::string s(text.substr(0, 40));
    if (text.size() > 40) {
        s = s.substr(0, 37) + "...";
    }
    return describe(Json::Value(s));
}

const std::regex &integer_re() {
    static const std::regex re("[-+]?[0-9]+");
    return re;
}

const std::regex &number_re() {
    static const std::regex re("[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?");
    return re;
}

// Node and storage ids as Proxmox accepts them (pve-node, pve-storage-id formats).
bool is_node_name(const std::string &s) {
    static const std::regex re("[a-zA-Z0-9]([a-zA-Z0-9\\-]*[a-zA-Z0-9])?");
    return s.size() <= 63 && std::regex_match(s, re);
}

bool is_storage_id(const std::string &s) {
    static const std::regex re("[a-zA-Z][a-zA-Z0-9\\-_.]*[a-zA-Z0-9]|[a-zA-Z]");
    return std::regex_match(s, re);
}

// The offending text as messages show it: numbers bare, anything else quoted.
std::string shown(std::string_view text) {
    std::string s(text);
    return std::regex_match(s, number_re()) && s.size() <= 40 ? s : quote(text);
}

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> out;
    std::string cur;
    for (char ch : text) {
        if (ch == ',' || ch == ';' || ch == ' ' || ch == '\t') {
            if (!cur.empty()) {
                out.push_back(std::move(cur));
                cur.clear();
            }
        } else {
            cur += ch;
        }
    }
    if (!cur.empty()) {
        out.push_back(std::move(cur));
    }
    return out;
}

result<option_value> range_checked(const option_info &o, double d, std::string_view text) {
    if (!std::isfinite(d) || d < o.minimum || d > o.maximum) {
        return fail("", "expected " + expected_text(o) + ", got " + shown(text));
    }
    option_value v;
    v.number = d;
    return v;
}

// A list given as text: "" clears it (the default), but separators alone ("," or " ; ") are a
// mistake (an unset shell variable, a stray comma), not an empty list.
result<std::vector<std::string>> list_items(const option_info &o, std::string_view text) {
    std::vector<std::string> items = split_list(text);
    if (items.empty() && text.find_first_not_of(" \t") != std::string_view::npos) {
        return fail("", "expected " + expected_text(o) + ", got " + quote(text) +
                            " (no entries; an empty value clears the list)");
    }
    return items;
}

result<option_value> names_value(const option_info &o, std::vector<std::string> names,
                                 std::string_view text) {
    for (const std::string &n : names) {
        if (!is_node_name(n)) {
            return fail("", "expected " + expected_text(o) + ", got " + shown(text) + " (" +
                                quote(n) + " is not a node name)");
        }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    option_value v;
    v.names = std::move(names);
    return v;
}

result<option_value> pairs_value(const option_info &o,
                                 std::vector<std::pair<std::string, std::string>> pairs,
                                 std::string_view text) {
    for (const auto &[from, to] : pairs) {
        if (!is_storage_id(from) || !is_storage_id(to)) {
            return fail("", "expected " + expected_text(o) + ", got " + shown(text));
        }
    }
    std::sort(pairs.begin(), pairs.end());
    for (size_t i = 1; i < pairs.size(); ++i) {
        if (pairs[i].first == pairs[i - 1].first) {
            return fail("", "storage " + quote(pairs[i].first) + " is mapped twice");
        }
    }
    option_value v;
    v.pairs = std::move(pairs);
    return v;
}

} // namespace

const std::vector<option_row> &option_rows() {
    return rows();
}

const option_row *find_row(std::string_view key) {
    const auto &r = rows();
    auto it =
        std::lower_bound(r.begin(), r.end(), key,
                         [](const option_row &a, std::string_view k) { return a.info.key < k; });
    return it != r.end() && it->info.key == key ? &*it : nullptr;
}

result<option_value> value_from_text(const option_row &row, std::string_view text) {
    const option_info &o = row.info;
    const std::string s(text);
    switch (o.type) {
    case option_type::boolean: {
        std::string l = s;
        std::transform(l.begin(), l.end(), l.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        option_value v;
        if (l == "1" || l == "true" || l == "yes" || l == "on") {
            v.flag = true;
        } else if (l == "0" || l == "false" || l == "no" || l == "off") {
            v.flag = false;
        } else {
            return fail("", "expected " + expected_text(o) + ", got " + shown(text));
        }
        return v;
    }
    case option_type::integer: {
        if (!std::regex_match(s, integer_re())) {
            return fail("", "expected " + expected_text(o) + ", got " + shown(text));
        }
        return range_checked(o, std::strtod(s.c_str(), nullptr), text);
    }
    case option_type::number: {
        if (!std::regex_match(s, number_re())) {
            return fail("", "expected " + expected_text(o) + ", got " + shown(text));
        }
        return range_checked(o, std::strtod(s.c_str(), nullptr), text);
    }
    case option_type::size: {
        auto bytes = parse_size(s);
        if (!bytes) {
            return fail("", "expected " + expected_text(o) + ", got " + shown(text));
        }
        auto v = range_checked(o, static_cast<double>(*bytes), text);
        if (v) {
            v->text = s;
        }
        return v;
    }
    case option_type::choice: {
        for (std::string_view c : o.choices) {
            if (s == c) {
                option_value v;
                v.text = s;
                return v;
            }
        }
        for (const auto &[alias, canonical] : row.aliases) {
            if (s == alias) {
                option_value v;
                v.text = std::string(canonical);
                return v;
            }
        }
        return fail("", "expected " + expected_text(o) + ", got " + quote(text));
    }
    case option_type::node_list: {
        auto items = list_items(o, text);
        if (!items) {
            return std::unexpected(items.error());
        }
        return names_value(o, std::move(*items), text);
    }
    case option_type::storage_map: {
        auto items = list_items(o, text);
        if (!items) {
            return std::unexpected(items.error());
        }
        std::vector<std::pair<std::string, std::string>> pairs;
        for (const std::string &pair : *items) {
            auto colon = pair.find(':');
            if (colon == std::string::npos || pair.find(':', colon + 1) != std::string::npos) {
                return fail("", "expected " + expected_text(o) + ", got " + shown(text));
            }
            pairs.emplace_back(pair.substr(0, colon), pair.substr(colon + 1));
        }
        return pairs_value(o, std::move(pairs), text);
    }
    case option_type::text: {
        const bool printable =
            std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= 0x20 && c != 0x7f; });
        if (!printable || static_cast<double>(s.size()) > o.maximum) {
            return fail("", "expected " + expected_text(o) + ", got " + shown(text));
        }
        option_value v;
        v.text = s;
        return v;
    }
    }
    return fail("", "unsupported option type");
}

option_value value_from_json(const option_row &row, const Json::Value &v, const std::string &path) {
    const option_info &o = row.info;
    auto bad = [&]() -> void {
        reject(path, "expected " + expected_text(o) + ", got " + describe(v));
    };
    // A value written as a JSON string (a flag, a Perl scalar that was once a string) is read
    // like text; every other JSON type must match the option's.
    if (v.isString() && o.type != option_type::node_list) {
        auto r = value_from_text(row, v.asString());
        if (!r) {
            reject(path, r.error().message);
        }
        return *r;
    }
    switch (o.type) {
    case option_type::boolean: {
        option_value out;
        if (v.isBool()) {
            out.flag = v.asBool();
        } else if (v.isIntegral() && !v.isBool() &&
                   (v.asLargestInt() == 0 || v.asLargestInt() == 1)) {
            out.flag = v.asLargestInt() == 1;
        } else {
            bad();
        }
        return out;
    }
    case option_type::integer:
    case option_type::size:
        if (!v.isIntegral() || v.isBool()) {
            bad();
        }
        [[fallthrough]];
    case option_type::number: {
        if (!v.isNumeric() || v.isBool()) {
            bad();
        }
        auto r = range_checked(o, v.asDouble(), describe(v));
        if (!r) {
            bad();
        }
        return *r;
    }
    case option_type::choice:
    case option_type::text:
        bad();
        break;
    case option_type::node_list: {
        std::vector<std::string> names;
        if (v.isString()) {
            auto items = list_items(o, v.asString());
            if (!items) {
                reject(path, items.error().message);
            }
            names = std::move(*items);
        } else if (v.isArray()) {
            for (Json::ArrayIndex i = 0; i < v.size(); ++i) {
                names.push_back(as_string(v[i], index_path(path, i)));
            }
        } else {
            bad();
        }
        auto r = names_value(o, std::move(names), describe(v));
        if (!r) {
            reject(path, r.error().message);
        }
        return *r;
    }
    case option_type::storage_map: {
        if (!v.isObject()) {
            bad();
        }
        std::vector<std::pair<std::string, std::string>> pairs;
        for (const std::string &k : v.getMemberNames()) {
            pairs.emplace_back(k, as_string(v[k], key_path(path, k)));
        }
        auto r = pairs_value(o, std::move(pairs), describe(v));
        if (!r) {
            reject(path, r.error().message);
        }
        return *r;
    }
    }
    bad();
    return {};
}

std::string canonical_text(const option_row &row, const option_value &v) {
    switch (row.info.type) {
    case option_type::boolean:
        return v.flag ? "1" : "0";
    case option_type::integer:
    case option_type::number:
        return format_number(v.number);
    case option_type::size:
        return v.text.empty() ? format_number(v.number) : v.text;
    case option_type::choice:
    case option_type::text:
        return v.text;
    case option_type::node_list: {
        std::string s;
        for (const std::string &n : v.names) {
            s += (s.empty() ? "" : ",") + n;
        }
        return s;
    }
    case option_type::storage_map: {
        std::string s;
        for (const auto &[from, to] : v.pairs) {
            s += (s.empty() ? "" : ",") + from + ":" + to;
        }
        return s;
    }
    }
    return {};
}

} // namespace detail

using namespace detail;

const std::vector<option_info> &option_schema() {
    static const std::vector<option_info> schema = [] {
        std::vector<option_info> s;
        for (const option_row &r : option_rows()) {
            s.push_back(r.info);
        }
        return s;
    }();
    return schema;
}

const option_info *find_option(std::string_view key) {
    const option_row *r = find_row(key);
    // option_schema() lists the rows in the same order: hand out its element.
    return r != nullptr ? &option_schema()[static_cast<size_t>(r - option_rows().data())] : nullptr;
}

std::string expected_text(const option_info &o) {
    switch (o.type) {
    case option_type::boolean:
        return "a boolean (0, 1, true or false)";
    case option_type::integer:
    case option_type::number: {
        std::string what = !o.unit.empty()                  ? std::string(o.unit)
                           : o.type == option_type::integer ? "an integer"
                                                            : "a number";
        return what + " from " + format_number(o.minimum) + " to " + format_number(o.maximum);
    }
    case option_type::size:
        return std::string(o.unit.empty() ? "a size in bytes"
                                          : "a size in " + std::string(o.unit)) +
               " (integer, or with K/M/G/T suffix)";
    case option_type::choice: {
        std::string s;
        for (size_t i = 0; i < o.choices.size(); ++i) {
            s += i == 0 ? "" : i + 1 == o.choices.size() ? " or " : ", ";
            s += "\"" + std::string(o.choices[i]) + "\"";
        }
        return s;
    }
    case option_type::node_list:
        return "a list of node names";
    case option_type::storage_map:
        return "storage pairs \"source:target,...\"";
    case option_type::text:
        return (o.unit.empty() ? std::string("one line of text") : std::string(o.unit)) +
               " of at most " + format_number(o.maximum) + " characters";
    }
    return "a value";
}

result<std::string> normalize_option_value(const option_info &o, std::string_view text) {
    const option_row *row = find_row(o.key);
    if (row == nullptr) {
        return fail("", "unknown option");
    }
    auto v = value_from_text(*row, text);
    if (!v) {
        return std::unexpected(v.error());
    }
    return canonical_text(*row, *v);
}

std::string config_issue::to_string(std::string_view filename) const {
    std::string s = std::string(filename) + " line " + std::to_string(line) + ": ";
    return key.empty() ? s + message : s + key + ": " + message;
}

config_file parse_config_text(std::string_view text) {
    static const std::regex line_re("\\s*([a-z][a-z0-9\\-]*)\\s*:\\s*(.*?)\\s*");
    config_file out;
    int lineno = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        std::string line(text.substr(pos, end - pos));
        pos = end + 1;
        ++lineno;
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        const size_t first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') {
            continue;
        }
        std::smatch m;
        if (!std::regex_match(line, m, line_re)) {
            out.errors.push_back({lineno, "", "expected 'key: value', got " + quote(line)});
            continue;
        }
        const std::string key = m[1].str();
        const std::string value = m[2].str();
        if (out.values.contains(key) || out.unknown.contains(key)) {
            out.duplicates.push_back({lineno, key, "set again; the first value counts"});
            continue;
        }
        const option_row *row = find_row(key);
        if (row == nullptr) {
            out.unknown[key] = value;
            continue;
        }
        if (value.empty()) { // "key:" with nothing: the default
            continue;
        }
        auto v = value_from_text(*row, value);
        if (!v) {
            out.errors.push_back({lineno, key, v.error().message});
            continue;
        }
        out.values[key] = canonical_text(*row, *v);
    }
    return out;
}

} // namespace pvebal
