// ha: HA resources, legacy groups, rules and the manager status, as the HA API returns them.
// Rules are read as configured and handed to constraints/ha_rules, which checks and compiles
// them as pve-ha-manager does.
#include "constraints/ha_rules.h"
#include "io/snapshot_parts.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

namespace pvebal::detail {

namespace {

struct sid_ref {
    guest_type type;
    std::uint32_t vmid;
};

// [vm:|ct:]ID, ID of 3 to 9 digits (no regex: every HA resource and rule member passes here).
sid_ref parse_sid(const std::string &s, const std::string &path) {
    std::string_view rest = s;
    guest_type type = guest_type::qemu;
    if (rest.starts_with("vm:")) {
        rest.remove_prefix(3);
    } else if (rest.starts_with("ct:")) {
        type = guest_type::lxc;
        rest.remove_prefix(3);
    }
    std::uint32_t vmid = 0;
    const bool ok =
        rest.size() >= 3 && rest.size() <= 9 &&
        std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!ok) {
        reject(path, "expected an HA resource id like \"vm:100\" or \"ct:101\", got \"" + s + "\"");
    }
    std::from_chars(rest.data(), rest.data() + rest.size(), vmid);
    return {type, vmid};
}

std::vector<std::string> sid_list(const Json::Value &v, const std::string &path) {
    if (v.isString()) {
        return split_tags(v.asString());
    }
    return name_list(v, path);
}

// The canonical sid of a rule's resource: the guest's own for a known guest (a type mismatch
// is an error), otherwise as written. Unknown guests stay in the rule, as upstream counts them.
std::vector<std::string> canonical_sids(const cluster &c, const std::vector<std::string> &sids,
                                        const std::string &path, std::vector<std::string> &notes,
                                        const std::string &what) {
    std::vector<std::string> out;
    for (const std::string &s : sids) {
        sid_ref ref = parse_sid(s, path);
        auto g = c.find_guest(ref.vmid);
        if (!g) {
            notes.push_back(what + ": " + s + " names no guest of this cluster");
            out.push_back((ref.type == guest_type::qemu ? "vm:" : "ct:") +
                          std::to_string(ref.vmid));
            continue;
        }
        if (c.guests[*g].type != ref.type) {
            reject(path, s + " names a " + (ref.type == guest_type::qemu ? "VM" : "container") +
                             ", but guest " + std::to_string(ref.vmid) + " is a " +
                             (c.guests[*g].type == guest_type::qemu ? "VM" : "container"));
        }
        out.push_back(c.guests[*g].sid());
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

// "node1:2,node2" -> (node, priority), as written (upstream keeps unknown nodes in the rule).
std::vector<std::pair<std::string, int>>
parse_node_list(const cluster &c, const Json::Value &v, const std::string &path,
                std::vector<std::string> &notes, const std::string &what, bool &had_priority) {
    std::vector<std::string> items = v.isString() ? split_tags(v.asString()) : name_list(v, path);
    auto alnum = [](char ch) {
        return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
    };
    auto digit = [](char ch) { return ch >= '0' && ch <= '9'; };
    std::map<std::string, int> out;
    for (const std::string &item : items) {
        // NAME[:PRIO]: NAME of [A-Za-z0-9][A-Za-z0-9.-]*, PRIO of 1 to 4 digits.
        const size_t colon = item.find(':');
        const std::string_view name = std::string_view(item).substr(0, colon);
        const std::string_view prio = colon == std::string::npos
                                          ? std::string_view()
                                          : std::string_view(item).substr(colon + 1);
        const bool ok =
            !name.empty() && alnum(name[0]) &&
            std::all_of(name.begin(), name.end(),
                        [&](char ch) { return alnum(ch) || ch == '.' || ch == '-'; }) &&
            (colon == std::string::npos ||
             (!prio.empty() && prio.size() <= 4 && std::all_of(prio.begin(), prio.end(), digit)));
        if (!ok) {
            reject(path, "expected \"node[:priority]\" entries, got \"" + item + "\"");
        }
        int priority = 0;
        if (colon != std::string::npos) {
            had_priority = true;
            std::from_chars(prio.data(), prio.data() + prio.size(), priority);
        }
        const std::string node_name(name);
        if (!c.find_node(node_name)) {
            notes.push_back(what + ": node " + node_name + " is not in this cluster");
        }
        out.emplace(node_name, priority);
    }
    if (items.empty()) {
        reject(path, "expected at least one node");
    }
    return {out.begin(), out.end()};
}

void read_ha_resources(cluster &c, const Json::Value &v, const std::string &path) {
    const Json::Value &arr = v.isObject() && v.isMember("data") ? v["data"] : v;
    check_array(arr, path, "an array of HA resources (GET /cluster/ha/resources)");
    std::vector<bool> seen(c.guests.size(), false);
    c.ha.resources.reserve(arr.size());
    Json::ArrayIndex i = 0;
    for (auto it = arr.begin(); it != arr.end(); ++it, ++i) {
        const std::string p = index_path(path, i);
        check_object(*it, p, "an HA resource object"); // arr[i] would search jsoncpp's map
        const object_fields e(*it);
        const std::string sid = req_string(e, "sid", p);
        sid_ref ref = parse_sid(sid, key_path(p, "sid"));
        auto g = c.find_guest(ref.vmid);
        if (!g) {
            c.ha.dropped.push_back("HA resource " + sid + ": no such guest, ignored");
            continue;
        }
        if (c.guests[*g].type != ref.type) {
            reject(key_path(p, "sid"),
                   sid + " does not match guest " + std::to_string(ref.vmid) + " (a " +
                       (c.guests[*g].type == guest_type::qemu ? "VM" : "container") + ")");
        }
        if (seen[*g]) {
            reject(key_path(p, "sid"), "duplicate HA resource " + sid);
        }
        seen[*g] = true;
        ha_resource r;
        r.sid = c.guests[*g].sid();
        r.guest = *g;
        const std::string state = opt_string(e, "state", p).value_or("started");
        static const std::map<std::string, ha_request_state> states = {
            {"started", ha_request_state::started},
            {"enabled", ha_request_state::started},
            {"stopped", ha_request_state::stopped},
            {"disabled", ha_request_state::disabled},
            {"ignored", ha_request_state::ignored}};
        auto st = states.find(state);
        if (st == states.end()) {
            reject(key_path(p, "state"),
                   "expected started, stopped, enabled, disabled or ignored, got \"" + state +
                       "\"");
        }
        r.state = st->second;
        r.group = opt_string(e, "group", p).value_or("");
        r.failback = opt_bool(e, "failback", p).value_or(true);
        r.max_restart = static_cast<int>(
            opt_uint(e, "max_restart", p, 10, "an integer from 0 to 10").value_or(1));
        r.max_relocate = static_cast<int>(
            opt_uint(e, "max_relocate", p, 10, "an integer from 0 to 10").value_or(1));
        c.ha.resources.push_back(std::move(r));
    }
    std::sort(c.ha.resources.begin(), c.ha.resources.end(),
              [](const ha_resource &a, const ha_resource &b) { return a.guest < b.guest; });
}

// Legacy groups become node-affinity rules "ha-group-<name>" as pve-ha-manager migrates them
// (Groups.pm migrate_groups_to_rules): restricted -> strict, priorities kept; nofailback turns
// the resource's failback off.
void read_ha_groups(cluster &c, const Json::Value &v, const std::string &path,
                    std::map<std::string, ha_rule_input> &group_rules) {
    const Json::Value &arr = v.isObject() && v.isMember("data") ? v["data"] : v;
    check_array(arr, path, "an array of HA groups (GET /cluster/ha/groups)");
    std::map<std::string, ha_rule_input> groups;
    std::map<std::string, bool> nofailback;
    for (Json::ArrayIndex i = 0; i < arr.size(); ++i) {
        const std::string p = index_path(path, i);
        check_object(arr[i], p, "an HA group object");
        const std::string name = req_string(arr[i], "group", p);
        if (groups.count(name)) {
            reject(key_path(p, "group"), "duplicate HA group \"" + name + "\"");
        }
        ha_rule_input r;
        r.id = "ha-group-" + name;
        r.type = ha_rule_type::node_affinity;
        r.strict = opt_bool(arr[i], "restricted", p).value_or(false);
        bool prio = false;
        if (!arr[i].isMember("nodes")) {
            reject(key_path(p, "nodes"), "missing, expected \"node[:priority],...\"");
        }
        r.nodes =
            parse_node_list(c, arr[i]["nodes"], key_path(p, "nodes"), c.ha.dropped, r.id, prio);
        nofailback[name] = opt_bool(arr[i], "nofailback", p).value_or(false);
        groups[name] = std::move(r);
    }
    for (ha_resource &res : c.ha.resources) {
        if (res.group.empty()) {
            continue;
        }
        auto it = groups.find(res.group);
        if (it == groups.end()) {
            c.ha.dropped.push_back("HA resource " + res.sid + ": unknown group " + res.group +
                                   ", ignored");
            continue;
        }
        it->second.sids.push_back(res.sid);
        if (nofailback[res.group]) {
            res.failback = false;
        }
    }
    for (auto &[name, rule] : groups) {
        if (!rule.sids.empty()) {
            std::sort(rule.sids.begin(), rule.sids.end());
            group_rules[rule.id] = std::move(rule);
        }
    }
}

void read_ha_rules(cluster &c, const Json::Value &v, const std::string &path,
                   std::map<std::string, ha_rule_input> &rules) {
    const Json::Value &arr = v.isObject() && v.isMember("data") ? v["data"] : v;
    check_array(arr, path, "an array of HA rules (GET /cluster/ha/rules)");
    std::set<std::string> ids;
    for (Json::ArrayIndex i = 0; i < arr.size(); ++i) {
        const std::string p = index_path(path, i);
        check_object(arr[i], p, "an HA rule object");
        const Json::Value &e = arr[i];
        const std::string id = req_string(e, "rule", p);
        if (!ids.insert(id).second) {
            reject(key_path(p, "rule"), "duplicate rule id \"" + id + "\"");
        }
        const std::string type = req_string(e, "type", p);
        if (type != "node-affinity" && type != "resource-affinity") {
            reject(key_path(p, "type"),
                   "expected \"node-affinity\" or \"resource-affinity\", got \"" + type + "\"");
        }
        if (!e.isMember("resources")) {
            reject(key_path(p, "resources"), "missing, expected \"vm:ID,ct:ID,...\"");
        }
        std::vector<std::string> listed = sid_list(e["resources"], key_path(p, "resources"));
        if (listed.empty()) {
            reject(key_path(p, "resources"), "expected at least one resource");
        }
        ha_rule_input r;
        r.id = id;
        r.sids =
            canonical_sids(c, listed, key_path(p, "resources"), c.ha.dropped, "rule '" + id + "'");
        const bool disabled = opt_bool(e, "disable", p).value_or(false);
        const std::string affinity = opt_string(e, "affinity", p).value_or("positive");
        if (affinity != "positive" && affinity != "negative") {
            reject(key_path(p, "affinity"),
                   "expected \"positive\" or \"negative\", got \"" + affinity + "\"");
        }
        if (type == "node-affinity") {
            r.type = ha_rule_type::node_affinity;
            r.strict = opt_bool(e, "strict", p).value_or(false);
            if (!e.isMember("nodes")) {
                reject(key_path(p, "nodes"), "missing, expected \"node[:priority],...\"");
            }
            bool prio = false;
            r.nodes = parse_node_list(c, e["nodes"], key_path(p, "nodes"), c.ha.dropped,
                                      "rule '" + id + "'", prio);
            if (disabled) {
                continue;
            }
            if (affinity == "negative") {
                // "Never on these nodes": the complement, as a strict rule.
                if (prio) {
                    c.ha.dropped.push_back(
                        "Drop rule '" + id +
                        "', because negative node affinity rules cannot have priorities");
                    continue;
                }
                std::vector<std::pair<std::string, int>> complement;
                for (const node &n : c.nodes) {
                    if (std::none_of(r.nodes.begin(), r.nodes.end(),
                                     [&](auto &x) { return x.first == n.name; })) {
                        complement.emplace_back(n.name, 0);
                    }
                }
                if (complement.empty()) {
                    c.ha.dropped.push_back(
                        "Drop rule '" + id +
                        "', because negative node affinity rules cannot list every node");
                    continue;
                }
                r.nodes = std::move(complement);
                r.strict = true;
            }
        } else {
            if (disabled) {
                continue;
            }
            r.type = ha_rule_type::resource_affinity;
            r.positive = affinity == "positive";
        }
        rules[id] = std::move(r);
    }
}

void read_manager_status(cluster &c, const Json::Value &v, const std::string &path) {
    // Accept the file's content, the API answer ({manager_status: ...}) and {data: ...}.
    const Json::Value *m = &v;
    std::string p = path;
    if (m->isObject() && m->isMember("data")) {
        m = &(*m)["data"];
        p = key_path(p, "data");
    }
    if (m->isObject() && m->isMember("manager_status")) {
        m = &(*m)["manager_status"];
        p = key_path(p, "manager_status");
    }
    check_object(*m, p, "the HA manager status object");
    c.ha.master_node = opt_string(*m, "master_node", p).value_or("");
    if (m->isMember("disarm")) {
        // Manager.pm handle_disarm: while set, the CRM skips its normal service state machine.
        const Json::Value &d = (*m)["disarm"];
        const std::string dp = key_path(p, "disarm");
        check_object(d, dp, "the disarm object {mode, state}");
        const std::string mode = req_string(d, "mode", dp);
        if (mode != "freeze" && mode != "ignore") {
            reject(key_path(dp, "mode"), "expected \"freeze\" or \"ignore\", got \"" + mode + "\"");
        }
        c.ha.disarm = ha_disarm{mode == "freeze" ? disarm_mode::freeze : disarm_mode::ignore,
                                opt_string(d, "state", dp).value_or("disarmed")};
    }
    if (m->isMember("node_status")) {
        const Json::Value &ns = (*m)["node_status"];
        const std::string np = key_path(p, "node_status");
        check_object(ns, np, "an object {node: state}");
        for (const std::string &name : ns.getMemberNames()) {
            const std::string state = as_string(ns[name], key_path(np, name));
            if (auto n = c.find_node(name)) {
                c.nodes[*n].ha_state = state;
                if (state == "maintenance") {
                    c.nodes[*n].maintenance = true;
                }
            }
        }
    }
    if (m->isMember("service_status")) {
        const Json::Value &ss = (*m)["service_status"];
        const std::string sp = key_path(p, "service_status");
        check_object(ss, sp, "an object {sid: status}");
        for (const std::string &sid : ss.getMemberNames()) {
            const std::string ip = key_path(sp, sid);
            check_object(ss[sid], ip, "a service status object");
            sid_ref ref = parse_sid(sid, ip);
            if (auto g = c.find_guest(ref.vmid)) {
                if (auto st = opt_string(ss[sid], "state", ip)) {
                    c.guests[*g].ha_state = *st;
                }
            }
        }
    }
}

} // namespace

void read_ha(cluster &c, const Json::Value &ha, const std::string &path) {
    if (ha.isMember("resources")) {
        read_ha_resources(c, ha["resources"], key_path(path, "resources"));
    }
    std::map<std::string, ha_rule_input> rules, group_rules;
    if (ha.isMember("rules")) {
        read_ha_rules(c, ha["rules"], key_path(path, "rules"), rules);
    }
    if (ha.isMember("groups")) {
        read_ha_groups(c, ha["groups"], key_path(path, "groups"), group_rules);
    }
    for (auto &[id, r] : group_rules) {
        rules[id] = std::move(r); // a migrated group replaces a rule of the same id, as upstream
    }
    if (ha.isMember("manager-status")) {
        read_manager_status(c, ha["manager-status"], key_path(path, "manager-status"));
    }
    std::vector<ha_rule_input> list;
    for (auto &[id, r] : rules) {
        list.push_back(std::move(r));
    }
    // Notes about the input first (sorted: input order does not matter), then the dropped
    // rules in pve-ha-manager's order.
    std::sort(c.ha.dropped.begin(), c.ha.dropped.end());
    compile_ha_rules(c, std::move(list));
}

} // namespace pvebal::detail
