#!/usr/bin/perl
# State collection: the simulated cluster of fixtures/api/cluster.json, read through the
# PVE::Cluster / PVE::HA::Config / PVE::Storage / PVE::RRD doubles, must give exactly the
# committed snapshot fixtures/api/cluster.snapshot.json (docs/snapshot.md, the field mapping of
# /cluster/resources). PVEBAL_UPDATE_EXPECTED=1 rewrites the expected file.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use PVEBalancerTest::Setup;

use JSON;
use Test::More;

use PVE::Balancer::Config;
use PVE::Balancer::Planner;
use PVE::Balancer::State;

my $json = JSON->new->canonical->pretty;

diag("engine: $PVEBalancerTest::Setup::native ($PVEBalancerTest::Setup::native_file)");

my ($sim, $env) = PVEBalancerTest::Setup::cluster('cluster.json');
my $cfg = PVE::Balancer::Config::load($env);
my ($snapshot, $inputs) = PVE::Balancer::Planner::collect($env, $cfg);

# the collected snapshot equals the committed one
{
    my $file = PVEBalancerTest::Setup::fixture('cluster.snapshot.json');
    my $got = $json->encode($snapshot);
    if ($ENV{PVEBAL_UPDATE_EXPECTED} || !-e $file) {
        open(my $fh, '>', $file) or die "$file: $!\n";
        print $fh $got;
        close($fh);
        diag("wrote $file - review it");
    }
    open(my $fh, '<', $file) or die "$file: $!\n";
    my $expected = do { local $/; <$fh> };
    close($fh);
    is($got, $expected, 'snapshot of the fixture cluster equals cluster.snapshot.json');
}

my $guests = PVE::Balancer::State::guest_index($snapshot);
my $nodes = PVE::Balancer::State::node_index($snapshot);

# /cluster/resources field mapping
is($nodes->{pve1}->{maxcpu}, 16, 'node maxcpu from rrd_dump index 4');
is($nodes->{pve1}->{maxmem}, 64 * 2**30, 'node maxmem from rrd_dump index 7');
is($nodes->{pve1}->{disk}, 12 * 2**30, 'node disk from rrd_dump index 12');
is($nodes->{pve1}->{'cgroup-mode'}, 2, 'cgroup-mode from the static-info node kv');
is($nodes->{pve1}->{'host-arch'}, 'x86_64', 'host-arch from the static-info node kv');
is($nodes->{pve3}->{status}, 'online', 'node with the old pve2-node record is read');
is($nodes->{pve3}->{maxmem}, 32 * 2**30, 'old record: same indices');
is($nodes->{pve4}->{status}, 'offline', 'node that left the membership is offline');
ok(!defined($nodes->{pve4}->{cpu}), 'offline node: no cpu/mem, as /cluster/resources');
is($nodes->{pve4}->{hastate}, 'unknown', 'node hastate from the HA manager status');

is($guests->{100}->{memhost}, 6 * 2**30 + 200 * 2**20, 'memhost from pve-vm-9.0 index 15');
ok(!exists($guests->{106}->{memhost}), 'no memhost from the old pve2.3-vm record');
is($guests->{106}->{status}, 'running', 'old pve2.3-vm record is read');
is($guests->{100}->{tags}, 'prod;web', 'tags from the guest config properties');
is($guests->{104}->{lock}, 'backup', 'lock from the guest config properties');
is($guests->{102}->{pool}, 'web', 'pool from user.cfg');
is($guests->{101}->{hastate}, 'started', 'hastate from the HA manager status');
is($guests->{107}->{status}, 'unknown', 'guest without RRD record: status unknown');
is($guests->{107}->{maxcpu}, 4, 'guest without RRD record: maxcpu = sockets x cores');
is($guests->{107}->{maxmem}, 4 * 2**30, 'guest without RRD record: maxmem from memory');
is($guests->{103}->{template}, 1, 'template flag');

# guest details: only the keys the engine reads
is_deeply(
    [sort keys %{ $snapshot->{guests}->{100}->{config} }],
    ['cpu', 'ide2', 'scsi0'],
    'config keeps disks, devices and cpu only (no password, description, net)',
);
is_deeply(
    [sort keys %{ $snapshot->{guests}->{105}->{config} }],
    ['hostpci0', 'scsi0', 'serial0', 'usb0'],
    'device keys are kept',
);

# RRD averages over the window: points older than rrd-window minutes are left out
is($snapshot->{guests}->{100}->{rrd}->{cpu}, 0.4, 'guest cpu averaged over the window');
is($snapshot->{guests}->{100}->{rrd}->{mem}, 5 * 2**30, 'guest mem averaged over the window');
# disk I/O rates (DERIVE in the RRD): averaged over the points that have them
is($snapshot->{guests}->{100}->{rrd}->{diskread}, 2000000, 'guest diskread averaged (bytes/s)');
is($snapshot->{guests}->{100}->{rrd}->{diskwrite}, 500000, 'guest diskwrite averaged (bytes/s)');
ok(!exists($snapshot->{guests}->{101}->{rrd}->{diskread}), 'no diskread without RRD points');
cmp_ok(abs($nodes->{pve1}->{cpu} - 0.49875), '<', 1e-9, 'node cpu averaged, gaps skipped');
ok(!$snapshot->{guests}->{103}->{rrd}, 'no RRD average for a stopped guest');
like(
    join("\n", @{ $snapshot->{'x-pve-balancer'}->{errors} // [] }),
    qr/pve-vm-9\.0\/105/,
    'a missing RRD file is reported, not fatal',
);

# storages: enabled ones, per node they are available on
my @storages = map { "$_->{node}/$_->{storage}" } grep { $_->{type} eq 'storage' }
    @{ $snapshot->{resources} };
ok(!grep({ m!/nfs-iso$! } @storages), 'disabled storage left out');
ok(!grep({ $_ eq 'pve3/local-zfs' } @storages), 'storage restricted to nodes');
my ($ceph) = grep { ($_->{id} // '') eq 'storage/pve1/ceph' } @{ $snapshot->{resources} };
is($ceph->{shared}, 1, 'shared flag of storage.cfg');
is($ceph->{content}, 'images,rootdir', 'content sorted');

# CPU: the flags pvestatd broadcasts (cpuflags-kvm) for every node, the model of this node
# only (read_cpuinfo), custom models of cpu-models.conf, the VM's cpu option
is($snapshot->{nodes}->{pve1}->{'cpu-flags'}, 'aes avx avx2 sse4.1 sse4.2 x2apic',
    'cpu-flags from the cpuflags-kvm node kv');
is($snapshot->{nodes}->{pve1}->{status}->{cpuinfo}->{model}, 'AMD EPYC 7302 16-Core Processor',
    'CPU model of the local node from read_cpuinfo');
ok(!exists($snapshot->{nodes}->{pve1}->{status}->{cpuinfo}->{flags}),
    "no /proc/cpuinfo flags: one kind of flag list for every node");
is($snapshot->{nodes}->{pve2}->{status}->{cpuinfo}->{model},
    'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz', "another node's model from its broadcast node info");
ok(!exists($snapshot->{nodes}->{pve3}->{'cpu-flags'}),
    'empty cpuflags-kvm (detection failed): no cpu-flags for the node');
is_deeply($snapshot->{'cpu-models'},
    [{ cputype => 'custom-fast', flags => '+avx2;-pcid', 'reported-model' => 'EPYC' }],
    'custom CPU models as GET /cluster/qemu/custom-cpu-models lists them');
is($snapshot->{guests}->{100}->{config}->{cpu}, 'host', 'the cpu option is kept');

# ZFS pools from the zfspool storages (pool of storage.cfg, size = maxdisk), ARC size from the
# pve-node-9.0 record
is_deeply($snapshot->{nodes}->{pve1}->{zfs}, [{ name => 'rpool', size => 900 * 2**30 }],
    'ZFS pool of local-zfs (rpool/data) with its maxdisk');
is($snapshot->{nodes}->{pve1}->{'arc-size'}, 4 * 2**30, 'ARC size from rrd_dump index 16');
ok(!exists($snapshot->{nodes}->{pve2}->{'arc-size'}), 'no ARC: no arc-size');
is_deeply($snapshot->{nodes}->{pve1}->{pressure},
    { 'cpu-some' => 0.1, 'io-some' => 0, 'io-full' => 0, 'memory-some' => 0, 'memory-full' => 0 },
    'PSI from rrd_dump indices 17-21 (pve-node-9.0)');
ok(!exists($snapshot->{nodes}->{pve3}->{'arc-size'}) && !exists($snapshot->{nodes}->{pve3}->{pressure}),
    'old pve2-node record: no ARC, no PSI');

# zfs_arc_max: this node's from /sys/module/zfs/parameters/zfs_arc_max (read now, the stale
# broadcast value is not used), the others' from their broadcast node info; 0 (the ZFS default)
# is kept as given; a bad broadcast is an error naming the node and the field
is($snapshot->{nodes}->{pve1}->{'arc-max'}, 16 * 2**30, "this node's zfs_arc_max from /sys");
is($snapshot->{nodes}->{pve2}->{'arc-max'}, 0, "another node's zfs_arc_max 0 (ZFS default)");
is($snapshot->{nodes}->{pve3}->{'arc-max'}, 8 * 2**30, "another node's zfs_arc_max");
ok(!exists($snapshot->{nodes}->{pve4}), 'a bad broadcast leaves the node out');
ok((grep { $_ eq "node info of pve4 (pve-balancer-node-info): arc-max: expected a non-negative"
    . " integer (bytes), got 'lots'" } @{ $snapshot->{'x-pve-balancer'}->{errors} // [] }),
    'the bad broadcast is listed in x-pve-balancer.errors')
    or diag explain $snapshot->{'x-pve-balancer'}->{errors};

# the engine reads the new fields: pve1's reserve is memory-reserve + zfs_arc_max - ARC size
{
    my $score = PVE::Balancer::Planner::call_engine('score', $snapshot);
    ok($score && $score->{metrics}, 'the engine accepts the snapshot with arc-max and models');
}

# node_memory / read_node_memory: what capacity-aware HA scheduling takes from the same rules
is_deeply(PVE::Balancer::State::read_node_memory(), {
    pve1 => { zfs => 900 * 2**30, 'arc-max' => 16 * 2**30, 'arc-size' => 4 * 2**30 },
    pve2 => { zfs => 900 * 2**30, 'arc-max' => 0 },
    pve3 => { 'arc-max' => 8 * 2**30 },
}, 'read_node_memory: ZFS pools, zfs_arc_max and ARC size per node');

# the HA hook reads the same in a process that talks to pmxcfs (here the PVE::Cluster double)
{
    require PVE::Balancer::HAScheduler;
    is_deeply(PVE::Balancer::HAScheduler::node_memory_info(),
        PVE::Balancer::State::read_node_memory(),
        'HAScheduler::node_memory_info is read_node_memory where PVE::Cluster is loaded');
}

# NodeInfo::broadcast publishes this node's info under pve-balancer-node-info, only on change
{
    local $sim->{kv_broadcasts} = 0;
    is(PVE::Balancer::State::NodeInfo::broadcast(), 1, 'broadcast: the stale value is replaced');
    is($sim->{kv}->{'pve-balancer-node-info'}->{pve1},
        '{"arc-max":17179869184,"cpu-model":"AMD EPYC 7302 16-Core Processor"}',
        'broadcast: canonical JSON of the local CPU model and zfs_arc_max');
    is(PVE::Balancer::State::NodeInfo::broadcast(), 0, 'broadcast: nothing when unchanged');
    is($sim->{kv_broadcasts}, 1, 'broadcast: pmxcfs updated once');
    is_deeply(PVE::Balancer::State::NodeInfo::parse($sim->{kv}->{'pve-balancer-node-info'}->{pve1}),
        { 'arc-max' => 16 * 2**30, 'cpu-model' => 'AMD EPYC 7302 16-Core Processor' },
        'what is broadcast reads back');
}

# /sys: no zfs module, 0, garbage
{
    PVEBalancerTest::Setup::set_zfs_arc_max(undef);
    my ($info, $errors) = PVE::Balancer::State::NodeInfo::local_info();
    ok(!exists($info->{'arc-max'}) && !@$errors, 'no zfs module: no arc-max, no error');
    PVEBalancerTest::Setup::set_zfs_arc_max('0');
    ($info, $errors) = PVE::Balancer::State::NodeInfo::local_info();
    is($info->{'arc-max'}, 0, 'zfs_arc_max 0 is read as 0');
    my $file = PVEBalancerTest::Setup::set_zfs_arc_max('-1');
    ($info, $errors) = PVE::Balancer::State::NodeInfo::local_info();
    ok(!exists($info->{'arc-max'}), 'a bad zfs_arc_max is left out');
    is_deeply($errors, ["zfs_arc_max: $file: expected a non-negative integer (bytes), got '-1'"],
        'and named');
    for my $bad ('[1]', '{"arc-max":-5}', '{"arc-max":1.5}', '{"cpu-model":{}}', 'x') {
        eval { PVE::Balancer::State::NodeInfo::parse($bad) };
        ok($@, "NodeInfo::parse refuses $bad") or diag $@;
    }
    PVEBalancerTest::Setup::set_zfs_arc_max($sim->{zfs_arc_max});
}

# HA part in the API's format
is_deeply(
    [map { $_->{rule} } @{ $snapshot->{ha}->{rules} }],
    ['db-apart', 'db-prefers-big'],
    'rules sorted by id',
);
my ($na) = grep { $_->{rule} eq 'db-prefers-big' } @{ $snapshot->{ha}->{rules} };
is($na->{nodes}, 'pve1:2,pve2:1', 'node-affinity nodes encoded as node:priority');
ok(!exists($snapshot->{ha}->{groups}), 'no groups part without groups');

# without RRD history
{
    my $quick = PVE::Balancer::Planner::collect($env, $cfg, rrd => 0);
    ok(!grep({ $_->{rrd} } values %{ $quick->{guests} }), 'rrd => 0: no averages');
    is(PVE::Balancer::State::node_index($quick)->{pve1}->{cpu}, 0.55, 'rrd => 0: node sample');
}

# balance snapshot: HA guests left alone while the HA manager balances them
{
    # the HA manager balances only with the static or dynamic scheduler
    $sim->{datacenter}->{crs}->{'ha-auto-rebalance'} = 1;
    $sim->{datacenter}->{crs}->{ha} = 'basic';
    my ($snap, $notes) = PVE::Balancer::Planner::balance_snapshot($env, $cfg);
    is(scalar(@$notes), 0, "auto-rebalance with the 'basic' scheduler: nobody balances HA guests");
    $sim->{datacenter}->{crs}->{ha} = 'static';
    ($snap, $notes) = PVE::Balancer::Planner::balance_snapshot($env, $cfg);
    my $g = PVE::Balancer::State::guest_index($snap);
    like($g->{101}->{tags} // '', qr/pvebal-ignore/, 'HA guest tagged pvebal-ignore');
    like($g->{108}->{tags} // '', qr/pvebal-ignore/, 'HA container tagged pvebal-ignore');
    ok(!defined($g->{106}->{tags}), 'ignored HA resource is not HA-managed');
    like($notes->[0], qr/2 HA-managed guest\(s\) left in place/, 'note says why');

    my $move = PVE::Balancer::Config::parse_config('balancer.cfg', "ha-guests: move\n");
    ($snap, $notes) = PVE::Balancer::Planner::balance_snapshot($env, $move);
    is(scalar(@$notes), 0, "ha-guests 'move' overrides");

    # a resource that opted out of the HA manager's balancing is balanced by us
    $sim->{ha}->{resources}->{ids}->{'ct:108'}->{'auto-rebalance'} = 0;
    ($snap, $notes) = PVE::Balancer::Planner::balance_snapshot($env, $cfg);
    $g = PVE::Balancer::State::guest_index($snap);
    like($g->{101}->{tags} // '', qr/pvebal-ignore/, 'auto-rebalance 1 (default): left to CRS');
    unlike($g->{108}->{tags} // '', qr/pvebal-ignore/, 'auto-rebalance 0: planned by us');
    delete $sim->{ha}->{resources}->{ids}->{'ct:108'}->{'auto-rebalance'};

    my $skip = PVE::Balancer::Config::parse_config('balancer.cfg', "ha-guests: skip\n");
    delete $sim->{datacenter}->{crs}->{'ha-auto-rebalance'};
    ($snap, $notes) = PVE::Balancer::Planner::balance_snapshot($env, $skip);
    like($notes->[0], qr/2 HA-managed guest\(s\) left in place: ha-guests is 'skip'/,
        "ha-guests 'skip' leaves them alone without CRS too");
}

# engine options of balancer.cfg go into the snapshot
{
    my $c = PVE::Balancer::Config::parse_config('balancer.cfg',
        "max-migrations: 3\nallow-container-restart: 1\nauto: 1\n");
    my $snap = PVE::Balancer::Planner::collect($env, $c, rrd => 0);
    is_deeply($snap->{options}, { 'max-migrations' => 3, 'allow-container-restart' => JSON::true },
        'engine options of balancer.cfg, typed, integration keys left out');
}

# a single node without cluster (get_members undef)
{
    my $single = PVEBalancerTest::SimCluster->new({
        nodename => 'solo',
        nodes => { solo => { online => 1, maxcpu => 4, cpu => 0.1, maxmem => 8 * 2**30,
            mem => 2**30 } },
    });
    no warnings 'redefine';
    local *PVE::Cluster::get_members = sub { return undef };
    my $snap = PVE::Balancer::State::build_snapshot(PVE::Balancer::State::read_inputs());
    is(PVE::Balancer::State::node_index($snap)->{solo}->{status}, 'online',
        'no cluster: the node with RRD data is online');
}

done_testing();
