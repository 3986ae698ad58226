#include "commands.h"

#include "pvebal/report.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace pvebal::cli {

int usage_error(const std::string& message) {
    std::cerr << "pve-balancer: " << message << "\n";
    return exit_input;
}

namespace {

std::optional<std::string> read_file(const std::string& path, const char* what) {
    if (path == "-") {
        std::ostringstream ss;
        ss << std::cin.rdbuf();
        return ss.str();
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::cerr << "pve-balancer: cannot read " << what << " '" << path << "'\n";
        return std::nullopt;
    }
    return std::string(std::istreambuf_iterator<char>(in), {});
}

int input_error(const error& e) {
    std::cerr << "pve-balancer: " << e.to_string() << "\n";
    return exit_input;
}

int run_score(const invocation& inv) {
    auto in = load_input(inv);
    if (!in) {
        return exit_input;
    }
    score_report r = make_score_report(in->snap.c, in->opts);
    std::cout << render_score(in->snap.c, in->opts, r, inv.format);
    return exit_ok;
}

int run_plan(const invocation& inv) {
    auto in = load_input(inv);
    if (!in) {
        return exit_input;
    }
    plan p = plan_balance(in->snap.c, in->opts);
    std::cout << render_plan(in->snap.c, in->opts, p, inv.format);
    return exit_ok;
}

// "a,b" -> node ids, or an error naming the flag.
std::optional<std::vector<node_id>> node_list(const cluster& c, const invocation& inv, const std::string& flag) {
    auto it = inv.flags.find(flag);
    if (it == inv.flags.end() || it->second.empty()) {
        usage_error("--" + flag + " NODE[,NODE...] is required");
        return std::nullopt;
    }
    std::vector<node_id> out;
    for (const std::string& name : split_tags(it->second)) {
        auto n = c.find_node(name);
        if (!n) {
            usage_error("--" + flag + ": unknown node \"" + name + "\"");
            return std::nullopt;
        }
        out.push_back(*n);
    }
    return out;
}

int run_evacuate(const invocation& inv) {
    auto in = load_input(inv);
    if (!in) {
        return exit_input;
    }
    auto nodes = node_list(in->snap.c, inv, "node");
    if (!nodes) {
        return exit_input;
    }
    plan p = plan_evacuate(in->snap.c, in->opts, *nodes);
    std::cout << render_plan(in->snap.c, in->opts, p, inv.format);
    return exit_ok;
}

int run_failover(const invocation& inv) {
    auto in = load_input(inv);
    if (!in) {
        return exit_input;
    }
    auto nodes = node_list(in->snap.c, inv, "failed-node");
    if (!nodes) {
        return exit_input;
    }
    plan p = plan_failover(in->snap.c, in->opts, *nodes, inv.flags.count("all-guests") > 0);
    std::cout << render_plan(in->snap.c, in->opts, p, inv.format);
    return exit_ok;
}

std::optional<long> int_flag(const invocation& inv, const std::string& flag, long def, long lo, long hi) {
    auto it = inv.flags.find(flag);
    if (it == inv.flags.end()) {
        return def;
    }
    try {
        size_t pos = 0;
        long v = std::stol(it->second, &pos);
        if (pos == it->second.size() && v >= lo && v <= hi) {
            return v;
        }
    } catch (const std::exception&) {
    }
    usage_error("--" + flag + ": expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
                ", got '" + it->second + "'");
    return std::nullopt;
}

int run_capacity(const invocation& inv) {
    auto in = load_input(inv);
    if (!in) {
        return exit_input;
    }
    auto target = int_flag(inv, "target-failures", 1, 1, 64);
    auto max_scenarios = int_flag(inv, "max-scenarios", 20000, 1, 100000000);
    if (!target || !max_scenarios) {
        return exit_input;
    }
    capacity_report r = plan_capacity(in->snap.c, in->opts, static_cast<int>(*target),
                                      inv.flags.count("all-guests") > 0, *max_scenarios);
    std::cout << render_capacity(in->snap.c, r, inv.format);
    return exit_ok;
}

int run_place(const invocation& inv) {
    auto in = load_input(inv);
    if (!in) {
        return exit_input;
    }
    const cluster& c = in->snap.c;
    placement_request req;
    if (inv.flags.count("vmid")) {
        if (inv.flags.count("cpu") || inv.flags.count("mem")) {
            return usage_error("--vmid and --cpu/--mem exclude each other");
        }
        auto vmid = int_flag(inv, "vmid", 0, 100, 999999999);
        if (!vmid) {
            return exit_input;
        }
        auto g = c.find_guest(static_cast<std::uint32_t>(*vmid));
        if (!g) {
            return usage_error("--vmid: no guest " + std::to_string(*vmid) + " in the snapshot");
        }
        req.guest = *g;
    } else {
        if (!inv.flags.count("cpu") || !inv.flags.count("mem")) {
            return usage_error("place needs --vmid ID, or --cpu CORES and --mem BYTES for a new guest");
        }
        double cpu = -1;
        try {
            size_t pos = 0;
            cpu = std::stod(inv.flags.at("cpu"), &pos);
            if (pos != inv.flags.at("cpu").size()) {
                cpu = -1;
            }
        } catch (const std::exception&) {
        }
        if (!(cpu >= 0 && cpu <= 16384)) {
            return usage_error("--cpu: expected a number of cores from 0 to 16384, got '" + inv.flags.at("cpu") + "'");
        }
        auto mem = parse_size(inv.flags.at("mem"));
        if (!mem) {
            return usage_error("--mem: expected bytes or a size like 8G, got '" + inv.flags.at("mem") + "'");
        }
        req.demand = {cpu, static_cast<double>(*mem)};
        if (inv.flags.count("tags")) {
            req.tags = split_tags(inv.flags.at("tags"));
        }
    }
    if (inv.flags.count("apart-from")) {
        for (const std::string& v : split_tags(inv.flags.at("apart-from"))) {
            std::optional<guest_id> g;
            try {
                g = c.find_guest(static_cast<std::uint32_t>(std::stoul(v)));
            } catch (const std::exception&) {
            }
            if (!g) {
                return usage_error("--apart-from: no guest '" + v + "' in the snapshot");
            }
            req.apart_from.push_back(*g);
        }
    }
    auto ans = plan_place(c, in->opts, req);
    if (!ans) {
        return input_error(ans.error());
    }
    std::cout << render_place(c, *ans, inv.format);
    return exit_ok;
}

} // namespace

std::optional<loaded> load_input(const invocation& inv) {
    auto text = read_file(inv.snapshot_path, "snapshot");
    if (!text) {
        return std::nullopt;
    }
    auto snap = read_snapshot(*text);
    if (!snap) {
        input_error(snap.error());
        return std::nullopt;
    }
    loaded l{std::move(*snap), {}};
    l.opts = l.snap.opts;
    if (!inv.config_path.empty()) {
        auto cfg = read_file(inv.config_path, "config");
        if (!cfg) {
            return std::nullopt;
        }
        auto merged = apply_options_json(l.opts, *cfg, "config");
        if (!merged) {
            input_error(merged.error());
            return std::nullopt;
        }
        l.opts = *merged;
    }
    for (const auto& [k, v] : inv.option_flags) {
        if (auto r = apply_option(l.opts, k, v); !r) {
            input_error(r.error());
            return std::nullopt;
        }
    }
    if (auto r = bind_options(l.snap.c, l.opts); !r) {
        input_error(r.error());
        return std::nullopt;
    }
    return l;
}

const std::vector<command>& commands() {
    static const std::vector<command> table = {
        {"score", "show node utilisation, balance metrics and warnings",
         "pve-balancer score --snapshot FILE [--output-format text|json]",
         "Prints per-node CPU and memory utilisation with bars, the Proxmox CRS imbalance,\n"
         "per-resource mean/stddev/min/max/spread, pve-balancer's objective, and warnings:\n"
         "overloaded nodes, guests that can never move (and why), dropped HA rules.",
         {},
         "pvesh get /cluster/resources --output-format json | pve-balancer score --snapshot -",
         run_score},
        {"plan", "compute a balance plan: ordered, safe migrations that even out CPU and memory",
         "pve-balancer plan --snapshot FILE [--max-migrations N] [--threshold X] [--output-format text|json]",
         "Searches moves, swaps and two-move chains that lower the objective (docs/algorithms.md),\n"
         "each worth its migration cost, up to --max-migrations, then orders them in waves so that\n"
         "no intermediate state overloads a node or breaks a rule (a migrating guest loads both\n"
         "nodes). If the cluster is already within --threshold, nothing is planned and a note says so.",
         {},
         "pve-balancer plan --snapshot cluster.json --max-migrations 5 --output-format json",
         run_plan},
        {"evacuate", "drain nodes for maintenance: place every guest elsewhere, or say why not",
         "pve-balancer evacuate --node NODE[,NODE...] --snapshot FILE [--output-format text|json]",
         "Moves every guest (running and stopped) off the given nodes, largest first, each to the node\n"
         "that keeps the rest of the cluster balanced; when a guest fits nowhere it may move one\n"
         "guest off a target to make room. Guests that cannot leave are listed under 'unplaced'\n"
         "with the reason for each node. --max-migrations does not limit an evacuation.",
         {{"node", "NODE[,NODE...]", "the nodes to drain"}},
         "pve-balancer evacuate --node pve2 --snapshot cluster.json",
         run_evacuate},
        {"failover", "where HA guests restart when nodes fail (capacity- and rule-aware)",
         "pve-balancer failover --failed-node NODE[,NODE...] --snapshot FILE [--all-guests]",
         "Places every HA-managed guest of the failed nodes (every running guest with --all-guests)\n"
         "on the survivors: restart-priority order (tag pvebal-priority-N), largest first, never\n"
         "beyond memory-limit/cpu-limit, rules as pve-ha-manager applies them. When the fast pass\n"
         "leaves a guest out, an exhaustive search looks for an assignment that restarts everyone.\n"
         "Guests that cannot restart are listed with the reason per node; lower priorities are\n"
         "the first to be left out. Waves are restart priorities, highest first.",
         {{"failed-node", "NODE[,NODE...]", "the nodes that fail"},
          {"all-guests", "", "also restart running guests that are not HA-managed"}},
         "pve-balancer failover --failed-node pve2 --snapshot cluster.json",
         run_failover},
        {"capacity", "how many node failures the HA guests survive (admission control, N+k)",
         "pve-balancer capacity --snapshot FILE [--target-failures K] [--all-guests] [--max-scenarios N]",
         "Finds the largest k such that for every set of k failed nodes all HA guests still restart\n"
         "(every combination is checked while there are at most --max-scenarios of them; beyond,\n"
         "a lower and an upper bound are given). Shows the worst scenario and its shortfall, the\n"
         "headroom per node, and what reserve is missing for --target-failures K (default 1).",
         {{"target-failures", "K", "the failures the cluster should absorb (default 1)"},
          {"all-guests", "", "count every running guest, not only HA-managed ones"},
          {"max-scenarios", "N", "largest number of failure scenarios to check (default 20000)"}},
         "pve-balancer capacity --snapshot cluster.json --target-failures 2",
         run_capacity},
        {"place", "rank nodes for a guest about to start, or for a new guest (best node)",
         "pve-balancer place --snapshot FILE (--vmid ID | --cpu CORES --mem BYTES [--tags T]) [--apart-from ID,...]",
         "Ranks the nodes where the guest fits by the objective after placing it (score 100 is\n"
         "best) and lists the others with the reason. A stopped guest counts with its configured\n"
         "vCPUs and memory; a new guest with --cpu (cores) and --mem (bytes or 8G). --tags applies\n"
         "pin and anti-affinity tags (pvebal-pin-NODE, plb_anti_affinity_G) to a new guest.",
         {{"vmid", "ID", "an existing guest"},
          {"cpu", "CORES", "a new guest's CPU demand in cores"},
          {"mem", "BYTES", "a new guest's memory (bytes or with K/M/G/T suffix)"},
          {"tags", "TAGS", "tags of the new guest (';'-separated)"},
          {"apart-from", "ID[,ID...]", "keep it off nodes that run these guests"}},
         "pve-balancer place --snapshot cluster.json --cpu 4 --mem 8G --output-format json",
         run_place},
    };
    return table;
}

const command* find_command(const std::string& name) {
    for (const command& c : commands()) {
        if (c.name == name) {
            return &c;
        }
    }
    return nullptr;
}

} // namespace pvebal::cli
