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
