// Snapshot reader: every form of docs/snapshot.md into a validated, sorted cluster model.
#include "io/json_access.h"
#include "io/option_values.h"
#include "pvebal/io.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>

namespace pvebal {

using namespace detail;

namespace {

// Bounds for "absurd" values: far beyond any real host, small enough to keep arithmetic exact.
constexpr double max_cpus = 16384;
constexpr std::uint64_t max_bytes = 1ull << 56; // 64 PiB
constexpr double max_fraction = 1.5;            // PVE caps at 1; allow sampling jitter above
constexpr std::uint64_t min_vmid = 100;
constexpr std::uint64_t max_vmid = 999999999;

// Entities as read, with the path of their entry for later errors.
struct raw_guest {
    guest g;
    std::string node_name;
    std::string path;
};
struct raw_storage {
    storage_info s;
    std::string node_name;
    std::string path;
};

void check_object(const Json::Value &v, const std::string &path, const char *what) {
    if (!v.isObject()) {
        reject(path, std::string("expected ") + what + ", got " + describe(v));
    }
}

void check_array(const Json::Value &v, const std::string &path, const char *what) {
    if (!v.isArray()) {
        reject(path, std::string("expected ") + what + ", got " + describe(v));
    }
}

node read_node(const Json::Value &e, const std::string &path) {
    node n;
    auto name = opt_string(e, "node", path);
    if (!name) {
        // The id is "node/<name>"; accept it when "node" is absent.
        auto id = opt_string(e, "id", path);
        if (!id || id->rfind("node/", 0) != 0 || id->size() <= 5) {
            reject(key_path(path, "node"), "missing, expected the node name");
        }
        name = id->substr(5);
    }
    if (name->empty()) {
        reject(key_path(path, "node"), "expected a non-empty node name");
    }
    n.name = *name;
    const std::string status = req_string(e, "status", path);
    n.online = status == "online";
    n.ha_state = opt_string(e, "hastate", path).value_or("");

    auto maxcpu = opt_number(e, "maxcpu", path, 0, max_cpus, "a number of CPUs from 0 to 16384");
    auto maxmem = opt_uint(e, "maxmem", path, max_bytes, "a non-negative integer (bytes)");
    auto cpu = opt_number(e, "cpu", path, 0, max_fraction, "a fraction from 0 to 1");
    auto mem = opt_uint(e, "mem", path, max_bytes, "a non-negative integer (bytes)");
    if (n.online) {
        // An online node without capacity cannot be planned for; offline ones often lack it.
        if (!maxcpu) {
            reject(key_path(path, "maxcpu"),
                   "missing, expected the number of CPUs of an online node");
        }
        if (!maxmem) {
            reject(key_path(path, "maxmem"),
                   "missing, expected the memory size (bytes) of an online node");
        }
        if (*maxcpu <= 0) {
            reject(key_path(path, "maxcpu"),
                   "expected a positive number of CPUs for an online node, got 0");
        }
        if (*maxmem == 0) {
            reject(key_path(path, "maxmem"),
                   "expected a positive memory size for an online node, got 0");
        }
    }
    n.maxcpu = maxcpu.value_or(0);
    n.maxmem = maxmem.value_or(0);
    n.cpu = std::min(cpu.value_or(0), 1.0);
    n.mem = mem.value_or(0);
    if (n.maxmem > 0 && n.mem > n.maxmem) {
        reject(key_path(path, "mem"), "expected at most maxmem (" + std::to_string(n.maxmem) +
                                          "), got " + std::to_string(n.mem));
    }
    return n;
}

raw_guest read_guest(const Json::Value &e, const std::string &path, guest_type type) {
    raw_guest r;
    r.path = path;
    guest &g = r.g;
    g.type = type;
    auto vmid = opt_uint(e, "vmid", path, max_vmid, "a VM id from 100 to 999999999");
    if (!vmid) {
        // The id is "qemu/<vmid>" or "lxc/<vmid>"; accept it when "vmid" is absent.
        static const std::regex id_re("^(qemu|lxc)/([0-9]{1,9})$");
        std::smatch m;
        const std::string id = opt_string(e, "id", path).value_or("");
        if (std::regex_match(id, m, id_re)) {
            vmid = std::stoull(m[2].str());
        }
    }
    if (!vmid) {
        reject(key_path(path, "vmid"), "missing, expected a VM id from 100 to 999999999");
    }
    if (*vmid < min_vmid) {
        reject(key_path(path, "vmid"),
               "expected a VM id from 100 to 999999999, got " + std::to_string(*vmid));
    }
    g.vmid = static_cast<std::uint32_t>(*vmid);
    r.node_name = req_string(e, "node", path);
    g.status = req_string(e, "status", path);
    g.running = g.status == "running" || g.status == "paused";
    g.name = opt_string(e, "name", path).value_or("");
    auto maxcpu = opt_number(e, "maxcpu", path, 0, max_cpus, "a number of vCPUs from 0 to 16384");
    if (!maxcpu) {
        reject(key_path(path, "maxcpu"), "missing, expected the number of vCPUs");
    }
    g.maxcpu = *maxcpu;
    auto maxmem = opt_uint(e, "maxmem", path, max_bytes, "a non-negative integer (bytes)");
    if (!maxmem) {
        reject(key_path(path, "maxmem"), "missing, expected the configured memory in bytes");
    }
    g.maxmem = *maxmem;
    g.cpu = std::min(
        opt_number(e, "cpu", path, 0, max_fraction, "a fraction from 0 to 1").value_or(0), 1.0);
    g.mem = opt_uint(e, "mem", path, max_bytes, "a non-negative integer (bytes)").value_or(0);
    g.memhost =
        opt_uint(e, "memhost", path, max_bytes, "a non-negative integer (bytes)").value_or(0);
    g.maxdisk =
        opt_uint(e, "maxdisk", path, max_bytes, "a non-negative integer (bytes)").value_or(0);
    g.disk = opt_uint(e, "disk", path, max_bytes, "a non-negative integer (bytes)").value_or(0);
    g.is_template = opt_bool(e, "template", path).value_or(false);
    g.lock = opt_string(e, "lock", path).value_or("");
    g.tags = split_tags(opt_string(e, "tags", path).value_or(""));
    g.pool = opt_string(e, "pool", path).value_or("");
    g.ha_state = opt_string(e, "hastate", path).value_or("");
    return r;
}

raw_storage read_storage(const Json::Value &e, const std::string &path) {
    raw_storage r;
    r.path = path;
    r.node_name = req_string(e, "node", path);
    auto name = opt_string(e, "storage", path);
    if (!name) {
        // id is "storage/<node>/<storage>"
        auto id = opt_string(e, "id", path);
        auto slash = id ? id->rfind('/') : std::string::npos;
        if (!id || slash == std::string::npos || slash + 1 == id->size()) {
            reject(key_path(path, "storage"), "missing, expected the storage id");
        }
        name = id->substr(slash + 1);
    }
    r.s.name = *name;
    r.s.shared = opt_bool(e, "shared", path).value_or(false);
    r.s.available = opt_string(e, "status", path).value_or("available") == "available";
    r.s.total =
        opt_uint(e, "maxdisk", path, max_bytes, "a non-negative integer (bytes)").value_or(0);
    r.s.used = opt_uint(e, "disk", path, max_bytes, "a non-negative integer (bytes)").value_or(0);
    r.s.plugin = opt_string(e, "plugintype", path).value_or("");
    r.s.content = opt_string(e, "content", path).value_or("");
    return r;
}

// --- guest details (guests.<vmid>) --------------------------------------------------------

const std::regex &disk_key_re() {
    static const std::regex re(
        "^(ide|sata|scsi|virtio|efidisk|tpmstate|unused|mp)[0-9]+$|^rootfs$");
    return re;
}
const std::regex &local_resource_key_re() {
    static const std::regex re("^(hostpci|usb|serial|parallel|dev)[0-9]+$");
    return re;
}

void read_config(guest &g, const Json::Value &cfg, const std::string &path) {
    check_object(cfg, path, "the guest config object (GET .../config)");
    g.has_config = true;
    for (const std::string &key : cfg.getMemberNames()) {
        const Json::Value &v = cfg[key];
        if (key == "lock" && v.isString()) {
            g.lock = v.asString();
            continue;
        }
        if (key == "tags" && v.isString()) {
            g.tags = split_tags(v.asString());
            continue;
        }
        const bool disk_key = std::regex_match(key, disk_key_re());
        const bool device_key = std::regex_match(key, local_resource_key_re());
        if (!disk_key && !device_key) {
            continue;
        }
        const std::string value = as_string(v, key_path(path, key));
        const std::string first = value.substr(0, value.find(','));
        if (device_key) {
            // A USB device may be spice redirection, a serial port a socket: neither pins.
            if ((key.rfind("usb", 0) == 0 && first == "spice") ||
                (key.rfind("serial", 0) == 0 && first == "socket")) {
                continue;
            }
            g.local_resources.push_back(key);
            continue;
        }
        if (first == "none" || first.empty()) {
            continue;
        }
        const bool cdrom = value.find("media=cdrom") != std::string::npos;
        if (first == "cdrom" || first.rfind("/dev/", 0) == 0 ||
            (first.front() == '/' && key.rfind("mp", 0) == 0)) {
            // Physical drive, host block device or bind mount: bound to this host.
            g.local_resources.push_back(key);
            continue;
        }
        auto colon = first.find(':');
        if (colon == std::string::npos || colon == 0) {
            reject(key_path(path, key),
                   "expected a volume \"storage:volume[,options]\", got " + describe(v));
        }
        guest_disk d;
        d.key = key;
        d.storage = first.substr(0, colon);
        d.volid = first;
        d.cdrom = cdrom;
        static const std::regex size_re("(^|,)size=([0-9]+(\\.[0-9]+)?[KMGT]?)(,|$)");
        std::smatch m;
        if (std::regex_search(value, m, size_re)) {
            if (auto s = parse_size(m[2].str())) {
                d.size = *s;
            }
        }
        g.disks.push_back(std::move(d));
    }
    std::sort(g.local_resources.begin(), g.local_resources.end());
}

std::vector<std::string> name_list(const Json::Value &v, const std::string &path) {
    check_array(v, path, "an array of names");
    std::vector<std::string> out;
    for (Json::ArrayIndex i = 0; i < v.size(); ++i) {
        out.push_back(as_string(v[i], index_path(path, i)));
    }
    return out;
}

const Json::Value *member(const Json::Value &obj, const char *a, const char *b) {
    if (obj.isMember(a)) {
        return &obj[a];
    }
    if (b != nullptr && obj.isMember(b)) {
        return &obj[b];
    }
    return nullptr;
}

void read_precondition(guest &g, const Json::Value &in, const std::string &in_path) {
    const Json::Value &m = in.isObject() && in.isMember("data") ? in["data"] : in;
    const std::string path = &m == &in ? in_path : key_path(in_path, "data");
    check_object(m, path, "the migrate precondition object (GET .../migrate)");
    g.has_precondition = true;
    if (const Json::Value *na = member(m, "not_allowed_nodes", "not-allowed-nodes")) {
        const std::string p = key_path(path, m.isMember("not_allowed_nodes") ? "not_allowed_nodes"
                                                                             : "not-allowed-nodes");
        check_object(*na, p, "an object keyed by node name");
        for (const std::string &node_name : na->getMemberNames()) {
            const Json::Value &why = (*na)[node_name];
            const std::string np = key_path(p, node_name);
            check_object(why, np, "an object with the reasons");
            std::string reason;
            for (const std::string &k : why.getMemberNames()) {
                const Json::Value &list = why[k];
                if (!list.isArray() || list.empty()) {
                    continue;
                }
                std::string items;
                for (Json::ArrayIndex i = 0; i < list.size(); ++i) {
                    std::string item = list[i].isString() ? list[i].asString()
                                       : list[i].isObject() && list[i]["sid"].isString()
                                           ? list[i]["sid"].asString()
                                           : describe(list[i]);
                    items += (i ? "," : "") + item;
                }
                reason += (reason.empty() ? "" : "; ") + k + ": " + items;
            }
            g.blocked_targets.push_back({node_name, reason.empty() ? "not allowed" : reason});
        }
        std::sort(g.blocked_targets.begin(), g.blocked_targets.end(),
                  [](const blocked_target &a, const blocked_target &b) { return a.node < b.node; });
    }
    if (const Json::Value *ld = member(m, "local_disks", "local-disks")) {
        const std::string p = key_path(path, "local_disks");
        check_array(*ld, p, "an array of disks");
        for (Json::ArrayIndex i = 0; i < ld->size(); ++i) {
            const Json::Value &d = (*ld)[i];
            check_object(d, index_path(p, i), "a disk object");
            const bool cdrom = opt_bool(d, "cdrom", index_path(p, i)).value_or(false);
            const bool unused = opt_bool(d, "is_unused", index_path(p, i)).value_or(false);
            std::string volid = opt_string(d, "volid", index_path(p, i)).value_or("");
            if (!cdrom && !unused) {
                g.local_disk_volids.push_back(volid);
            } else if (!unused) {
                g.local_disk_volids.push_back(volid); // local ISO: blocks like a disk
            }
        }
        std::sort(g.local_disk_volids.begin(), g.local_disk_volids.end());
    }
    if (const Json::Value *lr = member(m, "local_resources", "local-resources")) {
        std::vector<std::string> names = name_list(*lr, key_path(path, "local_resources"));
        g.local_resources.insert(g.local_resources.end(), names.begin(), names.end());
        std::sort(g.local_resources.begin(), g.local_resources.end());
        g.local_resources.erase(std::unique(g.local_resources.begin(), g.local_resources.end()),
                                g.local_resources.end());
    }
}

void read_rrd(guest &g, const Json::Value &rrd, const std::string &path) {
    if (rrd.isObject()) {
        if (auto c = opt_number(rrd, "cpu", path, 0, max_fraction, "a fraction from 0 to 1")) {
            g.cpu_avg = std::min(*c, 1.0);
        }
        g.mem_avg = opt_uint(rrd, "mem", path, max_bytes, "a non-negative integer (bytes)");
        return;
    }
    // rrddata rows: average the points that carry values (stopped intervals have none).
    check_array(rrd, path, "an object {cpu, mem} or an array of rrddata points");
    double cpu_sum = 0, mem_sum = 0;
    int cpu_n = 0, mem_n = 0;
    for (Json::ArrayIndex i = 0; i < rrd.size(); ++i) {
        const std::string p = index_path(path, i);
        check_object(rrd[i], p, "an rrddata point object");
        if (auto c = opt_number(rrd[i], "cpu", p, 0, max_fraction, "a fraction from 0 to 1")) {
            cpu_sum += std::min(*c, 1.0);
            ++cpu_n;
        }
        if (auto m = opt_number(rrd[i], "mem", p, 0, static_cast<double>(max_bytes),
                                "a non-negative number (bytes)")) {
            mem_sum += *m;
            ++mem_n;
        }
    }
    if (cpu_n > 0) {
        g.cpu_avg = cpu_sum / cpu_n;
    }
    if (mem_n > 0) {
        g.mem_avg = static_cast<std::uint64_t>(mem_sum / mem_n);
    }
}

// --- HA -------------------------------------------------------------------------------------

struct sid_ref {
    guest_type type;
    std::uint32_t vmid;
};

sid_ref parse_sid(const std::string &s, const std::string &path) {
    static const std::regex re("^(?:(vm|ct):)?([0-9]{3,9})$");
    std::smatch m;
    if (!std::regex_match(s, m, re)) {
        reject(path, "expected an HA resource id like \"vm:100\" or \"ct:101\", got \"" + s + "\"");
    }
    return {m[1].str() == "ct" ? guest_type::lxc : guest_type::qemu,
            static_cast<std::uint32_t>(std::stoul(m[2].str()))};
}

std::vector<std::string> sid_list(const Json::Value &v, const std::string &path) {
    if (v.isString()) {
        return split_tags(v.asString());
    }
    return name_list(v, path);
}

// Resolves sids to guests; a sid without a guest is dropped, a type mismatch is an error.
std::vector<guest_id> resolve_sids(const cluster &c, const std::vector<std::string> &sids,
                                   const std::string &path, std::vector<std::string> &dropped,
                                   const std::string &what) {
    std::vector<guest_id> out;
    for (const std::string &s : sids) {
        sid_ref ref = parse_sid(s, path);
        auto g = c.find_guest(ref.vmid);
        if (!g) {
            dropped.push_back(what + ": ignoring " + s + ", no such guest");
            continue;
        }
        if (c.guests[*g].type != ref.type) {
            reject(path, s + " names a " + (ref.type == guest_type::qemu ? "VM" : "container") +
                             ", but guest " + std::to_string(ref.vmid) + " is a " +
                             (c.guests[*g].type == guest_type::qemu ? "VM" : "container"));
        }
        out.push_back(*g);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

// "node1:2,node2" -> (node, priority); unknown nodes are dropped with a note.
std::vector<std::pair<node_id, int>> parse_node_list(const cluster &c, const Json::Value &v,
                                                     const std::string &path,
                                                     std::vector<std::string> &dropped,
                                                     const std::string &what, bool &had_priority) {
    std::vector<std::string> items = v.isString() ? split_tags(v.asString()) : name_list(v, path);
    static const std::regex re("^([A-Za-z0-9][A-Za-z0-9.-]*)(?::([0-9]{1,4}))?$");
    std::vector<std::pair<node_id, int>> out;
    for (const std::string &item : items) {
        std::smatch m;
        if (!std::regex_match(item, m, re)) {
            reject(path, "expected \"node[:priority]\" entries, got \"" + item + "\"");
        }
        if (m[2].matched) {
            had_priority = true;
        }
        auto n = c.find_node(m[1].str());
        if (!n) {
            dropped.push_back(what + ": ignoring unknown node " + m[1].str());
            continue;
        }
        out.emplace_back(*n, m[2].matched ? std::stoi(m[2].str()) : 0);
    }
    std::sort(out.begin(), out.end());
    out.erase(
        std::unique(out.begin(), out.end(), [](auto &a, auto &b) { return a.first == b.first; }),
        out.end());
    if (items.empty()) {
        reject(path, "expected at least one node");
    }
    return out;
}

void read_ha_resources(cluster &c, const Json::Value &v, const std::string &path) {
    const Json::Value &arr = v.isObject() && v.isMember("data") ? v["data"] : v;
    check_array(arr, path, "an array of HA resources (GET /cluster/ha/resources)");
    std::set<guest_id> seen;
    for (Json::ArrayIndex i = 0; i < arr.size(); ++i) {
        const std::string p = index_path(path, i);
        check_object(arr[i], p, "an HA resource object");
        const std::string sid = req_string(arr[i], "sid", p);
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
        if (!seen.insert(*g).second) {
            reject(key_path(p, "sid"), "duplicate HA resource " + sid);
        }
        ha_resource r;
        r.sid = c.guests[*g].sid();
        r.guest = *g;
        r.state = opt_string(arr[i], "state", p).value_or("started");
        static const std::set<std::string> states = {"started", "stopped", "enabled", "disabled",
                                                     "ignored"};
        if (!states.count(r.state)) {
            reject(key_path(p, "state"),
                   "expected started, stopped, enabled, disabled or ignored, got \"" + r.state +
                       "\"");
        }
        if (r.state == "enabled") {
            r.state = "started";
        }
        r.group = opt_string(arr[i], "group", p).value_or("");
        r.failback = opt_bool(arr[i], "failback", p).value_or(true);
        r.max_restart = static_cast<int>(
            opt_uint(arr[i], "max_restart", p, 10, "an integer from 0 to 10").value_or(1));
        r.max_relocate = static_cast<int>(
            opt_uint(arr[i], "max_relocate", p, 10, "an integer from 0 to 10").value_or(1));
        c.ha.resources.push_back(std::move(r));
    }
    std::sort(c.ha.resources.begin(), c.ha.resources.end(),
              [](const ha_resource &a, const ha_resource &b) { return a.guest < b.guest; });
}

void read_ha_groups(cluster &c, const Json::Value &v, const std::string &path) {
    // Legacy groups become node-affinity rules "ha-group-<name>", as pve-ha-manager migrates
    // them: restricted -> strict, priorities kept, nofailback -> the resource's failback off.
    const Json::Value &arr = v.isObject() && v.isMember("data") ? v["data"] : v;
    check_array(arr, path, "an array of HA groups (GET /cluster/ha/groups)");
    std::map<std::string, node_affinity_rule> groups;
    std::map<std::string, bool> nofailback;
    for (Json::ArrayIndex i = 0; i < arr.size(); ++i) {
        const std::string p = index_path(path, i);
        check_object(arr[i], p, "an HA group object");
        const std::string name = req_string(arr[i], "group", p);
        if (groups.count(name)) {
            reject(key_path(p, "group"), "duplicate HA group \"" + name + "\"");
        }
        node_affinity_rule r;
        r.id = "ha-group-" + name;
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
        it->second.guests.push_back(res.guest);
        if (nofailback[res.group]) {
            res.failback = false;
        }
    }
    for (auto &[name, rule] : groups) {
        if (!rule.guests.empty()) {
            std::sort(rule.guests.begin(), rule.guests.end());
            c.ha.node_affinity.push_back(std::move(rule));
        }
    }
}

void read_ha_rules(cluster &c, const Json::Value &v, const std::string &path) {
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
        std::vector<std::string> sids = sid_list(e["resources"], key_path(p, "resources"));
        if (sids.empty()) {
            reject(key_path(p, "resources"), "expected at least one resource");
        }
        std::vector<guest_id> guests =
            resolve_sids(c, sids, key_path(p, "resources"), c.ha.dropped, "rule '" + id + "'");
        const bool disabled = opt_bool(e, "disable", p).value_or(false);
        const std::string affinity = opt_string(e, "affinity", p).value_or("positive");
        if (affinity != "positive" && affinity != "negative") {
            reject(key_path(p, "affinity"),
                   "expected \"positive\" or \"negative\", got \"" + affinity + "\"");
        }
        if (type == "node-affinity") {
            node_affinity_rule r;
            r.id = id;
            r.guests = guests;
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
                // "Never on these nodes": the complement, as pve-ha-manager transforms it.
                if (prio) {
                    c.ha.dropped.push_back(
                        "Drop rule '" + id +
                        "', because negative node affinity rules cannot have priorities");
                    continue;
                }
                std::vector<std::pair<node_id, int>> complement;
                for (node_id n = 0; n < c.nodes.size(); ++n) {
                    bool listed = std::any_of(r.nodes.begin(), r.nodes.end(),
                                              [&](auto &x) { return x.first == n; });
                    if (!listed) {
                        complement.emplace_back(n, 0);
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
            if (r.guests.empty() || r.nodes.empty()) {
                c.ha.dropped.push_back("Drop rule '" + id +
                                       "', because it has no known resources or nodes");
                continue;
            }
            c.ha.node_affinity.push_back(std::move(r));
        } else {
            if (disabled) {
                continue;
            }
            resource_affinity_rule r;
            r.id = id;
            r.guests = guests;
            r.positive = affinity == "positive";
            if (r.guests.size() < 2) {
                c.ha.dropped.push_back(
                    "Drop rule '" + id +
                    "', because resource affinity rules must have at least two resources");
                continue;
            }
            if (!r.positive && r.guests.size() > c.nodes.size()) {
                c.ha.dropped.push_back(
                    "Drop rule '" + id +
                    "', because it has more resources than the cluster has nodes");
                continue;
            }
            c.ha.resource_affinity.push_back(std::move(r));
        }
    }
}

// The feasibility checks of pve-ha-manager that drop rules (its "Drop rule ..." log lines):
// a resource in several node-affinity rules drops all of them; a pair of resources that is
// both kept together and kept apart drops the rules involved. Rules end sorted by id, so their
// order in the input does not matter.
void check_ha_rules(cluster &c) {
    auto by_id = [](const auto &a, const auto &b) { return a.id < b.id; };
    std::sort(c.ha.node_affinity.begin(), c.ha.node_affinity.end(), by_id);
    std::sort(c.ha.resource_affinity.begin(), c.ha.resource_affinity.end(), by_id);

    std::map<guest_id, int> uses;
    for (const node_affinity_rule &r : c.ha.node_affinity) {
        for (guest_id g : r.guests) {
            ++uses[g];
        }
    }
    std::vector<node_affinity_rule> kept_nodes;
    for (node_affinity_rule &r : c.ha.node_affinity) {
        auto shared =
            std::find_if(r.guests.begin(), r.guests.end(), [&](guest_id g) { return uses[g] > 1; });
        if (shared != r.guests.end()) {
            c.ha.dropped.push_back("Drop rule '" + r.id + "', because resource " +
                                   c.guests[*shared].sid() +
                                   " is in more than one node affinity rule");
            continue;
        }
        kept_nodes.push_back(std::move(r));
    }
    c.ha.node_affinity = std::move(kept_nodes);

    std::set<std::pair<guest_id, guest_id>> together, apart;
    for (const resource_affinity_rule &r : c.ha.resource_affinity) {
        for (guest_id a : r.guests) {
            for (guest_id b : r.guests) {
                if (a < b) {
                    (r.positive ? together : apart).insert({a, b});
                }
            }
        }
    }
    std::vector<resource_affinity_rule> kept;
    for (resource_affinity_rule &r : c.ha.resource_affinity) {
        const auto &other = r.positive ? apart : together;
        std::optional<std::pair<guest_id, guest_id>> conflict;
        for (guest_id a : r.guests) {
            for (guest_id b : r.guests) {
                if (a < b && other.count({a, b})) {
                    conflict = std::pair{a, b};
                }
            }
        }
        if (conflict) {
            c.ha.dropped.push_back("Drop rule '" + r.id + "', because resources " +
                                   c.guests[conflict->first].sid() + " and " +
                                   c.guests[conflict->second].sid() +
                                   " are kept both together and apart");
            continue;
        }
        kept.push_back(std::move(r));
    }
    c.ha.resource_affinity = std::move(kept);
    std::sort(c.ha.dropped.begin(), c.ha.dropped.end());
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

void check_known_keys(const Json::Value &obj, const std::string &path,
                      std::initializer_list<const char *> known) {
    for (const std::string &k : obj.getMemberNames()) {
        bool ok = k.rfind("_", 0) == 0 || k.rfind("x-", 0) == 0;
        for (const char *kn : known) {
            ok = ok || k == kn;
        }
        if (!ok) {
            std::string list;
            for (const char *kn : known) {
                list += std::string(list.empty() ? "" : ", ") + kn;
            }
            reject(key_path(path, k), "unknown key, expected one of: " + list);
        }
    }
}

snapshot read(std::string_view text) {
    const Json::Value root = parse_json(text, "snapshot");
    snapshot out;
    const Json::Value *resources = nullptr;
    std::string rpath;
    if (root.isArray()) {
        out.form = "array";
        resources = &root;
        rpath = "resources";
    } else if (root.isObject() && root.isMember("resources")) {
        out.form = "extended";
        check_known_keys(
            root, "", {"resources", "ha", "guests", "options", "pve_version", "source", "comment"});
        resources = &root["resources"];
        rpath = "resources";
        // resources may itself be the API wrapper
        if (resources->isObject() && resources->isMember("data")) {
            resources = &(*resources)["data"];
            rpath = "resources.data";
        }
    } else if (root.isObject() && root.isMember("data")) {
        out.form = "data";
        check_known_keys(root, "", {"data", "pve_version", "source", "comment"});
        resources = &root["data"];
        rpath = "data";
    } else {
        reject("",
               std::string("expected a /cluster/resources array, {\"data\": [...]} or an object "
                           "with \"resources\", got ") +
                   describe(root));
    }
    check_array(*resources, rpath, "an array of resource entries");

    cluster &c = out.c;
    std::vector<raw_guest> guests;
    std::vector<raw_storage> storages;
    std::map<std::string, std::string> node_paths;
    for (Json::ArrayIndex i = 0; i < resources->size(); ++i) {
        const Json::Value &e = (*resources)[i];
        const std::string p = index_path(rpath, i);
        check_object(e, p, "a resource object");
        const std::string type = req_string(e, "type", p);
        if (type == "node") {
            node n = read_node(e, p);
            if (!node_paths.emplace(n.name, p).second) {
                reject(key_path(p, "node"),
                       "duplicate node \"" + n.name + "\" (also " + node_paths[n.name] + ")");
            }
            c.nodes.push_back(std::move(n));
        } else if (type == "qemu" || type == "lxc") {
            guests.push_back(read_guest(e, p, type == "qemu" ? guest_type::qemu : guest_type::lxc));
        } else if (type == "storage") {
            storages.push_back(read_storage(e, p));
        }
        // pool, sdn, network, openvz: not used by the planner.
    }
    std::sort(c.nodes.begin(), c.nodes.end(),
              [](const node &a, const node &b) { return a.name < b.name; });

    std::map<std::uint32_t, std::string> vmid_paths;
    for (raw_guest &r : guests) {
        auto n = c.find_node(r.node_name);
        if (!n) {
            reject(key_path(r.path, "node"),
                   "unknown node \"" + r.node_name + "\" (no node entry with that name)");
        }
        r.g.node = *n;
        auto [it, fresh] = vmid_paths.emplace(r.g.vmid, r.path);
        if (!fresh) {
            reject(key_path(r.path, "vmid"),
                   "duplicate vmid " + std::to_string(r.g.vmid) + " (also " + it->second + ")");
        }
    }
    std::sort(guests.begin(), guests.end(),
              [](const raw_guest &a, const raw_guest &b) { return a.g.vmid < b.g.vmid; });
    for (raw_guest &r : guests) {
        c.guests.push_back(std::move(r.g));
    }
    for (raw_storage &r : storages) {
        auto n = c.find_node(r.node_name);
        if (!n) {
            reject(key_path(r.path, "node"),
                   "unknown node \"" + r.node_name + "\" (no node entry with that name)");
        }
        node &nd = c.nodes[*n];
        if (nd.find_storage(r.s.name) != nullptr) {
            reject(key_path(r.path, "storage"),
                   "duplicate storage \"" + r.s.name + "\" on node " + nd.name);
        }
        auto pos = std::lower_bound(
            nd.storages.begin(), nd.storages.end(), r.s.name,
            [](const storage_info &s, const std::string &name) { return s.name < name; });
        nd.storages.insert(pos, std::move(r.s));
    }

    if (out.form != "extended") {
        return out;
    }
    if (root.isMember("guests")) {
        const Json::Value &gs = root["guests"];
        check_object(gs, "guests", "an object keyed by vmid");
        for (const std::string &key : gs.getMemberNames()) {
            const std::string p = key_path("guests", key);
            static const std::regex digits("^[0-9]{1,9}$");
            if (!std::regex_match(key, digits)) {
                reject(p, "expected a vmid as key");
            }
            auto g = c.find_guest(static_cast<std::uint32_t>(std::stoul(key)));
            if (!g) {
                reject(p, "no guest with vmid " + key + " in resources");
            }
            const Json::Value &d = gs[key];
            check_object(d, p, "an object with config, migrate and/or rrd");
            check_known_keys(d, p, {"config", "migrate", "rrd"});
            guest &gg = c.guests[*g];
            if (d.isMember("config")) {
                const Json::Value &cfg = d["config"];
                read_config(gg, cfg.isObject() && cfg.isMember("data") ? cfg["data"] : cfg,
                            key_path(p, "config"));
            }
            if (d.isMember("migrate")) {
                read_precondition(gg, d["migrate"], key_path(p, "migrate"));
            }
            if (d.isMember("rrd")) {
                const Json::Value &rrd = d["rrd"];
                read_rrd(gg, rrd.isObject() && rrd.isMember("data") ? rrd["data"] : rrd,
                         key_path(p, "rrd"));
            }
        }
    }
    if (root.isMember("ha")) {
        const Json::Value &ha = root["ha"];
        check_object(ha, "ha", "an object with resources, rules, groups and/or manager-status");
        check_known_keys(ha, "ha", {"resources", "rules", "groups", "manager-status"});
        if (ha.isMember("resources")) {
            read_ha_resources(c, ha["resources"], "ha.resources");
        }
        if (ha.isMember("groups")) {
            read_ha_groups(c, ha["groups"], "ha.groups");
        }
        if (ha.isMember("rules")) {
            read_ha_rules(c, ha["rules"], "ha.rules");
        }
        if (ha.isMember("manager-status")) {
            read_manager_status(c, ha["manager-status"], "ha.manager-status");
        }
        check_ha_rules(c);
    }
    if (root.isMember("options")) {
        apply_options_object(out.opts, root["options"], "options");
    }
    return out;
}

} // namespace

result<void> bind_options(cluster &c, const options &o) {
    for (const std::string &name : o.maintenance_nodes) {
        auto n = c.find_node(name);
        if (!n) {
            return fail("maintenance-nodes", "unknown node \"" + name + "\"");
        }
        c.nodes[*n].maintenance = true;
    }
    for (const auto &[from, to] : o.storage_map) {
        if (from.empty() || to.empty()) {
            return fail("storage-map", "expected non-empty storage names");
        }
    }
    return {};
}

result<snapshot> read_snapshot(std::string_view json_text) {
    try {
        return read(json_text);
    } catch (const input_error &e) {
        return fail(e.path, e.what());
    } catch (const std::regex_error &e) {
        return fail("", std::string("internal error while validating input: ") + e.what());
    }
}

} // namespace pvebal
