#!/usr/bin/perl
# Capacity-aware mode: a node where the guest does not fit in memory never ranks above one where
# it fits; imbalance and balancing follow pve-balancer's per-resource objective (the same number
# `pve-balancer score` reports); same return shapes as upstream.
use strict;
use warnings;
use Test::More;
use List::Util qw(min max);

require './tests/perl/helpers.pl';
require './tests/perl/ha-helpers.pl';
use PVE::Balancer::Native;
our ($GiB, $MiB);

# Usable memory with the engine defaults: min(0.9 * maxmem, maxmem - 1 GiB).
sub usable { my ($maxmem) = @_; return max(0, min(0.9 * $maxmem, $maxmem - $GiB)) }
sub tier {
    my ($after, $maxmem) = @_;
    return 0 if $maxmem > 0 && $after <= usable($maxmem);
    return 1 if $maxmem > 0 && $after <= $maxmem;
    return 2;
}

# --- the worked example of docs/ha.md ------------------------------------------------------
{
    my $example = sub {
        my ($mode) = @_;
        my $s = PVE::Balancer::HAScheduler::Static->new_with_mode($mode);
        $s->add_node('node1', 32, 16 * $GiB);
        $s->add_node('node2', 8, 32 * $GiB);
        $s->add_node('node3', 32, 64 * $GiB);
        my %committed = (node1 => [12, 10], node2 => [8, 2], node3 => [16, 62]);
        for my $n (sort keys %committed) {
            my ($cpu, $mem) = $committed{$n}->@*;
            $s->add_service("vm:$n", { stats => { maxcpu => $cpu, maxmem => $mem * $GiB },
                running => 1, 'current-node' => $n });
        }
        return $s;
    };
    my $guest = { maxcpu => 8, maxmem => 8 * $GiB };
    my $compat = $example->('compatible');
    my $aware = $example->('capacity-aware');
    is(best_node($compat, $guest), 'node3', 'example: compatible starts the guest on node3 (70 of 64 GiB)');
    is(best_node($aware, $guest), 'node2', 'example: capacity-aware starts it on node2, where it fits');
    my %score = map { @$_ } $aware->score_nodes_to_start_service($guest)->@*;
    is($score{node2}, 1, 'example: node2 is the only node that fits: score 1');
    ok($score{node1} <= 0.3 && $score{node3} <= 0.3, 'example: nodes beyond maxmem score at most 0.3');
    my %cscore = map { @$_ } $compat->score_nodes_to_start_service($guest)->@*;
    note(sprintf("compatible: %s", join(' ', map { sprintf('%s=%.3f', $_, $cscore{$_}) } sort keys %cscore)));
    note(sprintf("capacity-aware: %s", join(' ', map { sprintf('%s=%.3f', $_, $score{$_}) } sort keys %score)));
}

# --- property: fit tiers are never inverted (random clusters) ------------------------------
srand(20260522);
my ($checked, $inverted, $notbest) = (0, 0, 0);
for my $iter (1 .. 300) {
    my $kind = $iter % 2 ? 'static' : 'dynamic';
    my $s = scheduler($kind, 'capacity-aware');
    my %node;
    for my $i (1 .. 2 + int(rand(5))) {
        my $maxmem = (8, 16, 32, 64, 128)[int rand 5] * $GiB;
        my $maxcpu = (4, 8, 16, 32)[int rand 4];
        my $mem = int(rand(1.05 * $maxmem));
        my $cpu = rand($maxcpu);
        $node{"n$i"} = { maxmem => $maxmem, mem => $mem };
        if ($kind eq 'static') {
            $s->add_node("n$i", $maxcpu, $maxmem);
            $s->add_service("vm:$i", { stats => { maxcpu => $cpu, maxmem => $mem }, running => 1,
                'current-node' => "n$i" }) if $mem > 0;
        } else {
            $s->add_node("n$i", { cpu => $cpu, maxcpu => $maxcpu, mem => $mem, maxmem => $maxmem });
        }
    }
    my $maxmem = (1, 2, 4, 8, 16)[int rand 5] * $GiB;
    my $stats = $kind eq 'static' ? { maxcpu => 1 + int(rand(8)), maxmem => $maxmem }
        : { cpu => rand(4), maxcpu => 1 + int(rand(8)), mem => int($maxmem / 2), maxmem => $maxmem };
    my $method = $kind eq 'static' ? 'score_nodes_to_start_service' : 'score_nodes_to_start_resource';
    my %score = map { @$_ } $s->$method($stats)->@*;
    my %t = map { $_ => tier($node{$_}{mem} + $maxmem, $node{$_}{maxmem}) } keys %node;
    for my $a (keys %t) {
        for my $b (keys %t) {
            $checked++;
            $inverted++ if $t{$a} < $t{$b} && !($score{$a} > $score{$b});
        }
        $inverted++ if $score{$a} < 0 || $score{$a} > 1;
    }
    my $best = best_node($s, $stats);
    my $best_tier = min(values %t);
    $notbest++ if $t{$best} != $best_tier;
}
ok($checked > 1000, "property: $checked node pairs checked");
is($inverted, 0, 'property: a fitting node always scores above a non-fitting one, scores in [0, 1]');
is($notbest, 0, 'property: HA picks a node of the best fit tier');

# --- imbalance on HA's scale: per resource, pooled ----------------------------------------
# sqrt((Var(u_cpu) + Var(u_mem)) / (mean(u_cpu)^2 + mean(u_mem)^2)), over sqrt(n - 1) when
# normalised; computed here by hand.
sub pooled_cv {
    my ($nodes, $normalize) = @_; # [[cpu, maxcpu, mem, maxmem]...]
    my ($var, $msq) = (0, 0);
    for my $r ([0, 1], [2, 3]) {
        my @u = map { $_->[$r->[0]] / $_->[$r->[1]] } @$nodes;
        my $mean = 0;
        $mean += $_ / @u for @u;
        my $v = 0;
        $v += ($_ - $mean) ** 2 / @u for @u;
        $v /= (@u - 1) if $normalize;
        $var += $v;
        $msq += $mean ** 2;
    }
    return $msq > 0 ? sqrt($var / $msq) : 0;
}
{
    my @nodes = (
        [0.90 * 16, 16, int(6.4 * $GiB), 64 * $GiB],
        [0.10 * 16, 16, int(57.6 * $GiB), 64 * $GiB],
        [0.40 * 32, 32, 40 * $GiB, 128 * $GiB],
    );
    for my $imbalance (qw(raw normalized)) {
        my $aware = scheduler('dynamic', 'capacity-aware', $imbalance);
        $aware->add_node("n$_", { cpu => $nodes[$_][0], maxcpu => $nodes[$_][1],
            mem => $nodes[$_][2], maxmem => $nodes[$_][3] }) for 0 .. $#nodes;
        my $want = pooled_cv(\@nodes, $imbalance eq 'normalized');
        ok(abs($aware->calculate_node_imbalance() - $want) < 1e-12,
            "capacity-aware imbalance ($imbalance): the pooled per-resource CV, $want")
            or diag($aware->calculate_node_imbalance());
    }
}

# Where CPU and memory utilisation are proportional on every node, both modes report the same
# imbalance (random clusters, both scales).
{
    srand(20261206);
    my $worst = 0;
    for my $iter (1 .. 200) {
        my $imbalance = $iter % 2 ? 'raw' : 'normalized';
        my $k = 0.2 + rand(3); # memory utilisation = k * CPU utilisation on every node
        my $aware = scheduler('dynamic', 'capacity-aware', $imbalance);
        my $compat = scheduler('dynamic', 'compatible', $imbalance);
        for my $i (1 .. 2 + int(rand(8))) {
            my $maxcpu = (8, 16, 32, 64)[int rand 4];
            my $maxmem = (32, 64, 128, 256)[int rand 4] * $GiB;
            my $u = rand(1 / $k < 1 ? 1 / $k : 1);
            my $stats = { cpu => $u * $maxcpu, maxcpu => $maxcpu, mem => int($k * $u * $maxmem),
                maxmem => $maxmem };
            $_->add_node("n$i", $stats) for $aware, $compat;
        }
        my ($ai, $ci) = ($aware->calculate_node_imbalance(), $compat->calculate_node_imbalance());
        my $d = abs($ai - $ci) / ($ci > 1e-9 ? $ci : 1);
        $worst = $d if $d > $worst;
    }
    ok($worst < 1e-6, "proportional loads: capacity-aware = compatible imbalance (worst relative difference $worst)");
}

# The worked example of docs/ha.md: four 2-core, 8 GiB guests on node1 of three 16-core,
# 64 GiB nodes (static usage).
{
    my $gs = [map { guest("vm:10$_", 'node1', 2, 8 * $GiB) } 1 .. 4];
    my %got;
    for my $mode (qw(compatible capacity-aware)) {
        for my $imbalance (qw(raw normalized)) {
            my $s = static_round(three_nodes(16, 64 * $GiB), $gs, $mode, $imbalance);
            my $lb = load_balance($s, unconstrained_candidates($s, $gs), 'bruteforce');
            $got{"$mode $imbalance"} = sprintf('%.2f -> %.2f, %s', $lb->{imbalance},
                $lb->{best}{imbalance}, $lb->{migrates} ? 'migrates' : 'stays');
        }
    }
    is_deeply(\%got, {
        'compatible raw' => '1.41 -> 0.94, migrates',
        'capacity-aware raw' => '1.41 -> 0.94, migrates',
        'compatible normalized' => '1.00 -> 0.66, migrates',
        'capacity-aware normalized' => '1.00 -> 0.66, migrates',
    }, 'worked example: the same imbalance, threshold and margin in both modes');
}

# --- per resource, not the average: the mirror image ---------------------------------------
{
    my $hw = [['a', 16, 64 * $GiB], ['b', 16, 64 * $GiB]];
    my $gs = [
        guest('vm:101', 'a', 16, 4 * $GiB, 12.8, 2 * $GiB),   # CPU-heavy
        guest('vm:102', 'a', 2, 8 * $GiB, 1.6, 4.4 * $GiB),
        guest('vm:201', 'b', 2, 48 * $GiB, 0.8, 40 * $GiB),   # memory-heavy
        guest('vm:202', 'b', 2, 24 * $GiB, 0.8, 17.6 * $GiB),
    ];
    $_->{mem} = int($_->{mem}) for @$gs;
    my $compat = dynamic_round($hw, $gs, 'compatible', 'normalized');
    my $aware = dynamic_round($hw, $gs, 'capacity-aware');
    ok($compat->calculate_node_imbalance() < 0.01, 'mirror image: CRS imbalance ~ 0 (averaged load)');
    my $imb = $aware->calculate_node_imbalance();
    ok($imb > 0.3, "mirror image: capacity-aware imbalance $imb");
    my $cands = unconstrained_candidates($aware, $gs);
    my $ranked = $aware->score_best_balancing_migration_candidates($cands, 10);
    ok(@$ranked >= 1, 'mirror image: migrations proposed');
    my %fits = map { $_->{sid} => 1 } grep {
        my $g = $_;
        my $target = $g->{node} eq 'a' ? 'b' : 'a';
        my $used = 0;
        $used += $_->{mem} for grep { $_->{node} eq $target } @$gs;
        $used + $g->{mem} <= usable(64 * $GiB);
    } @$gs;
    ok(!grep({ !$fits{$_->{migration}{sid}} } @$ranked), 'mirror image: every proposed move fits its target');
    is_deeply([map { $_->{imbalance} } @$ranked], [sort { $a <=> $b } map { $_->{imbalance} } @$ranked],
        'mirror image: ascending expected imbalance');
    my $best = $ranked->[0];
    ok(($imb - $best->{imbalance}) / $imb >= 0.1, 'mirror image: the best move passes HA\'s 10% margin');
    is_deeply($aware->score_best_balancing_migration_candidates_topsis($cands, 10), $ranked,
        'capacity-aware: the TOPSIS method gives the same ranking');
    is_deeply($aware->score_best_balancing_migration_candidates($cands, 1), [$best], 'limit 1 = first');
}

# --- ties are broken like upstream (sid, then target) --------------------------------------
{
    my $hw = three_nodes(8, 32 * $GiB);
    my $gs = [map { guest($_, 'node1', 2, 4 * $GiB, 1, 2 * $GiB) } qw(vm:103 vm:101 vm:102)];
    my $s = dynamic_round($hw, $gs, 'capacity-aware');
    my $r = $s->score_best_balancing_migration_candidates(unconstrained_candidates($s, $gs), 6);
    is_deeply([map { "$_->{migration}{sid}>$_->{migration}{'target-node'}" } @$r],
        [qw(vm:101>node2 vm:101>node3 vm:102>node2 vm:102>node3 vm:103>node2 vm:103>node3)],
        'equal moves come in sid, then target order');
}

# --- the node's own reserve: Static keeps the ARC allowance, Dynamic less the ARC in mem --
{
    # node1: 64 GiB, zfs_arc_max 16 GiB, 10 GiB of ARC now; 40 GiB in use; an 8 GiB guest.
    # Static: reserve 1 + 16 = 17 GiB, usable 47 < 48: beyond. Dynamic: the measured 40 GiB
    # hold the 10 GiB ARC, reserve 1 + 16 - 10 = 7 GiB, usable 57 >= 48: fits.
    my $nodes = { node1 => { 'arc-max' => 16 * $GiB, 'arc-size' => 10 * $GiB, zfs => 0 } };
    my $st = PVE::Balancer::HAScheduler::Static->new_with_mode('capacity-aware', 'raw', {}, $nodes);
    $st->add_node('node1', 16, 64 * $GiB);
    $st->add_service('vm:1', { stats => { maxcpu => 1, maxmem => 40 * $GiB }, running => 1,
        'current-node' => 'node1' });
    my %s = map { @$_ } $st->score_nodes_to_start_service({ maxcpu => 1, maxmem => 8 * $GiB })->@*;
    ok($s{node1} < 0.7, 'Static: the zfs_arc_max is reserved on top of memory-reserve');
    my $dy = PVE::Balancer::HAScheduler::Dynamic->new_with_mode('capacity-aware', 'raw', {}, $nodes);
    $dy->add_node('node1', { cpu => 1, maxcpu => 16, mem => 40 * $GiB, maxmem => 64 * $GiB });
    my %d = map { @$_ } $dy->score_nodes_to_start_resource(
        { cpu => 1, maxcpu => 1, mem => 8 * $GiB, maxmem => 8 * $GiB })->@*;
    ok($d{node1} >= 0.7, 'Dynamic: the ARC already in the measured memory is not reserved twice');
    my $flat = PVE::Balancer::HAScheduler::Static->new_with_mode('capacity-aware', 'raw', {}, {});
    $flat->add_node('node1', 16, 64 * $GiB);
    $flat->add_service('vm:1', { stats => { maxcpu => 1, maxmem => 40 * $GiB }, running => 1,
        'current-node' => 'node1' });
    %s = map { @$_ } $flat->score_nodes_to_start_service({ maxcpu => 1, maxmem => 8 * $GiB })->@*;
    ok($s{node1} >= 0.7, 'without node info: the flat memory-reserve');
}

# --- degenerate nodes do not break it ------------------------------------------------------
{
    my $s = scheduler('dynamic', 'capacity-aware');
    $s->add_node('empty', { cpu => 0, maxcpu => 0, mem => 0, maxmem => 0 });
    $s->add_node('good', { cpu => 1, maxcpu => 8, mem => $GiB, maxmem => 32 * $GiB });
    my $stats = { cpu => 1, maxcpu => 2, mem => $GiB, maxmem => 2 * $GiB };
    my %score = map { @$_ } $s->score_nodes_to_start_resource($stats)->@*;
    ok($score{good} > $score{empty}, 'a node without memory ranks last');
    my $imb = $s->calculate_node_imbalance();
    ok($imb == $imb, 'imbalance is a number (not NaN)');
    my $c = scheduler('dynamic', 'compatible');
    $c->add_node('empty', { cpu => 0, maxcpu => 0, mem => 0, maxmem => 0 });
    $c->add_node('good', { cpu => 1, maxcpu => 8, mem => $GiB, maxmem => 32 * $GiB });
    like(error_of(sub { $c->score_nodes_to_start_resource($stats) }), qr/^criterion \d got invalid value/,
        'compatible mode keeps upstream\'s TOPSIS error there');
}

done_testing();
