// libFuzzer harness: bytes drive a generator of *valid* clusters (nodes, guests, ProxLB tags,
// HA resources, chained positive and negative resource-affinity rules, node-affinity rules,
// options) and a command with valid arguments; the snapshot goes through execute() as JSON.
// Checked on every input:
//   - execute() answers (an answer or an error value; never a crash or a sanitizer report);
//   - determinism: the same cluster with its resources, HA resources and rules in another
//     order (also driven by the bytes) gives the same answer, byte for byte;
//   - rules: the plans of plan/evacuate/failover, replayed wave by wave (a migrating guest is on
//     both nodes), never put two guests that must be kept apart on one node where they were not
//     already (tests/native/rule_check.h, shared with the rule property test).
#include "../native/rule_check.h"
#include "pvebal/api.h"
#include "pvebal/io.h"
#include "pvebal/report.h"

#include <fuzzer/FuzzedDataProvider.h>
#include <json/json.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

constexpr std::uint64_t GiB = 1024ull * 1024 * 1024;

std::string to_json(const Json::Value &v) {
    Json::StreamWriterBuilder b;
    b["indentation"] = "";
    return Json::writeString(b, v);
}

[[noreturn]] void fail(const std::string &what, const std::string &snapshot,
                       const pvebal::request &r) {
    std::fprintf(stderr, "fuzz-execute: %s\ncommand: %s\nsnapshot: %s\n", what.c_str(),
                 r.command.c_str(), snapshot.c_str());
    for (const auto &[k, v] : r.args) {
        std::fprintf(stderr, "arg %s=%s\n", k.c_str(), v.c_str());
    }
    std::abort();
}

// Reorders an array's entries with the bytes' help (Fisher-Yates).
Json::Value shuffled(const Json::Value &a, FuzzedDataProvider &fdp) {
    std::vector<Json::Value> v(a.begin(), a.end());
    for (size_t i = v.size(); i > 1; --i) {
        std::swap(v[i - 1], v[fdp.ConsumeIntegralInRange<size_t>(0, i - 1)]);
    }
    Json::Value out(Json::arrayValue);
    for (Json::Value &e : v) {
        out.append(std::move(e));
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    FuzzedDataProvider fdp(data, size);
    auto pick = [&](int lo, int hi) { return fdp.ConsumeIntegralInRange<int>(lo, hi); };

    Json::Value resources(Json::arrayValue);
    const int nodes = pick(2, 6);
    std::vector<bool> online(static_cast<size_t>(nodes));
    for (int n = 0; n < nodes; ++n) {
        Json::Value e;
        e["type"] = "node";
        e["node"] = "n" + std::to_string(n);
        online[n] = n == 0 || pick(0, 7) != 0;
        e["status"] = online[n] ? "online" : "offline";
        if (online[n]) {
            e["maxcpu"] = pick(1, 64);
            const std::uint64_t maxmem = static_cast<std::uint64_t>(pick(4, 256)) * GiB;
            e["maxmem"] = static_cast<Json::UInt64>(maxmem);
            e["cpu"] = pick(0, 100) / 100.0;
            e["mem"] = static_cast<Json::UInt64>(maxmem / 100 * pick(0, 100));
        }
        resources.append(e);
    }
    const int guests = pick(0, 24);
    auto sid = [](int g) { return "vm:" + std::to_string(100 + g); };
    static const char *const tag_names[] = {"plb_affinity_a",
                                            "plb_affinity_b",
                                            "plb_anti_affinity_x",
                                            "plb_anti_affinity_y",
                                            "plb_pin_n1",
                                            "plb_ignore_vm",
                                            "web"};
    for (int g = 0; g < guests; ++g) {
        Json::Value e;
        e["type"] = "qemu";
        e["vmid"] = 100 + g;
        e["name"] = "g" + std::to_string(100 + g);
        e["node"] = "n" + std::to_string(pick(0, nodes - 1));
        e["status"] = pick(0, 5) == 0 ? "stopped" : "running";
        e["maxcpu"] = pick(1, 16);
        const std::uint64_t maxmem = static_cast<std::uint64_t>(pick(1, 32)) * GiB / 2;
        e["maxmem"] = static_cast<Json::UInt64>(maxmem);
        e["cpu"] = pick(0, 100) / 100.0;
        e["mem"] = static_cast<Json::UInt64>(maxmem / 100 * pick(0, 100));
        std::string tags;
        for (const char *t : tag_names) {
            if (pick(0, 9) == 0) {
                tags += (tags.empty() ? "" : ";") + std::string(t);
            }
        }
        if (!tags.empty()) {
            e["tags"] = tags;
        }
        if (pick(0, 15) == 0) {
            e["lock"] = "backup";
        }
        resources.append(e);
    }

    Json::Value ha_resources(Json::arrayValue), rules(Json::arrayValue);
    if (guests >= 2) {
        for (int g = 0; g < guests; ++g) {
            if (pick(0, 2) == 0) {
                Json::Value r;
                r["sid"] = sid(g);
                r["state"] = pick(0, 4) == 0 ? "stopped" : "started";
                ha_resources.append(r);
            }
        }
        const int positives = pick(0, 4);
        int chain = pick(0, guests - 1);
        for (int i = 0; i < positives; ++i) {
            const int next = pick(0, 2) == 0 ? pick(0, guests - 1) : (chain + pick(1, 3)) % guests;
            if (next != chain) {
                Json::Value r;
                r["rule"] = "p" + std::to_string(i);
                r["type"] = "resource-affinity";
                r["affinity"] = "positive";
                r["resources"] = sid(chain) + "," + sid(next);
                rules.append(r);
            }
            chain = next;
        }
        const int negatives = pick(0, 3);
        for (int i = 0; i < negatives; ++i) {
            const int x = pick(0, guests - 1), y = pick(0, guests - 1);
            if (x != y) {
                Json::Value r;
                r["rule"] = "n" + std::to_string(i);
                r["type"] = "resource-affinity";
                r["affinity"] = "negative";
                r["resources"] = sid(x) + "," + sid(y);
                rules.append(r);
            }
        }
        if (pick(0, 3) == 0) {
            Json::Value r;
            r["rule"] = "na";
            r["type"] = "node-affinity";
            r["resources"] = sid(pick(0, guests - 1));
            r["nodes"] = "n" + std::to_string(pick(0, nodes - 1)) + ":2,n" +
                         std::to_string(pick(0, nodes - 1));
            r["strict"] = pick(0, 1);
            rules.append(r);
        }
    }

    Json::Value opts(Json::objectValue);
    opts["max-migrations"] = pick(0, 8);
    if (pick(0, 3) == 0) {
        opts["cpu-limit"] = pick(50, 100) / 100.0;
    }
    if (pick(0, 3) == 0) {
        opts["mode"] = pick(0, 1) ? "static" : "used";
    }
    if (pick(0, 4) == 0) {
        opts["honor-proxlb-tags"] = 0;
    }
    if (pick(0, 5) == 0) {
        opts["maintenance-nodes"] = "n" + std::to_string(pick(0, nodes - 1));
    }

    pvebal::request r;
    static const char *const commands[] = {"score",    "plan",     "evacuate",
                                           "failover", "capacity", "place"};
    r.command = commands[pick(0, 5)];
    const std::string some_node = "n" + std::to_string(pick(0, nodes - 1));
    if (r.command == "evacuate") {
        r.args["node"] = some_node;
    } else if (r.command == "failover") {
        r.args["failed-node"] = some_node;
        r.args["all-guests"] = pick(0, 1) ? "1" : "0";
    } else if (r.command == "capacity") {
        r.args["target-failures"] = std::to_string(pick(1, 2));
        r.args["max-scenarios"] = "200";
    } else if (r.command == "place") {
        if (guests > 0 && pick(0, 1)) {
            r.args["vmid"] = std::to_string(100 + pick(0, guests - 1));
        } else {
            r.args["cpu"] = std::to_string(pick(1, 8));
            r.args["mem"] = std::to_string(pick(1, 16)) + "G";
        }
    }
    r.format = pick(0, 3) == 0 ? pvebal::output_format::text : pvebal::output_format::json;

    auto snapshot_json = [&](const Json::Value &res, const Json::Value &har,
                             const Json::Value &rls) {
        Json::Value root(Json::objectValue);
        root["resources"] = res;
        if (!har.empty() || !rls.empty()) {
            root["ha"]["resources"] = har;
            root["ha"]["rules"] = rls;
        }
        root["options"] = opts;
        return to_json(root);
    };
    r.snapshot = snapshot_json(resources, ha_resources, rules);
    const std::string first_snapshot = r.snapshot;
    const pvebal::result<std::string> first = pvebal::execute(r);

    // The same cluster in another order.
    r.snapshot =
        snapshot_json(shuffled(resources, fdp), shuffled(ha_resources, fdp), shuffled(rules, fdp));
    const pvebal::result<std::string> second = pvebal::execute(r);
    if (first.has_value() != second.has_value() || (first && *first != *second)) {
        fail("the answer depends on the input order\nfirst:  " +
                 (first ? *first : first.error().to_string()) +
                 "\nsecond: " + (second ? *second : second.error().to_string()) +
                 "\nreordered snapshot: " + r.snapshot,
             first_snapshot, r);
    }
    if (!first) {
        // A valid cluster with valid arguments: only an answer is acceptable.
        fail("error for a valid input: " + first.error().to_string(), first_snapshot, r);
    }

    // Keep-apart rules in every intermediate state of the plans.
    if (r.command == "plan" || r.command == "evacuate" || r.command == "failover") {
        auto snap = pvebal::read_snapshot(first_snapshot);
        if (!snap) {
            fail("snapshot rejected: " + snap.error().to_string(), first_snapshot, r);
        }
        const pvebal::cluster &c = snap->c;
        const pvebal::node_id n = *c.find_node(some_node);
        // With honor-proxlb-tags off the plb_* tags are no rules at all.
        pvebal::cluster rules_only = c;
        if (!snap->opts.honor_proxlb_tags) {
            for (pvebal::guest &g : rules_only.guests) {
                g.tags.clear();
            }
        }
        const auto pairs = pvebal::test::apart_pairs(rules_only);
        std::vector<std::string> errors;
        if (r.command == "plan") {
            errors = pvebal::test::replay(c, pvebal::plan_balance(c, snap->opts), pairs);
        } else if (r.command == "evacuate") {
            errors = pvebal::test::replay(c, pvebal::plan_evacuate(c, snap->opts, {n}), pairs);
        } else {
            std::vector<bool> gone(c.nodes.size(), false);
            gone[n] = true;
            errors = pvebal::test::replay(
                c, pvebal::plan_failover(c, snap->opts, {n}, r.args["all-guests"] == "1"), pairs,
                gone);
        }
        if (!errors.empty()) {
            fail("keep-apart rule broken: " + errors.front(), first_snapshot, r);
        }
    }
    return 0;
}
