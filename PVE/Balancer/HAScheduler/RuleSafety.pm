package PVE::Balancer::HAScheduler::RuleSafety;

# Capacity-aware start scores must not lead pve-ha-manager into a dead end: a node that is best
# by capacity may leave a resource-affinity partner of the guest with no node it may go to.
# The scheduler interface carries no rules, so they are read where pve-ha-manager has them: the
# arguments of PVE::HA::Manager::select_service_node, the CRM function that asks for the scores
# (pve-ha-manager 5.2.0, src/PVE/HA/Manager.pm). See docs/ha.md, "Rules".
#
# SPDX-License-Identifier: AGPL-3.0-or-later

use strict;
use warnings;

use Scalar::Util qw(blessed refaddr);

=head1 NAME

PVE::Balancer::HAScheduler::RuleSafety - keep capacity-aware start scores out of rule dead ends

=head1 DESCRIPTION

pve-ha-manager calls C<score_nodes_to_start_service> (C<_resource>) from exactly one place,
C<PVE::HA::Manager::select_service_node($compiled_rules, $online_node_usage, $sid,
$service_conf, $ss, $node_preference)>, after it has filtered the nodes by the rules. Its
arguments are the manager's compiled rules (C<< {'node-affinity' => ..., 'resource-affinity' =>
{positive, negative}} >>, as C<PVE::HA::Rules-E<gt>compile> makes them, after the transforms that
merge positive rules and infer negative ones) and the live service states of this round. Those
are read, not changed, from the caller's frame (C<caller> in package C<DB> gives a frame's
arguments), and only when that frame's usage object holds the very scheduler that is asked.

With them, each node the guest may go to is checked: placed there, with its positive partners,
does every resource of its affinity component that HA still has to place keep at least one
node of its highest node-affinity priority class, apart from its negative partners and together
with its positive ones? (The resources already running stay where they are.) Nodes that fail
rank below every node that passes. When in doubt - the frame is missing inside the CRM or looks
different, the search runs out of budget, or no node passes - the compatible scores are used
instead: what libpve-rs-perl would have answered.

=head1 FUNCTIONS

=cut

# States in which a resource that loads no online node will get a node from HA: waiting to
# start, or its node failed (fence, then recovery). Stopped, error and frozen ones stay put.
my $to_place = { request_start => 1, recovery => 1, fence => 1, started => 1, migrate => 1,
    relocate => 1, request_start_balance => 1 };

# The search budget: node choices tried per check (for all candidate nodes together). Affinity
# components are small; one that needs more is "in doubt".
our $BUDGET = 200_000;

# The arguments of the innermost call of $name on the stack, or undef.
sub _frame_args {
    my ($name) = @_;
    my @args;
    {
        package DB; ## no critic (Modules::ProhibitMultiplePackages)
        for (my $i = 1; my @frame = caller($i); $i++) {
            next if $frame[3] ne $name;
            @args = @DB::args;
            return \@args;
        }
    }
    return undef;
}

=head3 crm_context($scheduler)

The arguments of the C<PVE::HA::Manager::select_service_node> call that asked C<$scheduler>
for scores: C<< { sid, rules, ss, preference, service } >>; C<< { doubt => REASON } >> when
pve-ha-manager's CRM is loaded but no such call (or one with unexpected arguments) is on the
stack; undef outside the CRM (tests, direct use), where no rules are known.

=cut

sub crm_context {
    my ($scheduler) = @_;

    my $name = 'PVE::HA::Manager::select_service_node';
    my $args = _frame_args($name);
    if (!$args) {
        return undef if !defined(&PVE::HA::Manager::select_service_node);
        return { doubt => "scores asked for outside $name" };
    }
    my ($rules, $usage, $sid, $service, $ss, $preference) = @$args;
    return { doubt => "unexpected arguments of $name" }
        if ref($rules) ne 'HASH' || ref($ss) ne 'HASH' || !defined($sid) || ref($sid)
        || !blessed($usage) || ref($usage->{scheduler} // '') eq ''
        || ref($rules->{'resource-affinity'} // {}) ne 'HASH'
        || ref($rules->{'node-affinity'} // {}) ne 'HASH';
    return { doubt => "$name was called with another scheduler" }
        if refaddr($usage->{scheduler}) != refaddr($scheduler);
    return {
        sid => $sid,
        rules => $rules,
        ss => $ss,
        service => $service,
        preference => $preference // 'none',
    };
}

=head3 crm_balance_context($scheduler)

The compiled rules and service states of the C<PVE::HA::Manager> whose C<load_balance> asked
C<$scheduler> for balancing migrations: C<< { rules, ss } >>, C<< { doubt => REASON } >> or
undef, as L</crm_context>.

=cut

sub crm_balance_context {
    my ($scheduler) = @_;

    my $name = 'PVE::HA::Manager::load_balance';
    my $args = _frame_args($name);
    if (!$args) {
        return undef if !defined(&PVE::HA::Manager::load_balance);
        return { doubt => "balancing asked for outside $name" };
    }
    my ($manager) = @$args;
    my $usage = blessed($manager) ? $manager->{online_node_usage} : undef;
    return { doubt => "unexpected arguments of $name" }
        if !blessed($usage) || ref($usage->{scheduler} // '') eq ''
        || ref($manager->{compiled_rules}) ne 'HASH' || ref($manager->{ss}) ne 'HASH';
    return { doubt => "$name was called with another scheduler" }
        if refaddr($usage->{scheduler}) != refaddr($scheduler);
    return { rules => $manager->{compiled_rules}, ss => $manager->{ss} };
}

=head3 used_nodes($ss, $sid, $online)

The nodes the resource C<$sid> loads, C<($current, $target)>, by its service state in C<$ss>,
among the C<$online> nodes: pve-ha-manager's C<PVE::HA::Usage::get_used_service_nodes>.

=cut

sub used_nodes {
    my ($ss, $sid, $online) = @_;

    my $sd = $ss->{$sid} or return (undef, undef);
    my ($state, $node, $target) = $sd->@{qw(state node target)};
    return (undef, undef) if !defined($state) || $state eq 'stopped' || $state eq 'request_start';
    my ($current_node, $target_node);
    $current_node = $node
        if $state =~ /^(?:started|request_stop|fence|freeze|error|recovery|migrate|relocate)$/
        && defined($node) && $online->{$node};
    $target_node = $target
        if $state =~ /^(?:migrate|relocate|request_start_balance)$/
        && defined($target) && $online->{$target};
    return ($current_node, $target_node);
}

=head3 preferred_nodes($rules, $sid, $online)

The nodes of C<$sid>'s highest node-affinity priority class among C<$online> (all of them
without a rule): pve-ha-manager's C<get_node_affinity>, second value.

=cut

sub preferred_nodes {
    my ($rules, $sid, $online) = @_;

    my $affinity = $rules->{'node-affinity'}->{$sid};
    return { %$online } if !$affinity;
    my $by_priority = {};
    for my $node (sort keys %{ $affinity->{nodes} // {} }) {
        next if !$online->{$node};
        my $priority = $affinity->{nodes}->{$node}->{priority} // 0;
        $by_priority->{$priority}->{$node} = 1;
    }
    my ($highest) = sort { $b <=> $a } keys %$by_priority;
    return defined($highest) ? $by_priority->{$highest} : {};
}

=head3 dead_ends($rules, $ss, $online, $placed, \@candidates)

For each node of C<@candidates>, whether putting the resources of C<$placed> (C<< { SID => 1 }
>>, one positive-affinity group or part of one) on it leaves a resource of their affinity
component with no allowed node. Returns C<< { NODE => 1 } >> for the dead ends, or undef when
the search ran out of budget.

=cut

sub dead_ends {
    my ($rules, $ss, $online, $placed, $candidates) = @_;

    my $affinity = $rules->{'resource-affinity'} // {};
    my $positive = $affinity->{positive} // {};
    my $negative = $affinity->{negative} // {};

    # The affinity component of the placed resources (resources HA knows only).
    my %component = map { $_ => 1 } keys %$placed;
    my @todo = sort keys %$placed;
    while (defined(my $sid = shift @todo)) {
        for my $other (sort(keys %{ $positive->{$sid} // {} }),
            sort(keys %{ $negative->{$sid} // {} })) {
            next if $component{$other} || !$ss->{$other};
            $component{$other} = 1;
            push @todo, $other;
        }
    }
    return {} if keys(%component) == keys(%$placed); # no rule involves another resource

    # Where the others are: running somewhere (fixed) or waiting for a node (free).
    my (%fixed, %free);
    for my $sid (sort keys %component) {
        next if $placed->{$sid};
        my ($current, $target) = used_nodes($ss, $sid, $online);
        if (defined($current) || defined($target)) {
            $fixed{$sid} = [grep { defined } $current, $target];
        } elsif ($to_place->{ $ss->{$sid}->{state} // '' }) {
            $free{$sid} = 1;
        }
    }

    # Positive groups of the free resources, each placed as one; the group of the placed ones
    # goes with them.
    my (%group_of, @groups);
    for my $sid (sort keys %free) {
        next if $group_of{$sid};
        my @members = sort grep { $free{$_} } ($sid, keys %{ $positive->{$sid} // {} });
        my $group = { members => \@members };
        $group_of{$_} = $group for @members;
        push @groups, $group;
    }

    # A group's possible nodes, given where fixed resources are: the members' preferred nodes,
    # minus nodes with a fixed negative partner, and the node of fixed positive partners.
    my $base_domain = sub {
        my ($members) = @_;
        my %domain = %$online;
        for my $sid (@$members) {
            my $preferred = preferred_nodes($rules, $sid, $online);
            delete $domain{$_} for grep { !$preferred->{$_} } keys %domain;
            for my $other (keys %{ $negative->{$sid} // {} }) {
                delete $domain{$_} for @{ $fixed{$other} // [] };
            }
            for my $other (keys %{ $positive->{$sid} // {} }) {
                my $at = $fixed{$other} or next;
                my $node = $at->[-1]; # its target while it moves (upstream: #6801)
                delete $domain{$_} for grep { $_ ne $node } keys %domain;
            }
        }
        return [sort keys %domain];
    };
    my @domains = map { $base_domain->($_->{members}) } @groups;
    my $related = sub { # is any member of one list in $relation with one of the other?
        my ($relation, $one, $two) = @_;
        for my $x (@$one) {
            return 1 if grep { $relation->{$x}->{$_} } @$two;
        }
        return 0;
    };
    # The constraints between the groups and with the placed resources, computed once.
    my $placed_list = [sort keys %$placed];
    my (@with_placed, @apart_from_placed, @with, @apart);
    for my $i (0 .. $#groups) {
        my $mi = $groups[$i]->{members};
        $with_placed[$i] = $related->($positive, $mi, $placed_list);
        $apart_from_placed[$i] = $related->($negative, $mi, $placed_list);
        for my $j (0 .. $i - 1) {
            my $mj = $groups[$j]->{members};
            $with[$i][$j] = $related->($positive, $mi, $mj);
            $apart[$i][$j] = $related->($negative, $mi, $mj);
        }
    }

    my $steps = 0;
    my $placed_domain = { map { $_ => 1 } $base_domain->($placed_list)->@* };
    my %dead;
    for my $node (sort @$candidates) {
        if (!$placed_domain->{$node}) {
            $dead{$node} = 1;
            next;
        }
        my @assignment;
        my $search;
        $search = sub {
            my ($i) = @_;
            return 1 if $i == @groups;
            CHOICE: for my $choice ($domains[$i]->@*) {
                return 0 if ++$steps > $BUDGET;
                next CHOICE if $with_placed[$i] && $choice ne $node;
                next CHOICE if $apart_from_placed[$i] && $choice eq $node;
                for my $j (0 .. $i - 1) {
                    next CHOICE if $apart[$i][$j] && $assignment[$j] eq $choice;
                    next CHOICE if $with[$i][$j] && $assignment[$j] ne $choice;
                }
                $assignment[$i] = $choice;
                return 1 if $search->($i + 1);
            }
            return 0;
        };
        my $ok = $search->(0);
        undef $search; # break the closure's reference to itself
        return undef if $steps > $BUDGET;
        $dead{$node} = 1 if !$ok;
    }
    return \%dead;
}

=head3 candidate_nodes($context, $online)

The nodes C<select_service_node> will choose among for C<< $context->{sid} >> when it asks for
scores: its preferred nodes, minus the nodes it failed on (C<try-next>) and those of negative
partners; when positive partners run, only their node. Returns C<[NODE...]> sorted.

=cut

sub candidate_nodes {
    my ($context, $online) = @_;

    my ($sid, $rules, $ss) = $context->@{qw(sid rules ss)};
    my $affinity = $rules->{'resource-affinity'} // {};
    my $nodes = preferred_nodes($rules, $sid, $online);
    if ($context->{preference} eq 'try-next') {
        delete $nodes->{$_} for @{ $ss->{$sid}->{failed_nodes} // [] };
    }
    my %together;
    for my $other (keys %{ $affinity->{negative}->{$sid} // {} }) {
        delete $nodes->{$_} for grep { defined } used_nodes($ss, $other, $online);
    }
    for my $other (keys %{ $affinity->{positive}->{$sid} // {} }) {
        my ($current, $target) = used_nodes($ss, $other, $online);
        my $node = $target // $current;
        $together{$node}++ if defined($node) && $nodes->{$node};
    }
    if (%together) {
        my ($majority) = sort { $together{$b} <=> $together{$a} || $a cmp $b } keys %together;
        return [$majority];
    }
    return [sort keys %$nodes];
}

=head3 safe_start_scores($scheduler, $scores, $compatible)

Capacity-aware start scores C<$scores> (C<[[NODE, SCORE]...]>, higher is better) made
rule-safe for the resource pve-ha-manager is placing: unchanged when no rule is involved or
every candidate node is safe; dead ends moved below every safe node otherwise; the result of
C<< $compatible->() >> (compatible mode's scores) when in doubt. Returns the scores to answer.

=cut

sub safe_start_scores {
    my ($scheduler, $scores, $compatible) = @_;

    my $context = crm_context($scheduler);
    return $scores if !defined($context);
    if ($context->{doubt}) {
        PVE::Balancer::HAScheduler::warn_once("capacity-aware scores need the HA rules, but"
            . " $context->{doubt} - using compatible scores there");
        return $compatible->();
    }

    my $online = { map { $_ => 1 } $scheduler->list_nodes()->@* };
    my $candidates = candidate_nodes($context, $online);
    return $scores if @$candidates < 2; # nothing to choose

    my $dead = dead_ends($context->{rules}, $context->{ss}, $online, { $context->{sid} => 1 },
        $candidates);
    return $compatible->() if !$dead; # out of budget
    my $safe = grep { !$dead->{$_} } @$candidates;
    return $scores if $safe == @$candidates;
    return $compatible->() if !$safe;

    # Safe nodes in [0.55, 1], dead ends in [0, 0.45]: each keeps its order among its kind.
    return [map {
        my ($node, $score) = @$_;
        [$node, $dead->{$node} ? 0.45 * $score : 0.55 + 0.45 * $score]
    } @$scores];
}

=head3 safe_migrations($scheduler, $candidates, $limit, $rank)

Capacity-aware balancing migrations made rule-safe: C<< $rank->($n) >> ranks the compact
C<$candidates> (best first, at most C<$n>); migrations after which a resource of the bundle's
affinity component has no allowed node are left out, and the first C<$limit> of the others are
returned. Without the HA manager's rules, or in doubt, the ranking is returned as it is (the
candidates pve-ha-manager passes already respect the rules of the running resources; only
resources still waiting for a node can be left without one).

=cut

sub safe_migrations {
    my ($scheduler, $candidates, $limit, $rank) = @_;

    my $context = crm_balance_context($scheduler);
    if (!defined($context) || $context->{doubt}) {
        PVE::Balancer::HAScheduler::warn_once("capacity-aware balancing needs the HA rules, but"
            . " $context->{doubt} - migrations are not checked against them")
            if $context && $context->{doubt};
        return $rank->($limit);
    }

    my $online = { map { $_ => 1 } $scheduler->list_nodes()->@* };
    my %bundle = map { $_->{leader} => $_->{resources} } @$candidates;
    my $all = 0;
    $all += scalar(@{ $_->{nodes} // [] }) for @$candidates;
    my @safe;
    for my $entry ($rank->($all)->@*) {
        last if @safe >= $limit;
        my ($sid, $target) = $entry->{migration}->@{qw(sid target-node)};
        my $placed = { map { $_ => 1 } @{ $bundle{$sid} // [$sid] } };
        my $dead = dead_ends($context->{rules}, $context->{ss}, $online, $placed, [$target]);
        next if !$dead || $dead->{$target}; # out of budget counts as unsafe here
        push @safe, $entry;
    }
    return \@safe;
}

1;
