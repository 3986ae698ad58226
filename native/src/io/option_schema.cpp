// The option table: every key pve-balancer knows, with its type, range, default and description,
// and for engine options the one line that stores a checked value in `options`; and the reader
// of balancer.cfg. The per-type rules that check a value are in option_values.cpp.
#include "io/option_values.h"
#include "pvebal/dimensions.h"

#include <algorithm>
#include <regex>
#include <utility>

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
        {{"disk-io-capacity", t::size, eng, "scoring", 0, size_max, "bytes per second", {}, "0",
          "Disk I/O (read + write) one node sustains, bytes/s; with disk-io-weight."},
         {}, [](options &o, const option_value &v) { o.disk_io_capacity = v.number; }},
        {{"pressure-threshold", t::number, eng, "scoring", 0, 1, "a fraction", {}, "0.8",
          "Utilisation above which a node adds a quadratic penalty to the objective."},
         {}, [](options &o, const option_value &v) { o.pressure_threshold = v.number; }},
        {{"pressure-weight", t::number, eng, "scoring", 0, 1000, "", {}, "10",
          "Weight of the pressure penalty."},
         {}, [](options &o, const option_value &v) { o.pressure_weight = v.number; }},
        {{"psi-weight", t::number, eng, "scoring", 0, 1000, "", {}, "0.5",
          "Weight of the node pressure (PSI) penalty: load left on a node whose tasks stall "
          "counts in proportion to that node's pressure; 0: off."},
         {}, [](options &o, const option_value &v) { o.psi_weight = v.number; }},
        {{"psi-threshold", t::number, eng, "scoring", 0, 1, "a fraction", {}, "0.05",
          "Node pressure (the highest PSI average of a node, as a fraction of time) below "
          "which the PSI penalty ignores it."},
         {}, [](options &o, const option_value &v) { o.psi_threshold = v.number; }},
        // --- hard limits -----------------------------------------------------------------
        {{"cpu-limit", t::number, eng, "limits", 0.05, 1, "a fraction", {}, "0.9",
          "A move may not bring a node's CPU above this fraction of its threads, unless it "
          "lowers the hotter of its two nodes' CPU (a relief move)."},
         {}, [](options &o, const option_value &v) { o.cpu_limit = v.number; }},
        {{"memory-limit", t::number, eng, "limits", 0.05, 1, "a fraction", {}, "0.9",
          "A move may not bring a node's memory above this fraction."},
         {}, [](options &o, const option_value &v) { o.memory_limit = v.number; }},
        {{"memory-reserve", t::size, eng, "limits", 0, size_max, "", {}, "1G",
          "The system's share of memory that stays free on every node; ZFS nodes keep their "
          "ARC allowance on top (docs/constraints.md). Usable memory is min(memory-limit x "
          "maxmem, maxmem - reserve)."},
         {}, [](options &o, const option_value &v) {
             o.memory_reserve = static_cast<std::uint64_t>(v.number);
         }},
        {{"node-memory-reserve", t::text, eng, "limits", 0, 4096, "node:size pairs", {}, "",
          "Per node, the memory that stays free there, 'node:size,...' (e.g. 'pve1:16G'); "
          "replaces memory-reserve plus the ZFS ARC allowance for that node."},
         {}, [](options &o, const option_value &v) { o.node_memory_reserve = v.text; }},
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
        {{"storage-limit", t::number, eng, "limits", 0.05, 1, "a fraction", {}, "0.95",
          "Local disks moved to a node may not fill its target storage above this fraction of "
          "its size (their configured sizes count in full)."},
         {}, [](options &o, const option_value &v) { o.storage_limit = v.number; }},
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
        {{"repair-affinity", t::boolean, eng, "balance", 0, 0, "", {}, "1",
          "Repair first a keep-together group split over nodes: its guests gather on the node "
          "with most of them. Off: plan leaves it as it is."},
         {}, [](options &o, const option_value &v) { o.repair.affinity = v.flag; }},
        {{"repair-anti-affinity", t::boolean, eng, "balance", 0, 0, "", {}, "1",
          "Repair first keep-apart guests that share a node: all but one move away. Off: plan "
          "leaves it as it is."},
         {}, [](options &o, const option_value &v) { o.repair.anti_affinity = v.flag; }},
        {{"repair-pin", t::boolean, eng, "balance", 0, 0, "", {}, "1",
          "Repair first a guest on a node its pin tags do not name. Off: plan leaves it as it is."},
         {}, [](options &o, const option_value &v) { o.repair.pin = v.flag; }},
        {{"repair-ha-node-affinity", t::boolean, eng, "balance", 0, 0, "", {}, "1",
          "Repair first a guest on a node its strict HA node-affinity rule does not list. Off: "
          "plan leaves it as it is."},
         {}, [](options &o, const option_value &v) { o.repair.ha_node_affinity = v.flag; }},
        {{"repair-memory", t::boolean, eng, "balance", 0, 0, "", {}, "1",
          "Repair first a node above its usable memory (memory-limit, memory-reserve). Off: plan "
          "leaves it as it is."},
         {}, [](options &o, const option_value &v) { o.repair.memory = v.flag; }},
        {{"improve-plan", t::boolean, eng, "balance", 0, 0, "", {}, "1",
          "After the greedy search, exchange planned moves for better ones within the same "
          "budget (docs/algorithms.md). The daemon's cycle leaves it off unless balancer.cfg "
          "sets it: on the real traces it cost migrations over a day."},
         {}, [](options &o, const option_value &v) { o.improve_plan = v.flag; }},
        {{"repair-cpu", t::boolean, eng, "balance", 0, 0, "", {}, "0",
          "Repair first a node above cpu-limit (off by default: CPU contention is soft, the "
          "balance search and relief moves lower a hot node)."},
         {}, [](options &o, const option_value &v) { o.repair.cpu = v.flag; }},
        {{"repair-vcpu-ratio", t::boolean, eng, "balance", 0, 0, "", {}, "1",
          "Repair first a node above max-vcpu-ratio. Off: plan leaves it as it is."},
         {}, [](options &o, const option_value &v) { o.repair.vcpu_ratio = v.flag; }},
        {{"repair-memory-ratio", t::boolean, eng, "balance", 0, 0, "", {}, "1",
          "Repair first a node above max-memory-ratio. Off: plan leaves it as it is."},
         {}, [](options &o, const option_value &v) { o.repair.memory_ratio = v.flag; }},
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
          "ranks nodes that keep it first, at most as many as they survive before the plan. "
          "Unset: capacity-target (default 1); 0: off."},
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
        // One weight per resource dimension (pvebal/dimensions.h).
        [&]<std::size_t... i>(std::index_sequence<i...>) {
            (r.push_back({{dimension_table[i].weight_key, t::number, eng, "scoring", 0, 100, "",
                           {}, dimension_table[i].weight_default, dimension_table[i].weight_help},
                          {}, [](options &o, const option_value &v) {
                              o.*dimension_table[i].weight = v.number;
                          }}), ...);
        }(std::make_index_sequence<dimension_count>{});
        std::sort(r.begin(), r.end(), [](const option_row &a, const option_row &b) {
            return a.info.key < b.info.key;
        });
        return r;
    }();
    return table;
}
// clang-format on

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