// execute(): snapshot + options + arguments -> the rendered answer. Shared by every front end.
#include "pvebal/api.h"

#include "pvebal/report.h"

#include <algorithm>
#include <thread>

namespace pvebal {

namespace {

struct context {
    const request &r;
    snapshot snap;
    options opts;
};

std::string arg_path(const request &r, const std::string &key) {
    return r.arg_prefix + key;
}

bool has(const request &r, const char *key) {
    return r.args.count(key) > 0;
}

result<std::vector<node_id>> node_list(const context &x, const char *key) {
    auto it = x.r.args.find(key);
    if (it == x.r.args.end() || it->second.empty()) {
        return fail(arg_path(x.r, key), "required: NODE[,NODE...]");
    }
    std::vector<node_id> out;
    for (const std::string &name : split_tags(it->second)) {
        auto n = x.snap.c.find_node(name);
        if (!n) {
            return fail(arg_path(x.r, key), "unknown node \"" + name + "\"");
        }
        out.push_back(*n);
    }
    if (out.empty()) {
        return fail(arg_path(x.r, key), "required: NODE[,NODE...], got '" + it->second + "'");
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

result<long> int_arg(const context &x, const char *key, long def, long lo, long hi) {
    auto it = x.r.args.find(key);
    if (it == x.r.args.end()) {
        return def;
    }
    try {
        size_t pos = 0;
        long v = std::stol(it->second, &pos);
        if (pos == it->second.size() && v >= lo && v <= hi) {
            return v;
        }
    } catch (const std::exception &) {
    }
    return fail(arg_path(x.r, key), "expected an integer from " + std::to_string(lo) + " to " +
                                        std::to_string(hi) + ", got '" + it->second + "'");
}

result<bool> bool_arg(const context &x, const char *key) {
    auto it = x.r.args.find(key);
    if (it == x.r.args.end()) {
        return false;
    }
    if (it->second == "1" || it->second == "true" || it->second.empty()) {
        return true;
    }
    if (it->second == "0" || it->second == "false") {
        return false;
    }
    return fail(arg_path(x.r, key),
                "expected a boolean (0, 1, true or false), got '" + it->second + "'");
}

result<std::string> run_place(const context &x) {
    const cluster &c = x.snap.c;
    placement_request req;
    if (has(x.r, "vmid")) {
        if (has(x.r, "cpu") || has(x.r, "mem")) {
            return fail(arg_path(x.r, "vmid"), "excludes cpu and mem (those describe a new guest)");
        }
        auto vmid = int_arg(x, "vmid", 0, 100, 999999999);
        if (!vmid) {
            return std::unexpected(vmid.error());
        }
        auto g = c.find_guest(static_cast<std::uint32_t>(*vmid));
        if (!g) {
            return fail(arg_path(x.r, "vmid"),
                        "no guest " + std::to_string(*vmid) + " in the snapshot");
        }
        req.guest = *g;
    } else {
        if (!has(x.r, "cpu") || !has(x.r, "mem")) {
            return fail(arg_path(x.r, "vmid"), "required: a vmid, or cpu and mem for a new guest");
        }
        const std::string &cpu_text = x.r.args.at("cpu");
        double cpu = -1;
        try {
            size_t pos = 0;
            cpu = std::stod(cpu_text, &pos);
            if (pos != cpu_text.size()) {
                cpu = -1;
            }
        } catch (const std::exception &) {
        }
        if (!(cpu >= 0 && cpu <= 16384)) {
            return fail(arg_path(x.r, "cpu"),
                        "expected a number of cores from 0 to 16384, got '" + cpu_text + "'");
        }
        auto mem = parse_size(x.r.args.at("mem"));
        if (!mem) {
            return fail(arg_path(x.r, "mem"),
                        "expected bytes or a size like 8G, got '" + x.r.args.at("mem") + "'");
        }
        req.demand = res_of(cpu, static_cast<double>(*mem));
        if (has(x.r, "tags")) {
            req.tags = split_tags(x.r.args.at("tags"));
        }
    }
    if (has(x.r, "apart-from")) {
        for (const std::string &v : split_tags(x.r.args.at("apart-from"))) {
            std::optional<guest_id> g;
            if (!v.empty() && v.size() <= 9 && std::all_of(v.begin(), v.end(), ::isdigit)) {
                g = c.find_guest(static_cast<std::uint32_t>(std::stoul(v)));
            }
            if (!g) {
                return fail(arg_path(x.r, "apart-from"), "no guest '" + v + "' in the snapshot");
            }
            req.apart_from.push_back(*g);
        }
    }
    auto ans = plan_place(c, x.opts, req);
    if (!ans) {
        return std::unexpected(ans.error());
    }
    return render_place(c, *ans, x.r.format);
}

} // namespace

const std::vector<std::pair<std::string, std::vector<std::string>>> &command_args() {
    static const std::vector<std::pair<std::string, std::vector<std::string>>> table = {
        {"score", {}},
        {"plan", {}},
        {"evacuate", {"node"}},
        {"failover", {"failed-node", "all-guests"}},
        {"capacity", {"target-failures", "all-guests", "max-scenarios"}},
        {"place", {"vmid", "cpu", "mem", "tags", "apart-from"}},
    };
    return table;
}

result<std::string> execute(const request &r) {
    const auto &table = command_args();
    auto cmd = std::find_if(table.begin(), table.end(),
                            [&](const auto &e) { return e.first == r.command; });
    if (cmd == table.end()) {
        return fail("command", "unknown command '" + r.command + "'");
    }
    auto snap = read_snapshot(r.snapshot);
    if (!snap) {
        return std::unexpected(snap.error());
    }
    context x{r, std::move(*snap), {}};
    x.opts = x.snap.opts;
    for (const auto &[origin, text] : r.option_layers) {
        auto merged = apply_options_json(x.opts, text, origin);
        if (!merged) {
            return std::unexpected(merged.error());
        }
        x.opts = *merged;
    }
    for (const auto &[key, value] : r.args) {
        const auto &own = cmd->second;
        if (std::find(own.begin(), own.end(), key) != own.end()) {
            continue;
        }
        if (auto ok = apply_option(x.opts, key, value); !ok) {
            error e = ok.error();
            if (e.path == "--" + key) {
                e.path = arg_path(r, key);
            }
            return std::unexpected(e);
        }
    }
    if (auto ok = bind_options(x.snap.c, x.opts); !ok) {
        return std::unexpected(ok.error());
    }
    const cluster &c = x.snap.c;
    if (r.command == "score") {
        return render_score(c, x.opts, make_score_report(c, x.opts), r.format);
    }
    if (r.command == "plan") {
        return render_plan(c, x.opts, plan_balance(c, x.opts), r.format);
    }
    if (r.command == "evacuate") {
        auto nodes = node_list(x, "node");
        if (!nodes) {
            return std::unexpected(nodes.error());
        }
        return render_plan(c, x.opts, plan_evacuate(c, x.opts, *nodes), r.format);
    }
    if (r.command == "failover") {
        auto nodes = node_list(x, "failed-node");
        auto all = bool_arg(x, "all-guests");
        if (!nodes) {
            return std::unexpected(nodes.error());
        }
        if (!all) {
            return std::unexpected(all.error());
        }
        return render_plan(c, x.opts, plan_failover(c, x.opts, *nodes, *all), r.format);
    }
    if (r.command == "capacity") {
        auto target = int_arg(x, "target-failures", 1, 1, 64);
        auto max_scenarios = int_arg(x, "max-scenarios", 20000, 1, 100000000);
        auto all = bool_arg(x, "all-guests");
        if (!target) {
            return std::unexpected(target.error());
        }
        if (!max_scenarios) {
            return std::unexpected(max_scenarios.error());
        }
        if (!all) {
            return std::unexpected(all.error());
        }
        // Two workers where two cores are (same answer; docs/ha.md).
        const int threads = std::thread::hardware_concurrency() >= 2 ? 2 : 1;
        return render_capacity(
            c, plan_capacity(c, x.opts, static_cast<int>(*target), *all, *max_scenarios, threads),
            r.format);
    }
    return run_place(x);
}

} // namespace pvebal
