#!/usr/bin/perl
# Capacity-aware scheduling is rule-safe: it never prefers a node that leaves a resource-affinity
# partner with no allowed node. Reproduces pve-ha-manager 5.2.0's
# test-crs-static-rebalance-resource-affinity1 with a minimal CRM (tests/perl/fixtures/ha-crm.pl):
# by capacity alone vm:104 would start on node2, after which vm:106 and vm:108 have no node left
# (upstream logs uninitialised values, "missing target", failed starts).
use strict;
use warnings;
use Test::More;

require './tests/perl/helpers.pl';
require './tests/perl/ha-helpers.pl';
require './tests/perl/fixtures/ha-crm.pl';
use PVE::Balancer::HAScheduler::RuleSafety;

my @warnings;
local $SIG{__WARN__} = sub { push @warnings, $_[0] };

# --- the scenario --------------------------------------------------------------------------
my %stats = (
    'vm:101' => [8, 16e9], 'vm:102' => [4, 24e9], 'vm:103' => [2, 32e9], 'vm:104' => [4, 48e9],
    'vm:105' => [8, 16e9], 'vm:106' => [4, 32e9], 'vm:107' => [2, 64e9], 'vm:108' => [8, 48e9],
);
my %home = ('vm:101' => 'node1', 'vm:102' => 'node2', map { ("vm:10$_" => 'node3') } 3 .. 8);

# rules_config: together {102,107}, {104,106,108}; apart {103,104,105}, {103,106,107}, {107,108}.
# Compiled after the transforms: the negative relations of a positive group's member extend to
# the whole group (create_implicit_negative_resource_affinity_rules).
sub compiled_rules {
    my ($positive_groups, $negative_pairs) = @_;
    my ($pos, $neg) = ({}, {});
    for my $g (@$positive_groups) {
        for my $x (@$g) { $pos->{$x}->{$_} = 1 for grep { $_ ne $x } @$g }
    }
    for my $p (@$negative_pairs) {
        my ($x, $y) = @$p;
        $neg->{$x}->{$y} = $neg->{$y}->{$x} = 1;
    }
    return { 'node-affinity' => {}, 'resource-affinity' => { positive => $pos, negative => $neg } };
}
my $rules = compiled_rules(
    [['vm:102', 'vm:107'], ['vm:104', 'vm:106', 'vm:108']],
    [
        # as written
        map({ my @r = @$_; map { my $i = $_; map { [$r[$i], $r[$_]] } $i + 1 .. $#r } 0 .. $#r }
            ['vm:103', 'vm:104', 'vm:105'], ['vm:103', 'vm:106', 'vm:107'], ['vm:107', 'vm:108']),
        # implied through {104,106,108}: 103, 105 and 107 are apart from the whole group
        ['vm:103', 'vm:108'], ['vm:105', 'vm:106'], ['vm:105', 'vm:108'], ['vm:104', 'vm:107'],
        # implied through {102,107}: 103, 106 and 108 are apart from vm:102 too
        ['vm:102', 'vm:103'], ['vm:102', 'vm:106'], ['vm:102', 'vm:108'],
    ],
);

# Every guest in request_start on its configured node; the CRM decides them in sid order with
# ha-rebalance-on-start (as in round 20 of the upstream log). Returns { sid => node or undef }.
sub start_all {
    my ($scheduler) = @_;
    $scheduler->add_node($_, 8, 112e9) for qw(node1 node2 node3);
    my $usage = Test::CRM::Usage->new($scheduler,
        { map { $_ => { maxcpu => $stats{$_}[0], maxmem => $stats{$_}[1] } } keys %stats });
    my $ss = { map { $_ => { state => 'request_start', node => $home{$_} } } keys %home };
    my $crm = PVE::HA::Manager->new(compiled_rules => $rules, ss => $ss, online_node_usage => $usage);
    my %chosen;
    for my $sid (sort keys %home) {
        no warnings 'uninitialized'; # upstream's own warnings when no node is left
        $chosen{$sid} = $crm->next_state_request_start($sid);
    }
    return \%chosen;
}

sub rules_hold {
    my ($placed) = @_;
    my $aff = $rules->{'resource-affinity'};
    for my $x (sort keys %$placed) {
        return "$x has no node" if !defined($placed->{$x});
        for my $y (sort keys %{ $aff->{positive}->{$x} }) {
            return "$x and $y apart" if ($placed->{$y} // '') ne $placed->{$x};
        }
        for my $y (sort keys %{ $aff->{negative}->{$x} }) {
            return "$x and $y together" if ($placed->{$y} // '') eq $placed->{$x};
        }
    }
    return 'all rules hold';
}

my %upstream = ('vm:101' => 'node1', 'vm:102' => 'node2', 'vm:103' => 'node3', 'vm:104' => 'node1',
    'vm:105' => 'node2', 'vm:106' => 'node1', 'vm:107' => 'node2', 'vm:108' => 'node1');

# Compatible mode is upstream (its log.expect).
is_deeply(start_all(scheduler('static', 'compatible')), \%upstream,
    'compatible: the placement of upstream\'s log');

# Capacity alone: the dead end (the scheduler without its rule check).
{
    package Test::NoRuleSafety;
    use parent -norequire, 'PVE::Balancer::HAScheduler::Static';
    sub score_nodes_to_start_service { PVE::Balancer::HAScheduler::Static::_score_nodes_to_start_service(@_) }
}
{
    my $s = Test::NoRuleSafety->new_with_mode('capacity-aware', 'raw');
    my $chosen = start_all($s);
    is($chosen->{'vm:104'}, 'node2', 'capacity alone: vm:104 goes to node2 (more CPU left there)');
    is_deeply([grep { !defined($chosen->{$_}) } sort keys %$chosen], ['vm:106', 'vm:108'],
        'capacity alone: then vm:106 and vm:108 have no node (upstream\'s dead end)');
}

# Capacity-aware, rule-safe: node2 is recognised as a dead end for vm:104.
{
    @warnings = ();
    my $chosen = start_all(scheduler('static', 'capacity-aware'));
    is($chosen->{'vm:104'}, 'node1', 'capacity-aware: vm:104 goes to node1');
    is(rules_hold($chosen), 'all rules hold', 'capacity-aware: every guest has a node, every rule holds');
    is_deeply($chosen, \%upstream, 'capacity-aware: the README\'s expected outcome');
    is_deeply(\@warnings, [], 'no warning');
}

# --- the check itself ----------------------------------------------------------------------
my $online = { node1 => 1, node2 => 1, node3 => 1 };
my $round = {
    'vm:101' => { state => 'started', node => 'node1' },
    'vm:102' => { state => 'started', node => 'node2' },
    'vm:103' => { state => 'started', node => 'node3' },
    map { ("vm:10$_" => { state => 'request_start', node => 'node3' }) } 4 .. 8,
};
is_deeply(PVE::Balancer::HAScheduler::RuleSafety::dead_ends($rules, $round, $online,
    { 'vm:104' => 1 }, ['node1', 'node2']), { node2 => 1 }, 'dead_ends: node2 for vm:104');
is_deeply(PVE::Balancer::HAScheduler::RuleSafety::candidate_nodes(
    { sid => 'vm:104', rules => $rules, ss => $round, preference => 'best-score' }, $online),
    ['node1', 'node2'], 'candidate_nodes: node3 holds vm:103');
is_deeply(PVE::Balancer::HAScheduler::RuleSafety::dead_ends($rules, $round, $online,
    { 'vm:101' => 1 }, ['node1', 'node2', 'node3']), {}, 'no rule: no dead end');
{
    # vm:2 must run on node2 (strict node affinity) and apart from vm:1; vm:3 must be with vm:1
    # and prefers node3 (priority 2) over node1 (priority 1).
    my $r = compiled_rules([['vm:1', 'vm:3']], [['vm:1', 'vm:2']]);
    $r->{'node-affinity'} = {
        'vm:2' => { nodes => { node2 => { priority => 0 } } },
        'vm:3' => { nodes => { node3 => { priority => 2 }, node1 => { priority => 1 } } },
    };
    my $ss = { map { $_ => { state => 'request_start', node => 'node1' } } qw(vm:1 vm:2 vm:3) };
    is_deeply(PVE::Balancer::HAScheduler::RuleSafety::dead_ends($r, $ss, $online, { 'vm:1' => 1 },
        ['node1', 'node2', 'node3']), { node1 => 1, node2 => 1 },
        'dead_ends: on node2 vm:1 strands vm:2; on node1 its partner vm:3 is off its highest priority class (node3)');
    $ss->{'vm:2'} = { state => 'stopped', node => 'node1' };
    is_deeply(PVE::Balancer::HAScheduler::RuleSafety::dead_ends($r, $ss, $online, { 'vm:1' => 1 },
        ['node1', 'node2', 'node3']), { node1 => 1, node2 => 1 }, 'a stopped partner does not constrain');
    $ss->{'vm:3'} = { state => 'started', node => 'node1' };
    is_deeply(PVE::Balancer::HAScheduler::RuleSafety::dead_ends($r, $ss, $online, { 'vm:1' => 1 },
        ['node1', 'node2', 'node3']), { node2 => 1, node3 => 1 }, 'a running positive partner fixes the node');
}

# --- in doubt: compatible scores -----------------------------------------------------------
{
    my $s = scheduler('static', 'capacity-aware');
    $s->add_node($_, 8, 112e9) for qw(node1 node2 node3);
    $s->add_service('vm:101', { stats => { maxcpu => 8, maxmem => 16e9 }, running => 1, 'current-node' => 'node1' });
    my $stats = { maxcpu => 4, maxmem => 48e9 };
    my $compat = PVE::Balancer::HAScheduler::Static::_score_nodes_to_start_service_compatible($s, $stats);
    my $aware = PVE::Balancer::HAScheduler::Static::_score_nodes_to_start_service($s, $stats);
    isnt(join(',', map { @$_ } @$aware), join(',', map { @$_ } @$compat), 'the two modes score differently here');

    # PVE::HA::Manager is loaded (the fixture): scores asked outside select_service_node are in doubt.
    @warnings = ();
    is_deeply($s->score_nodes_to_start_service($stats), $compat, 'outside select_service_node in the CRM: compatible scores');
    is(scalar(@warnings), 1, 'with one warning');
    like($warnings[0] // '', qr/capacity-aware scores need the HA rules, but scores asked for outside PVE::HA::Manager::select_service_node/,
        'saying why');

    # A search that runs out of budget is in doubt too.
    my $usage = Test::CRM::Usage->new($s, { 'vm:104' => $stats });
    my $ss = { %$round };
    local $PVE::Balancer::HAScheduler::RuleSafety::BUDGET = 0;
    my $scores = $usage->score_nodes_to_start_service('vm:104'); # no frame: still in doubt
    my $via_crm = do {
        no warnings qw(redefine once);
        my $seen;
        local *Test::CRM::Usage::score_nodes_to_start_service = sub {
            my ($self, $sid) = @_;
            $seen = $self->{scheduler}->score_nodes_to_start_service($stats);
            return { map { $_->[0] => -$_->[1] } @$seen };
        };
        PVE::HA::Manager::select_service_node($rules, $usage, 'vm:104', {}, $ss, 'best-score');
        $seen;
    };
    is_deeply($via_crm, $compat, 'search out of budget: compatible scores');
}

# --- balancing: no migration that strands a partner ----------------------------------------
{
    # vm:1 (big) and vm:3 on node1, node2 empty, vm:4 on node3. vm:2 waits to start, must run on
    # node2 (strict) and apart from vm:1. Moving vm:1 to node2 would balance best - and leave vm:2
    # without a node.
    my $r = compiled_rules([], [['vm:1', 'vm:2']]);
    $r->{'node-affinity'} = { 'vm:2' => { nodes => { node2 => {} } } };
    my $ss = {
        'vm:1' => { state => 'started', node => 'node1' },
        'vm:2' => { state => 'request_start', node => 'node2' },
        'vm:3' => { state => 'started', node => 'node1' },
        'vm:4' => { state => 'started', node => 'node3' },
    };
    my %st = ('vm:1' => [8, 48e9], 'vm:2' => [2, 8e9], 'vm:3' => [2, 16e9], 'vm:4' => [2, 8e9]);
    my $candidates = [
        { leader => 'vm:1', resources => ['vm:1'], nodes => ['node2', 'node3'] },
        { leader => 'vm:3', resources => ['vm:3'], nodes => ['node2', 'node3'] },
    ];
    my $run = sub {
        my ($s) = @_;
        $s->add_node($_, 16, 128e9) for qw(node1 node2 node3);
        my $usage = Test::CRM::Usage->new($s, { map { $_ => { maxcpu => $st{$_}[0], maxmem => $st{$_}[1] } } keys %st });
        $usage->add_service_usage($_, $ss->{$_}) for sort keys %$ss;
        my $crm = PVE::HA::Manager->new(compiled_rules => $r, ss => $ss, online_node_usage => $usage);
        my $m = $crm->load_balance($candidates);
        return $m ? "$m->{sid} -> $m->{'target-node'}" : 'none';
    };
    my $plain = Test::NoRuleSafety->new_with_mode('capacity-aware', 'raw');
    {
        no warnings 'once';
        *Test::NoRuleSafety::score_best_balancing_migration_candidates =
            \&PVE::Balancer::HAScheduler::Static::_score_best_balancing_migration_candidates;
    }
    is($run->($plain), 'vm:1 -> node2', 'capacity alone: vm:1 to node2 balances best');
    is($run->(scheduler('static', 'capacity-aware')), 'vm:3 -> node2',
        'rule-safe: the best move that keeps node2 free of vm:1 (vm:3 to node2)');
}

done_testing();
