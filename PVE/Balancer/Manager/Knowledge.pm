package PVE::Balancer::Manager::Knowledge;

# What automatic balancing remembers between cycles (the K of its MAPE-K loop), in pmxcfs
# (/etc/pve/balancer/manager.json), so any node that becomes the active one goes on where the
# last one stopped:
#
#   imbalance   the current streak of cycles that found the cluster out of balance:
#               { since, rounds, last, objective }, absent while it is balanced
#   guests      per guest that a run moved or failed to move (vmid => entry):
#               { moves => [ {time, from, to, by} ] (newest last, a few kept),
#                 level, until, 'back-until', failures }
#               'until' ends its cooldown, 'back-until' the time in which it is never moved
#               back to the node it left, 'level' the back-off step (cooldown x 2^(level-1))
#   cycles      the last cycles of pve-balancerd, newest first: { id, trigger, detail, node,
#               started, finished, decision, why, run, planned, moved, failed, metrics }
#   capacity    the last HA capacity seen: { tolerated, target, below, since }
#   seen        where each guest was at the end of the last cycle (vmid => node), to notice
#               guests moved by someone else
#   started     start times of automatic migrations in the last hour (the hourly cap)
#
# The file is small (old guest entries and cycles are dropped) and written as a whole under the
# cluster lock 'manager'. Pure data otherwise: PVE::Balancer::Manager::Rules decides.

use strict;
use warnings;

use JSON;

my $file = 'balancer/manager.json';

our $keep_cycles = 50;
our $keep_moves = 5;

=head3 empty()

Knowledge without history.

=cut

sub empty {
    return { format => 1, guests => {}, cycles => [] };
}

=head3 read($env)

The stored knowledge (an empty one if there is none or it cannot be read).

=cut

sub read {
    my ($env) = @_;

    my $raw = eval { $env->read_cfs_file($file) };
    return empty() if !defined($raw) || $raw !~ m/\S/;
    my $k = eval { JSON->new->decode($raw) };
    if (ref($k) ne 'HASH') {
        $env->log('warn', "ignoring unreadable /etc/pve/$file");
        return empty();
    }
    $k->{guests} = {} if ref($k->{guests}) ne 'HASH';
    $k->{cycles} = [] if ref($k->{cycles}) ne 'ARRAY';
    return $k;
}

=head3 prune($k, $now, $eff)

Drops guest entries whose cooldown and move-back time ended more than C<cooldown-max> ago
(their back-off starts again), and cycles beyond the last $keep_cycles.

=cut

sub prune {
    my ($k, $now, $eff) = @_;

    my $forget = ($eff->{'cooldown-max'} // 1440) * 60;
    for my $vmid (keys %{ $k->{guests} }) {
        my $g = $k->{guests}->{$vmid};
        my $end = $g->{'back-until'} // $g->{until} // 0;
        my $last = @{ $g->{moves} // [] } ? $g->{moves}->[-1]->{time} : 0;
        $end = $last if $last > $end;
        delete $k->{guests}->{$vmid} if $now - $end > $forget;
    }
    splice(@{ $k->{cycles} }, $keep_cycles) if @{ $k->{cycles} } > $keep_cycles;
}

=head3 update($env, $code)

Reads the knowledge under the cluster lock 'manager', lets C<$code-E<gt>($k)> change it and
writes it back. Returns what C<$code> returns.

=cut

sub update {
    my ($env, $code) = @_;

    my $res;
    $env->cfs_lock(
        'manager',
        10,
        sub {
            my $k = PVE::Balancer::Manager::Knowledge::read($env);
            $res = $code->($k);
            $env->write_cfs_file($file, JSON->new->canonical->utf8->encode($k));
        },
    );
    return $res;
}

=head3 cycle($k, $id)

The recorded cycle C<$id>, or undef.

=cut

sub cycle {
    my ($k, $id) = @_;

    return undef if !defined($id);
    my ($c) = grep { ($_->{id} // '') eq $id } @{ $k->{cycles} };
    return $c;
}

=head3 add_cycle($k, $entry)

Records a cycle (replacing one with the same id), newest first.

=cut

sub add_cycle {
    my ($k, $entry) = @_;

    $k->{cycles} = [grep { ($_->{id} // '') ne $entry->{id} } @{ $k->{cycles} }];
    unshift @{ $k->{cycles} }, $entry;
    splice(@{ $k->{cycles} }, $keep_cycles) if @{ $k->{cycles} } > $keep_cycles;
}

1;
