// Node signals that decide where a guest may go (issue 17): free space on the target storage
// for local disks (state unit `storage-space`) and CPU compatibility for live migration (target
// unit `cpu-model`). Each goes through the real snapshot reader.
#include "test_util.h"

#include "pvebal/report.h"

#include <boost/test/unit_test.hpp>

using namespace pvebal;
using namespace pvebal::test;

namespace {

bool contains(const std::string &s, const std::string &part) {
    return s.find(part) != std::string::npos;
}

struct checked {
    snapshot s;
    affinity_groups a;
    explicit checked(const snapshot_builder &b) : s(b.build()), a(compile_affinity(s.c, s.opts)) {}
    detail::decision_context ctx() const { return detail::decision_context(s.c, s.opts, a); }
    guest_id guest(std::uint32_t vmid) const { return *s.c.find_guest(vmid); }
    node_id node(const std::string &name) const { return *s.c.find_node(name); }
    std::optional<rejection> target(std::uint32_t vmid, const std::string &n) const {
        return detail::check_target(ctx(), guest(vmid), node(n));
    }
    std::optional<rejection> fits(const overlay &ov, std::uint32_t vmid,
                                  const std::string &n) const {
        return detail::check_state(ctx(), ov, {guest(vmid)}, node(n));
    }
};

// --- storage space ---------------------------------------------------------------------------

// n1..n3, each with a local storage "local" of 100 GiB (n2: 50 GiB used, n3: 70 GiB used) and a
// shared "ceph"; vm 100 and 101 on n1 with 40 GiB local disks, vm 102 on n2 with a 20 GiB one.
snapshot_builder storage_cluster() {
    snapshot_builder b;
    const std::pair<const char *, std::uint64_t> used[] = {
        {"n1", 60 * GiB}, {"n2", 50 * GiB}, {"n3", 70 * GiB}};
    for (const auto &[n, u] : used) {
        b.node(n, 16, 64 * GiB).storage(n, "local", false).storage(n, "ceph", true);
        Json::Value &st = b.resources()[b.resources().size() - 2];
        st["maxdisk"] = static_cast<Json::UInt64>(100 * GiB);
        st["disk"] = static_cast<Json::UInt64>(u);
    }
    for (std::uint32_t v : {100u, 101u}) {
        b.guest(v, "n1", 2, 4 * GiB, 0.1, 2 * GiB);
        b.extra()["guests"][std::to_string(v)]["config"]["scsi0"] =
            "local:vm-" + std::to_string(v) + "-disk-0,size=32G";
        b.extra()["guests"][std::to_string(v)]["config"]["scsi1"] =
            "local:vm-" + std::to_string(v) + "-disk-1,size=8G";
        b.extra()["guests"][std::to_string(v)]["config"]["scsi2"] =
            "ceph:vm-" + std::to_string(v) + "-disk-2,size=500G";
    }
    b.guest(102, "n2", 2, 4 * GiB, 0.1, 2 * GiB);
    b.extra()["guests"]["102"]["config"]["rootfs"] = "local:vm-102-disk-0,size=20G";
    return b;
}

} // namespace

BOOST_AUTO_TEST_SUITE(signals)

BOOST_AUTO_TEST_CASE(local_disks_need_free_space_on_the_target_storage) {
    checked f(storage_cluster());
    overlay ov(f.s.c, f.s.opts, f.a);
    // n2: 95 GiB allowed (storage-limit 0.95), 50 used: 40 fit. n3: 70 used, 25 left: no.
    BOOST_TEST(!f.fits(ov, 100, "n2"));
    std::optional<rejection> r = f.fits(ov, 100, "n3");
    BOOST_REQUIRE(r);
    BOOST_TEST(r->kind == "storage-space");
    BOOST_TEST(r->message == "local disks need 40.0 GiB on storage 'local' of n3, which has 25.0 "
                             "GiB free below storage-limit 95.0%");
    // The shared disk (500 GiB on ceph) does not count.
    BOOST_TEST(ov.footprint(f.guest(100)).size() == 1u);
}

BOOST_AUTO_TEST_CASE(earlier_moves_consume_and_free_space) {
    checked f(storage_cluster());
    overlay ov(f.s.c, f.s.opts, f.a);
    {
        auto t = ov.begin_trial();
        ov.move(f.guest(100), f.node("n2")); // n2 now at 90 GiB
        std::optional<rejection> r = f.fits(ov, 101, "n2");
        BOOST_REQUIRE(r);
        BOOST_TEST(r->kind == "storage-space");
        BOOST_TEST(contains(r->message, "which has 5.0 GiB free"));
        // vm 102 (20 GiB) leaves n2: once it has finished, its space is free again.
        ov.begin(f.guest(102), f.node("n1"));
        r = f.fits(ov, 101, "n2"); // still copying: its disk is still on n2
        BOOST_REQUIRE(r);
        BOOST_TEST(contains(r->message, "which has 5.0 GiB free"));
        ov.finish(f.guest(102));
        r = f.fits(ov, 101, "n2");
        BOOST_REQUIRE(r);
        BOOST_TEST(contains(r->message, "which has 25.0 GiB free"));
        // Once 100 leaves n2 again, 101 fits there.
        ov.move(f.guest(100), f.node("n1"));
        BOOST_TEST(!f.fits(ov, 101, "n2"));
    }
    // The trial is undone exactly: back to the snapshot's numbers.
    BOOST_TEST(ov.storage_added(f.node("n2"), 1) == 0.0); // slots sorted: ceph, local
    BOOST_TEST(!f.fits(ov, 101, "n2"));
}

BOOST_AUTO_TEST_CASE(storage_map_target_and_limit_option) {
    snapshot_builder b = storage_cluster();
    b.storage("n3", "big", false);
    b.resources()[b.resources().size() - 1]["maxdisk"] = static_cast<Json::UInt64>(1000 * GiB);
    b.resources()[b.resources().size() - 1]["disk"] = 0;
    b.extra()["options"]["storage-map"]["local"] = "big";
    {
        checked f(b);
        overlay ov(f.s.c, f.s.opts, f.a);
        BOOST_TEST(!f.target(100, "n3"));
        BOOST_TEST(!f.fits(ov, 100, "n3")); // lands on "big", not on the fuller "local"
        // n2 has no "big": the storage unit refuses it (qemu-server maps local -> big).
        std::optional<rejection> r = f.target(100, "n2");
        BOOST_REQUIRE(r);
        BOOST_TEST(r->kind == "storage");
        BOOST_TEST(contains(r->message, "storage-map sends to 'big'"));
    }
    b.extra()["options"].removeMember("storage-map");
    b.extra()["options"]["storage-limit"] = 0.85;
    checked f(b);
    overlay ov(f.s.c, f.s.opts, f.a);
    std::optional<rejection> r = f.fits(ov, 100, "n2"); // 50 + 40 > 85
    BOOST_REQUIRE(r);
    BOOST_TEST(contains(r->message, "storage-limit 85.0%"));
}

BOOST_AUTO_TEST_CASE(storage_without_size_is_not_judged_and_recovery_ignores_space) {
    snapshot_builder b = storage_cluster();
    for (Json::Value &e : b.resources()) {
        if (e["type"] == "storage" && e["node"] == "n3") {
            e.removeMember("maxdisk");
        }
    }
    checked f(b);
    overlay ov(f.s.c, f.s.opts, f.a);
    BOOST_TEST(!f.fits(ov, 100, "n3"));
    // HA recovery restarts guests whose disks are lost anyway: the unit is planning-only.
    checked g(storage_cluster());
    overlay ov2(g.s.c, g.s.opts, g.a);
    detail::decision_context ctx = g.ctx();
    ctx.set_failed(std::vector<bool>{true, false, false});
    BOOST_TEST(!detail::check_state(ctx, ov2, {g.guest(100)}, g.node("n3")));
}

BOOST_AUTO_TEST_CASE(evacuation_respects_free_space) {
    // n2 can take one 40 GiB guest, n3 none: draining n1 moves at most one of 100 and 101 to
    // n2 and lists the other as unplaced, with storage-space among its reasons.
    checked f(storage_cluster());
    plan p = plan_evacuate(f.s.c, f.s.opts, {f.node("n1")});
    int to_n2 = 0;
    for (const migration &m : p.migrations) {
        BOOST_TEST(!(m.guest != f.guest(102) && m.to == f.node("n3")));
        to_n2 += m.guest != f.guest(102) && m.to == f.node("n2") ? 1 : 0;
    }
    BOOST_TEST(to_n2 == 1);
    BOOST_REQUIRE_EQUAL(p.unplaced.size(), 1u);
    bool space = false;
    for (const node_rejection &r : p.unplaced[0].reasons) {
        space = space || r.why.kind == "storage-space";
    }
    BOOST_TEST(space);
}

// --- CPU model and flags ---------------------------------------------------------------------

namespace {

// n1, n2: the same CPU; n3: another model; n4: same model, fewer flags. vm 100 on n1.
snapshot_builder cpu_cluster(const std::string &cpu, const std::string &status = "running") {
    snapshot_builder b;
    const char *model = "AMD EPYC 7302 16-Core Processor";
    const std::string v3 =
        "fpu sse4_1 sse4_2 avx popcnt pni ssse3 bmi1 bmi2 f16c fma movbe xsave abm";
    const std::string all = v3 + " avx2 aes";
    const std::pair<const char *, std::pair<const char *, std::string>> nodes[] = {
        {"n1", {model, all}},
        {"n2", {model, all + " extra"}},
        {"n3", {"Intel(R) Xeon(R) Gold 6230", all}},
        {"n4", {model, v3}}, // no avx2, no aes
    };
    for (const auto &[n, cpuinfo] : nodes) {
        b.node(n, 16, 64 * GiB);
        Json::Value &ci = b.extra()["nodes"][n]["status"]["cpuinfo"];
        ci["model"] = cpuinfo.first;
        ci["flags"] = cpuinfo.second;
    }
    b.guest(100, "n1", 2, 4 * GiB, 0.1, 2 * GiB, "qemu", status);
    if (!cpu.empty()) {
        b.extra()["guests"]["100"]["config"]["cpu"] = cpu;
    }
    return b;
}

} // namespace

BOOST_AUTO_TEST_CASE(cpu_host_needs_the_same_model_and_its_flags) {
    checked f(cpu_cluster("host"));
    BOOST_TEST(!f.target(100, "n2")); // same model, more flags
    std::optional<rejection> r = f.target(100, "n3");
    BOOST_REQUIRE(r);
    BOOST_TEST(r->kind == "cpu-model");
    BOOST_TEST(r->message == "cpu: host; n3 has CPU 'Intel(R) Xeon(R) Gold 6230', n1 has 'AMD "
                             "EPYC 7302 16-Core Processor'");
    r = f.target(100, "n4");
    BOOST_REQUIRE(r);
    BOOST_TEST(r->message == "cpu: host; n4 lacks CPU flags of n1: aes, avx2");
}

BOOST_AUTO_TEST_CASE(stopped_vm_is_not_bound_by_its_cpu) {
    checked f(cpu_cluster("host", "stopped"));
    BOOST_TEST(!f.target(100, "n3"));
    BOOST_TEST(!f.target(100, "n4"));
}

BOOST_AUTO_TEST_CASE(builtin_and_custom_models_need_their_flags) {
    {
        checked f(cpu_cluster("x86-64-v3"));
        BOOST_TEST(!f.target(100, "n3")); // another model is fine: it offers the flags
        std::optional<rejection> r = f.target(100, "n4");
        BOOST_REQUIRE(r);
        BOOST_TEST(r->message == "cpu type x86-64-v3 needs CPU flags n4 does not offer: aes, avx2");
    }
    snapshot_builder b = cpu_cluster("cputype=custom-fast,flags=+pcid;-aes");
    Json::Value model;
    model["cputype"] = "custom-fast";
    model["flags"] = "+avx2;-ssse3";
    model["reported-model"] = "EPYC";
    b.extra()["cpu-models"].append(model);
    checked f(b);
    BOOST_TEST(f.s.c.guests[0].cpu_type == "custom-fast");
    std::optional<rejection> r = f.target(100, "n2"); // no pcid anywhere
    BOOST_REQUIRE(r);
    BOOST_TEST(r->message == "cpu type custom-fast needs CPU flags n2 does not offer: pcid");
    // pvestatd's QEMU flag list (cpu-flags) replaces /proc/cpuinfo's; "sse4.1" reads as sse4_1.
    b.extra()["nodes"]["n4"]["cpu-flags"] = "avx2 pcid sse4.1";
    checked g(b);
    BOOST_TEST(!g.target(100, "n4"));
    BOOST_TEST(g.s.c.nodes[3].cpu_flags == (std::vector<std::string>{"avx2", "pcid", "sse4_1"}));
}

BOOST_AUTO_TEST_CASE(node_without_cpu_information_is_not_judged) {
    snapshot_builder b = cpu_cluster("host");
    b.extra()["nodes"].removeMember("n3");
    checked f(b);
    BOOST_TEST(!f.target(100, "n3"));
}

BOOST_AUTO_TEST_CASE(node_details_errors_name_the_path) {
    auto error_path = [](const snapshot_builder &b) {
        auto r = read_snapshot(b.json());
        BOOST_REQUIRE(!r);
        return r.error().path;
    };
    snapshot_builder b = cpu_cluster("host");
    b.extra()["nodes"]["nx"]["cpu-flags"] = "avx";
    BOOST_TEST(error_path(b) == "nodes.nx");
    b = cpu_cluster("host");
    b.extra()["nodes"]["n1"]["status"]["cpuinfo"] = "fast";
    BOOST_TEST(error_path(b) == "nodes.n1.status.cpuinfo");
    b = cpu_cluster("host");
    b.extra()["nodes"]["n1"]["cpuflags"] = "avx";
    BOOST_TEST(error_path(b) == "nodes.n1.cpuflags");
    b = cpu_cluster("host");
    b.extra()["nodes"]["n1"]["cpu-flags"] = 1;
    BOOST_TEST(error_path(b) == "nodes.n1.cpu-flags");
    b = cpu_cluster("host");
    b.extra()["cpu-models"][0]["flags"] = "+aes";
    BOOST_TEST(error_path(b) == "cpu-models[0].cputype");
}

BOOST_AUTO_TEST_SUITE_END()

// --- per-node memory reserve -----------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(signals_memory_reserve)

namespace {

// n1 (no ZFS), n2 (8 TiB of ZFS pools), n3 (ZFS with zfs_arc_max 16 GiB, 6 GiB of ARC now); all
// 256 GiB. memory-limit 1 so that the reserve decides.
snapshot_builder zfs_cluster() {
    snapshot_builder b;
    for (const char *n : {"n1", "n2", "n3"}) {
        b.node(n, 32, 256 * GiB, 0.1, 64 * GiB);
    }
    Json::Value pool;
    pool["name"] = "rpool";
    pool["size"] = static_cast<Json::UInt64>(2048 * GiB);
    b.extra()["nodes"]["n2"]["zfs"].append(pool);
    pool["name"] = "tank";
    pool["size"] = static_cast<Json::UInt64>(6144 * GiB);
    b.extra()["nodes"]["n2"]["zfs"].append(pool);
    b.extra()["nodes"]["n3"]["zfs"].append(pool);
    b.extra()["nodes"]["n3"]["arc-max"] = static_cast<Json::UInt64>(16 * GiB);
    b.extra()["nodes"]["n3"]["arc-size"] = static_cast<Json::UInt64>(6 * GiB);
    b.extra()["options"]["memory-limit"] = 1;
    return b;
}

} // namespace

BOOST_AUTO_TEST_CASE(reserve_is_the_system_share_plus_the_zfs_arc) {
    snapshot s = zfs_cluster().build();
    const options &o = s.opts;
    BOOST_TEST(node_memory_reserve(o, s.c.nodes[0]) == 1.0 * GiB);
    BOOST_TEST(node_memory_reserve(o, s.c.nodes[1]) == 9.0 * GiB); // 1 + 1 GiB per TiB x 8
    // zfs_arc_max wins over the pool rule; the 6 GiB the ARC holds are already in `mem`.
    BOOST_TEST(node_memory_reserve(o, s.c.nodes[2]) == 11.0 * GiB);
    BOOST_TEST(usable_memory(o, s.c.nodes[2], 256.0 * GiB) == 245.0 * GiB);
    // In assigned mode nothing of the node's own use is counted: the whole ARC is reserved.
    options a = o;
    a.mode = load_mode::assigned;
    BOOST_TEST(node_memory_reserve(a, s.c.nodes[2]) == 17.0 * GiB);
}

BOOST_AUTO_TEST_CASE(node_memory_reserve_overrides_per_node) {
    snapshot_builder b = zfs_cluster();
    b.extra()["options"]["node-memory-reserve"] = "n2:32G, n1:2G";
    snapshot s = b.build();
    BOOST_REQUIRE(bind_options(s.c, s.opts));
    BOOST_TEST(node_memory_reserve(s.opts, s.c.nodes[0]) == 2.0 * GiB);
    BOOST_TEST(node_memory_reserve(s.opts, s.c.nodes[1]) == 32.0 * GiB);
    BOOST_TEST(node_memory_reserve(s.opts, s.c.nodes[2]) == 11.0 * GiB); // not named: derived
    for (const char *bad : {"n9:1G", "n1", "n1:lots"}) {
        options o = s.opts;
        o.node_memory_reserve = bad;
        auto r = bind_options(s.c, o);
        BOOST_REQUIRE(!r);
        BOOST_TEST(r.error().path == "node-memory-reserve");
    }
}

BOOST_AUTO_TEST_CASE(memory_unit_uses_the_node_reserve) {
    snapshot_builder b = zfs_cluster();
    // 186 GiB arrive: fits n1 (255 usable - 64 used = 191), not n2 (247 - 64 = 183).
    b.guest(100, "n3", 8, 200 * GiB, 0.1, 186 * GiB);
    b.resources()[2]["mem"] = static_cast<Json::UInt64>(200 * GiB); // n3 holds it
    checked f(b);
    overlay ov(f.s.c, f.s.opts, f.a);
    BOOST_TEST(!f.fits(ov, 100, "n1"));
    std::optional<rejection> r = f.fits(ov, 100, "n2");
    BOOST_REQUIRE(r);
    BOOST_TEST(r->kind == "memory");
    BOOST_TEST(contains(r->message, "n2 has 183.0 GiB usable"));
}

BOOST_AUTO_TEST_CASE(zfs_details_errors_name_the_path) {
    snapshot_builder b = zfs_cluster();
    b.extra()["nodes"]["n2"]["zfs"][0].removeMember("size");
    auto r = read_snapshot(b.json());
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().path == "nodes.n2.zfs[0].size");
    b = zfs_cluster();
    b.extra()["nodes"]["n3"]["arc-max"] = "16G";
    r = read_snapshot(b.json());
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().path == "nodes.n3.arc-max");
}

BOOST_AUTO_TEST_SUITE_END()

// --- node pressure (PSI) in the objective ----------------------------------------------------

BOOST_AUTO_TEST_SUITE(signals_psi)

namespace {

// Two equal nodes with the same load; n1 under 30 % CPU pressure.
snapshot_builder psi_cluster() {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.5, 32 * GiB).node("n2", 16, 64 * GiB, 0.5, 32 * GiB);
    b.node("n3", 16, 64 * GiB, 0.2, 16 * GiB);
    b.extra()["nodes"]["n1"]["pressure"]["cpu-some"] = 30.0;
    b.extra()["nodes"]["n1"]["pressure"]["io-full"] = 2.5;
    b.extra()["nodes"]["n2"]["pressure"]["cpu-some"] = 4.0; // below psi-threshold 5 %
    return b;
}

} // namespace

BOOST_AUTO_TEST_CASE(load_left_on_a_pressured_node_costs) {
    snapshot s = psi_cluster().build();
    BOOST_TEST(s.c.nodes[0].pressure == 0.30);
    BOOST_TEST(s.c.nodes[1].pressure == 0.04);
    const load_view v = make_load_view(s.c, s.opts.mode);
    const objective_state with(s.c, v, s.opts);
    options off = s.opts;
    off.psi_weight = 0;
    const objective_state without(s.c, v, off);
    // psi-weight 0.5, (0.30 - 0.05) x (0.5 CPU + 0.5 memory) on n1, mean over 3 nodes, per
    // resource weighted alike: J grows by 0.5 x 0.25 x 0.5 / 3.
    BOOST_TEST(with.j() - without.j() == 0.5 * 0.25 * 0.5 / 3, boost::test_tools::tolerance(1e-12));
    // The same move off n1 gains more than off n2 (equal loads): n1 is under pressure.
    const res d{2.0, 4.0 * GiB};
    BOOST_TEST(with.j_after(0, 2, d) < with.j_after(1, 2, d));
    BOOST_TEST(without.j_after(0, 2, d) == without.j_after(1, 2, d));
    // Incremental and from scratch agree.
    objective_state moved = with;
    moved.apply(0, 2, d);
    BOOST_TEST(moved.j() == with.j_after(0, 2, d), boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(balance_moves_off_the_pressured_node_first) {
    // n1 and n2 carry the same load; whichever is under pressure gives the first move.
    for (const char *hot : {"n1", "n2"}) {
        snapshot_builder b;
        b.node("n1", 16, 64 * GiB, 0.5, 32 * GiB).node("n2", 16, 64 * GiB, 0.5, 32 * GiB);
        b.node("n3", 16, 64 * GiB, 0.2, 16 * GiB);
        b.extra()["nodes"][hot]["pressure"]["memory-some"] = 40.0;
        for (std::uint32_t v = 100; v < 104; ++v) {
            b.guest(v, "n1", 2, 4 * GiB, 0.8, 4 * GiB);
            b.guest(v + 10, "n2", 2, 4 * GiB, 0.8, 4 * GiB);
        }
        b.extra()["options"]["max-migrations"] = 1;
        snapshot s = b.build();
        plan p = plan_balance(s.c, s.opts);
        BOOST_REQUIRE_EQUAL(p.migrations.size(), 1u);
        BOOST_TEST(s.c.nodes[s.c.guests[p.migrations[0].guest].node].name == hot);
    }
}

BOOST_AUTO_TEST_CASE(pressure_errors_name_the_path) {
    snapshot_builder b = psi_cluster();
    b.extra()["nodes"]["n1"]["pressure"]["cpu-some"] = 130.0;
    auto r = read_snapshot(b.json());
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().path == "nodes.n1.pressure.cpu-some");
    b = psi_cluster();
    b.extra()["nodes"]["n1"]["pressure"]["cpu"] = 1.0;
    r = read_snapshot(b.json());
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().path == "nodes.n1.pressure.cpu");
}

BOOST_AUTO_TEST_SUITE_END()
