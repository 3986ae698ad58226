package PVE::Balancer::Manager::Capacity;

# The cycle's watch on HA capacity (balancer.cfg 'capacity-target'): how many node failures the
# HA guests survive now, compared with the target. A change across the target is logged and
# notified once (PVE::Balancer::Notify::capacity); the knowledge remembers since when the
# cluster has been below or at the target (docs/daemon.md, "Notifications").

use strict;
use warnings;

use PVE::Balancer::Notify;
use PVE::Balancer::Planner;

=head3 watch($env, $eff, $snapshot, $k, $now)

Checks HA capacity on C<$snapshot> (the collected state, before anything is left to CRS)
against C<$eff>'s C<capacity-target>, given the knowledge C<$k> as read at the start of the
cycle. Returns nothing when there is no target or no HA guest, else C<($record, $change)>: the
cycle record's C<capacity> entry and the change to apply to the knowledge when the cycle is
recorded. A failed check is logged as a warning and returns nothing: it never stops a cycle.

=cut

sub watch {
    my ($env, $eff, $snapshot, $k, $now) = @_;

    my $target = $eff->{'capacity-target'} or return;
    my $cap = eval {
        PVE::Balancer::Planner::call_engine('capacity', $snapshot, 'target-failures' => $target)
    };
    if (my $err = $@) {
        chomp $err;
        $env->log('warn', "HA capacity check failed - $err");
        return;
    }
    return if ($cap->{'ha-guests'} // 0) <= 0;

    my $tolerated = $cap->{'tolerated-failures'} // 0;
    my $below = $tolerated < $target ? 1 : 0;
    my $was = $k->{capacity} ? $k->{capacity}->{below} : 0;
    if ($below != ($was // 0)) {
        $env->log($below ? 'warn' : 'info', "HA capacity: survives $tolerated node"
            . " failure(s), target $target" . ($below ? ' - below target' : ''));
        eval { PVE::Balancer::Notify::capacity($env, $eff, $below, $cap, $target) };
    }
    my $change = sub {
        my ($k) = @_;
        my $since = $k->{capacity} && ($k->{capacity}->{below} // 0) == $below
            ? $k->{capacity}->{since} : $now;
        $k->{capacity} = { tolerated => 0 + $tolerated, target => 0 + $target,
            below => $below, since => $since };
    };
    return ({ tolerated => 0 + $tolerated, target => 0 + $target }, $change);
}

1;
