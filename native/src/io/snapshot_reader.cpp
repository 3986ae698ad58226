// Snapshot reader: every form of docs/snapshot.md into a validated, sorted cluster model. This
// file knows the shape (array, {data}, extended object) and the /cluster/resources entries; the
// optional parts are read by guest_config.cpp and ha_reader.cpp (io/snapshot_parts.h).
#include "io/json_access.h"
#include "io/option_values.h"
#include "io/snapshot_parts.h"
#include "pvebal/io.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>

namespace pvebal {

using namespace detail;

namespace {

constexpr std::uint64_t min_vmid = 100;
constexpr std::uint64_t max_vmid = 999999999;

// Entities as read, with the path of their entry for later errors.
// A guest is read straight into cluster::guests; where it came from stays beside it.
struct raw_guest {
    std::string node_name;
    std::string path;
};
struct raw_storage {
    storage_info s;
    std::string node_name;
    std::string path;
};

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

node read_node(const object_fields &e, const std::string &path) {
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

raw_guest read_guest(const object_fields &e, const std::string &path, guest_type type, guest &g) {
    raw_guest r;
    r.path = path;
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

raw_storage read_storage(const object_fields &e, const std::string &path) {
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

// "1 MiB": the limits as the messages name them.
std::string mib(std::size_t bytes) {
    return std::to_string(bytes / (1024 * 1024)) + " MiB";
}

void check_count(const char *what, std::size_t count, std::size_t limit, const std::string &path) {
    if (count > limit) {
        reject(path, std::string("more than ") + std::to_string(limit) + " " + what +
                         " (the input limit, see docs/reliability.md)");
    }
}

snapshot read(std::string_view text) {
    if (text.size() > max_snapshot_bytes) {
        reject("snapshot", "larger than the input limit of " + mib(max_snapshot_bytes) + " (got " +
                               std::to_string(text.size()) + " bytes)");
    }
    const input_tree tree(parse_json(text, "snapshot", "", "resources"));
    const Json::Value &root = tree.root;
    snapshot out;
    const Json::Value *resources = nullptr;
    std::string rpath;
    if (root.isArray()) {
        out.form = "array";
        resources = &root;
        rpath = "resources";
    } else if (root.isObject() && root.isMember("resources")) {
        out.form = "extended";
        check_known_keys(root, "",
                         {"resources", "ha", "guests", "nodes", "cpu-models", "mappings", "options",
                          "pve_version", "source", "comment"});
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
    // The count limits, before any entry is read.
    std::size_t node_count = 0, guest_count = 0;
    for (const Json::Value &e : *resources) {
        static constexpr std::string_view type_key = "type";
        const Json::Value *t =
            e.isObject() ? e.find(type_key.data(), type_key.data() + type_key.size()) : nullptr;
        const char *b = nullptr, *end = nullptr;
        if (t != nullptr && t->isString() && t->getString(&b, &end)) {
            const std::string_view type(b, static_cast<std::size_t>(end - b));
            node_count += type == "node" ? 1 : 0;
            guest_count += type == "qemu" || type == "lxc" ? 1 : 0;
        }
    }
    check_count("nodes", node_count, max_snapshot_nodes, rpath);
    check_count("guests", guest_count, max_snapshot_guests, rpath);

    cluster &c = out.c;
    std::vector<raw_guest> guests;
    guests.reserve(guest_count);
    c.guests.reserve(guest_count);
    c.nodes.reserve(node_count);
    std::vector<raw_storage> storages;
    std::map<std::string, std::string> node_paths;
    Json::ArrayIndex i = 0;
    for (auto it = resources->begin(); it != resources->end(); ++it, ++i) {
        const std::string p = index_path(rpath, i);
        check_object(*it, p, "a resource object");
        const object_fields e(*it);
        const std::string type = req_string(e, "type", p);
        if (type == "node") {
            node n = read_node(e, p);
            if (!node_paths.emplace(n.name, p).second) {
                reject(key_path(p, "node"),
                       "duplicate node \"" + n.name + "\" (also " + node_paths[n.name] + ")");
            }
            c.nodes.push_back(std::move(n));
        } else if (type == "qemu" || type == "lxc") {
            guests.push_back(read_guest(e, p, type == "qemu" ? guest_type::qemu : guest_type::lxc,
                                        c.guests.emplace_back()));
        } else if (type == "storage") {
            storages.push_back(read_storage(e, p));
        }
        // pool, sdn, network, openvz: not used by the planner.
    }
    std::sort(c.nodes.begin(), c.nodes.end(),
              [](const node &a, const node &b) { return a.name < b.name; });

    // By vmid (input order among equal ones).
    std::vector<std::uint32_t> order(guests.size());
    for (std::uint32_t k = 0; k < order.size(); ++k) {
        order[k] = k;
    }
    auto vmid = [&](std::size_t k) { return c.guests[k].vmid; };
    std::sort(order.begin(), order.end(), [&](std::uint32_t x, std::uint32_t y) {
        return vmid(x) != vmid(y) ? vmid(x) < vmid(y) : x < y;
    });
    // The first entry (in input order) that repeats a vmid, and the entry it repeats.
    std::size_t dup = guests.size(), dup_of = 0;
    for (std::size_t j = 1; j < order.size(); ++j) {
        if (vmid(order[j]) == vmid(order[j - 1]) && order[j] < dup) {
            dup = order[j];
            std::size_t first = j - 1;
            while (first > 0 && vmid(order[first - 1]) == vmid(order[j])) {
                --first;
            }
            dup_of = order[first];
        }
    }
    for (std::size_t k = 0; k < guests.size(); ++k) {
        const raw_guest &r = guests[k];
        auto n = c.find_node(r.node_name);
        if (!n) {
            reject(key_path(r.path, "node"),
                   "unknown node \"" + r.node_name + "\" (no node entry with that name)");
        }
        c.guests[k].node = *n;
        if (k == dup) {
            reject(key_path(r.path, "vmid"), "duplicate vmid " + std::to_string(vmid(k)) +
                                                 " (also " + guests[dup_of].path + ")");
        }
    }
    // Into vmid order in place (each cycle of the permutation with one temporary).
    std::vector<bool> placed(order.size(), false);
    for (std::size_t start = 0; start < order.size(); ++start) {
        if (placed[start] || order[start] == start) {
            continue;
        }
        guest tmp = std::move(c.guests[start]);
        std::size_t j = start;
        while (order[j] != start) {
            c.guests[j] = std::move(c.guests[order[j]]);
            placed[j] = true;
            j = order[j];
        }
        c.guests[j] = std::move(tmp);
        placed[j] = true;
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
    if (root.isMember("mappings")) {
        read_mappings(c, root["mappings"], "mappings");
    }
    if (root.isMember("cpu-models")) {
        read_cpu_models(c, root["cpu-models"], "cpu-models");
    }
    if (root.isMember("nodes")) {
        const Json::Value &ns = root["nodes"];
        check_object(ns, "nodes", "an object keyed by node name");
        for (const std::string &name : ns.getMemberNames()) {
            const std::string p = key_path("nodes", name);
            auto n = c.find_node(name);
            if (!n) {
                reject(p, "no node named \"" + name + "\" in resources");
            }
            check_object(ns[name], p,
                         "an object with status, cpu-flags, zfs, arc-max, arc-size, pressure");
            check_known_keys(ns[name], p,
                             {"status", "cpu-flags", "zfs", "arc-max", "arc-size", "pressure"});
            read_node_details(c.nodes[*n], ns[name], p);
        }
    }
    if (root.isMember("guests")) {
        const Json::Value &gs = root["guests"];
        check_object(gs, "guests", "an object keyed by vmid");
        for (const std::string &key : gs.getMemberNames()) {
            const std::string p = key_path("guests", key);
            if (key.empty() || key.size() > 9 || !std::all_of(key.begin(), key.end(), [](char ch) {
                    return ch >= '0' && ch <= '9';
                })) {
                reject(p, "expected a vmid as key");
            }
            auto g = c.find_guest(static_cast<std::uint32_t>(std::stoul(key)));
            if (!g) {
                reject(p, "no guest with vmid " + key + " in resources");
            }
            const Json::Value &d = gs[key];
            check_object(d, p, "an object with config, migrate, rrd and/or replication");
            check_known_keys(d, p, {"config", "migrate", "rrd", "replication"});
            guest &gg = c.guests[*g];
            if (d.isMember("config")) {
                const Json::Value &cfg = d["config"];
                read_config(gg, cfg.isObject() && cfg.isMember("data") ? cfg["data"] : cfg,
                            key_path(p, "config"));
            }
            if (d.isMember("migrate")) {
                read_precondition(gg, d["migrate"], key_path(p, "migrate"));
            }
            if (d.isMember("replication")) {
                read_replication(c, gg, d["replication"], key_path(p, "replication"));
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
        std::size_t rules = 0;
        for (const char *k : {"rules", "groups"}) {
            const Json::Value *v = ha.find(k, k + std::char_traits<char>::length(k));
            if (v != nullptr && v->isObject() && v->isMember("data")) {
                v = &(*v)["data"];
            }
            rules += v != nullptr && v->isArray() ? v->size() : 0;
        }
        check_count("HA rules and groups", rules, max_snapshot_ha_rules, "ha.rules");
        read_ha(c, ha, "ha");
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
    if (o.disk_io_weight > 0 && o.disk_io_capacity <= 0) {
        return fail("disk-io-capacity", "expected a size above 0 (bytes per second) when "
                                        "disk-io-weight is above 0");
    }
    for (const auto &[from, to] : o.storage_map) {
        if (from.empty() || to.empty()) {
            return fail("storage-map", "expected non-empty storage names");
        }
    }
    for (node &nd : c.nodes) {
        nd.memory_reserve.reset();
    }
    auto reserves = parse_node_memory_reserve(o.node_memory_reserve);
    if (!reserves) {
        return std::unexpected(std::move(reserves.error()));
    }
    for (const auto &[name, bytes] : *reserves) {
        auto n = c.find_node(name);
        if (!n) {
            return fail("node-memory-reserve", "unknown node \"" + name + "\"");
        }
        c.nodes[*n].memory_reserve = bytes;
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
