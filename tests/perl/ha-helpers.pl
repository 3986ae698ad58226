# Helpers for the HA scheduler tests: drive the scheduler the way pve-ha-manager 5.2 does
# (PVE::HA::Usage::{Static,Dynamic} and Manager::load_balance / select_service_node).
use strict;
use warnings;

use PVE::Balancer::HAScheduler::Static;
use PVE::Balancer::HAScheduler::Dynamic;

our $GiB = 1024 ** 3;
our $MiB = 1024 ** 2;

sub scheduler {
    my ($kind, $mode, $imbalance) = @_;
    my $class = $kind eq 'static' ? 'PVE::Balancer::HAScheduler::Static'
        : 'PVE::Balancer::HAScheduler::Dynamic';
    return $class->new_with_mode($mode // 'compatible', $imbalance // 'raw');
}

# A round in which every guest is started and stationary. Nodes: [name, maxcpu, maxmem];
# guests: {sid, node, maxcpu, maxmem, cpu, mem}. Dynamic node usage = its guests' usage.
sub dynamic_round {
    my ($nodes, $guests, $mode, $imbalance) = @_;
    my $s = scheduler('dynamic', $mode, $imbalance);
    for my $n (@$nodes) {
        my ($name, $maxcpu, $maxmem) = @$n;
        my ($cpu, $mem) = (0, 0);
        for my $g (grep { $_->{node} eq $name } @$guests) {
            $cpu += $g->{cpu};
            $mem += $g->{mem};
        }
        $s->add_node($name, { cpu => $cpu, maxcpu => $maxcpu, mem => $mem, maxmem => $maxmem });
    }
    for my $g (@$guests) {
        $s->add_resource($g->{sid}, {
            stats => { map { $_ => $g->{$_} } qw(cpu maxcpu mem maxmem) },
            running => 1,
            'current-node' => $g->{node},
        });
    }
    return $s;
}

sub static_round {
    my ($nodes, $guests, $mode, $imbalance) = @_;
    my $s = scheduler('static', $mode, $imbalance);
    $s->add_node(@$_) for @$nodes;
    for my $g (@$guests) {
        $s->add_service($g->{sid}, {
            stats => { maxcpu => $g->{maxcpu}, maxmem => $g->{maxmem} },
            running => 1,
            'current-node' => $g->{node},
        });
    }
    return $s;
}

# One bundle per guest, allowed on every other node.
sub unconstrained_candidates {
    my ($s, $guests) = @_;
    return [map {
        my $g = $_;
        { leader => $g->{sid}, resources => [$g->{sid}],
          nodes => [grep { $_ ne $g->{node} } $s->list_nodes->@*] }
    } @$guests];
}

# Manager::load_balance after the hold duration: threshold 0.3, margin 0.1.
# Returns { imbalance, best (or undef), migrates }.
sub load_balance {
    my ($s, $candidates, $method) = @_;
    my $imbalance = $s->calculate_node_imbalance();
    my $ranked = $method eq 'topsis'
        ? $s->score_best_balancing_migration_candidates_topsis($candidates, 1)
        : $s->score_best_balancing_migration_candidates($candidates, 1);
    my $best = $ranked->[0];
    my $migrates = $best && $imbalance > 0.3
        && ($imbalance - $best->{imbalance}) / $imbalance >= 0.1 ? 1 : 0;
    return { imbalance => $imbalance, best => $best, migrates => $migrates };
}

# select_service_node's end: scores negated, lowest first, ties by name.
sub best_node {
    my ($s, $stats) = @_;
    my $method = $s->isa('PVE::Balancer::HAScheduler::Static')
        ? 'score_nodes_to_start_service' : 'score_nodes_to_start_resource';
    my $scores = { map { $_->[0] => -$_->[1] } $s->$method($stats)->@* };
    my @nodes = sort { $scores->{$a} <=> $scores->{$b} || $a cmp $b } keys %$scores;
    return $nodes[0];
}

sub two { return sprintf('%.2f', $_[0]) }

sub find_guest {
    my ($guests, $sid) = @_;
    my ($g) = grep { $_->{sid} eq $sid } @$guests;
    die "no guest $sid\n" if !$g;
    return $g;
}

sub guest {
    my ($sid, $node, $maxcpu, $maxmem, $cpu, $mem) = @_;
    return { sid => $sid, node => $node, maxcpu => $maxcpu, maxmem => $maxmem,
        cpu => $cpu // 0, mem => $mem // 0 };
}

sub three_nodes {
    my ($maxcpu, $maxmem) = @_;
    return [map { ["node$_", $maxcpu, $maxmem] } 1 .. 3];
}

1;
