package PVE::Balancer::Manager::Rules;

# The rules that keep automatic balancing from thrashing, as pure functions on the knowledge
# (PVE::Balancer::Manager::Knowledge) and the effective configuration, with the time passed in:
#
# - hold: act only when this many consecutive cycles ('hold-rounds') found moves worth making;
# - cost over the expected stable period: the engine weighs a move's gain against its
#   migration time with 'cost-weight', which counts for 60 minutes; automatic plans scale it
#   by 60 / stable period, the stable period being 'stable-period' or, when 0, how long the
#   imbalance has lasted so far (at least 'interval', at most a day): an imbalance that came
#   with the last load spike is expected to go with it;
# - cooldown with exponential back-off: after an automatic move a guest is left alone for its
#   cooldown ('cooldown' x 2^(level-1), at most 'cooldown-max'), and for twice that long it is
#   never moved back to the node it left (move-back); a guest moved again within that time
#   (by us, by hand, by HA or CRS) goes up one level; a failed migration also counts;
# - a cap on automatic migrations started in any 60 minutes ('max-migrations-per-hour').
#
# Windows and blackouts are PVE::Balancer::Window, backups PVE::Balancer::Backup.

use strict;
use warnings;

use List::Util qw(max min);

use PVE::Balancer::Manager::Knowledge;

=head3 cooldown_seconds($eff, $level)

The cooldown of back-off level C<$level> (1 or more), in seconds.

=cut

sub cooldown_seconds {
    my ($eff, $level) = @_;

    my $base = ($eff->{cooldown} // 0) * 60;
    return 0 if !$base;
    my $max = ($eff->{'cooldown-max'} // 1440) * 60;
    $level = 1 if !$level || $level < 1;
    $level = 30 if $level > 30;
    return min($max, $base * 2**($level - 1));
}

my sub guest_entry {
    my ($k, $vmid) = @_;
    return $k->{guests}->{ 0 + $vmid } //= { level => 0, moves => [] };
}

=head3 record_move($k, $vmid, $time, $from, $to, $by, $eff)

Notes that guest C<$vmid> moved C<$from> -E<gt> C<$to> at C<$time>, by C<auto> (a cycle),
C<manual> (a run from the API) or C<other> (found moved by someone else: by hand, HA, CRS),
and starts its cooldown. A move within twice the last cooldown goes up one back-off level.

=cut

sub record_move {
    my ($k, $vmid, $time, $from, $to, $by, $eff) = @_;

    my $g = guest_entry($k, $vmid);
    my $last = $g->{moves}->[-1];
    my $level = $g->{level} || 0;
    if ($last && $level && $time - $last->{time} < 2 * cooldown_seconds($eff, $level)) {
        $level++;
    } else {
        $level = 1;
    }
    $g->{level} = $level;
    my $cool = cooldown_seconds($eff, $level);
    $g->{until} = $time + $cool;
    $g->{'back-until'} = $time + 2 * $cool;
    $k->{seen}->{ 0 + $vmid } = "$to";
    push @{ $g->{moves} }, { time => 0 + $time, from => "$from", to => "$to", by => $by };
    splice(@{ $g->{moves} }, 0, @{ $g->{moves} } - $PVE::Balancer::Manager::Knowledge::keep_moves)
        if @{ $g->{moves} } > $PVE::Balancer::Manager::Knowledge::keep_moves;
    return $g;
}

=head3 record_failure($k, $vmid, $time, $eff)

Notes a failed automatic migration of C<$vmid>: it is not tried again for the cooldown of its
number of failures in a row (back-off).

=cut

sub record_failure {
    my ($k, $vmid, $time, $eff) = @_;

    my $g = guest_entry($k, $vmid);
    $g->{failures} = ($g->{failures} // 0) + 1;
    my $until = $time + cooldown_seconds($eff, $g->{failures});
    $g->{until} = $until if $until > ($g->{until} // 0);
    return $g;
}

=head3 record_started($k, $times, $now)

Adds the start times of automatic migrations (for the hourly cap) and drops those older than
an hour.

=cut

sub record_started {
    my ($k, $times, $now) = @_;

    $k->{started} = [sort { $a <=> $b } grep { $_ > $now - 3600 }
        (@{ $k->{started} // [] }, map { 0 + $_ } @$times)];
}

=head3 migrations_left($k, $now, $eff)

How many automatic migrations may still start in this hour (the cap minus those started in
the last 60 minutes).

=cut

sub migrations_left {
    my ($k, $now, $eff) = @_;

    my $used = grep { $_ > $now - 3600 } @{ $k->{started} // [] };
    my $left = ($eff->{'max-migrations-per-hour'} // 20) - $used;
    return $left > 0 ? $left : 0;
}

=head3 next_start_allowed($k, $now, $eff)

When the hourly cap lets the next automatic migration start (now if it does).

=cut

sub next_start_allowed {
    my ($k, $now, $eff) = @_;

    my @recent = grep { $_ > $now - 3600 } @{ $k->{started} // [] };
    my $cap = $eff->{'max-migrations-per-hour'} // 20;
    return $now if @recent < $cap;
    return $recent[@recent - $cap] + 3600;
}

=head3 cooling($k, $now)

The guests in cooldown at C<$now>: C<{vmid => until}>.

=cut

sub cooling {
    my ($k, $now) = @_;

    my $res = {};
    for my $vmid (keys %{ $k->{guests} }) {
        my $until = $k->{guests}->{$vmid}->{until} // 0;
        $res->{ 0 + $vmid } = $until if $until > $now;
    }
    return $res;
}

=head3 avoid($k, $now, $nodes)

The node each guest must not be moved back to at C<$now>: C<{vmid => node}> for guests whose
last move was within their move-back time (C<$nodes>: vmid =E<gt> current node; a guest that
is on that node already is left out).

=cut

sub avoid {
    my ($k, $now, $nodes) = @_;

    my $res = {};
    for my $vmid (keys %{ $k->{guests} }) {
        my $g = $k->{guests}->{$vmid};
        next if ($g->{'back-until'} // 0) <= $now;
        my $last = $g->{moves}->[-1] or next;
        my $node = $nodes->{$vmid} // next;
        next if $node eq $last->{from};
        $res->{ 0 + $vmid } = $last->{from};
    }
    return $res;
}

=head3 moved_by_others($k, $nodes, $moving)

Guests found on another node than where the last cycle saw them (or where the last recorded
move took them), moved by someone else: by hand, by HA (recovery, maintenance) or CRS. Not
counting those still moving (C<$moving>: vmid =E<gt> 1). A list of C<{vmid, from, to, back}>,
C<back> when it is the node a recorded move took it away from.

=cut

sub moved_by_others {
    my ($k, $nodes, $moving) = @_;

    my @res;
    for my $vmid (sort { $a <=> $b } keys %$nodes) {
        my $g = $k->{guests}->{$vmid};
        my $last = $g ? $g->{moves}->[-1] : undef;
        my $was = $k->{seen}->{$vmid} // ($last ? $last->{to} : undef) // next;
        my $node = $nodes->{$vmid};
        next if $node eq $was || $moving->{$vmid};
        push @res, { vmid => 0 + $vmid, from => $was, to => $node,
            back => $last && $node eq $last->{from} ? 1 : 0 };
    }
    return \@res;
}

=head3 remember_nodes($k, $nodes)

Notes where every guest is (C<$nodes>: vmid =E<gt> node), for moved_by_others in the next
cycle.

=cut

sub remember_nodes {
    my ($k, $nodes) = @_;
    $k->{seen} = { map { (0 + $_) => "$nodes->{$_}" } keys %$nodes };
}

=head3 observe($k, $now, $out_of_balance, $objective)

Counts this cycle in the imbalance streak (or ends it). Returns the streak (undef when
balanced).

=cut

sub observe {
    my ($k, $now, $out_of_balance, $objective) = @_;

    if (!$out_of_balance) {
        delete $k->{imbalance};
        return undef;
    }
    my $s = $k->{imbalance} //= { since => 0 + $now, rounds => 0 };
    $s->{rounds}++;
    $s->{last} = 0 + $now;
    $s->{objective} = 0 + $objective if defined($objective);
    return $s;
}

=head3 stable_minutes($k, $now, $eff)

The expected stable period in minutes (see the top of this file).

=cut

sub stable_minutes {
    my ($k, $now, $eff) = @_;

    my $set = $eff->{'stable-period'} // 0;
    return $set if $set > 0;
    my $interval = $eff->{interval} // 60;
    my $since = $k->{imbalance} ? $k->{imbalance}->{since} : $now;
    my $lasted = ($now - $since) / 60;
    return min(1440, max($interval, $lasted));
}

=head3 cost_weight($base, $stable)

The engine's C<cost-weight> for an expected stable period of C<$stable> minutes (C<$base>
counts for 60 minutes), within the engine's range 0 to 1.

=cut

sub cost_weight {
    my ($base, $stable) = @_;

    return $base if !$stable;
    my $w = $base * 60 / $stable;
    $w = 1 if $w > 1;
    return 0 + sprintf("%.6g", $w);
}

1;
