package PVE::Balancer::HAScheduler::Static;

# The interface of PVE::RS::ResourceScheduling::Static (libpve-rs-perl) on pve-balancer's
# engine. The methods are XSUBs in PVE::Balancer::Native (perl/Native.xs).
#
# SPDX-License-Identifier: AGPL-3.0-or-later

use strict;
use warnings;

use PVE::Balancer::HAScheduler;
use PVE::Balancer::HAScheduler::RuleSafety;

=head1 NAME

PVE::Balancer::HAScheduler::Static - static-load HA scheduler (drop-in for PVE::RS::ResourceScheduling::Static)

=head1 SYNOPSIS

    my $s = PVE::Balancer::HAScheduler::Static->new();     # mode from /etc/pve/balancer.cfg
    $s->add_node('node1', 16, 64 * 1024**3);
    $s->add_service('vm:101', {
        stats => { maxcpu => 4, maxmem => 8 * 1024**3 },
        running => 1, 'current-node' => 'node1', 'target-node' => undef,
    });
    my $scores = $s->score_nodes_to_start_service({ maxcpu => 2, maxmem => 4 * 1024**3 });
    # [[node1, 0.83], ...]: higher is better

=head1 METHODS

Arguments are converted like perlmod/serde convert them for the Rust original: integer fields
(C<maxmem>, node C<maxcpu>) take a number's integer part, a plain string where a number is
expected dies with serde's message (C<invalid type: string "8G", expected usize>), missing hash
keys die with C<missing field `maxmem`>, unknown keys are ignored. Errors end in a newline.

=head3 new($class)

Creates an empty scheduler of this class; mode, imbalance and options come from
F</etc/pve/balancer.cfg> and the installed versions (L<PVE::Balancer::HAScheduler>; the
imbalance is C<normalized> where no verified version says otherwise). pve-ha-manager does not
call this: its C<< PVE::RS::ResourceScheduling::Static->new >> is the shim's, which may also
return libpve-rs-perl's own scheduler.

=head3 new_with_mode($class, $mode [, $imbalance [, $options [, $nodes]]])

The same with an explicit mode (C<compatible>, C<capacity-aware>), imbalance (C<normalized>
(default) or C<raw>, the scale of both modes' imbalance) and engine options
C<< { KEY => TEXT } >> for capacity-aware mode, and the nodes' memory info C<< { NODE => { zfs,
'arc-max', 'arc-size' } } >> for their own memory reserves (default: what
L<PVE::Balancer::HAScheduler/node_memory_info> reads). A pve-balancer extension.

=head3 mode()

C<'compatible'> or C<'capacity-aware'>. A pve-balancer extension.

=head3 add_node($nodename, $maxcpu, $maxmem)

Adds a node with its CPU count and memory in bytes. Dies with C<node 'NAME' already exists>.

=head3 remove_node($nodename)

Removes a node and the services that were only on it; unknown names are ignored.

=head3 list_nodes()

Array reference of the node names (sorted).

=head3 contains_node($nodename)

1 or 0.

=head3 add_service($sid, { stats => { maxcpu, maxmem }, running, 'current-node', 'target-node' })

Accounts a service on its current node, and on its target node while it moves. Dies with
C<resource 'SID' already exists>, C<current node for resource 'SID' does not exist>,
C<resource 'SID' has the same current and target node> or C<nodes for resource 'SID' do not exist>.

=head3 add_service_usage_to_node($nodename, $sid, { maxcpu, maxmem })

Deprecated upstream; kept with upstream's semantics (first call places, second call moves).

=head3 remove_service_usage($sid)

Forgets a service; unknown sids are ignored.

=head3 calculate_node_imbalance()

A float on HA's scale: the CRS imbalance (compatible), or the same per resource (capacity-aware,
see docs/ha.md).

=head3 score_best_balancing_migration_candidates($candidates, $limit)

=head3 score_best_balancing_migration_candidates_topsis($candidates, $limit)

C<$candidates> is C<< [{ leader => SID, resources => [SID...], nodes => [NODE...] }...] >>.
Returns up to C<$limit> entries C<< { migration => { sid, 'source-node', 'target-node' },
imbalance => FLOAT } >>, best first. Dies with upstream's messages for leaders or bundle members
that are unknown, moving or on another node.

=head3 score_nodes_to_start_service({ maxcpu, maxmem })

C<< [[NODE, SCORE]...] >> with SCORE in [0, 1], higher is better, one entry per node. In
capacity-aware mode, called from pve-ha-manager's C<select_service_node>, the scores are
rule-safe (L<PVE::Balancer::HAScheduler::RuleSafety>).

=cut

sub new {
    my ($class, @rest) = @_;
    die "missing required parameter: 'class'\n" if !defined($class);
    die "too many parameters for function 'new', (expected 1)\n" if @rest;
    my $settings = PVE::Balancer::HAScheduler::read_settings();
    my $d = PVE::Balancer::HAScheduler::decide($settings,
        PVE::Balancer::HAScheduler::installed_versions());
    return PVE::Balancer::HAScheduler::create($class, 'static', $settings->{'ha-scheduler'},
        $d->{imbalance} // 'normalized', $settings->{options});
}

sub new_with_mode {
    my ($class, $mode, $imbalance, $options, $nodes) = @_;
    return PVE::Balancer::HAScheduler::create($class, 'static', $mode, $imbalance, $options,
        $nodes);
}

sub score_nodes_to_start_service {
    my ($self, @args) = @_;
    my $scores = _score_nodes_to_start_service($self, @args); # checks the arguments, dies like upstream
    return $scores if $self->mode() ne 'capacity-aware';
    return PVE::Balancer::HAScheduler::RuleSafety::safe_start_scores(
        $self, $scores, sub { _score_nodes_to_start_service_compatible($self, @args) });
}

sub score_best_balancing_migration_candidates {
    my ($self, @args) = @_;
    my $ranked = _score_best_balancing_migration_candidates($self, @args); # dies like upstream
    return $ranked if $self->mode() ne 'capacity-aware';
    return PVE::Balancer::HAScheduler::RuleSafety::safe_migrations($self, $args[0], $args[1],
        sub { _score_best_balancing_migration_candidates($self, $args[0], $_[0]) });
}

sub score_best_balancing_migration_candidates_topsis {
    my ($self, @args) = @_;
    my $ranked = _score_best_balancing_migration_candidates_topsis($self, @args);
    return $ranked if $self->mode() ne 'capacity-aware';
    return PVE::Balancer::HAScheduler::RuleSafety::safe_migrations($self, $args[0], $args[1],
        sub { _score_best_balancing_migration_candidates_topsis($self, $args[0], $_[0]) });
}

# The C++ state is not shared between interpreter threads.
sub CLONE_SKIP { 1 }

1;
