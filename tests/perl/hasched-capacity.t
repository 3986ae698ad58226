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
        my $s = PVE::RS::ResourceScheduling::Static->new_with_mode($mode);
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

# --- imbalance is pve-balancer's objective -------------------------------------------------
{
    my @nodes = (
        { node => 'a', maxcpu => 16, cpu => 0.90, maxmem => 64 * $GiB, mem => 6.4 * $GiB },
        { node => 'b', maxcpu => 16, cpu => 0.10, maxmem => 64 * $GiB, mem => 57.6 * $GiB },
        { node => 'c', maxcpu => 32, cpu => 0.40, maxmem => 128 * $GiB, mem => 40 * $GiB },
    );
    my $snapshot = [map { { type => 'node', id => "node/$_->{node}", node => $_->{node},
        status => 'online', maxcpu => $_->{maxcpu}, cpu => $_->{cpu}, maxmem => $_->{maxmem},
        mem => int($_->{mem}) } } @nodes];
    my $metrics = PVE::Balancer::Native::score($snapshot)->{metrics};
    my $aware = scheduler('dynamic', 'capacity-aware');
    my $compat = scheduler('dynamic', 'compatible', 'normalized');
    for my $s ($aware, $compat) {
        $s->add_node($_->{node}, { cpu => $_->{cpu} * $_->{maxcpu}, maxcpu => $_->{maxcpu},
            mem => int($_->{mem}), maxmem => $_->{maxmem} }) for @nodes;
    }
    ok(abs($aware->calculate_node_imbalance() - $metrics->{objective}) < 1e-6,
        'capacity-aware imbalance = pve-balancer score objective')
        or diag($aware->calculate_node_imbalance() . " vs $metrics->{objective}");
    ok(abs($compat->calculate_node_imbalance() - $metrics->{imbalance}) < 1e-6,
        'compatible (normalized) imbalance = pve-balancer score imbalance')
        or diag($compat->calculate_node_imbalance() . " vs $metrics->{imbalance}");
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
