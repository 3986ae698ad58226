package PVE::Balancer::HAScheduler::Dynamic;

# The interface of PVE::RS::ResourceScheduling::Dynamic (libpve-rs-perl) on pve-balancer's
# engine. The methods are XSUBs in PVE::Balancer::Native (perl/Native.xs).
#
# SPDX-License-Identifier: AGPL-3.0-or-later

use strict;
use warnings;

use PVE::Balancer::HAScheduler;
use PVE::Balancer::HAScheduler::RuleSafety;

=head1 NAME

PVE::Balancer::HAScheduler::Dynamic - measured-load HA scheduler (drop-in for PVE::RS::ResourceScheduling::Dynamic)

=head1 SYNOPSIS

    my $s = PVE::Balancer::HAScheduler::Dynamic->new();    # mode from /etc/pve/balancer.cfg
    $s->add_node('node1', { cpu => 3.5, maxcpu => 16, mem => 20 * 1024**3, maxmem => 64 * 1024**3 });
    $s->add_resource('vm:101', {
        stats => { cpu => 1.2, maxcpu => 4, mem => 6 * 1024**3, maxmem => 8 * 1024**3 },
        running => 1, 'current-node' => 'node1',
    });
    my $imbalance = $s->calculate_node_imbalance();

=head1 METHODS

Arguments are converted like perlmod/serde convert them for the Rust original (see
L<PVE::Balancer::HAScheduler::Static>). Errors end in a newline.

=head3 new($class)

=head3 new_with_mode($class, $mode [, $imbalance [, $options [, $nodes]]])

=head3 mode()

As in L<PVE::Balancer::HAScheduler::Static>.

=head3 add_node($nodename, { cpu, maxcpu, mem, maxmem })

C<cpu> in cores (float), C<maxcpu> cores, C<mem> and C<maxmem> in bytes (integers). Dies with
C<node 'NAME' already exists>.

=head3 remove_node($nodename), list_nodes(), contains_node($nodename)

As in the static scheduler.

=head3 add_resource($sid, { stats => { cpu, maxcpu, mem, maxmem }, running, 'current-node', 'target-node' })

As C<add_service> of the static scheduler, with measured usage (C<cpu>, C<mem>) besides the
configured size (C<maxcpu>, C<maxmem>).

=head3 remove_resource($sid)

Forgets a resource; unknown sids are ignored.

=head3 calculate_node_imbalance()

=head3 score_best_balancing_migration_candidates($candidates, $limit)

=head3 score_best_balancing_migration_candidates_topsis($candidates, $limit)

As in the static scheduler; node usage is the measured one.

=head3 score_nodes_to_start_resource({ cpu, maxcpu, mem, maxmem })

C<< [[NODE, SCORE]...] >> with SCORE in [0, 1], higher is better. Resources added with
C<< running => 0 >> (starting) count with their configured size. Rule-safe in capacity-aware
mode, as in the static scheduler.

=cut

sub new {
    my ($class, @rest) = @_;
    die "missing required parameter: 'class'\n" if !defined($class);
    die "too many parameters for function 'new', (expected 1)\n" if @rest;
    my $settings = PVE::Balancer::HAScheduler::read_settings();
    my $d = PVE::Balancer::HAScheduler::decide($settings,
        PVE::Balancer::HAScheduler::installed_versions());
    return PVE::Balancer::HAScheduler::create($class, 'dynamic', $settings->{'ha-scheduler'},
        $d->{imbalance} // 'normalized', $settings->{options});
}

sub new_with_mode {
    my ($class, $mode, $imbalance, $options, $nodes) = @_;
    return PVE::Balancer::HAScheduler::create($class, 'dynamic', $mode, $imbalance, $options,
        $nodes);
}

sub score_nodes_to_start_resource {
    my ($self, @args) = @_;
    my $scores = _score_nodes_to_start_resource($self, @args); # checks the arguments, dies like upstream
    return $scores if $self->mode() ne 'capacity-aware';
    return PVE::Balancer::HAScheduler::RuleSafety::safe_start_scores(
        $self, $scores, sub { _score_nodes_to_start_resource_compatible($self, @args) });
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
