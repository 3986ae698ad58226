#!/usr/bin/perl
# Compatible mode reproduces upstream: proxmox-resource-scheduling's own expected values, and
# the decisions and logged imbalances of pve-ha-manager 5.2.0's test-crs-* simulator scenarios,
# re-expressed as the calls the HA manager makes (through the PVE::RS::ResourceScheduling::*
# shims, as pve-ha-manager loads them). The simulator logs predate the normalised imbalance,
# so the scenarios use ha-imbalance 'raw'.
use strict;
use warnings;
use Test::More;

require './tests/perl/ha-helpers.pl';
our ($GiB, $MiB);

my $eps = 2.220446049250313e-16;

# --- crate values (tests/scheduler.rs) -----------------------------------------------------
my $homogeneous = [
    ['node1', { cpu => 1.7, maxcpu => 16, mem => 12334 * $MiB, maxmem => 64 * $GiB }],
    ['node2', { cpu => 15.184, maxcpu => 16, mem => 529 * $MiB, maxmem => 64 * $GiB }],
    ['node3', { cpu => 5.2, maxcpu => 16, mem => 9381 * $MiB, maxmem => 64 * $GiB }],
];
my $heterogeneous = [
    ['node1', { cpu => 1.7, maxcpu => 16, mem => 12334 * $MiB, maxmem => 128 * $GiB }],
    ['node2', { cpu => 15.184, maxcpu => 32, mem => 529 * $MiB, maxmem => 96 * $GiB }],
    ['node3', { cpu => 5.2, maxcpu => 24, mem => 9381 * $MiB, maxmem => 64 * $GiB }],
];

sub crate_cluster {
    my ($nodes, $imbalance) = @_;
    my $s = scheduler('dynamic', 'compatible', $imbalance);
    $s->add_node($_->[0], $_->[1]) for @$nodes;
    return $s;
}

my %expected_imbalance = (
    'homogeneous normalized' => 0.3460548572604576,
    'heterogeneous normalized' => 0.23352917788066363,
    'homogeneous raw' => 0.4893954724628247,
    'heterogeneous raw' => 0.33026013056867354,
);
for my $key (sort keys %expected_imbalance) {
    my ($which, $flavour) = split(' ', $key);
    my $s = crate_cluster($which eq 'homogeneous' ? $homogeneous : $heterogeneous, $flavour);
    my $got = $s->calculate_node_imbalance();
    ok(abs($got - $expected_imbalance{$key}) <= $eps, "crate imbalance, $key")
        or diag("got $got");
}

for my $nodes ($homogeneous, $heterogeneous) {
    my $s = crate_cluster($nodes, 'normalized');
    $s->add_resource('vm:101', {
        stats => { cpu => 0.7, maxcpu => 4, mem => 8 * $GiB, maxmem => 16 * $GiB },
        running => 1, 'current-node' => 'node1' });
    my $candidates = [{ leader => 'vm:101', resources => ['vm:101'], nodes => ['node2', 'node3'] }];
    my $brute = $s->score_best_balancing_migration_candidates($candidates, 2);
    is_deeply([map { $_->{migration}{'target-node'} } @$brute], ['node3', 'node2'],
        'crate: brute-force ranking');
    my $topsis = $s->score_best_balancing_migration_candidates_topsis($candidates, 2);
    is_deeply([map { $_->{migration}{'target-node'} } @$topsis], ['node2', 'node3'],
        'crate: TOPSIS ranking');
    is($topsis->[1]{imbalance}, $brute->[0]{imbalance},
        'crate: TOPSIS reports the brute-force imbalance of its pick');
    is_deeply($topsis->[0]{migration}, { sid => 'vm:101', 'source-node' => 'node1', 'target-node' => 'node2' },
        'crate: migration shape');
}

my %start = (
    heavy_memory => { cpu => 0, maxcpu => 1, mem => 0, maxmem => 12 * $GiB },
    heavy_cpu => { cpu => 0, maxcpu => 12, mem => 0, maxmem => 0 },
    unlimited_cpu => { cpu => 0, maxcpu => 0, mem => 0, maxmem => 0 },
    combined => { cpu => 0, maxcpu => 12, mem => 0, maxmem => 12 * $GiB },
);
my %start_expected = (
    'homogeneous heavy_memory' => [qw(node2 node3 node1)],
    'homogeneous heavy_cpu' => [qw(node1 node3 node2)],
    'homogeneous unlimited_cpu' => [qw(node1 node3 node2)],
    'homogeneous combined' => [qw(node2 node3 node1)],
    'heterogeneous heavy_memory' => [qw(node2 node1 node3)],
    'heterogeneous heavy_cpu' => [qw(node3 node2 node1)],
    'heterogeneous unlimited_cpu' => [qw(node1 node3 node2)],
    'heterogeneous combined' => [qw(node2 node1 node3)],
);
for my $key (sort keys %start_expected) {
    my ($which, $stats) = split(' ', $key);
    my $s = crate_cluster($which eq 'homogeneous' ? $homogeneous : $heterogeneous, 'normalized');
    my $scores = $s->score_nodes_to_start_resource($start{$stats});
    # stable sort by score, descending, as the crate's test does
    my @order = map { $_->[0] } sort { $b->[1] <=> $a->[1] } @$scores;
    is_deeply(\@order, $start_expected{$key}, "crate start ranking, $key");
}

# --- test-crs-* scenarios ------------------------------------------------------------------
sub check_migration {
    my ($r, $sid, $target, $from, $to, $name) = @_;
    ok($r->{best}, "$name: a migration") or return;
    is($r->{best}{migration}{sid}, $sid, "$name: sid");
    is($r->{best}{migration}{'target-node'}, $target, "$name: target");
    is(two($r->{imbalance}), $from, "$name: imbalance before");
    is(two($r->{best}{imbalance}), $to, "$name: imbalance after");
    ok($r->{migrates}, "$name: over threshold and margin");
}

{   # test-crs-{dynamic,static}-auto-rebalance1, -topsis1: one guest, no better place.
    my $hw = three_nodes(4, 16 * $GiB);
    my $gs = [guest('vm:101', 'node1', 2, 8 * $GiB, 1.0, 4 * $GiB)];
    for my $m (qw(bruteforce topsis)) {
        my $s = dynamic_round($hw, $gs);
        my $r = load_balance($s, unconstrained_candidates($s, $gs), $m);
        is(two($r->{imbalance}), '1.41', "auto-rebalance1 ($m): 1.41");
        is(two($r->{best}{imbalance}), '1.41', "auto-rebalance1 ($m): best move keeps 1.41");
        ok(!$r->{migrates}, "auto-rebalance1 ($m): no migration");
    }
    my $st = static_round($hw, $gs);
    ok(!load_balance($st, unconstrained_candidates($st, $gs), 'bruteforce')->{migrates},
        'static-auto-rebalance1: no migration');
    is(dynamic_round($hw, [])->calculate_node_imbalance(), 0, 'auto-rebalance0: empty cluster');
}

{   # test-crs-dynamic-auto-rebalance2, -topsis2, -static-auto-rebalance2
    my $hw = three_nodes(24, 32 * $GiB);
    for my $variant (['dynamic', 'bruteforce'], ['dynamic', 'topsis'], ['static', 'bruteforce']) {
        my ($kind, $m) = @$variant;
        my $gs = [map { guest($_, 'node1', 2, 8 * $GiB, 1.0, 4 * $GiB) } qw(vm:101 vm:102 vm:103 vm:104)];
        my $round = sub { $kind eq 'static' ? static_round($hw, $gs) : dynamic_round($hw, $gs) };
        my $s = $round->();
        check_migration(load_balance($s, unconstrained_candidates($s, $gs), $m),
            'vm:101', 'node2', '1.41', '0.94', "auto-rebalance2 $kind/$m step 1");
        find_guest($gs, 'vm:101')->{node} = 'node2';
        $s = $round->();
        check_migration(load_balance($s, unconstrained_candidates($s, $gs), $m),
            'vm:102', 'node3', '0.94', '0.35', "auto-rebalance2 $kind/$m step 2");
        find_guest($gs, 'vm:102')->{node} = 'node3';
        $s = $round->();
        my $last = load_balance($s, unconstrained_candidates($s, $gs), $m);
        is(two($last->{imbalance}), '0.35', "auto-rebalance2 $kind/$m: 0.35 at the end");
        ok(!$last->{migrates}, "auto-rebalance2 $kind/$m: then nothing");
    }
}

sub seven_guests {
    return [
        guest('vm:101', 'node1', 8, 8 * $GiB, 0.9, 5444206592),
        guest('vm:102', 'node1', 8, 8 * $GiB, 1.2, 2621440000),
        guest('vm:103', 'node2', 4, 8 * $GiB, 0.8, 5444206592),
        guest('vm:104', 'node2', 8, 8 * $GiB, 0.9, 2621440000),
        guest('vm:105', 'node3', 8, 8 * $GiB, 3.0, 805306368),
        guest('vm:106', 'node3', 6, 8 * $GiB, 2.9, 1612709888),
        guest('vm:107', 'node3', 6, 8 * $GiB, 2.1, 1612709888),
    ];
}

sub set_dynamic {
    my ($gs, $sid, $cpu, $mem) = @_;
    my $g = find_guest($gs, $sid);
    ($g->{cpu}, $g->{mem}) = ($cpu, $mem);
}

sub spike_on_node3 {
    my ($gs) = @_;
    set_dynamic($gs, 'vm:105', 7.8, 7912 * $MiB);
    set_dynamic($gs, 'vm:106', 5.7, 8192 * $MiB);
    set_dynamic($gs, 'vm:107', 6.0, 8011 * $MiB);
}

sub shift_load {
    my ($gs) = @_;
    set_dynamic($gs, 'vm:101', 0.9, 1011 * $MiB);
    set_dynamic($gs, 'vm:103', 3.9, 6517 * $MiB);
    set_dynamic($gs, 'vm:104', 6.7, 8001 * $MiB);
    set_dynamic($gs, 'vm:105', 1.8, 1201 * $MiB);
    set_dynamic($gs, 'vm:106', 2.1, 1211 * $MiB);
    set_dynamic($gs, 'vm:107', 0.9, 1191 * $MiB);
}

for my $case (
    ['bruteforce', ['vm:105', 'node2', '0.85', '0.42'], ['vm:103', 'node1', '0.81', '0.40'], ['vm:105', 'node3', '0.40', '0.21']],
    ['topsis', ['vm:105', 'node2', '0.85', '0.42'], ['vm:103', 'node3', '0.81', '0.43'], ['vm:105', 'node1', '0.43', '0.24']],
) {   # test-crs-dynamic-auto-rebalance3 and -topsis3
    my ($m, @steps) = @$case;
    my $hw = three_nodes(24, 48 * $GiB);
    my $gs = seven_guests();
    ok(dynamic_round($hw, $gs)->calculate_node_imbalance() <= 0.3, "auto-rebalance3 $m: quiet first");
    spike_on_node3($gs);
    for my $i (0 .. $#steps) {
        my ($sid, $target, $from, $to) = $steps[$i]->@*;
        my $s = dynamic_round($hw, $gs);
        check_migration(load_balance($s, unconstrained_candidates($s, $gs), $m),
            $sid, $target, $from, $to, "auto-rebalance3 $m step " . ($i + 1));
        find_guest($gs, $sid)->{node} = $target;
        shift_load($gs) if $i == 0;
    }
    ok(dynamic_round($hw, $gs)->calculate_node_imbalance() <= 0.3, "auto-rebalance3 $m: balanced");
}

{   # test-crs-dynamic-constrained-auto-rebalance2: a positive-affinity bundle moves first.
    my $hw = three_nodes(24, 48 * $GiB);
    my $gs = [
        guest('vm:101', 'node1', 8, 8 * $GiB, 0.9, 2621440000),
        guest('vm:102', 'node1', 8, 8 * $GiB, 7.9, 8589934592),
        guest('vm:103', 'node1', 8, 8192 * $MiB, 4.0, 4096 * $MiB),
    ];
    my $s = dynamic_round($hw, $gs);
    my $candidates = [
        { leader => 'vm:101', resources => ['vm:101', 'vm:102'], nodes => ['node2', 'node3'] },
        { leader => 'vm:103', resources => ['vm:103'], nodes => ['node2', 'node3'] },
    ];
    check_migration(load_balance($s, $candidates, 'bruteforce'), 'vm:101', 'node2', '1.41', '0.86',
        'constrained-auto-rebalance2');
}

{   # test-crs-dynamic-constrained-auto-rebalance4: negative affinity limits the targets.
    my $hw = three_nodes(24, 48 * $GiB);
    my $gs = [
        guest('vm:101', 'node1', 8, 8 * $GiB, 0.9, 4294967296),
        guest('vm:102', 'node1', 8, 8 * $GiB, 2.4, 2621440000),
        guest('vm:103', 'node2', 8, 8 * $GiB, 0.0, 0),
        guest('vm:104', 'node3', 8, 8 * $GiB, 1.0, 1073741824),
    ];
    my $s = dynamic_round($hw, $gs);
    check_migration(load_balance($s, [
        { leader => 'vm:101', resources => ['vm:101'], nodes => ['node3'] },
        { leader => 'vm:102', resources => ['vm:102'], nodes => ['node3'] },
        { leader => 'vm:103', resources => ['vm:103'], nodes => ['node3'] },
        { leader => 'vm:104', resources => ['vm:104'], nodes => ['node1', 'node2'] },
    ], 'bruteforce'), 'vm:101', 'node3', '1.04', '0.72', 'constrained-auto-rebalance4 step 1');
    find_guest($gs, 'vm:101')->{node} = 'node3';
    $s = dynamic_round($hw, $gs);
    check_migration(load_balance($s, [
        { leader => 'vm:101', resources => ['vm:101'], nodes => ['node1'] },
        { leader => 'vm:102', resources => ['vm:102'], nodes => ['node3'] },
        { leader => 'vm:104', resources => ['vm:104'], nodes => ['node1', 'node2'] },
    ], 'bruteforce'), 'vm:104', 'node2', '0.72', '0.33', 'constrained-auto-rebalance4 step 2');
}

{   # test-crs-static-auto-rebalance3: configured sizes change; sid breaks the vm:103/104 tie.
    my $hw = three_nodes(24, 48 * $GiB);
    my $gs = [map { guest(@$_, 2, 2 * $GiB) } (
        ['vm:101', 'node1'], ['vm:102', 'node1'], ['vm:103', 'node2'], ['vm:104', 'node2'],
        ['vm:105', 'node3'], ['vm:106', 'node3'], ['vm:107', 'node3'])];
    for my $sid (qw(vm:105 vm:106 vm:107)) {
        @{ find_guest($gs, $sid) }{qw(maxcpu maxmem)} = (8, 8192 * $MiB);
    }
    my $step = sub {
        my ($sid, $target, $from, $to) = @_;
        my $s = static_round($hw, $gs);
        check_migration(load_balance($s, unconstrained_candidates($s, $gs), 'bruteforce'),
            $sid, $target, $from, $to, "static-auto-rebalance3 $sid");
        find_guest($gs, $sid)->{node} = $target;
    };
    $step->('vm:105', 'node1', '0.88', '0.47');
    @{ find_guest($gs, $_) }{qw(maxcpu maxmem)} = (1, 1024 * $MiB) for qw(vm:101 vm:102 vm:103 vm:104 vm:105);
    $step->('vm:106', 'node2', '0.91', '0.42');
    $step->('vm:103', 'node1', '0.42', '0.31');
    $step->('vm:104', 'node1', '0.31', '0.20');
}

{   # test-crs-static1: recovery to the node with the most room.
    my $s = scheduler('static');
    $s->add_node('node2', 32, 200000000000);
    $s->add_node('node3', 32, 300000000000);
    is(best_node($s, { maxcpu => 2, maxmem => 4000000000 }), 'node3', 'static1: recovery to node3');
}

{   # test-crs-static3: shutdown policy migrate; node2 twice node3's size.
    my $s = scheduler('static');
    $s->add_node('node2', 64, 200000000000);
    $s->add_node('node3', 32, 100000000000);
    my @chosen;
    for my $i (1 .. 9) {
        my $stats = { maxcpu => 2, maxmem => 4000000000 };
        push @chosen, best_node($s, $stats);
        $s->add_service("vm:10$i", { stats => $stats, running => 0, 'current-node' => $chosen[-1] });
    }
    is_deeply(\@chosen, [qw(node2 node2 node3 node2 node2 node3 node2 node2 node3)], 'static3: order');
}

{   # test-crs-static4: no CPU limit counts as a whole node; a tie goes to the first name.
    my $s = scheduler('static');
    $s->add_node('node2', 32, 100000000000);
    $s->add_node('node3', 32, 100000000000);
    my $big = { maxcpu => 0, maxmem => 40000000000 };
    my $scores = $s->score_nodes_to_start_service($big);
    is($scores->[0][1], $scores->[1][1], 'static4: tie');
    is(best_node($s, $big), 'node2', 'static4: ct:101 to node2');
    $s->add_service('ct:101', { stats => $big, running => 0, 'current-node' => 'node2' });
    for my $i (2 .. 9) {
        my $stats = { maxcpu => 2, maxmem => 2000000000 };
        is(best_node($s, $stats), 'node3', "static4: ct:10$i to node3");
        $s->add_service("ct:10$i", { stats => $stats, running => 0, 'current-node' => 'node3' });
    }
}

{   # test-crs-static-rebalance2: rebalance on start.
    my @placed;
    my %mem = ('vm:100' => 536870912, 'vm:101' => 1073741824, 'vm:102' => 1610612736);
    my $round = sub {
        my $s = scheduler('static');
        $s->add_node('node1', 40, 384000000000);
        $s->add_node('node2', 32, 256000000000);
        $s->add_node('node3', 32, 256000000000);
        $s->add_service($_->[0], { stats => { maxcpu => 2, maxmem => $mem{$_->[0]} },
            running => 1, 'current-node' => $_->[1] }) for @placed;
        return $s;
    };
    is(best_node($round->(), { maxcpu => 2, maxmem => 536870912 }), 'node1', 'static-rebalance2 vm:100');
    push @placed, ['vm:100', 'node2'];
    is(best_node($round->(), { maxcpu => 2, maxmem => 1073741824 }), 'node1', 'static-rebalance2 vm:101');
    push @placed, ['vm:101', 'node1'];
    is(best_node($round->(), { maxcpu => 2, maxmem => 1610612736 }), 'node3', 'static-rebalance2 vm:102');
    push @placed, ['vm:102', 'node2'];
    is(best_node($round->(), { maxcpu => 2, maxmem => 2147483648 }), 'node3', 'static-rebalance2 vm:103');
}

{   # test-crs-dynamic1 and -dynamic-rebalance1
    my $s = scheduler('dynamic');
    $s->add_node('node2', { cpu => 0, maxcpu => 32, mem => 0, maxmem => 200000000000 });
    $s->add_node('node3', { cpu => 0, maxcpu => 32, mem => 0, maxmem => 300000000000 });
    is(best_node($s, { cpu => 5.9, maxcpu => 8, mem => 2744123392, maxmem => 4 * $GiB }), 'node3',
        'dynamic1: recovery to node3');

    my @five = (
        guest('vm:101', 'node3', 8, 4 * $GiB, 1.3, 1073741824),
        guest('vm:102', 'node3', 8, 4 * $GiB, 5.6, 3221225472),
        guest('vm:103', 'node3', 8, 4 * $GiB, 0.5, 4000000000),
        guest('vm:104', 'node3', 8, 4 * $GiB, 7.9, 2147483648),
        guest('vm:105', 'node3', 8, 4 * $GiB, 3.2, 2684354560),
    );
    $s = scheduler('dynamic');
    $s->add_node($_->[0], { cpu => 0, maxcpu => $_->[1], mem => 0, maxmem => $_->[2] })
        for three_nodes(32, 256000000000)->@*;
    my @chosen;
    for my $g (@five) {
        my $stats = { map { $_ => $g->{$_} } qw(cpu maxcpu mem maxmem) };
        push @chosen, best_node($s, $stats);
        $s->add_resource($g->{sid}, { stats => $stats, running => 0, 'current-node' => $chosen[-1] });
    }
    is_deeply(\@chosen, [qw(node1 node2 node3 node1 node2)], 'dynamic-rebalance1: start order');
}

done_testing();
