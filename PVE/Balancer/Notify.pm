package PVE::Balancer::Notify;

# What pve-balancer tells the administrator through Proxmox's notification system (PVE::Notify
# in pve-cluster, sent through the Env façade): the targets and matchers configured under
# Datacenter -> Notifications decide where it goes. Two templates, installed to
# /usr/share/pve-manager/templates/default/ (templates/default/ in this repository), like
# pve-manager's replication and vzdump notifications:
#
#   pve-balancer-run       a run that migrated or failed to migrate guests: severity 'info', or
#                          'error' when a migration failed
#   pve-balancer-capacity  HA capacity (N+k) fell below 'capacity-target' ('warning') or is
#                          back ('info')
#
# Metadata fields for matchers: type 'pve-balancer', hostname, 'balancer-event' ('run' or
# 'capacity'), and for runs the trigger ('manual', 'interval', 'pressure', 'config').
#
# balancer.cfg 'notify' chooses: 'all', 'problems' (failed migrations, capacity below target),
# 'none'.

use strict;
use warnings;

my sub wanted {
    my ($eff, $problem) = @_;

    my $mode = $eff->{notify} // 'all';
    return 0 if $mode eq 'none';
    return $problem || $mode eq 'all';
}

my sub fields {
    my ($env, $event, %more) = @_;
    return { type => 'pve-balancer', hostname => $env->nodename(), 'balancer-event' => $event,
        %more };
}

my sub fmt4 {
    my ($v) = @_;
    return defined($v) ? sprintf("%.4f", $v) : '-';
}

=head3 run($env, $eff, $record, %opts)

Notifies about the run C<$record> (see PVE::Balancer::Executor::Report) when it migrated or
failed to migrate anything and C<notify> wants it. C<trigger> names what started it.
Returns the severity sent, or undef.

=cut

sub run {
    my ($env, $eff, $record, %opts) = @_;

    return undef if !$record;
    my $failed = $record->{failed} // 0;
    my $moved = $record->{moved} // 0;
    return undef if !$failed && !$moved;
    return undef if !wanted($eff, $failed > 0);

    my $trigger = $opts{trigger} // 'manual';
    my $severity = $failed ? 'error' : 'info';
    my @lines;
    for my $m (@{ $record->{migrations} // [] }) {
        my $what = ($m->{type} // '') eq 'lxc' ? 'ct' : 'vm';
        my $line = "$what $m->{vmid} $m->{from} -> $m->{to}: " . uc($m->{result} // 'pending');
        $line .= " ($m->{seconds} s)" if defined($m->{seconds});
        $line .= " - $m->{error}" if defined($m->{error});
        push @lines, { line => $line };
    }
    my $metrics = $record->{metrics} // {};
    my $before = $metrics->{before} // {};
    my $after = $metrics->{after} // $metrics->{planned} // {};
    my $summary = $failed
        ? "$failed of $record->{planned} migration(s) failed, $moved done"
        : "$moved guest(s) migrated";
    my $data = {
        summary => $summary,
        kind => $record->{kind} // 'balance',
        trigger => $trigger,
        'run-id' => $record->{id},
        status => $record->{status},
        planned => $record->{planned} // 0,
        moved => $moved,
        failed => $failed,
        skipped => $record->{skipped} // 0,
        'not-started' => $record->{'not-started'} // 0,
        migrations => \@lines,
        'objective-before' => fmt4($before->{objective}),
        'objective-after' => fmt4($after->{objective}),
        'imbalance-before' => fmt4($before->{imbalance}),
        'imbalance-after' => fmt4($after->{imbalance}),
        why => $opts{why} // '',
    };
    $env->notify($severity, 'pve-balancer-run', $data,
        fields($env, 'run', trigger => $trigger));
    return $severity;
}

=head3 capacity($env, $eff, $now_below, $capacity, $target)

Notifies that HA capacity fell below C<$target> node failures (C<$now_below> true) or is back.
C<$capacity> is the engine's capacity answer.

=cut

sub capacity {
    my ($env, $eff, $now_below, $capacity, $target) = @_;

    return undef if !wanted($eff, $now_below);
    my $tolerated = $capacity->{'tolerated-failures'} // 0;
    my $worst = $capacity->{target}->{worst} // $capacity->{worst};
    my $worst_text = '';
    if (ref($worst) eq 'HASH') {
        my $nodes = join(', ', @{ $worst->{'failed-nodes'} // $worst->{nodes} // [] });
        my $n = scalar(@{ $worst->{unplaced} // [] });
        $worst_text = "losing $nodes" . ($n ? " leaves $n HA guest(s) without a place" : '');
    }
    my $severity = $now_below ? 'warning' : 'info';
    my $data = {
        summary => $now_below
            ? "HA capacity below target: survives $tolerated node failure(s), target $target"
            : "HA capacity back at target: survives $tolerated node failure(s), target $target",
        below => $now_below ? 1 : 0,
        tolerated => 0 + $tolerated,
        target => 0 + $target,
        'ha-guests' => $capacity->{'ha-guests'} // 0,
        worst => $worst_text,
    };
    $env->notify($severity, 'pve-balancer-capacity', $data, fields($env, 'capacity'));
    return $severity;
}

1;
