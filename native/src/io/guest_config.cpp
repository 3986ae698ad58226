// guests.<vmid>: what a guest's config, migrate precondition, RRD averages and replication jobs
// mean for planning; and the cluster's resource mappings.
#include "io/snapshot_parts.h"
#include "pvebal/io.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <map>
#include <regex>

namespace pvebal::detail {

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

namespace {

const std::regex &disk_key_re() {
    static const std::regex re(
        "^(ide|sata|scsi|virtio|efidisk|tpmstate|unused|mp)[0-9]+$|^rootfs$");
    return re;
}
const std::regex &local_resource_key_re() {
    static const std::regex re("^(hostpci|usb|serial|parallel|dev|virtiofs)[0-9]+$");
    return re;
}

// A property string as qemu-server writes it: "key=value" items; a bare item is the format's
// default key (host for hostpci/usb, dirid for virtiofs).
std::map<std::string, std::string> property_string(const std::string &value,
                                                   const std::string &default_key) {
    std::map<std::string, std::string> out;
    size_t start = 0;
    while (start <= value.size()) {
        const size_t end = std::min(value.find(',', start), value.size());
        const std::string item = value.substr(start, end - start);
        if (!item.empty()) {
            const size_t eq = item.find('=');
            if (eq == std::string::npos) {
                out.emplace(default_key, item);
            } else {
                out.emplace(item.substr(0, eq), item.substr(eq + 1));
            }
        }
        start = end + 1;
    }
    return out;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return s;
}

// Devices, as qemu-server's QemuMigrate::Helpers::check_local_resources sees them: a USB
// device redirected through SPICE and a serial socket do not pin the guest; a hostpci/usb
// device with `mapping=` and a virtiofs directory come from cluster resource mappings and may
// move to the nodes that have the mapping; everything else pins the guest to its node.
void read_device(guest &g, const std::string &key, const std::string &value) {
    const bool usb = key.rfind("usb", 0) == 0;
    const bool pci = key.rfind("hostpci", 0) == 0;
    const bool virtiofs = key.rfind("virtiofs", 0) == 0;
    if (key.rfind("serial", 0) == 0 && value == "socket") {
        return;
    }
    if (usb || pci) {
        const auto props = property_string(value, "host");
        if (usb && props.count("host") && lower(props.at("host")) == "spice") {
            return;
        }
        if (auto m = props.find("mapping"); m != props.end() && !m->second.empty()) {
            g.mapped_devices.push_back(
                {key, usb ? mapping_kind::usb : mapping_kind::pci, m->second});
            return;
        }
    }
    if (virtiofs) {
        const auto props = property_string(value, "dirid");
        if (auto d = props.find("dirid"); d != props.end() && !d->second.empty()) {
            g.mapped_devices.push_back({key, mapping_kind::dir, d->second});
            return;
        }
    }
    g.local_resources.push_back(key);
}

// qemu-server's `cpu` property string (CPUConfig.pm $cpu_fmt): "[cputype=]TYPE[,flags=...]".
void read_cpu_option(guest &g, const std::string &value) {
    size_t start = 0;
    while (start <= value.size()) {
        const size_t end = std::min(value.find(',', start), value.size());
        const std::string item = value.substr(start, end - start);
        const size_t eq = item.find('=');
        if (eq == std::string::npos) {
            g.cpu_type = item;
        } else if (item.compare(0, eq, "cputype") == 0) {
            g.cpu_type = item.substr(eq + 1);
        } else if (item.compare(0, eq, "flags") == 0) {
            g.cpu_flags_on = cpu_flags_turned_on(item.substr(eq + 1));
        }
        start = end + 1;
    }
}

} // namespace

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
        if (key == "cpu" && g.type == guest_type::qemu) {
            read_cpu_option(g, as_string(v, key_path(path, key)));
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
            read_device(g, key, value);
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
    std::sort(g.mapped_devices.begin(), g.mapped_devices.end(),
              [](const mapped_device &a, const mapped_device &b) { return a.key < b.key; });
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
            if (cdrom) {
                if (volid != "none" && volid != "cdrom") {
                    g.local_cdrom_volids.push_back(volid); // local ISO: qemu-server refuses it
                }
            } else if (!unused) {
                g.local_disk_volids.push_back(volid);
            }
        }
        std::sort(g.local_disk_volids.begin(), g.local_disk_volids.end());
        std::sort(g.local_cdrom_volids.begin(), g.local_cdrom_volids.end());
    }
    // Mapped devices are listed among the local resources too; they are decided by their
    // mapping (qemu-server's QemuMigrate::prepare skips them as blockers).
    std::vector<std::string> mapped;
    if (const Json::Value *mr = member(m, "mapped-resources", "mapped_resources")) {
        mapped = name_list(*mr, key_path(path, "mapped-resources"));
    }
    if (const Json::Value *lr = member(m, "local_resources", "local-resources")) {
        std::vector<std::string> names = name_list(*lr, key_path(path, "local_resources"));
        for (const std::string &n : names) {
            if (std::find(mapped.begin(), mapped.end(), n) == mapped.end()) {
                g.local_resources.push_back(n);
            }
        }
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
        // Disk I/O: read and write rates (rrddata's diskread/diskwrite, bytes per second).
        for (const char *key : {"diskread", "diskwrite"}) {
            if (auto r = opt_number(rrd, key, path, 0, static_cast<double>(max_bytes),
                                    "a non-negative number (bytes per second)")) {
                g.disk_io_avg = g.disk_io_avg.value_or(0) + *r;
            }
        }
        return;
    }
    // rrddata rows: average the points that carry values (stopped intervals have none).
    check_array(rrd, path, "an object {cpu, mem} or an array of rrddata points");
    double cpu_sum = 0, mem_sum = 0, io_sum[2] = {0, 0};
    int cpu_n = 0, mem_n = 0, io_n[2] = {0, 0};
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
        for (int k = 0; k < 2; ++k) {
            if (auto r = opt_number(rrd[i], k == 0 ? "diskread" : "diskwrite", p, 0,
                                    static_cast<double>(max_bytes),
                                    "a non-negative number (bytes per second)")) {
                io_sum[k] += *r;
                ++io_n[k];
            }
        }
    }
    if (cpu_n > 0) {
        g.cpu_avg = cpu_sum / cpu_n;
    }
    if (mem_n > 0) {
        g.mem_avg = static_cast<std::uint64_t>(mem_sum / mem_n);
    }
    for (int k = 0; k < 2; ++k) {
        if (io_n[k] > 0) {
            g.disk_io_avg = g.disk_io_avg.value_or(0) + io_sum[k] / io_n[k];
        }
    }
}

void read_replication(const cluster &c, guest &g, const Json::Value &v, const std::string &path) {
    check_array(v, path, "an array of replication jobs {id, target}");
    static const std::regex id_re("^[1-9][0-9]{2,8}-[0-9]{1,9}$");
    for (Json::ArrayIndex i = 0; i < v.size(); ++i) {
        const std::string p = index_path(path, i);
        check_object(v[i], p, "a replication job {id, target}");
        const std::string id = req_string(v[i], "id", p);
        if (!std::regex_match(id, id_re)) {
            reject(key_path(p, "id"),
                   "expected a replication job id like \"100-0\", got \"" + id + "\"");
        }
        const std::string target = req_string(v[i], "target", p);
        // A job to a node that left the cluster still exists: it allows no target.
        g.replication.push_back({id, c.find_node(target).value_or(no_node)});
    }
    std::sort(g.replication.begin(), g.replication.end(),
              [](const replication_job &a, const replication_job &b) { return a.id < b.id; });
}

void read_mappings(cluster &c, const Json::Value &v, const std::string &path) {
    check_object(v, path, "an object with pci, usb and/or dir mappings");
    c.mappings.known = true;
    for (const std::string &kind : v.getMemberNames()) {
        const std::string kp = key_path(path, kind);
        std::map<std::string, resource_mapping> *table = kind == "pci"   ? &c.mappings.pci
                                                         : kind == "usb" ? &c.mappings.usb
                                                         : kind == "dir" ? &c.mappings.dir
                                                                         : nullptr;
        if (table == nullptr) {
            reject(kp, "unknown mapping type, expected pci, usb or dir");
        }
        const Json::Value &ids = v[kind];
        check_object(ids, kp, "an object keyed by mapping id");
        for (const std::string &id : ids.getMemberNames()) {
            const std::string ip = key_path(kp, id);
            const Json::Value &e = ids[id];
            check_object(e, ip, "a mapping {nodes, live-migration-capable}");
            resource_mapping m;
            if (!e.isMember("nodes")) {
                reject(key_path(ip, "nodes"), "missing, expected the nodes that have the mapping");
            }
            for (const std::string &name : name_list(e["nodes"], key_path(ip, "nodes"))) {
                if (auto n = c.find_node(name)) {
                    m.nodes.push_back(*n);
                }
            }
            std::sort(m.nodes.begin(), m.nodes.end());
            m.nodes.erase(std::unique(m.nodes.begin(), m.nodes.end()), m.nodes.end());
            if (e.isMember("live-migration-capable")) {
                const Json::Value &l = e["live-migration-capable"];
                const std::string lp = key_path(ip, "live-migration-capable");
                m.live_migration = l.isBool() ? l.asBool() : as_uint(l, lp, 1, "0 or 1") == 1;
            }
            (*table)[id] = std::move(m);
        }
    }
}

void read_cpu_models(cluster &c, const Json::Value &in, const std::string &in_path) {
    const Json::Value &v = in.isObject() && in.isMember("data") ? in["data"] : in;
    const std::string path = &v == &in ? in_path : key_path(in_path, "data");
    check_array(v, path, "an array of custom CPU models (GET /cluster/qemu/custom-cpu-models)");
    for (Json::ArrayIndex i = 0; i < v.size(); ++i) {
        const std::string p = index_path(path, i);
        check_object(v[i], p, "a custom CPU model {cputype, flags, reported-model}");
        std::string name = req_string(v[i], "cputype", p);
        if (name.rfind("custom-", 0) == 0) {
            name = name.substr(7);
        }
        if (name.empty()) {
            reject(key_path(p, "cputype"), "expected a model name like \"custom-mymodel\"");
        }
        cpu_model_def m;
        m.flags_on = cpu_flags_turned_on(opt_string(v[i], "flags", p).value_or(""));
        m.reported_model = opt_string(v[i], "reported-model", p).value_or("");
        if (!c.cpu_models.emplace(name, std::move(m)).second) {
            reject(key_path(p, "cputype"), "duplicate custom CPU model \"" + name + "\"");
        }
    }
}

void read_node_details(node &n, const Json::Value &d, const std::string &path) {
    auto set_flags = [&](const std::string &text) {
        n.cpu_flags.clear();
        for (const std::string &f : split_tags(text)) {
            n.cpu_flags.push_back(cpu_flag_key(f));
        }
        std::sort(n.cpu_flags.begin(), n.cpu_flags.end());
        n.cpu_flags.erase(std::unique(n.cpu_flags.begin(), n.cpu_flags.end()), n.cpu_flags.end());
        n.cpu_flags_known = true;
    };
    if (d.isMember("status")) {
        const Json::Value &in = d["status"];
        const Json::Value &st = in.isObject() && in.isMember("data") ? in["data"] : in;
        const std::string sp = key_path(path, &st == &in ? "status" : "status.data");
        check_object(st, sp, "the node status object (GET /nodes/{node}/status)");
        if (st.isMember("cpuinfo")) {
            const Json::Value &ci = st["cpuinfo"];
            const std::string cp = key_path(sp, "cpuinfo");
            check_object(ci, cp, "the cpuinfo object {model, flags, ...}");
            n.cpu_model = opt_string(ci, "model", cp).value_or("");
            if (n.cpu_model == "unknown") {
                n.cpu_model.clear(); // ProcFSTools::read_cpuinfo's default
            }
            if (auto f = opt_string(ci, "flags", cp)) {
                set_flags(*f);
            }
        }
    }
    // pvestatd's cpuflags-kvm (what QEMU/KVM offers there); preferred to /proc/cpuinfo's list.
    if (d.isMember("cpu-flags")) {
        set_flags(as_string(d["cpu-flags"], key_path(path, "cpu-flags")));
    }
    // GET /nodes/{node}/disks/zfs: the pools and their sizes.
    if (d.isMember("zfs")) {
        const Json::Value &in = d["zfs"];
        const Json::Value &z = in.isObject() && in.isMember("data") ? in["data"] : in;
        const std::string zp = key_path(path, &z == &in ? "zfs" : "zfs.data");
        check_array(z, zp, "an array of ZFS pools (GET /nodes/{node}/disks/zfs)");
        n.zfs_pool_bytes = 0;
        for (Json::ArrayIndex i = 0; i < z.size(); ++i) {
            const std::string p = index_path(zp, i);
            check_object(z[i], p, "a ZFS pool {name, size, ...}");
            auto size = opt_uint(z[i], "size", p, max_bytes, "a non-negative integer (bytes)");
            if (!size) {
                reject(key_path(p, "size"), "missing, expected the pool size in bytes");
            }
            n.zfs_pool_bytes += *size;
        }
    }
    // PSI averages in percent, as pvestatd writes them to the pve-node-9.0 RRD
    // (pressurecpusome, pressureiosome, pressureiofull, pressurememorysome, pressurememoryfull).
    if (d.isMember("pressure")) {
        const std::string pp = key_path(path, "pressure");
        check_object(d["pressure"], pp, "an object of PSI averages in percent (cpu-some, ...)");
        n.pressure = 0;
        for (const std::string &k : d["pressure"].getMemberNames()) {
            static const char *const known[] = {"cpu-some", "cpu-full",    "io-some",
                                                "io-full",  "memory-some", "memory-full"};
            if (std::find(std::begin(known), std::end(known), k) == std::end(known)) {
                reject(key_path(pp, k), "unknown key, expected cpu-some, cpu-full, io-some, "
                                        "io-full, memory-some or memory-full");
            }
            const double pct =
                opt_number(d["pressure"], k.c_str(), pp, 0, 100, "a percentage from 0 to 100")
                    .value_or(0);
            n.pressure = std::max(n.pressure, pct / 100);
        }
    }
    n.arc_max = opt_uint(d, "arc-max", path, max_bytes, "a non-negative integer (bytes)");
    if (n.arc_max == 0u) {
        n.arc_max.reset(); // zfs_arc_max 0: the module's default, not a configured limit
    }
    n.arc_size = opt_uint(d, "arc-size", path, max_bytes, "a non-negative integer (bytes)");
}

} // namespace pvebal::detail
